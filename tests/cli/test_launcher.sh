#!/usr/bin/env bash
# `mpiscore run -n N ...` starts the ranks itself: the same output as
# `mpirun -n N mpiscore run ...`, exit codes passed through, exactly one error
# line on stderr (none of mpirun's boxed paragraphs), signals forwarded and
# reported as exit 6, a killed rank named in one line.
source "$MS_SRC/tests/lib.sh"
make_fixtures
M="$T/model.h5"
cd "$T"

abc_csv big.csv 20000 2

run_args=(--model "$M" --input good.csv --id-column id)

# one_line CODE PATTERN CMD...: exit CODE, stderr is exactly one line matching PATTERN
one_line() {
    local code=$1 pat=$2
    shift 2
    expect_fail "$code" "$pat" "$@"
    local n
    n=$(wc -l <"$T/err.txt")
    if [ "$n" = 1 ]; then ok "one stderr line: $*"; else bad "$n stderr lines: $(cat "$T/err.txt")"; fi
}

# Same output as mpirun and as one process; the expected probabilities are sklearn's.
"$MPISCORE" run -n 2 "${run_args[@]}" --output launch2.csv
mpirun -n 2 "$MPISCORE" run "${run_args[@]}" --output mpirun2.csv
"$MPISCORE" run "${run_args[@]}" --output single.csv
"$MPISCORE" run -n 3 --map-by core "${run_args[@]}" --output launch3.csv
"$MPISCORE" run --np=1 "${run_args[@]}" --output launch1.csv
printf 'localhost slots=4\n' >hosts
"$MPISCORE" run -n 2 --hostfile hosts "${run_args[@]}" --output hostfile2.csv
same launch2.csv mpirun2.csv "run -n 2 = mpirun -n 2 run"
same launch2.csv single.csv "run -n 2 = one process"
same launch3.csv single.csv "run -n 3 --map-by core = one process"
same launch1.csv single.csv "run --np=1 = one process"
same hostfile2.csv single.csv "run -n 2 --hostfile = one process"
"$MS_PYTHON" - launch2.csv expected.csv <<'PY' && ok "run -n 2 matches scikit-learn" ||
import sys
import pandas as pd
got, want = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
assert list(got.columns) == list(want.columns) and len(got) == len(want) == 50
assert (got["id"] == want["id"]).all() and (got["label"] == want["label"]).all()
assert ((got[["p_no", "p_yes"]] - want[["p_no", "p_yes"]]).abs().max().max()) < 1e-6
PY
    bad "run -n 2 differs from scikit-learn"

# Errors: the run's own line only, with its exit code.
one_line 2 "^mpiscore: error: missing\.csv: No such file or directory$" \
    "$MPISCORE" run -n 2 --model "$M" --input missing.csv --output o.csv
one_line 3 "^mpiscore: error: .*notmodel\.h5" \
    "$MPISCORE" run -n 2 --model notmodel.h5 --input good.csv --output o.csv
one_line 1 "^mpiscore run: -n takes a number of ranks from 1 up, not \"0\" \(see mpiscore run --help\)$" \
    "$MPISCORE" run -n 0 "${run_args[@]}" --output o.csv
one_line 1 "^mpiscore run: -n needs a value \(see mpiscore run --help\)$" "$MPISCORE" run "${run_args[@]}" --output o.csv -n
one_line 1 "^mpiscore run: --hostfile/--map-by/--launcher go with -n N \(see mpiscore run --help\)$" \
    "$MPISCORE" run --hostfile hosts "${run_args[@]}" --output o.csv
one_line 1 "^mpiscore run: --launcher takes auto, mpirun or srun, not \"pbs\" \(see mpiscore run --help\)$" \
    "$MPISCORE" run -n 2 --launcher pbs "${run_args[@]}" --output o.csv
one_line 1 "^mpiscore run: -n/--hostfile/--map-by/--launcher start the ranks; under mpirun" \
    mpirun -q -n 1 "$MPISCORE" run -n 2 "${run_args[@]}" --output o.csv
one_line 4 "^mpiscore: error: cannot start mpirun: No such file or directory" \
    env PATH=/nonexistent "$MPISCORE" run -n 2 "${run_args[@]}" --output o.csv
[ ! -e o.csv ] && ok "no output after the errors" || bad "o.csv left behind"

"$MPISCORE" run -n 2 --model "$M" --input big.csv --id-column id --output clean.csv

# rank_pid R: the pid of the rank R process of the run in this folder
rank_pid() {
    local p
    for p in $(pgrep -x mpiscore); do
        if { tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" &&
            [ "$(readlink "/proc/$p/cwd")" = "$T" ]; then
            echo "$p"
            return
        fi
    done
}

# wait_partial: until the run has started writing (it is slowed to 2 ms a
# batch: 2,000 batches, some 4 s), and a little longer
wait_partial() {
    for _ in $(seq 100); do
        [ -e bigout.csv.partial ] && break
        sleep 0.1
    done
    sleep 0.5
}

# SIGTERM (and SIGINT) to the launcher: forwarded, exit 6, and --resume finishes the job.
for sig in TERM INT; do
    rm -f bigout.csv bigout.csv.partial bigout.csv.journal
    MPISCORE_FAULT=slow-input "$MPISCORE" run -n 2 --model "$M" --input big.csv --id-column id \
        --mini-batch-rows 10 --output bigout.csv 2>"err_$sig.txt" &
    pid=$!
    wait_partial
    kill -s "$sig" "$pid" || true
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 6 ] && ok "SIG$sig to the launcher: exit 6" || bad "SIG$sig: exit $rc: $(cat "err_$sig.txt")"
    grep -q "interrupted" "err_$sig.txt" && [ "$(wc -l <"err_$sig.txt")" = 1 ] &&
        ok "SIG$sig: one line" || bad "SIG$sig stderr: $(cat "err_$sig.txt")"
    "$MPISCORE" run -n 2 --model "$M" --input big.csv --id-column id --mini-batch-rows 10 \
        --output bigout.csv --resume
    same bigout.csv clean.csv "SIG$sig then --resume = a clean run"
done

# A rank killed outright: one line naming the signal, 128 + 9, and the run resumes.
rm -f bigout.csv bigout.csv.partial bigout.csv.journal
MPISCORE_FAULT=slow-input "$MPISCORE" run -n 2 --model "$M" --input big.csv --id-column id \
    --mini-batch-rows 10 --output bigout.csv 2>err_kill.txt &
pid=$!
wait_partial
victim=$(rank_pid 1)
[ -n "$victim" ] && kill -KILL "$victim" || true
rc=0
wait "$pid" || rc=$?
[ "$rc" = 137 ] && ok "killed rank: exit 137" || bad "killed rank: exit $rc"
[ "$(cat err_kill.txt)" = "mpiscore: error: a rank was killed by signal 9 (Killed)" ] &&
    ok "killed rank: one line" || bad "killed rank stderr: $(cat err_kill.txt)"
"$MPISCORE" run -n 2 --model "$M" --input big.csv --id-column id --mini-batch-rows 10 \
    --output bigout.csv --resume
same bigout.csv clean.csv "killed rank then --resume = a clean run"

finish
