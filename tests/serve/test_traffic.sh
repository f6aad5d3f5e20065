#!/usr/bin/env bash
# Traffic split (within 2 points over 20k requests), pinning headers and
# mirrored traffic (scored, answers discarded, counted in /metrics).
. "$MS_SRC/tests/lib.sh"
. "$MS_SRC/tests/serve/serve_lib.sh"
make_fixtures
"$MPISCORE" model register churn "$T/model.h5" >/dev/null
"$MPISCORE" model register churn "$T/model.h5" >/dev/null
new_endpoint split
"$MPISCORE" endpoint update split --deployment blue=churn:1 --deployment green=churn:2 --traffic blue=90,green=10 >/dev/null
start_server split --threads 2
wrk_script "$T/one.lua" "$PKEY"

total() { echo $(($(metric 'mpiscore_requests_total{deployment="blue",code="200"}') + $(metric 'mpiscore_requests_total{deployment="green",code="200"}'))); }
while [ "$(total)" -lt 20000 ]; do
    wrk -t2 -c8 -d3s -s "$T/one.lua" "$URL" >"$T/wrk.out"
    wrk_clean "$T/wrk.out" "wrk load on a 90/10 split"
done
b=$(metric 'mpiscore_requests_total{deployment="blue",code="200"}')
g=$(metric 'mpiscore_requests_total{deployment="green",code="200"}')
if "$MS_PYTHON" -c "import sys; b, g = $b, $g; sys.exit(0 if abs(b / (b + g) - 0.9) <= 0.02 else 1)"; then
    ok "90/10 split: blue $b, green $g"
else
    bad "90/10 split off by more than 2 points: blue $b, green $g"
fi

# pinning: either header, or the deployment's name in the URL
"$MS_PYTHON" - "$URL" "$PKEY" <<'PY' && ok "pinning: azureml-model-deployment, mpiscore-deployment, /v2/models/DEPLOYMENT" || bad "pinning"
import sys, requests
url, key = sys.argv[1:3]
s = requests.Session()
h = {"Authorization": "Bearer " + key}
body = {"columns": ["a", "b", "c"], "data": [[0.1, 0.2, 0.3]]}
for hdr in ("azureml-model-deployment", "mpiscore-deployment"):
    for _ in range(100):
        r = s.post(url + "/score", headers={**h, hdr: "green"}, json=body)
        assert r.status_code == 200 and r.headers["azureml-model-deployment"] == "green", r.headers
inf = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [0.1, 0.2, 0.3]}]}
for _ in range(50):
    r = s.post(url + "/v2/models/green/infer", headers=h, json=inf)
    assert r.status_code == 200 and r.headers["mpiscore-deployment"] == "green" and r.json()["model_version"] == "2"
r = s.post(url + "/score", headers={**h, "azureml-model-deployment": "purple"}, json=body)
assert r.status_code == 404 and "purple" in r.json()["error"], r.text
r = s.post(url + "/v2/models/green/infer", headers={**h, "mpiscore-deployment": "blue"}, json=inf)
assert r.status_code == 400 and "error" in r.json(), r.text
PY
g2=$(metric 'mpiscore_requests_total{deployment="green",code="200"}')
[ "$g2" = $((g + 250)) ] && ok "the 250 pinned requests all went to green" || bad "green went from $g to $g2, expected +250"

# mirror: blue answers everything, 20% is also scored by green
"$MPISCORE" endpoint update split --traffic blue=100 --mirror green=20 >/dev/null
for _ in $(seq 200); do
    [ "$(metric mpiscore_generation)" = 3 ] && break
    sleep 0.1
done
b0=$(metric 'mpiscore_requests_total{deployment="blue",code="200"}')
g0=$(metric 'mpiscore_requests_total{deployment="green",code="200"}')
"$MS_PYTHON" - "$URL" "$PKEY" <<'PY' && ok "mirrored: every answer from blue" || bad "mirrored answers"
import sys, requests
url, key = sys.argv[1:3]
s = requests.Session()
for _ in range(3000):
    r = s.post(url + "/score", headers={"Authorization": "Bearer " + key}, json={"columns": ["a", "b", "c"], "data": [[0.1, 0.2, 0.3]]})
    assert r.status_code == 200 and r.headers["azureml-model-deployment"] == "blue"
PY
b1=$(metric 'mpiscore_requests_total{deployment="blue",code="200"}')
g1=$(metric 'mpiscore_requests_total{deployment="green",code="200"}')
mi=$(metric 'mpiscore_mirror_requests_total{deployment="green"}')
mr=$(metric 'mpiscore_mirror_rows_total{deployment="green"}')
if [ $((b1 - b0)) = 3000 ] && [ "$g1" = "$g0" ] && "$MS_PYTHON" -c "import sys; sys.exit(0 if abs($mi / 3000 - 0.2) <= 0.03 and $mr == $mi else 1)"; then
    ok "mirror: $mi of 3000 requests (20% asked) scored by green, none answered by it"
else
    bad "mirror: blue +$((b1 - b0)), green answered +$((g1 - g0)), mirrored $mi (rows $mr) of 3000"
fi
finish
