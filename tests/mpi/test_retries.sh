#!/usr/bin/env bash
# Per-batch retries and timeouts, with faults injected on one rank only
# (mpirun's `A : env MPISCORE_FAULT_READ=... A`): transient read failures
# (EIO, short reads) are retried up to --max-retries with backoff and counted
# per rank in --metrics, then fail the run as before; a batch a rank holds
# past --batch-timeout goes to another rank, a rank late twice gets no more
# work and is named; the output stays byte-identical to a clean run.
source "$MS_SRC/tests/lib.sh"
make_fixtures
M="$T/model.h5"
cd "$T"
abc_csv big.csv 20000 3
common=(--model "$M" --input big.csv --id-column id --mini-batch-rows 1000)
"$MPISCORE" run "${common[@]}" --output clean.csv

# faulty N FAULT OUT ARGS...: N ranks (N >= 2) of which the last reads with FAULT
faulty() {
    local n=$1 fault=$2 out=$3
    shift 3
    local args=(run "${common[@]}" --output "$out" --metrics "$out.json" "$@")
    mpirun -n $((n - 1)) "$MPISCORE" "${args[@]}" : \
        -n 1 env MPISCORE_FAULT_READ="$fault" "$MPISCORE" "${args[@]}"
}

# metric FILE EXPR: a value of the metrics JSON (python expression over m)
metric() {
    "$MS_PYTHON" -c 'import json, sys; m = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# Transient failures within the budget: retried, counted, output identical.
for fault in eio:2 short:3; do
    faulty 2 "$fault" "retry_${fault%%:*}.csv"
    same clean.csv "retry_${fault%%:*}.csv" "$fault on rank 1: output = a clean run"
    got=$(metric "retry_${fault%%:*}.csv.json" "m['per_rank'][1]['retries'], m['retries']")
    [ "$got" = "(${fault#*:}, ${fault#*:})" ] && ok "$fault: retries counted on rank 1 ($got)" ||
        bad "$fault: retries (rank 1, total) = $got"
done

# Over the budget: the run fails as before, naming the file and the retries.
expect_fail 4 "^mpiscore: error: big\.csv: Input/output error \(after 3 retries\)$" \
    faulty 2 eio:4 over.csv
[ ! -e over.csv ] && ok "no output after the failed retries" || bad "over.csv left in place"
expect_fail 4 "^mpiscore: error: big\.csv: Input/output error$" \
    faulty 2 eio:1 none.csv --max-retries 0
expect_fail 1 "^mpiscore run: --max-retries x: expected a whole number from 0 to 100 \(see mpiscore run --help\)$" \
    "$MPISCORE" run "${common[@]}" --output o.csv --max-retries x
expect_fail 1 "^mpiscore run: --batch-timeout 0: expected seconds from 0.001 to 86400 \(see mpiscore run --help\)$" \
    "$MPISCORE" run "${common[@]}" --output o.csv --batch-timeout 0

# A slow rank: its batches are handed on, it is excluded after two, the
# output is a clean run's, and the run says which rank.
faulty 3 slow:2 slow.csv --batch-timeout 0.5 2>slow_err.txt
same clean.csv slow.csv "slow rank 2 with --batch-timeout 0.5: output = a clean run"
grep -Eq "^mpiscore: rank 2 \(local rank 2, host [^ ]+ .*\) was late with [0-9]+ batches \(--batch-timeout 0.5 s\) and given no more work; the others scored them$" slow_err.txt &&
    ok "the late rank is named by host" || bad "no report of the late rank: $(cat slow_err.txt)"
got=$(metric slow.csv.json "m['per_rank'][2]['excluded'], m['per_rank'][2]['timeouts'] >= 2, m['per_rank'][1]['excluded']")
[ "$got" = "(True, True, False)" ] && ok "metrics: rank 2 excluded after 2+ timeouts" ||
    bad "metrics of the slow run: $got"

# Without --batch-timeout the slow rank is simply waited for (same output).
faulty 2 slow:0.2 slow_wait.csv
same clean.csv slow_wait.csv "slow rank without --batch-timeout: output = a clean run"

finish
