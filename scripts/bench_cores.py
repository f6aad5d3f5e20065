#!/usr/bin/env python3
"""What this machine's second core is worth: the ceiling for 1 -> 2 rank
scaling, measured rather than assumed (issue 15 asks for >= 1.8x or a
measured explanation).

  bench_cores.py --mpiscore BUILD/mpiscore [--rows 400000] [--work DIR] [--repeat 3]

1. mpiscore alone: one single-rank run (no mpirun, so no MPI start-up) of
   the bench CSV pinned to core 0; then two identical runs at once, pinned
   to cores 0 and 1, each on its own copy of the file. With independent
   cores the pair takes as long as one run; the printed efficiency
   (alone / pair) is what the second core adds to a CSV-bound run.
2. Memory: one process, then two at once, copying a 256 MB numpy array
   (read + write), GB/s per process and in total.
3. Compute: a numpy float64 loop that stays in L1/L2, alone and as a pair.

Everything is measured in the same run, best of --repeat; the load
(`uptime`) is printed, because on a shared VM it moves every figure.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

MEM = """
import sys, time, numpy as np
a = np.ones(32 * 1024 * 1024); b = np.empty_like(a)
np.copyto(b, a)
t = time.perf_counter()
for _ in range(10): np.copyto(b, a)
dt = time.perf_counter() - t
print(10 * 2 * a.nbytes / dt / 1e9)
"""
CPU = """
import time, numpy as np
x = np.random.default_rng(1).random(4096)
t = time.perf_counter()
for _ in range(20000): x = np.sqrt(x * 1.0000001 + 0.5)
print(time.perf_counter() - t)
"""


def pinned(core, cmd):
    return ["taskset", "-c", str(core)] + cmd


def run_pair(cmds):
    """Start every command at once; wall seconds until the last ends, outputs."""
    t0 = time.perf_counter()
    ps = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds]
    outs = []
    for p in ps:
        o, e = p.communicate()
        if p.returncode != 0:
            sys.exit(f"bench_cores: {' '.join(p.args)} failed: {e.strip()}")
        outs.append(o)
    return time.perf_counter() - t0, outs


def best(fn, repeat):
    return min((fn() for _ in range(repeat)), key=lambda r: r[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mpiscore", required=True)
    ap.add_argument("--rows", type=int, default=400_000)
    ap.add_argument("--features", type=int, default=30)
    ap.add_argument("--work", default="/tmp/mpiscore-bench-cores")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    if os.cpu_count() < 2:
        sys.exit("bench_cores: this machine has one core")
    data = os.path.join(a.work, f"lin_{a.rows}x{a.features}")
    if not os.path.exists(os.path.join(data, "model.h5")):
        subprocess.run([sys.executable, os.path.join(HERE, "make_dataset.py"), "synthetic", "--rows",
                        str(a.rows), "--features", str(a.features), "--out", data], check=True,
                       capture_output=True)
    csv = os.path.join(data, "data.csv")
    csv2 = os.path.join(data, "data_copy.csv")
    if not os.path.exists(csv2):
        shutil.copy(csv, csv2)
    model = os.path.join(data, "model.h5")

    def ms(core, inp, out):
        return pinned(core, [a.mpiscore, "run", "--model", model, "--input", inp, "--output", out,
                             "--overwrite"])

    print("load:", open("/proc/loadavg").read().split()[:3], flush=True)
    o1, o2 = os.path.join(a.work, "o1.csv"), os.path.join(a.work, "o2.csv")
    alone = best(lambda: run_pair([ms(0, csv, o1)]), a.repeat)[0]
    pair = best(lambda: run_pair([ms(0, csv, o1), ms(1, csv2, o2)]), a.repeat)[0]
    py = sys.executable
    mem1 = best(lambda: run_pair([pinned(0, [py, "-c", MEM])]), a.repeat)
    mem2 = best(lambda: run_pair([pinned(0, [py, "-c", MEM]), pinned(1, [py, "-c", MEM])]), a.repeat)
    cpu1 = best(lambda: run_pair([pinned(0, [py, "-c", CPU])]), a.repeat)
    cpu2 = best(lambda: run_pair([pinned(0, [py, "-c", CPU]), pinned(1, [py, "-c", CPU])]), a.repeat)
    m1 = float(mem1[1][0])
    m2 = [float(x) for x in mem2[1]]
    c1 = float(cpu1[1][0])
    c2 = [float(x) for x in cpu2[1]]
    print(f"mpiscore CSV run, {a.rows:,} x {a.features}: alone {alone:.3f} s, two at once "
          f"{pair:.3f} s -> the second core adds {2 * alone / pair:.2f}x (ideal 2.00x)")
    print(f"memory copy: alone {m1:.1f} GB/s; two at once {m2[0]:.1f} + {m2[1]:.1f} = "
          f"{sum(m2):.1f} GB/s ({sum(m2) / m1:.2f}x)")
    print(f"compute loop: alone {c1:.3f} s; two at once {c2[0]:.3f} s and {c2[1]:.3f} s "
          f"({2 * c1 / max(c2):.2f}x)")
    print("load:", open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__":
    main()
