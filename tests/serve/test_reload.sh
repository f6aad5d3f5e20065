#!/usr/bin/env bash
# Hot updates: `endpoint update` (blue -> green, a model version swap) and a
# key rotation while wrk loads the server: zero non-2xx answers, the new
# deployment answers afterwards, unchanged models are not reloaded, and a
# broken update leaves the old deployments serving.
. "$MS_SRC/tests/lib.sh"
. "$MS_SRC/tests/serve/serve_lib.sh"
make_fixtures
"$MS_PYTHON" - "$T" "$MS_SRC" <<'PY'
import os, sys
import numpy as np
t, src = sys.argv[1:3]
sys.path.insert(0, os.path.join(src, "scripts"))
from export_sklearn import export
from sklearn.ensemble import RandomForestClassifier
rng = np.random.default_rng(3)
x = rng.normal(size=(300, 3))
y = np.where(x @ [1.0, -2.0, 0.5] > 0, "yes", "no")
export(RandomForestClassifier(n_estimators=50, random_state=0).fit(x, y), f"{t}/forest.h5", feature_names=["a", "b", "c"])
PY
"$MPISCORE" model register churn "$T/model.h5" >/dev/null  # churn:1 logistic
"$MPISCORE" model register churn "$T/forest.h5" >/dev/null # churn:2 forest
new_endpoint live
"$MPISCORE" endpoint update live --deployment blue=churn:1 >/dev/null
start_server live --threads 2
wrk_script "$T/one.lua" "$PKEY"
want1=$(curl -s -H "Authorization: Bearer $PKEY" -d '{"columns":["a","b","c"],"data":[[0.1,0.2,0.3]]}' "$URL/score")

wrk -t2 -c8 -d8s -s "$T/one.lua" "$URL" >"$T/wrk.out" &
WRK=$!
sleep 1
"$MPISCORE" endpoint update live --deployment green=churn:2 --traffic blue=50,green=50 >/dev/null
sleep 1
"$MPISCORE" endpoint keys live --regenerate secondary >/dev/null
sleep 1
"$MPISCORE" endpoint update live --traffic blue=0,green=100 >/dev/null
sleep 1
"$MPISCORE" endpoint update live --remove-deployment blue >/dev/null
sleep 1
"$MPISCORE" endpoint update live --deployment green=churn:1 >/dev/null # version swap in place
sleep 1
"$MPISCORE" endpoint update live --deployment green=churn:2 >/dev/null
wait "$WRK"
wrk_clean "$T/wrk.out" "five updates and a key rotation during a wrk load"

for _ in $(seq 200); do
    [ "$(metric mpiscore_generation)" = 8 ] && break
    sleep 0.1
done
[ "$(metric mpiscore_generation)" = 8 ] && ok "every update reached the server (generation 8)" || bad "generation $(metric mpiscore_generation)"
[ "$(metric mpiscore_reloads_total)" = 7 ] && ok "7 reloads (start + 6 changes)" || bad "reloads: $(metric mpiscore_reloads_total)"
# churn:1 at start, churn:2 once, churn:1 again after blue (its only holder) left, churn:2 again
[ "$(metric mpiscore_model_loads_total)" = 4 ] && ok "only changed models were loaded (4 loads)" || bad "model loads: $(metric mpiscore_model_loads_total)"
c=$(curl -s -D "$T/h" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $PKEY" -d '{"columns":["a","b","c"],"data":[[0.1,0.2,0.3]]}' "$URL/score")
if [ "$c" = 200 ] && grep -qi '^azureml-model-deployment: green' "$T/h" && [ "$(cat "$T/body")" != "$want1" ]; then
    ok "green (the forest) answers now"
else
    bad "after the updates: $c $(cat "$T/h" "$T/body")"
fi
[ "$(metric 'mpiscore_requests_total{deployment="blue",code="200"}')" -gt 0 ] && [ "$(metric 'mpiscore_requests_total{deployment="green",code="200"}')" -gt 0 ] &&
    ok "both deployments answered during the load" || bad "traffic did not move"

# a state naming a model the server cannot load (the registered file was
# damaged after `endpoint update` checked it) is refused; the old deployments serve on
"$MPISCORE" model register other "$T/model.h5" >/dev/null
"$MS_PYTHON" - "$MPISCORE_HOME" <<'PY'
import json, os, sys
home = sys.argv[1]
sha = json.load(open(f"{home}/models/other/1/meta.json"))["sha256"]
p = f"{home}/endpoints/live/endpoint.json"
ep = json.load(open(p))
ep["deployments"][0]["traffic"] = 90
ep["deployments"].append({"name": "red", "model": "other:1", "sha256": sha, "traffic": 10, "mirror": 0})
ep["generation"] += 1
f = [x for x in os.listdir(f"{home}/models/other/1") if x.endswith(".h5")][0]
with open(f"{home}/models/other/1/{f}", "r+b") as m:
    m.seek(4000)
    m.write(b"garbage")
json.dump(ep, open(p + ".tmp", "w"))
os.rename(p + ".tmp", p)
PY
for _ in $(seq 200); do
    [ "$(metric mpiscore_reload_failures_total)" -ge 1 ] && break
    sleep 0.1
done
[ "$(metric mpiscore_reload_failures_total)" = 1 ] && [ "$(metric mpiscore_generation)" = 8 ] &&
    ok "a state with an unloadable model is refused (generation stays 8)" || bad "reload failures $(metric mpiscore_reload_failures_total), generation $(metric mpiscore_generation)"
grep -q 'reload failed, still serving the previous deployments: deployment red (other:1)' "$T/serve.live.err" &&
    ok "the refusal is logged" || bad "no log line: $(tail -3 "$T/serve.live.err")"
c=$(curl -s -D "$T/h" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $PKEY" -d '{"columns":["a","b","c"],"data":[[0.1,0.2,0.3]]}' "$URL/score")
[ "$c" = 200 ] && grep -qi '^azureml-model-deployment: green' "$T/h" && ok "green still answers" || bad "after the refused reload: $c"
still_serving "a refused reload"
finish
