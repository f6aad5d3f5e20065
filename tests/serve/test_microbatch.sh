#!/usr/bin/env bash
# Micro-batching: concurrent requests are scored together (batch sizes > 1
# in /metrics) and every answer is still exactly its own rows' answer (the
# lines `mpiscore run` writes for them), including requests that fail.
. "$MS_SRC/tests/lib.sh"
. "$MS_SRC/tests/serve/serve_lib.sh"
one_model_endpoint mb
"$MPISCORE" run --model "$T/model.h5" --input "$T/good.csv" --output "$T/run.csv" --id-column id 2>/dev/null
start_server mb --threads 8 --max-batch-delay-us 3000 --max-batch-rows 64

"$MS_PYTHON" - "$URL" "$PKEY" "$T" <<'PY' && ok "2000 concurrent requests: each answer is its rows' lines of run's output" || bad "micro-batched answers"
import random, sys
from concurrent.futures import ThreadPoolExecutor
import requests
url, key, t = sys.argv[1:4]
rows = open(f"{t}/good.csv").read().splitlines()
run = open(f"{t}/run.csv").read().splitlines()
head, rows = rows[0], rows[1:]
run_head, run = run[0], run[1:]
local = __import__("threading").local()
def one(i):
    s = getattr(local, "s", None) or requests.Session()
    local.s = s
    rnd = random.Random(i)
    pick = rnd.sample(range(len(rows)), rnd.randint(1, 4))
    body = "\n".join([head] + [rows[j] for j in pick]) + "\n"
    bad = i % 10 == 0
    if bad:
        body = body.replace(",", ",x", 1).replace("id,x", "id,", 1) + "z,1,nan_oops,2,zzz\n"
    r = s.post(url + "/score", headers={"Authorization": "Bearer " + key, "Content-Type": "text/csv"}, data=body)
    if bad:
        assert r.status_code == 400 and "error" in r.json(), r.text
        return
    assert r.status_code == 200, r.text
    assert r.text == "\n".join([run_head] + [run[j] for j in pick]) + "\n", (r.text, pick)
with ThreadPoolExecutor(16) as ex:
    list(ex.map(one, range(2000)))
PY
one=$(metric 'mpiscore_batch_rows_bucket{le="1"}')
four=$(metric 'mpiscore_batch_rows_bucket{le="4"}')
all=$(metric mpiscore_batch_rows_count)
if [ "$all" -gt 0 ] && [ "$four" -lt "$all" ] && [ "$(metric 'mpiscore_requests_total{deployment="blue",code="200"}')" -gt "$all" ]; then
    ok "requests were scored together: $all kernel calls for $(metric 'mpiscore_requests_total{deployment="blue",code="200"}') answered requests, $((all - four)) of them over 4 rows"
else
    bad "no micro-batch formed: batches $all (<=1 row: $one, <=4 rows: $four)"
fi
still_serving "micro-batched load"
finish
