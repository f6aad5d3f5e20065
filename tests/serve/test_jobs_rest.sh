#!/usr/bin/env bash
# Batch jobs over REST: POST /v1/jobs -> 202 + id -> GET until done -> the
# output equals a direct run; DELETE cancels a running job; paths outside
# the --data-root folders (symlinks included) are 403; jobs of other
# endpoints are not visible.
. "$MS_SRC/tests/lib.sh"
. "$MS_SRC/tests/serve/serve_lib.sh"
one_model_endpoint batch
mkdir -p "$T/data" "$T/outside"
cp "$T/good.csv" "$T/data/in.csv"
cp "$T/good.csv" "$T/outside/secret.csv"
ln -s "$T/outside/secret.csv" "$T/data/link.csv"
ln -s "$T/outside" "$T/data/escape"
abc_csv "$T/data/big.csv" 20000 5
"$MPISCORE" run --model "$T/model.h5" --input "$T/good.csv" --output "$T/ref.csv" --id-column id 2>/dev/null
# slow-input: the coordinator reads slowly, so a job is still running when it is cancelled
MPISCORE_FAULT=slow-input start_server batch --data-root "$T/data"
A=(-H "Authorization: Bearer $PKEY")

job() { http POST /v1/jobs "${A[@]}" -d "$1"; }
job "{\"input\": \"$T/data/in.csv\", \"output\": \"$T/data/out.csv\", \"id_column\": \"id\"}"
id=$("$MS_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/body" 2>/dev/null || true)
[ "$CODE" = 202 ] && [ -n "$id" ] && grep -q '"model":"churn:1"' "$T/body" && ok "POST /v1/jobs: 202, job $id" || bad "POST: $CODE $(cat "$T/body")"
for _ in $(seq 300); do
    http GET "/v1/jobs/$id" "${A[@]}"
    # the job's supervisor records the exit code just after the run says done
    grep -q '"exit_code"' "$T/body" && break
    sleep 0.1
done
grep -q '"state": *"done"' "$T/body" && grep -q '"exit_code": *0' "$T/body" && ok "GET /v1/jobs/$id: done" || bad "GET: $CODE $(cat "$T/body")"
same "$T/ref.csv" "$T/data/out.csv" "the job's output equals a direct run"
"$MPISCORE" status "$id" | grep -q "^$id  done" && ok "the CLI sees the same job" || bad "status: $("$MPISCORE" status "$id")"

job "{\"input\": \"$T/data/big.csv\", \"output\": \"$T/data/big_out.csv\", \"mini_batch_rows\": 100}"
id2=$("$MS_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/body")
for _ in $(seq 100); do
    http GET "/v1/jobs/$id2" "${A[@]}"
    grep -q '"state": *"running"' "$T/body" && break
    sleep 0.1
done
http DELETE "/v1/jobs/$id2" "${A[@]}"
[ "$CODE" = 202 ] && ok "DELETE /v1/jobs/$id2: 202" || bad "DELETE: $CODE $(cat "$T/body")"
for _ in $(seq 300); do
    http GET "/v1/jobs/$id2" "${A[@]}"
    grep -q '"state": *"cancelled"' "$T/body" && break
    sleep 0.1
done
grep -q '"state": *"cancelled"' "$T/body" && ok "the job is cancelled" || bad "after DELETE: $(cat "$T/body")"
[ ! -e "$T/data/big_out.csv" ] && ok "a cancelled job leaves no output" || bad "big_out.csv exists"

for spec in "\"input\": \"$T/outside/secret.csv\", \"output\": \"$T/data/o1.csv\"" \
    "\"input\": \"$T/data/link.csv\", \"output\": \"$T/data/o2.csv\"" \
    "\"input\": \"$T/data/in.csv\", \"output\": \"$T/outside/o3.csv\"" \
    "\"input\": \"$T/data/in.csv\", \"output\": \"$T/data/escape/o4.csv\"" \
    "\"input\": \"$T/data/../outside/secret.csv\", \"output\": \"$T/data/o5.csv\"" \
    "\"input\": \"$T/data/in.csv\", \"output\": \"$T/data/link.csv\""; do
    job "{$spec}"
    expect_code 403 "outside the data root: $spec"
done
[ -z "$(ls "$T/outside" | grep -v secret.csv)" ] && [ ! -e "$T/data/o1.csv" ] && ok "nothing written for refused jobs" || bad "refused jobs wrote: $(ls "$T/outside" "$T/data")"
job '{"input": "data/in.csv", "output": "o.csv"}'
expect_code 400 "relative paths"
job "{\"input\": \"$T/data/in.csv\", \"output\": \"$T/data/o6.csv\", \"shell\": \"rm -rf /\"}"
expect_code 400 "an unknown job option"
job "{\"input\": \"$T/data/in.csv\", \"output\": \"$T/data/o7.csv\", \"deployment\": \"purple\"}"
expect_code 404 "an unknown deployment"
job "{\"input\": \"$T/data/nope.csv\", \"output\": \"$T/data/o8.csv\"}"
expect_code 404 "a missing input inside the root"
job '{"input": '
expect_code 400 "malformed JSON"
http POST /v1/jobs -d "{\"input\": \"$T/data/in.csv\", \"output\": \"$T/data/o9.csv\"}"
expect_code 401 "POST /v1/jobs without a key"
http GET /v1/jobs/999999 "${A[@]}"
expect_code 404 "an unknown job"
http GET /v1/jobs/../../etc "${A[@]}"
expect_code 404 "a job id that is not a number"
http PUT "/v1/jobs/$id" "${A[@]}"
expect_code 405 "PUT /v1/jobs/ID"
# a job submitted by the CLI is not this endpoint's
cli=$("$MPISCORE" submit -- --model "$T/model.h5" --input "$T/good.csv" --output "$T/cli.csv")
http GET "/v1/jobs/$cli" "${A[@]}"
expect_code 404 "a job this endpoint did not start"
stop_server "$SPID"
start_server batch
job "{\"input\": \"$T/data/in.csv\", \"output\": \"$T/data/o10.csv\"}"
expect_code 403 "no --data-root: jobs are off"
expect_fail 1 'data-root' "$MPISCORE" serve batch --port 0 --data-root "$T/nonexistent"
finish
