#!/usr/bin/env python3
"""Tree-ensemble benchmark: mpiscore against XGBoost's own predictor, same
machine, same run, same data and model.

  bench_trees.py --mpiscore BUILD/mpiscore [--rows 1000000] [--features 30]
                 [--trees 500] [--depth 8] [--class-rounds 200] [--leaf-rounds 1000]
                 [--work DIR] [--repeat 3] [--kernel-only] [--baseline OTHER/mpiscore]
                 [--doc docs/benchmarks.md]

For a binary model (binary:logistic, TREES rounds of depth DEPTH) and a
3-class model (multi:softprob, CLASS_ROUNDS rounds = 3 x CLASS_ROUNDS trees):
1. Generates ROWS x FEATURES float32 rows (2% missing) once into --work as
   CSV and HDF5; trains the model on the first 200,000 rows with XGBoost
   (hist) and imports it with `mpiscore model import xgboost`.
2. Peers: XGBoost `inplace_predict` on the array already in memory, with
   nthread=1 (per core) and nthread=2 (the machine); and the end-to-end
   Python path: pandas.read_csv + inplace_predict (nthread=2) + to_csv.
3. mpiscore: `mpirun -n 2` on the HDF5 and on the CSV (CSV out), and
   `mpirun -n 1` on the HDF5; outputs are checked against XGBoost's
   (|diff| <= 1e-5) before any figure is reported.
4. Kernel-only figures (XGBoost inplace_predict with nthread=1 against
   `mpirun -n 1` on the HDF5, outputs checked the same way) for the binary
   model on the same rows without missing values, and for a LightGBM-shaped
   model (lossguide, 31 leaves per tree, LEAF_ROUNDS trees: the anchor the
   lleaves compiler is usually quoted on) with and without missing values.
   --kernel-only skips the end-to-end runs and the 3-class model;
   --baseline times another mpiscore build's kernel beside (e.g. main's).
5. Prints ns per tree x row per core (XGBoost: seconds x threads / (rows x
   trees); mpiscore: the kernel seconds summed over ranks from --metrics,
   / (rows x trees)) and the ratios; with --doc writes them into
   docs/benchmarks.md between the trees markers (full runs, with a gnuplot
   PNG) and the kernel figures between the trees_kernel markers.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
BEGIN, END = "<!-- trees:begin -->", "<!-- trees:end -->"
KBEGIN, KEND = "<!-- trees_kernel:begin -->", "<!-- trees_kernel:end -->"
KERNEL_PROSE = """These models are numeric-only with one value per leaf, so mpiscore
scores them on its quantized layout (src/core/kernels/trees_quant.c, built
at load): each feature's split thresholds sorted once, each block of 128
rows mapped to bin numbers once, then trees of at most 32 leaves evaluated
in QuickScorer's bitvector form (every split from contiguous bin loads, no
gather) and bigger ones walked as complete heap-ordered trees (top 3
levels from contiguous loads, levels 3-6 by register permutes), 16 rows
per AVX-512 vector (8 with AVX2). Outputs are bit-identical to the scalar
reference (tests/unit/test_trees_quant.c). Models it does not suit (leaf
vectors, more than 65,534 distinct thresholds on a feature, trees too deep
to complete within 8 slots per node) keep the previous kernel."""


def sh(cmd, env=None):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench_trees: {' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def write_h5(path, x, names):
    import h5py
    with h5py.File(path + ".tmp", "w") as f:
        d = f.create_dataset("features", data=x, chunks=(min(65536, len(x)), x.shape[1]))
        d.attrs["feature_names"] = names
        f["ids"] = np.arange(len(x), dtype=np.int64)
    os.replace(path + ".tmp", path)


def make_full(x, work):
    """The same rows with every missing value replaced by a drawn one."""
    import h5py
    h5 = os.path.join(work, "data_full.h5")
    if os.path.exists(h5):
        with h5py.File(h5, "r") as f:
            return f["features"][:], h5
    full = x.copy()
    miss = np.isnan(full)
    full[miss] = np.random.default_rng(7).normal(size=int(miss.sum())).astype(np.float32)
    write_h5(h5, full, [f"f{i}" for i in range(x.shape[1])])
    return full, h5


def make_data(a, work):
    import h5py
    csv, h5 = os.path.join(work, "data.csv"), os.path.join(work, "data.h5")
    if os.path.exists(csv) and os.path.exists(h5):
        with h5py.File(h5, "r") as f:
            return f["features"][:], csv, h5
    print(f"generating {a.rows:,} x {a.features} ...", flush=True)
    rng = np.random.default_rng(42)
    x = rng.normal(size=(a.rows, a.features)).astype(np.float32)
    # float32 values that print and read back exactly (9 significant digits)
    x[rng.random(x.shape) < 0.02] = np.nan
    names = [f"f{i}" for i in range(a.features)]
    write_h5(h5, x, names)
    df = pd.DataFrame(x, columns=names)
    df.insert(0, "row_id", np.arange(a.rows))
    df.to_csv(csv + ".tmp", index=False, float_format="%.9g")
    os.replace(csv + ".tmp", csv)
    return x, csv, h5


def labels(x, classes):
    z = np.nan_to_num(x[:, 0] + x[:, 1] * x[:, 2] - 0.5 * x[:, 3] ** 2 + np.sin(x[:, 4]))
    if classes == 2:
        return (z > 0).astype(int)
    return np.digitize(z, [-0.7, 0.7])


def train(a, x, work, name, params, rounds, env):
    import xgboost as xgb
    js, h5 = os.path.join(work, f"{name}.json"), os.path.join(work, f"{name}.h5")
    if not os.path.exists(js):
        print(f"training {name}: {rounds} rounds, {params} ...", flush=True)
        n = min(200_000, len(x))
        dm = xgb.DMatrix(x[:n], label=labels(x[:n], params.get("num_class", 2)))
        bst = xgb.train(dict(dict(max_depth=a.depth, eta=0.1, tree_method="hist", nthread=2),
                             **params), dm, rounds)
        bst.save_model(js)
    sh([a.mpiscore, "model", "import", "xgboost", js, "-o", h5], env)
    bst = xgb.Booster(model_file=js)
    return bst, h5


def run_mpiscore(a, name, key, n, inp, idcol, model, ref, env, work, binary=None):
    """mpirun -n N mpiscore run, best of --repeat; the output must match ref
    (XGBoost's) before the timing counts. Returns wall s, kernel s, diff, ISA."""
    out = os.path.join(work, f"{name}_{key}" + (".csv" if inp.endswith(".csv") else ".h5"))
    met = os.path.join(work, f"{name}_{key}.json")
    cmd = ["mpirun", "-n", str(n), binary or a.mpiscore, "run", "--model", model, "--input", inp,
           "--output", out, "--overwrite", "--id-column", idcol, "--metrics", met]
    print(f"{name}: mpiscore {key} ...", flush=True)
    wall, kern = [], []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        sh(cmd, env)
        wall.append(time.perf_counter() - t0)
        m = json.load(open(met))
        kern.append(sum(r["score_s"] for r in m["per_rank"]))
    if out.endswith(".csv"):
        mine = pd.read_csv(out).filter(like="p_").to_numpy()
    else:
        import h5py
        with h5py.File(out, "r") as f:
            mine = f["predictions"][:]
    diff = float(np.max(np.abs(mine - ref)))
    if diff > 1e-5:
        sys.exit(f"bench_trees: {name} {key}: outputs disagree with XGBoost (max |diff| {diff:.2e})")
    return min(wall), min(kern), diff, m["isa"]


def count_trees(bst):
    return len(json.loads(bst.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"])


def xgb_predict(bst, x, threads, multi):
    bst.set_param({"nthread": threads})
    p = bst.inplace_predict(x)
    return p if multi else np.stack([1 - p, p], axis=1)


def bench_kernel(a, name, x, h5_in, bst, model, env, work):
    """Per core, in memory: XGBoost inplace_predict (1 thread) against the
    mpiscore kernel's time on one rank, on the same rows."""
    n_trees, tr = count_trees(bst), len(x) * count_trees(bst)
    print(f"{name}: XGBoost inplace_predict, 1 thread ...", flush=True)
    xgb1 = best(lambda: xgb_predict(bst, x, 1, False), a.repeat)
    ref = xgb_predict(bst, x, 2, False)
    _, kern, diff, isa = run_mpiscore(a, name, "h5_n1", 1, h5_in, "ids", model, ref, env, work)
    res = {"name": name, "trees": n_trees, "rows": len(x), "xgb_mem_1": xgb1,
           "h5_n1_score_s": kern, "h5_n1_diff": diff, "isa": isa,
           "missing": float(np.isnan(x).mean()), "ns_xgb_core": xgb1 / tr * 1e9,
           "ns_ms_core": kern / tr * 1e9}
    res["kernel_ratio"] = res["ns_xgb_core"] / res["ns_ms_core"]
    if a.baseline:
        _, kb, _, _ = run_mpiscore(a, name, "base_n1", 1, h5_in, "ids", model, ref, env, work,
                                   a.baseline)
        res["ns_base_core"] = kb / tr * 1e9
    # CPU time of the scoring thread, which other work on the machine moves
    # far less than wall time: XGBoost's (1 thread) against the kernel's, and
    # the kernel the quantized layout replaced (tests/bench/trees_kernel_cpu.c)
    tool = os.path.join(os.path.dirname(os.path.abspath(a.mpiscore)), "tests", "trees_kernel_cpu")
    if os.path.exists(tool):
        raw = os.path.splitext(h5_in)[0] + ".f32"
        if not os.path.exists(raw):
            np.ascontiguousarray(x, dtype=np.float32).tofile(raw)
        bst.set_param({"nthread": 1})
        cpu = []
        for _ in range(a.repeat):
            t0 = time.process_time()
            bst.inplace_predict(x)
            cpu.append(time.process_time() - t0)
        res["cpu_xgb"] = min(cpu) / tr * 1e9
        for key, extra in (("cpu_ms", []), ("cpu_prev", ["previous"])):
            out = sh([tool, model, raw, str(a.repeat)] + extra, env).stdout
            res[key] = json.loads(out)["ns"]
        res["cpu_ratio"] = res["cpu_xgb"] / res["cpu_ms"]
    print(f"{name}: {n_trees} trees, {res['missing']:.0%} missing; ns per tree x row per core: "
          f"XGBoost {res['ns_xgb_core']:.2f}, mpiscore {res['ns_ms_core']:.2f} "
          f"({res['kernel_ratio']:.1f}x)"
          + (f", previous kernel {res['ns_base_core']:.2f}" if a.baseline else "")
          + (f"; CPU time: XGBoost {res['cpu_xgb']:.2f}, mpiscore {res['cpu_ms']:.2f} "
             f"({res['cpu_ratio']:.1f}x), previous kernel {res['cpu_prev']:.2f}"
             if "cpu_ms" in res else ""), flush=True)
    return res


def bench_model(a, name, x, csv, h5_in, work, params, rounds, env):
    bst, model = train(a, x, work, name, params, rounds, env)
    n_trees = count_trees(bst)
    rows = len(x)
    multi = "num_class" in params
    res = {"name": name, "trees": n_trees, "rows": rows}

    print(f"{name}: XGBoost inplace_predict, 1 and 2 threads ...", flush=True)
    res["xgb_mem_1"] = best(lambda: xgb_predict(bst, x, 1, multi), a.repeat)
    res["xgb_mem_2"] = best(lambda: xgb_predict(bst, x, 2, multi), a.repeat)
    ref = xgb_predict(bst, x, 2, multi)
    peer_out = os.path.join(work, f"{name}_peer.csv")

    def xgb_e2e():
        df = pd.read_csv(csv)
        p = xgb_predict(bst, df.iloc[:, 1:].to_numpy(dtype=np.float32), 2, multi)
        out = pd.DataFrame(p, columns=[f"p_{k}" for k in range(p.shape[1])])
        out.insert(0, "row_id", df["row_id"])
        out["label"] = np.argmax(p, axis=1)
        out.to_csv(peer_out, index=False)

    print(f"{name}: pandas + XGBoost end to end ...", flush=True)
    res["xgb_e2e"] = best(xgb_e2e, a.repeat)

    for key, n, inp, idcol in (("h5_n1", 1, h5_in, "ids"), ("h5_n2", 2, h5_in, "ids"),
                               ("csv_n2", 2, csv, "row_id")):
        wall, kern, diff, res["isa"] = run_mpiscore(a, name, key, n, inp, idcol, model, ref, env,
                                                    work)
        res[key], res[key + "_score_s"], res[key + "_diff"] = wall, kern, diff
    tr = rows * n_trees
    res["ns_xgb_core"] = res["xgb_mem_1"] / tr * 1e9
    res["ns_xgb_2"] = res["xgb_mem_2"] * 2 / tr * 1e9
    res["ns_ms_core"] = res["h5_n1_score_s"] / tr * 1e9
    res["ns_ms_2"] = res["h5_n2_score_s"] / tr * 1e9
    res["kernel_ratio"] = res["ns_xgb_core"] / res["ns_ms_core"]
    res["e2e_ratio_csv"] = res["xgb_e2e"] / res["csv_n2"]
    res["e2e_ratio_h5"] = res["xgb_e2e"] / res["h5_n2"]
    print(f"{name}: {n_trees} trees; ns per tree x row per core: XGBoost {res['ns_xgb_core']:.1f}, "
          f"mpiscore {res['ns_ms_core']:.1f} ({res['kernel_ratio']:.1f}x); end to end vs pandas + "
          f"XGBoost: CSV {res['e2e_ratio_csv']:.1f}x, HDF5 {res['e2e_ratio_h5']:.1f}x", flush=True)
    return res


def write_doc(a, results, work):
    docdir = os.path.dirname(os.path.abspath(a.doc))
    png = os.path.join(docdir, "bench_trees.png")
    dat = os.path.join(work, "bench_trees.dat")
    with open(dat, "w") as fh:
        for r in results:
            fh.write(f'"{r["name"]}" {r["ns_xgb_core"]:.2f} {r["ns_ms_core"]:.2f}\n')
    gp = (f'set terminal pngcairo noenhanced size 800,420 font ",11"; set output "{png}";'
          'set title "Tree ensembles: ns per tree x row per core (lower is better)";'
          'set style data histograms; set style histogram clustered gap 1;'
          'set style fill solid 0.8; set yrange [0:*]; set grid ytics; set ylabel "ns";'
          'set key top right;'
          f'plot "{dat}" using 2:xtic(1) title "XGBoost inplace_predict" lc rgb "#a53535",'
          ' "" using 3 title "mpiscore kernel" lc rgb "#3572a5"')
    r = subprocess.run(["gnuplot", "-e", gp], capture_output=True, text=True)
    if r.returncode != 0:
        print("bench_trees: gnuplot failed:", r.stderr.strip())
    rows = "".join(
        f"| {r['name']} | {r['trees']} | {r['xgb_mem_1']:.2f} | {r['xgb_mem_2']:.2f} | "
        f"{r['h5_n1_score_s']:.2f} | {r['ns_xgb_core']:.1f} | {r['ns_ms_core']:.1f} | "
        f"**{r['kernel_ratio']:.1f}x** |\n" for r in results)
    e2e = "".join(
        f"| {r['name']} | {r['xgb_e2e']:.2f} | {r['csv_n2']:.2f} | {r['h5_n2']:.2f} | "
        f"**{r['e2e_ratio_csv']:.1f}x** | **{r['e2e_ratio_h5']:.1f}x** |\n" for r in results)
    block = f"""{BEGIN}
## Tree ensembles (XGBoost models)

Measured by `bash scripts/bench.sh --trees` (scripts/bench_trees.py) on
{cpu_name()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, best of
{a.repeat}, every figure from the same run. Data: {results[0]['rows']:,} rows x {a.features} float32 features, 2%
missing, as CSV and HDF5. Models trained by XGBoost (hist, depth {a.depth},
eta 0.1) on the first 200,000 rows, imported with `mpiscore model import
xgboost`. mpiscore's outputs were checked against XGBoost's own
`inplace_predict` (max |diff| {max(r[k] for r in results for k in ('h5_n2_diff', 'csv_n2_diff')):.1e})
before any figure was kept. Kernel: {results[0]['isa']}. Load average
(1 min) when the script started and ended: {a.load_start:.1f} and
{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; with other work on the
machine, the 2-thread figures suffer most (threads wait for a core), so
compare ratios from one run.

In memory, per core: XGBoost `inplace_predict` on the numpy array (1 and 2
threads, seconds) against mpiscore's kernel time (`score_s` from `--metrics`,
`mpirun -n 1` on the HDF5). ns per tree x row = seconds x cores / (rows x trees).

| model | trees | XGBoost 1 thread | XGBoost 2 threads | mpiscore kernel, 1 rank | XGBoost ns | mpiscore ns | ratio |
| --- | --- | --- | --- | --- | --- | --- | --- |
{rows}
End to end, wall seconds: pandas `read_csv` + `inplace_predict` (2 threads) +
`to_csv`, against `mpirun -n 2 mpiscore run` from CSV and from HDF5 to
CSV/HDF5 (including MPI start-up).

| model | pandas + XGBoost | mpiscore CSV -n 2 | mpiscore HDF5 -n 2 | ratio CSV | ratio HDF5 |
| --- | --- | --- | --- | --- | --- |
{e2e}
![ns per tree x row](bench_trees.png)

Targets: >= 3x XGBoost's in-memory predictor per core (<= 7 ns per tree x
row) and >= 5x end to end against pandas + XGBoost. The kernel on its own:
next section.
{END}
"""
    replace_section(a.doc, BEGIN, END, block)
    print(f"wrote {a.doc} and {png}")


def replace_section(doc, begin, end, block):
    text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
    if begin in text and end in text:
        text = text[:text.index(begin)] + block.rstrip("\n") + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    with open(doc, "w") as fh:
        fh.write(text)


def write_kernel_doc(a, kernels):
    base = a.baseline is not None
    krows = "".join(
        f"| {r['name']} | {r['trees']} | {r['missing']:.0%} | {r['xgb_mem_1']:.2f} | "
        f"{r['h5_n1_score_s']:.2f} | {r['ns_xgb_core']:.2f} | "
        + (f"{r['ns_base_core']:.2f} | " if base else "")
        + f"**{r['ns_ms_core']:.2f}** | **{r['kernel_ratio']:.1f}x** |\n" for r in kernels)
    head = ("| model | trees | missing | XGBoost 1 thread | mpiscore kernel, 1 rank | XGBoost ns | "
            + ("previous kernel ns | " if base else "") + "mpiscore ns | ratio |\n"
            + "| --- " * (9 if base else 8) + "|\n")
    prev = (f"Previous kernel: the packed float layout trees_avx512.c walks, from "
            f"{a.baseline_label or a.baseline}, measured in the same run on the same rows.\n\n"
            if base else "")
    cpu = all("cpu_ms" in r for r in kernels)
    crows = "".join(
        f"| {r['name']} | {r['missing']:.0%} | {r['cpu_xgb']:.2f} | {r['cpu_prev']:.2f} | "
        f"**{r['cpu_ms']:.2f}** | **{r['cpu_ratio']:.1f}x** |\n" for r in kernels) if cpu else ""
    ctab = ("""
CPU time of the scoring thread, ns per tree x row (best of the runs;
XGBoost's `time.process_time()` around `inplace_predict` with 1 thread,
mpiscore's from tests/bench/trees_kernel_cpu.c on the same rows, also
with the quantized layout dropped so the previous kernel runs). Other work
on the machine moves these far less than wall time.

| model | missing | XGBoost | previous kernel | mpiscore | ratio |
| --- | --- | --- | --- | --- | --- |
""" + crows) if cpu else ""
    block = f"""{KBEGIN}
## Tree kernel (quantized layout)

Measured by `bash scripts/bench.sh --trees` (scripts/bench_trees.py;
`--kernel-only` for this section alone) on {cpu_name()}, {os.cpu_count()} cores,
{time.strftime('%Y-%m-%d')}, best of {a.repeat}. Per core, in memory: XGBoost
`inplace_predict` with 1 thread on the numpy array against mpiscore's kernel
time (`score_s` from `--metrics`, `mpirun -n 1` on the HDF5), the same
{kernels[0]['rows']:,} rows x {a.features} float32 features, outputs checked against
XGBoost's first (max |diff| {max(r['h5_n1_diff'] for r in kernels):.1e}). Kernel: {kernels[0]['isa']}. Models:
binary_{a.trees} (XGBoost hist, depth {a.depth}, eta 0.1) on the rows with 2% missing values and
on the same rows with each NaN replaced by a drawn value; leaves31_{a.leaf_rounds}, a
LightGBM-shaped model (XGBoost lossguide, 31 leaves per tree, {a.leaf_rounds} rounds: the
usual lleaves anchor), the same two ways. Load average (1 min) when the
script started and ended: {a.load_start:.1f} and {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.

{KERNEL_PROSE}

Wall time, per core:

{prev}{head}{krows}{ctab}
Targets: <= 4 ns per tree x row per core on binary_{a.trees} with and
without missing values, <= 2.3 ns on leaves31_{a.leaf_rounds}. On a shared
machine the figures move by 10-20% from run to run (the VM exposes no
hardware counters, so times are the best of {a.repeat} runs); the ratios,
from figures measured minutes apart in one run, move less.
{KEND}
"""
    replace_section(a.doc, KBEGIN, KEND, block)
    print(f"wrote {a.doc}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mpiscore", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=30)
    ap.add_argument("--trees", type=int, default=500)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--class-rounds", type=int, default=200)
    ap.add_argument("--leaf-rounds", type=int, default=1000)
    ap.add_argument("--kernel-only", action="store_true")
    ap.add_argument("--baseline", help="another mpiscore binary whose kernel is measured beside")
    ap.add_argument("--baseline-label", help="what --baseline is, for the doc (e.g. a commit)")
    ap.add_argument("--work", default="/tmp/mpiscore-bench-trees")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--doc")
    a = ap.parse_args()
    a.load_start = os.getloadavg()[0]
    work = os.path.join(a.work, f"{a.rows}x{a.features}_d{a.depth}")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ)
    if os.getuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    x, csv, h5 = make_data(a, work)
    full, h5_full = make_full(x, work)
    binary = {"objective": "binary:logistic"}
    leaves = {"objective": "binary:logistic", "grow_policy": "lossguide", "max_leaves": 31,
              "max_depth": 0}
    results, kernels = [], []
    if a.kernel_only:
        bst, model = train(a, x, work, f"binary_{a.trees}", binary, a.trees, env)
        kernels.append(bench_kernel(a, f"binary_{a.trees}", x, h5, bst, model, env, work))
    else:
        results.append(bench_model(a, f"binary_{a.trees}", x, csv, h5, work, binary, a.trees, env))
        results.append(bench_model(a, f"3class_{a.class_rounds}x3", x, csv, h5, work,
                                   {"objective": "multi:softprob", "num_class": 3},
                                   a.class_rounds, env))
        bst, model = train(a, x, work, f"binary_{a.trees}", binary, a.trees, env)
    kernels.append(bench_kernel(a, f"binary_{a.trees}", full, h5_full, bst, model, env, work))
    name = f"leaves31_{a.leaf_rounds}"
    bst, model = train(a, x, work, name, leaves, a.leaf_rounds, env)
    kernels.append(bench_kernel(a, name, x, h5, bst, model, env, work))
    kernels.append(bench_kernel(a, name, full, h5_full, bst, model, env, work))
    print(json.dumps(results + kernels, indent=2))
    if a.doc:
        if results:
            write_doc(a, results, work)
        write_kernel_doc(a, kernels)


if __name__ == "__main__":
    main()
