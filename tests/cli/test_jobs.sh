#!/usr/bin/env bash
# Local jobs: submit prints an id at once; status follows the run to done and
# the output equals a direct run; relative paths are taken from the folder
# submit ran in; Slurm-only options are refused; cancel stops a running job,
# which is then interrupted and resumable to an identical output; a failing
# job says why.
source "$MS_SRC/tests/lib.sh"
export MPISCORE_HOME="$T/home"
"$MS_PYTHON" "$MS_SRC/scripts/make_dataset.py" synthetic --rows 300000 --features 8 \
    --out "$T" --format csv >/dev/null
args=(--model "$T/model.h5" --input "$T/data.csv" --id-column row_id --mini-batch-rows 10
    --journal-every 0.05)
mpis 2 run "${args[@]}" --output "$T/ref.csv"

# wait_state ID STATE: poll `status` (bounded)
wait_state() {
    for _ in $(seq 1 300); do
        "$MPISCORE" status "$1" | grep -q "^$1  $2" && return 0
        sleep 0.1
    done
    return 1
}

id=$("$MPISCORE" submit -n 2 -- "${args[@]}" --output "$T/a.csv")
[[ "$id" =~ ^[0-9]+$ ]] && ok "submit printed job id $id" || bad "submit printed '$id'"
wait_state "$id" done && ok "status: $("$MPISCORE" status "$id")" || bad "job $id: $("$MPISCORE" status "$id")"
same "$T/ref.csv" "$T/a.csv" "job output equals a direct run"
# the run reports done just before its process exits: the exit code follows
for _ in $(seq 1 100); do
    "$MPISCORE" status "$id" --json | grep -q '"exit_code"' && break
    sleep 0.1
done
"$MPISCORE" status "$id" --json | grep -q '"exit_code": 0' && ok "status --json has exit code 0" ||
    bad "status --json: $("$MPISCORE" status "$id" --json)"

# relative paths, from a folder that is not the test's: as `mpiscore run` there
mkdir -p "$T/w/in"
ln -s ../model.h5 "$T/w/m.h5"
ln "$T/data.csv" "$T/w/in/data.csv"
id=$(cd "$T/w" && "$MPISCORE" submit -n 2 -- --model m.h5 --input in/ --id-column row_id \
    --output=out.csv --on-error continue --errors-file bad.csv)
wait_state "$id" done && ok "relative paths: $("$MPISCORE" status "$id")" ||
    bad "relative paths: $("$MPISCORE" status "$id")"
same "$T/ref.csv" "$T/w/out.csv" "relative --model, --input folder, --output=: identical output"
[ "$(cat "$T/w/bad.csv")" = "file,line,column,reason,record" ] &&
    ok "relative --errors-file: written in the submit folder" || bad "no $T/w/bad.csv"
grep -q "\"cwd\": \"$T/w\"" "$MPISCORE_HOME/jobs/$id/spec.json" && ok "spec.json records the folder" ||
    bad "spec.json: $(cat "$MPISCORE_HOME/jobs/$id/spec.json")"
expect_fail 1 "^mpiscore submit: --nodes goes with --backend slurm \(the local backend takes -n\)\$" \
    "$MPISCORE" submit --nodes 2 -- "${args[@]}" --output "$T/x.csv"
expect_fail 1 "^mpiscore submit: --time goes with --backend slurm" \
    "$MPISCORE" submit -n 2 --time 10 -- "${args[@]}" --output "$T/x.csv"

id=$("$MPISCORE" submit -n 2 -- "${args[@]}" --output "$T/b.csv")
wait_state "$id" running || bad "job $id never ran"
for _ in $(seq 1 200); do grep -q '^R' "$T/b.csv.journal" 2>/dev/null && break; sleep 0.02; done
"$MPISCORE" cancel "$id" >/dev/null
# a second cancel (an impatient operator) says so and changes nothing
out=$("$MPISCORE" cancel "$id") && grep -Eq "^job $id is already (being )?cancelled\$" <<<"$out" &&
    ok "second cancel: $out" || bad "second cancel: rc $? '$out'"
wait_state "$id" cancelled && ok "cancel: $("$MPISCORE" status "$id")" ||
    bad "cancel: $("$MPISCORE" status "$id")"
for _ in $(seq 1 100); do [ -f "$MPISCORE_HOME/jobs/$id/exit_code" ] && break; sleep 0.1; done
code=$(cat "$MPISCORE_HOME/jobs/$id/exit_code")
[ "$code" = 6 ] && ok "cancelled job exit code 6" || bad "cancelled job exit code $code"
grep -q '"state": "cancelled"' "$MPISCORE_HOME/jobs/$id/status.json" &&
    ok "status.json says cancelled" || bad "status.json: $(cat "$MPISCORE_HOME/jobs/$id/status.json")"
out=$("$MPISCORE" cancel "$id") && [ "$out" = "job $id is already cancelled" ] &&
    ok "cancel of a cancelled job: $out" || bad "cancel of a cancelled job: '$out'"
"$MPISCORE" status "$id" | grep -q "^$id  cancelled" && ok "still cancelled" ||
    bad "after a third cancel: $("$MPISCORE" status "$id")"
for _ in $(seq 1 100); do
    "$MPISCORE" logs "$id" 2>&1 | grep -q "continue with --resume" && break
    sleep 0.1
done
"$MPISCORE" logs "$id" 2>&1 | grep -q "continue with --resume" && ok "logs show the interruption" ||
    bad "logs: $("$MPISCORE" logs "$id" 2>&1)"
id2=$("$MPISCORE" submit -n 2 -- "${args[@]}" --output "$T/b.csv" --resume)
wait_state "$id2" done || bad "resume job: $("$MPISCORE" status "$id2")"
same "$T/ref.csv" "$T/b.csv" "cancelled job resumed: identical output"

id=$("$MPISCORE" submit -n 2 -- --model "$T/nosuch.h5" --input "$T/data.csv" --output "$T/c.csv")
wait_state "$id" "failed: mpiscore: error: .*nosuch.h5: No such file or directory" &&
    ok "failed job: $("$MPISCORE" status "$id")" || bad "failed job: $("$MPISCORE" status "$id")"
n=$("$MPISCORE" status | wc -l)
[ "$n" = 5 ] && ok "status lists 5 jobs" || bad "status lists $n jobs"
expect_fail 1 "no job 99" "$MPISCORE" status 99
expect_fail 1 "job $id has already ended" "$MPISCORE" cancel "$id"

# ids are what submit allocates; nothing else may become a path
for cmd in status cancel logs; do
    for bad_id in "" "1/../2" "../1" "." "-1" "+1" "01" "0" "1x" " 1" "9999999999"; do
        expect_fail 1 "^mpiscore $cmd: job id \"" "$MPISCORE" $cmd "$bad_id"
    done
done
"$MPISCORE" status 1/../2 >/dev/null 2>&1 && bad "status 1/../2 shows a job" || ok "status 1/../2 refused"
finish
