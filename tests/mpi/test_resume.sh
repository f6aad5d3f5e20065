#!/usr/bin/env bash
# --resume after SIGTERM, kill -9 of every rank, kill -9 of one worker, and
# an early kill gives an output byte-identical to an uninterrupted run; a
# journal that no longer matches the inputs is refused.
source "$MS_SRC/tests/lib.sh"
"$MS_PYTHON" "$MS_SRC/scripts/make_dataset.py" synthetic --rows 300000 --features 8 \
    --out "$T" --format csv >/dev/null
M="$T/model.h5"
# tiny batches make the run last a few seconds, so it can be cut mid-way
args=(--model "$M" --input "$T/data.csv" --id-column row_id --mini-batch-rows 10
    --journal-every 0.05)
mpis 2 run "${args[@]}" --output "$T/ref.csv"

# start_run OUT: run in the background; sets $pid
start_run() {
    rm -f "$1" "$1".*
    # mpirun itself in the background, so $pid is the process a scheduler signals
    mpirun -n 2 "$MPISCORE" run "${args[@]}" --output "$1" >/dev/null 2>"$T/run.err" &
    pid=$!
}

resume_and_check() {
    local out=$1 what=$2
    if [ -e "$out" ]; then
        bad "$what: final output exists after the interruption"
        return
    fi
    mpis 2 run "${args[@]}" --output "$out" --resume 2>"$T/resume.err" ||
        { bad "$what: resume failed: $(cat "$T/resume.err")"; return; }
    same "$T/ref.csv" "$out" "$what: resumed output identical to an uninterrupted run"
    [ ! -e "$out.journal" ] && [ ! -e "$out.partial" ] && ok "$what: journal and partial removed" ||
        bad "$what: journal or partial left behind"
}

# SIGTERM (preemption, scancel): stops at a batch boundary with a clear message
start_run "$T/term.csv"
wait_rows "$T/term.csv" 20000 || bad "SIGTERM: run made no progress"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" != 0 ] && grep -q "interrupted by signal 15 after [0-9]* rows; continue with --resume" "$T/run.err" &&
    ok "SIGTERM: exit $rc, $(head -n 1 "$T/run.err")" || bad "SIGTERM: exit $rc, $(cat "$T/run.err")"
resume_and_check "$T/term.csv" "SIGTERM"

# kill -9 of every rank mid-run
start_run "$T/k9.csv"
wait_rows "$T/k9.csv" 50000 || bad "kill -9: run made no progress"
pkill -9 -f "mpiscore run .*--output $T/k9.csv" || true
wait "$pid" || true
resume_and_check "$T/k9.csv" "kill -9 of all ranks"

# kill -9 of mpirun itself: its ranks go down with it
start_run "$T/km.csv"
wait_rows "$T/km.csv" 40000 || bad "kill -9 mpirun: run made no progress"
kill -9 "$pid"
wait "$pid" || true
for _ in $(seq 1 100); do pgrep -f "mpiscore run .*--output $T/km.csv" >/dev/null || break; sleep 0.1; done
resume_and_check "$T/km.csv" "kill -9 of mpirun"

# kill -9 of the worker only: the job fails, the journal stays usable
start_run "$T/kw.csv"
wait_rows "$T/kw.csv" 80000 || bad "worker kill: run made no progress"
wpid=$(pgrep -f "mpiscore run .*--output $T/kw.csv" | sort -n | tail -n 1)
kill -9 "$wpid"
rc=0
wait "$pid" || rc=$?
[ "$rc" != 0 ] && ok "worker killed: job failed (exit $rc)" || bad "worker killed: job exited 0"
resume_and_check "$T/kw.csv" "kill -9 of one rank"

# resuming twice in a row: cut again during the resumed run
start_run "$T/twice.csv"
wait_rows "$T/twice.csv" 30000 || bad "twice: no progress"
kill -TERM "$pid"; wait "$pid" || true
mpirun -n 2 "$MPISCORE" run "${args[@]}" --output "$T/twice.csv" --resume >/dev/null 2>&1 &
pid=$!
wait_rows "$T/twice.csv" 60000 || bad "twice: resumed run made no progress"
kill -TERM "$pid"; wait "$pid" || true
resume_and_check "$T/twice.csv" "interrupted twice"

# killed early: the journal has its header but no commit point yet
start_run "$T/early.csv"
for _ in $(seq 1 100); do [ -s "$T/early.csv.journal" ] && break; sleep 0.02; done
pkill -9 -f "mpiscore run .*--output $T/early.csv" || true
wait "$pid" || true
if [ -e "$T/early.csv.journal" ]; then
    resume_and_check "$T/early.csv" "killed before the first commit point"
else
    bad "early kill: no journal was created"
fi

# killed after the last batch, just before the rename
rm -f "$T/late.csv" "$T"/late.csv.*
MPISCORE_FAULT=before-rename mpirun -n 2 "$MPISCORE" run "${args[@]}" --output "$T/late.csv" \
    >/dev/null 2>&1 && bad "fault injection did not fire"
resume_and_check "$T/late.csv" "killed just before the rename"

# a different model under the same path is refused
start_run "$T/mdl.csv"
wait_rows "$T/mdl.csv" 20000 || bad "model change: no progress"
kill -TERM "$pid"; wait "$pid" || true
cp "$M" "$T/model.bak"
# (a sealed container edited in place is re-sealed: a changed model, not a damaged one)
"$MS_PYTHON" -c "import h5py,sys; sys.path.insert(0,sys.argv[2]); import export_sklearn as e
with h5py.File(sys.argv[1],'r+') as f: f['/linear/intercept'][0] += 1
e._seal(sys.argv[1])" "$M" "$MS_SRC/scripts"
expect_fail 2 "mdl\.csv\.journal: model $M changed since the interrupted run" \
    mpis 2 run "${args[@]}" --output "$T/mdl.csv" --resume
cp "$T/model.bak" "$M"

# a second run on an output that is still being written is refused, and the
# first run is unharmed
start_run "$T/busy.csv"
wait_rows "$T/busy.csv" 1000 || bad "busy: no progress"
expect_fail 4 "busy\.csv\.partial: another mpiscore run is writing this output" \
    mpis 2 run "${args[@]}" --output "$T/busy.csv" --overwrite
wait "$pid" || bad "busy: the first run failed"
same "$T/ref.csv" "$T/busy.csv" "busy: the first run's output is intact"

# a journal that does not match is refused
start_run "$T/chg.csv"
wait_rows "$T/chg.csv" 20000 || bad "changed: no progress"
kill -TERM "$pid"; wait "$pid" || true
touch -d '2001-01-01' "$T/data.csv"
expect_fail 2 "chg\.csv\.journal: input $T/data\.csv changed since the interrupted run; start again without --resume" \
    mpis 2 run "${args[@]}" --output "$T/chg.csv" --resume
expect_fail 2 "nothing\.csv\.journal: No such file or directory \(nothing to resume" \
    mpis 2 run "${args[@]}" --output "$T/nothing.csv" --resume
expect_fail 1 "--resume needs CSV or Parquet output \(HDF5 output cannot be cut back to a commit point\)$" mpis 2 run "${args[@]}" --output "$T/x.h5" --resume
# sums FILES...: their sha256, to show a refusal left them byte-identical
sums() { sha256sum "$@" 2>&1; }

# issue 12, item 12: the same model through another path and the input as
# ./data.csv are the same run (identity and content, not spelling): resumed
start_run "$T/same.csv"
wait_rows "$T/same.csv" 20000 || bad "same identity: no progress"
kill -TERM "$pid"; wait "$pid" || true
cp "$M" "$T/model-copy.h5"
if (cd "$T" && mpis 2 run --model model-copy.h5 --input ./data.csv --id-column row_id \
    --mini-batch-rows 10 --journal-every 0.05 --output same.csv --resume) 2>"$T/resume.err"; then
    same "$T/ref.csv" "$T/same.csv" "same model by another path, ./data.csv: resumed byte-identical"
else
    bad "same model by another path, ./data.csv: resume refused: $(head -n 1 "$T/resume.err")"
fi

# item 12: one more --input is named as such
start_run "$T/more.csv"
wait_rows "$T/more.csv" 20000 || bad "more inputs: no progress"
kill -TERM "$pid"; wait "$pid" || true
cp "$T/data.csv" "$T/data2.csv"
before=$(sums "$T"/more.csv*)
expect_fail 2 "^mpiscore: error: $T/more\.csv\.journal: inputs differ: the journal has 1 input, this run has 2; start again without --resume$" \
    mpis 2 run "${args[@]}" --input "$T/data2.csv" --output "$T/more.csv" --resume
[ "$before" = "$(sums "$T"/more.csv*)" ] && ok "more inputs: journal and partial unchanged" ||
    bad "more inputs: files changed"

# item 8: a journal whose resume point names a file index or an offset out
# of range is refused, and journal and partial stay byte-identical
# set_rec JOURNAL FIELD VALUE: rewrite the last record's field (1 = next_seq)
# with a valid checksum
set_rec() {
    "$MS_PYTHON" - "$@" <<'PY'
import sys
path, field, value = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(path).read().splitlines(True)
i = max(k for k, l in enumerate(lines) if l.startswith("R "))
w = lines[i].split()[:-1]
w[field] = value
body = " ".join(w)
h = 0xcbf29ce484222325
for b in body.encode():
    h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
lines[i] = "%s %016x\n" % (body, h)
open(path, "w").write("".join(lines))
PY
}
# bad_point WHAT FIELD VALUE PATTERN: the journal's last record with FIELD
# set to VALUE is refused with PATTERN; journal and partial stay as they were
bad_point() {
    cp "$T/more.journal.bak" "$T/more.csv.journal"
    set_rec "$T/more.csv.journal" "$2" "$3"
    local before
    before=$(sums "$T"/more.csv*)
    expect_fail 2 "$4" mpis 2 run "${args[@]}" --output "$T/more.csv" --resume
    [ "$before" = "$(sums "$T"/more.csv*)" ] && ok "$1: journal and partial unchanged" ||
        bad "$1: files changed or removed: $(ls "$T" | grep more)"
}
cp "$T/more.csv.journal" "$T/more.journal.bak"
bad_point "file index out of range" 2 7 "^mpiscore: error: resume point names file 7 of 1$"
bad_point "offset out of range" 3 999999999999 \
    "^mpiscore: error: $T/data\.csv: resume offset 999999999999 is outside the data"
cp "$T/more.journal.bak" "$T/more.csv.journal"
mpis 2 run "${args[@]}" --output "$T/more.csv" --resume 2>/dev/null &&
    same "$T/ref.csv" "$T/more.csv" "after the refusals the run still resumes byte-identical" ||
    bad "after the refusals the resume failed"

# item 7: a second run on an HDF5 output that is being written is refused
# and leaves the first run's partial alone: the first run completes
mpis 2 run "${args[@]}" --output "$T/ref.h5"
rm -f "$T"/busy.h5*
mpirun -n 2 "$MPISCORE" run "${args[@]}" --output "$T/busy.h5" >/dev/null 2>"$T/run.err" &
pid=$!
for _ in $(seq 1 200); do [ -s "$T/busy.h5.partial" ] && break; sleep 0.05; done
sleep 0.3
expect_fail 4 "^mpiscore: error: $T/busy\.h5\.partial: another mpiscore run is writing this output$" \
    mpis 2 run "${args[@]}" --output "$T/busy.h5" --overwrite
wait "$pid" && ok "HDF5 busy: the first run completed" || bad "HDF5 busy: the first run failed: $(cat "$T/run.err")"
same "$T/ref.h5" "$T/busy.h5" "HDF5 busy: the first run's output is intact"
finish
