#!/usr/bin/env bash
# `mpiscore submit --backend slurm` on a real one-node Slurm cluster
# (slurm/local-cluster.sh): the job runs to done and its output equals a
# direct run; relative paths in the run options are taken from the folder
# submit ran in; --nodes/--ntasks-per-node land in job.sbatch, bad values are
# refused, and a job the cluster can never place fails at submit (exit 4)
# instead of pending for ever; a queued job says why it waits; `cancel` stops
# a running job at a batch boundary and `run --resume` completes it
# identically; a requeued job resumes by itself.
source "$MS_SRC/tests/lib.sh"
CLUSTER=$MS_SRC/slurm/local-cluster.sh
export MPISCORE_SLURM_DIR=${MPISCORE_SLURM_DIR:-/tmp/mpiscore-slurm}
export SLURM_CONF=$MPISCORE_SLURM_DIR/slurm.conf
export MPISCORE_HOME=$T/home
started=0
cleanup() {
    # never leave a job of ours behind in the queue, whatever failed
    local f
    for f in "$MPISCORE_HOME"/jobs/*/slurm_id; do
        [ -e "$f" ] && { scancel "$(cat "$f")" >/dev/null 2>&1 || true; }
    done
    if [ "$started" = 1 ]; then
        bash "$CLUSTER" stop >/dev/null 2>&1 || true
    fi
    rm -rf "$T" "$MS_OMPI_TMP"
}
trap cleanup EXIT
if ! bash "$CLUSTER" status >/dev/null 2>&1; then
    bash "$CLUSTER" start >"$T/start.log" 2>&1 || { cat "$T/start.log"; bad "cluster start"; finish; }
    started=1
fi

D=$MS_SRC/datasets
mpis 2 run --model "$D/digits_logreg.h5" --input "$D/digits.csv" --id-column image_id \
    --output "$T/ref_digits.csv"

# wait_state ID REGEX [SECONDS]: poll `status` (bounded; a failed job ends the wait)
wait_state() {
    local n=$((${3:-120} * 5)) line
    for _ in $(seq 1 "$n"); do
        line=$("$MPISCORE" status "$1")
        grep -Eq "^$1  $2" <<<"$line" && return 0
        grep -q "^$1  failed" <<<"$line" && return 1
        sleep 0.2
    done
    return 1
}

id=$("$MPISCORE" submit --backend slurm --nodes 1 --ntasks-per-node 2 --time 00:10:00 -- \
    --model "$D/digits_logreg.h5" --input "$D/digits.csv" --id-column image_id \
    --output "$T/digits.csv")
[[ "$id" =~ ^[0-9]+$ ]] && ok "submit printed job id $id (Slurm job $(cat "$MPISCORE_HOME/jobs/$id/slurm_id"))" ||
    bad "submit printed '$id'"
wait_state "$id" done && ok "status: $("$MPISCORE" status "$id")" ||
    bad "job $id: $("$MPISCORE" status "$id"); $(cat "$MPISCORE_HOME/jobs/$id/stderr" 2>/dev/null)"
same "$T/ref_digits.csv" "$T/digits.csv" "Slurm job output equals a direct run"

# Relative paths (any spelling getopt takes, --output=FILE too) mean what
# they mean to `mpiscore run` in the folder submit ran in: the job does not
# look them up in its job folder.
W=$T/work
mkdir -p "$W/data"
cp "$D/digits.csv" "$W/data/digits.csv"
{ head -n 1 "$D/digits.csv"; sed -n 2p "$D/digits.csv" | sed 's/^\([^,]*\),[^,]*/\1,abc/'; } \
    >"$W/data/z_bad.csv"
cp "$D/digits_logreg.h5" "$W/m.h5"
rel=(--model m.h5 --input data/ --id-column image_id --on-error continue --errors-file bad.csv)
(cd "$W" && mpis 2 run "${rel[@]}" --output=ref.csv 2>/dev/null && mv bad.csv ref_bad.csv)
id=$(cd "$W" && "$MPISCORE" submit --backend slurm -n 2 -- "${rel[@]}" --output=out.csv)
wait_state "$id" done && ok "relative paths: $("$MPISCORE" status "$id")" ||
    bad "relative paths: $("$MPISCORE" status "$id"); $(cat "$MPISCORE_HOME/jobs/$id/stderr")"
same "$W/ref.csv" "$W/out.csv" "relative --model, --input folder, --output=: output as a direct run there"
same "$W/ref_bad.csv" "$W/bad.csv" "relative --errors-file: written in the submit folder"
grep -q "work_dir='$W'\$" "$MPISCORE_HOME/jobs/$id/job.sbatch" &&
    ok "job.sbatch starts the ranks in the submit folder" || bad "no work_dir='$W' in job.sbatch"

# Node and task counts: bad values are refused before anything is created.
jobs_now() { find "$MPISCORE_HOME/jobs" -mindepth 1 -maxdepth 1 | wc -l; }
n_before=$(jobs_now)
for v in 0 4097 -1 3x '' 99999999999999999999; do
    expect_fail 1 "^mpiscore submit: --nodes $v: expected a number from 1 to 4096\$" \
        "$MPISCORE" submit --backend slurm --nodes "$v" -- "${rel[@]}" --output "$W/x.csv"
done
expect_fail 1 "^mpiscore submit: --ntasks-per-node 100000: expected a number from 1 to 4096\$" \
    "$MPISCORE" submit --backend slurm --ntasks-per-node 100000 -- "${rel[@]}" --output "$W/x.csv"
expect_fail 1 "^mpiscore submit: -n 0: expected a number from 1 to 4096\$" \
    "$MPISCORE" submit --backend slurm -n 0 -- "${rel[@]}" --output "$W/x.csv"
for v in 1h ''; do
    expect_fail 1 "^mpiscore submit: --time '$v': expected MINUTES, HH:MM:SS or D-HH:MM:SS\$" \
        "$MPISCORE" submit --backend slurm --time "$v" -- "${rel[@]}" --output "$W/x.csv"
done
expect_fail 1 "^mpiscore submit: --partition 'debug;id': expected a Slurm partition name" \
    "$MPISCORE" submit --backend slurm --partition 'debug;id' -- "${rel[@]}" --output "$W/x.csv"
[ "$(jobs_now)" = "$n_before" ] && ok "refused submits left no job folder" ||
    bad "refused submits left job folders: $(ls "$MPISCORE_HOME/jobs")"

# More than this one 2-CPU node has: Slurm would queue such a job for ever
# (PartitionConfig / PartitionNodeLimit); submit cancels it and fails. Each
# case also shows the counts job.sbatch asks for.
# never_placed WHAT NODES TASKS SUBMIT-OPTIONS...
never_placed() {
    local what=$1 nodes=$2 tasks=$3 jd sid pat
    shift 3
    pat="^mpiscore: error: sbatch failed: Slurm job [0-9]+ can never start with --nodes $nodes"
    pat+=" --ntasks-per-node $tasks --time 01:00:00: Partition(Config|NodeLimit) \(.+\);"
    pat+=" cancelled it\$"
    expect_fail 4 "$pat" "$MPISCORE" submit --backend slurm "$@" -- "${rel[@]}" --output "$W/x.csv"
    jd=$MPISCORE_HOME/jobs/$(ls -v "$MPISCORE_HOME/jobs" | tail -n 1)
    grep -qx "#SBATCH --nodes=$nodes" "$jd/job.sbatch" &&
        grep -qx "#SBATCH --ntasks-per-node=$tasks" "$jd/job.sbatch" &&
        ok "$what: job.sbatch has --nodes=$nodes --ntasks-per-node=$tasks" ||
        bad "$what: $(grep '^#SBATCH --n' "$jd/job.sbatch")"
    sid=$(grep -Eo 'Slurm job [0-9]+' "$T/err.txt" | cut -d' ' -f3)
    if [ -n "$sid" ] && scontrol show job "$sid" 2>/dev/null | grep -q 'JobState=PENDING'; then
        bad "$what: Slurm job $sid still pending"
        scancel "$sid"
    fi
    jd=$(basename "$jd")
    "$MPISCORE" status "$jd" |
        grep -q "^$jd  failed: mpiscore: error: sbatch failed: Slurm job $sid can never start" &&
        ok "$what: status shows the failure" || bad "$what: status: $("$MPISCORE" status "$jd")"
}
never_placed "--nodes 3 --ntasks-per-node 4" 3 4 --nodes 3 --ntasks-per-node 4
never_placed "-n 4 alone (ranks per node, one node)" 1 4 -n 4
never_placed "--nodes 2 on a one-node cluster" 2 2 --nodes 2
expect_fail 4 "^mpiscore: error: sbatch failed: sbatch: error: invalid partition specified: nosuch\$" \
    "$MPISCORE" submit --backend slurm --partition nosuch -- "${rel[@]}" --output "$W/x.csv"
[ ! -e "$W/x.csv" ] && ok "no output from jobs that never ran" || bad "x.csv exists"

# a longer run to cancel and to requeue
"$MS_PYTHON" "$MS_SRC/scripts/make_dataset.py" synthetic --rows 300000 --features 8 \
    --out "$T/big" --format csv >/dev/null
args=(--model "$T/big/model.h5" --input "$T/big/data.csv" --id-column row_id --mini-batch-rows 10
    --journal-every 0.05)
mpis 2 run "${args[@]}" --output "$T/ref_big.csv"
journal_has_records() {
    for _ in $(seq 1 600); do
        grep -q '^R' "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# slowed to 2 ms a batch (sbatch passes the environment on): 30,000 batches
# outlast the queue checks below, so the cancel surely lands mid-run
id=$(MPISCORE_FAULT=slow-input "$MPISCORE" submit --backend slurm -n 2 -- "${args[@]}" \
    --output "$T/c.csv")
journal_has_records "$T/c.csv.journal" || bad "job $id never committed a batch"
# The node is full now: a second job waits, and status says why. It is
# submitted from a folder that is gone by the time it starts: with absolute
# paths it still runs (from its job folder, with a warning).
mkdir "$T/gone"
q=$(cd "$T/gone" && "$MPISCORE" submit --backend slurm -n 2 -- --model "$D/digits_logreg.h5" \
    --input "$D/digits.csv" --id-column image_id --output "$T/q.csv")
wait_state "$q" "queued \(Slurm: (Priority|Resources)\)  0 rows\$" 10 &&
    ok "waiting job: $("$MPISCORE" status "$q")" || bad "waiting job: $("$MPISCORE" status "$q")"
"$MPISCORE" status "$q" --json | grep -Eq '"reason": "(Priority|Resources)"' &&
    ok "status --json has the pending reason" || bad "status --json: $("$MPISCORE" status "$q" --json)"
rmdir "$T/gone"
"$MPISCORE" cancel "$id" >/dev/null
wait_state "$id" cancelled 60 && ok "cancel: $("$MPISCORE" status "$id")" ||
    bad "cancel: $("$MPISCORE" status "$id")"
wait_state "$q" done 60 && ok "job from a vanished folder: $("$MPISCORE" status "$q")" ||
    bad "job from a vanished folder: $("$MPISCORE" status "$q"); $(cat "$MPISCORE_HOME/jobs/$q/stderr")"
same "$T/ref_digits.csv" "$T/q.csv" "job from a vanished folder: output equals a direct run"
grep -q "^mpiscore.sbatch: cannot enter $T/gone (where the job was submitted) on .*: relative paths in the run options will not resolve; starting in $MPISCORE_HOME/jobs/$q\$" \
    "$MPISCORE_HOME/jobs/$q/stderr" && ok "its log says it could not enter the submit folder" ||
    bad "log of job $q: $(cat "$MPISCORE_HOME/jobs/$q/stderr")"
[ ! -e "$T/c.csv" ] && [ -e "$T/c.csv.partial" ] && ok "cancelled job left a resumable partial" ||
    bad "cancelled job: partial missing or final output present"
mpis 2 run "${args[@]}" --output "$T/c.csv" --resume 2>/dev/null
same "$T/ref_big.csv" "$T/c.csv" "cancelled Slurm job resumed: identical output"

id=$("$MPISCORE" submit --backend slurm -n 2 -- "${args[@]}" --output "$T/r.csv")
journal_has_records "$T/r.csv.journal" || bad "job $id never committed a batch"
scontrol requeue "$(cat "$MPISCORE_HOME/jobs/$id/slurm_id")"
wait_state "$id" done 180 && ok "requeued job: $("$MPISCORE" status "$id")" ||
    bad "requeued job: $("$MPISCORE" status "$id"); $(tail -n 5 "$MPISCORE_HOME/jobs/$id/stderr")"
grep -q "resuming" "$MPISCORE_HOME/jobs/$id/stderr" && ok "the requeued attempt resumed from the journal" ||
    bad "no resume in $(cat "$MPISCORE_HOME/jobs/$id/stderr")"
same "$T/ref_big.csv" "$T/r.csv" "requeued Slurm job: identical output"
finish
