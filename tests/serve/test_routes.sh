#!/usr/bin/env bash
# mpiscore serve: every route's answer, bearer keys (none, wrong, primary,
# secondary, rotated while serving), access log, TLS.
. "$MS_SRC/tests/lib.sh"
. "$MS_SRC/tests/serve/serve_lib.sh"
one_model_endpoint fraud
start_server fraud --access-log "$T/access.log"
A=(-H "Authorization: Bearer $PKEY")

http GET /v2/health/live
[ "$CODE" = 200 ] && grep -q '"live":true' "$T/body" && ok "live, no key needed" || bad "live: $CODE $(cat "$T/body")"
http GET /v2/health/ready
[ "$CODE" = 200 ] && grep -q '"ready":true' "$T/body" && ok "ready, no key needed" || bad "ready: $CODE $(cat "$T/body")"

for route in /v2 /v2/models/fraud /v2/models/fraud/ready /metrics; do
    http GET $route
    expect_code 401 "GET $route without a key"
done
http POST /score -d '{"columns":["a","b","c"],"data":[[1,2,3]]}'
expect_code 401 "POST /score without a key"
grep -qi '^www-authenticate: Bearer' <(curl -s -D - -o /dev/null "$URL/v2") && ok "401 says WWW-Authenticate: Bearer" || bad "no WWW-Authenticate"
http GET /v2 -H "Authorization: Bearer ${PKEY%?}0"
expect_code 401 "a wrong key"
http GET /v2 -H "Authorization: Basic $PKEY"
expect_code 401 "not a bearer key"
http GET /v2 "${A[@]}"
[ "$CODE" = 200 ] && grep -q '"name":"mpiscore"' "$T/body" && ok "GET /v2 with the primary key" || bad "/v2: $CODE"
http GET /v2 -H "Authorization: Bearer $SKEY"
[ "$CODE" = 200 ] && ok "the secondary key works too" || bad "secondary: $CODE"

http GET /v2/models/fraud "${A[@]}"
"$MS_PYTHON" - "$T/body" <<'PY' && ok "model metadata: inputs a,b,c, outputs p_no,p_yes,label" || bad "metadata: $(cat "$T/body")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["name"] == "fraud" and d["versions"] == ["1"] and d["deployment"] == "blue", d
assert [i["name"] for i in d["inputs"]] == ["a", "b", "c"], d
assert [o["name"] for o in d["outputs"]] == ["p_no", "p_yes", "label"], d
PY
http GET /v2/models/blue/ready "${A[@]}"
[ "$CODE" = 200 ] && grep -q '"ready":true' "$T/body" && ok "a deployment's ready route" || bad "ready: $CODE $(cat "$T/body")"
http GET /v2/models/nope "${A[@]}"
expect_code 404 "metadata of an unknown model"
http GET /nowhere "${A[@]}"
expect_code 404 "unknown route"
http GET /score "${A[@]}"
expect_code 405 "GET /score"
http POST /v2/health/live
expect_code 405 "POST /v2/health/live"
http GET /v2/models/fraud/infer "${A[@]}"
expect_code 405 "GET .../infer"

# scoring routes, checked against scikit-learn's answers in expected.csv
"$MS_PYTHON" - "$URL" "$PKEY" "$T" <<'PY' && ok "/score (split, records, csv) and infer (tensor, per feature) answer as scikit-learn" || bad "scoring routes"
import csv, json, sys
import numpy as np
import requests
url, key, t = sys.argv[1:4]
h = {"Authorization": "Bearer " + key}
rows = list(csv.DictReader(open(f"{t}/good.csv")))
exp = list(csv.DictReader(open(f"{t}/expected.csv")))
ids = [r["id"] for r in rows]
x = [[float(r[c]) for c in "abc"] for r in rows]
def check(p_yes, labels, what):
    p = np.array([float(e["p_yes"]) for e in exp])
    assert np.max(np.abs(np.array(p_yes, dtype=float) - p)) < 1e-6, what
    assert list(labels) == [e["label"] for e in exp], what
r = requests.post(url + "/score", headers=h, json={"columns": ["id", "a", "b", "c"], "data": [[i] + v for i, v in zip(ids, x)]})
assert r.status_code == 200 and r.headers["content-type"] == "application/json", r.text
assert r.headers["azureml-model-deployment"] == "blue"
d = r.json()
assert d["columns"] == ["id", "p_no", "p_yes", "label"], d["columns"]
assert [row[0] for row in d["data"]] == ids
check([row[2] for row in d["data"]], [row[3] for row in d["data"]], "split")
r = requests.post(url + "/score", headers=h, json=[{"id": i, "a": v[0], "b": v[1], "c": v[2]} for i, v in zip(ids, x)])
d = r.json()
assert r.status_code == 200 and [e["id"] for e in d] == ids, r.text
check([e["p_yes"] for e in d], [e["label"] for e in d], "records")
r = requests.post(url + "/score", headers=h, json={"dataframe_split": {"columns": ["a", "b", "c"], "data": x}})
assert r.status_code == 200 and "id" not in r.json()["columns"], r.text
r = requests.post(url + "/score", headers={**h, "Content-Type": "text/csv"}, data=open(f"{t}/good.csv", "rb").read())
assert r.status_code == 200 and r.headers["content-type"] == "text/csv", r.text
lines = list(csv.DictReader(r.text.splitlines()))
assert [l["id"] for l in lines] == ids
check([l["p_yes"] for l in lines], [l["label"] for l in lines], "csv")
r = requests.post(url + "/v2/models/fraud/infer", headers=h, json={"id": "req-7", "inputs": [{"name": "input-0", "shape": [len(x), 3], "datatype": "FP32", "data": x}]})
d = r.json()
assert r.status_code == 200 and d["model_name"] == "churn" and d["model_version"] == "1" and d["id"] == "req-7", r.text
out = {o["name"]: o for o in d["outputs"]}
assert out["p_yes"]["shape"] == [len(x)] and out["p_yes"]["datatype"] == "FP64" and out["label"]["datatype"] == "BYTES"
check(out["p_yes"]["data"], out["label"]["data"], "infer tensor")
flat = [v for row in x for v in row]
r = requests.post(url + "/v2/models/blue/infer", headers=h, json={"inputs": [{"name": "input-0", "shape": [len(x), 3], "datatype": "FP64", "data": flat}]})
check({o["name"]: o for o in r.json()["outputs"]}["p_yes"]["data"], {o["name"]: o for o in r.json()["outputs"]}["label"]["data"], "infer flat tensor")
ins = [{"name": c, "shape": [len(x)], "datatype": "FP32", "data": [v["abc".index(c)] for v in x]} for c in "cab"]
ins[0]["shape"] = [len(x), 1]
r = requests.post(url + "/v2/models/fraud/infer", headers=h, json={"inputs": ins})
out = {o["name"]: o for o in r.json()["outputs"]}
check(out["p_yes"]["data"], out["label"]["data"], "infer per feature, any order")
PY

http GET /metrics "${A[@]}"
if [ "$CODE" = 200 ] && grep -q '^mpiscore_requests_total{deployment="blue",code="200"} [1-9]' "$T/body" &&
    grep -q '^mpiscore_request_duration_seconds_bucket{deployment="blue",le="+Inf"}' "$T/body" &&
    grep -q '^mpiscore_rows_total{deployment="blue"} [1-9]' "$T/body" &&
    grep -q '^mpiscore_model_loads_total 1$' "$T/body" && grep -q '^mpiscore_batch_rows_bucket' "$T/body" &&
    grep -q '^mpiscore_requests_total{deployment="",code="401"} [1-9]' "$T/body"; then
    ok "/metrics: requests by deployment and code, latency, rows, batch sizes, model loads"
else
    bad "/metrics: $(head -c 2000 "$T/body")"
fi
# the server rewrites its live file every second
for _ in $(seq 100); do
    "$MPISCORE" endpoint show fraud >"$T/show"
    grep -Eq "^ +$SPID +blue +[1-9]" "$T/show" && break
    sleep 0.1
done
grep -Eq "^ +$SPID +blue +[1-9]" "$T/show" && ok "endpoint show reads the live numbers" || bad "show: $(cat "$T/show")"

# rotation while serving: the old primary stops working, the new one and the secondary work
"$MPISCORE" endpoint keys fraud --regenerate primary >"$T/r"
NEW=$(awk '/^primary: /{print $2}' "$T/r")
for _ in $(seq 100); do
    c=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $PKEY" "$URL/v2")
    [ "$c" = 401 ] && break
    sleep 0.1
done
http GET /v2 -H "Authorization: Bearer $PKEY"
expect_code 401 "the rotated-out primary key"
http GET /v2 -H "Authorization: Bearer $NEW"
[ "$CODE" = 200 ] && ok "the new primary key" || bad "new primary: $CODE"
http GET /v2 -H "Authorization: Bearer $SKEY"
[ "$CODE" = 200 ] && ok "the secondary key across the rotation" || bad "secondary after rotation: $CODE"
PKEY=$NEW

"$MS_PYTHON" - "$T/access.log" <<'PY' && ok "access log: one JSON line per request" || bad "access log: $(tail -3 "$T/access.log")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) > 20, len(lines)
assert all({"time", "remote", "method", "path", "status", "deployment", "rows", "latency_ms"} <= set(l) for l in lines)
assert any(l["path"] == "/score" and l["status"] == 200 and l["deployment"] == "blue" and l["rows"] == 50 for l in lines)
assert any(l["status"] == 401 for l in lines)
PY
stop_server "$SPID"
[ "$STOP_RC" = 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $STOP_RC"
[ ! -e "$MPISCORE_HOME/endpoints/fraud/serve.pid" ] && ok "pid file removed" || bad "serve.pid left"

# TLS
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 -subj /CN=localhost 2>/dev/null
start_server fraud --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
c=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/cert.pem" -H "Authorization: Bearer $PKEY" \
    -d '{"columns":["a","b","c"],"data":[[1,2,3]]}' "https://localhost:$PORT/score" || true)
[ "$c" = 200 ] && grep -q '"p_yes"' "$T/body" && ok "HTTPS with --tls-cert/--tls-key" || bad "https: $c $(cat "$T/body")"
c=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v2/health/live" || true)
[ "$c" != 200 ] && ok "plain HTTP refused on the TLS port" || bad "plain HTTP answered on the TLS port"
stop_server "$SPID"
expect_fail 1 'go together' "$MPISCORE" serve fraud --tls-cert "$T/cert.pem"
expect_fail 4 'cert.pem.nope' "$MPISCORE" serve fraud --port 0 --tls-cert "$T/cert.pem.nope" --tls-key "$T/key.pem"
expect_fail 1 'not an IPv4 or IPv6 address' "$MPISCORE" serve fraud --port 0 --bind-address localhost
expect_fail 1 'unknown option' "$MPISCORE" serve fraud --frobnicate 1
finish
