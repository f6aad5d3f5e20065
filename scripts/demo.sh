#!/usr/bin/env bash
# Install, build, and score the checked-in digits sample with 2 MPI ranks:
# prints the run's throughput and the first rows of the output.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/setup.sh"
build=$(bash "$here/scripts/build.sh")
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
out=${DEMO_OUT:-$(mktemp -d /tmp/mpiscore-demo.XXXXXX)}
mkdir -p "$out"
echo "== model"
"$build/mpiscore" model info "$here/datasets/digits_logreg.h5"
echo "== mpiscore run -n 2 (1797 handwritten digits, 64 pixels each)"
"$build/mpiscore" run -n 2 \
    --model "$here/datasets/digits_logreg.h5" \
    --input "$here/datasets/digits.csv" --id-column image_id \
    --output "$out/scores.csv" --overwrite \
    --mini-batch-rows 256 --metrics "$out/metrics.json" --report-bindings
py=$(bash "$here/scripts/find-python.sh")
"$py" - "$out/metrics.json" "$here/datasets/digits.csv" "$out/scores.csv" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"== {m['rows']} rows in {m['wall_s']:.3f} s = {m['rows_per_s']:,.0f} rows/s, "
      f"{m['mb_per_s']:.1f} MB/s on {m['ranks']} ranks ({m['isa']} kernel)")
truth = [l.rsplit(",", 1)[1].strip() for l in open(sys.argv[2]).readlines()[1:]]
pred = [l.rsplit(",", 1)[1].strip() for l in open(sys.argv[3]).readlines()[1:]]
hits = sum(t == p for t, p in zip(truth, pred))
print(f"== predicted digit matches the true digit on {hits} of {len(truth)} images")
PY
echo "== first rows of $out/scores.csv"
head -n 4 "$out/scores.csv" | cut -c1-160
