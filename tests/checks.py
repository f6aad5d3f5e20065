"""tests/checks.py — what the Python test drivers share: the ISAs this CPU
can run (as mpiscore decides: src/core/kernels/dispatch.c) and pass/fail
bookkeeping that ends with "N passed, M failed" and the exit status."""
import sys

_counts = {"passed": 0, "failed": 0}


def isas():
    """Kernel variants this CPU runs, best last: values for MPISCORE_ISA."""
    flags = open("/proc/cpuinfo").read().split()
    out = ["scalar"]
    if "avx2" in flags and "fma" in flags:
        out.append("avx2")
    if all(f in flags for f in ("avx512f", "avx512bw", "avx512dq", "avx512vl", "fma")):
        out.append("avx512")
    return out


def report(ok, what):
    _counts["passed" if ok else "failed"] += 1
    print("ok:" if ok else "FAIL:", what, flush=True)


def finish():
    print(f"{_counts['passed']} passed, {_counts['failed']} failed")
    sys.exit(1 if _counts["failed"] else 0)
