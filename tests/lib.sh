# tests/lib.sh — shared helpers for the script tests (sourced, not run).
# ctest sets MPISCORE (binary), MS_SRC (source tree), MS_PYTHON (python with
# scikit-learn), MS_BUILD. Each test gets a fresh $T folder, removed on exit.
set -euo pipefail
: "${MPISCORE:?run through ctest (MPISCORE not set)}"
: "${MS_SRC:?}" "${MS_PYTHON:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/mpiscore-test.XXXXXX")
# each test's own Open MPI session folder: two mpiruns of parallel tests racing
# to create the shared /tmp/ompi.HOST.UID fail orte_init ("File exists").
# Outside $T (tests compare $T's files before and after a run), sticky and
# world-writable like /tmp for the tests that run as nobody.
MS_OMPI_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mpiscore-ompi.XXXXXX")
chmod 1777 "$MS_OMPI_TMP"
export OMPI_MCA_orte_tmpdir_base=$MS_OMPI_TMP
trap 'rm -rf "$T" "$MS_OMPI_TMP"' EXIT
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1
fails=0
passes=0

# mpis N ARGS...: mpiscore under mpirun with N ranks (N = 0: no mpirun).
mpis() {
    local n=$1
    shift
    if [ "$n" = 0 ]; then
        "$MPISCORE" "$@"
    else
        mpirun -n "$n" "$MPISCORE" "$@"
    fi
}

ok() { passes=$((passes + 1)); echo "ok: $*"; }
bad() { fails=$((fails + 1)); echo "FAIL: $*" >&2; }

# expect_fail CODE PATTERN CMD...: CMD exits with CODE and its stderr's first
# line matches the extended regex PATTERN.
expect_fail() {
    local code=$1 pat=$2 rc=0
    shift 2
    "$@" >"$T/out.txt" 2>"$T/err.txt" || rc=$?
    local first
    first=$(head -n 1 "$T/err.txt")
    if [ "$rc" != "$code" ]; then
        bad "expected exit $code, got $rc: $* :: $(cat "$T/err.txt")"
    elif ! grep -Eq -- "$pat" <<<"$first"; then
        bad "stderr '$first' does not match '$pat': $*"
    else
        ok "exit $code: $first"
    fi
}

# same FILE_A FILE_B WHAT: byte-identical files.
same() {
    if cmp -s "$1" "$2"; then ok "$3"; else bad "$3: $1 and $2 differ"; fi
}

finish() {
    echo "$passes passed, $fails failed"
    [ "$fails" -eq 0 ]
}

# make_synthetic ROWS: $T/data.csv (row_id, f0..f7) and $T/model.h5 for it,
# with the arguments of a slow, often-journaled run in run_args (10-row
# batches), for tests that interrupt runs.
make_synthetic() {
    "$MS_PYTHON" "$MS_SRC/scripts/make_dataset.py" synthetic --rows "$1" --features 8 \
        --out "$T" --format csv >/dev/null
    run_args=(--model "$T/model.h5" --input "$T/data.csv" --id-column row_id
        --mini-batch-rows 10 --journal-every 0.05)
}

# wait_rows OUT N: until OUT.journal has a record past N rows (at most 10 s),
# for tests that interrupt a run mid-way
wait_rows() {
    for _ in $(seq 1 200); do
        if [ -f "$1.journal" ] && awk -v n="$2" '$1 == "R" && $6 > n { f = 1 } END { exit !f }' "$1.journal"; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# A small binary logistic model on features a,b,c (tests/fixtures.py).
make_fixtures() {
    "$MS_PYTHON" "$MS_SRC/tests/fixtures.py" "$T"
}

# abc_csv FILE ROWS SEED: id,a,b,c rows of normal values (6 decimals) for
# the fixtures' model, large enough to cut into many batches.
abc_csv() {
    "$MS_PYTHON" - "$@" <<'PY'
import sys
import numpy as np
path, rows, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = np.random.default_rng(seed).normal(size=(rows, 3))
with open(path, "w") as f:
    f.write("id,a,b,c\n")
    for i, x in enumerate(r):
        f.write(f"r{i},{x[0]:.6f},{x[1]:.6f},{x[2]:.6f}\n")
PY
}
