#!/usr/bin/env bash
# mpiscore endpoint create/keys/update/show/list/delete: keys printed once
# and stored hashed, traffic rules, registered models only, atomic state.
. "$MS_SRC/tests/lib.sh"
. "$MS_SRC/tests/serve/serve_lib.sh"
make_fixtures
"$MPISCORE" model register churn "$T/model.h5" >/dev/null
"$MPISCORE" model register churn "$T/model.h5" >/dev/null # churn:2

for sub in "" create keys update show list delete; do
    if "$MPISCORE" endpoint $sub --help >"$T/h" 2>&1 && grep -q "usage: mpiscore endpoint" "$T/h"; then
        ok "endpoint $sub --help"
    else
        bad "endpoint $sub --help: $(cat "$T/h")"
    fi
done
"$MPISCORE" serve --help | grep -q -- "--request-timeout" && ok "serve --help" || bad "serve --help"

new_endpoint fraud
if [[ $PKEY =~ ^[0-9a-f]{64}$ && $SKEY =~ ^[0-9a-f]{64}$ && $PKEY != "$SKEY" ]]; then
    ok "create prints two distinct 256-bit keys"
else
    bad "create output: $(cat "$T/keys.fraud")"
fi
state="$MPISCORE_HOME/endpoints/fraud/endpoint.json"
if grep -q "$PKEY" "$state" || grep -q "$SKEY" "$state"; then
    bad "a key is stored in clear in $state"
else
    ok "keys are not stored in clear"
fi
ph=$(printf '%s' "$PKEY" | sha256sum | cut -c1-64)
grep -q "$ph" "$state" && ok "the primary key's sha256 is stored" || bad "no sha256 of the primary key in $state"
"$MPISCORE" endpoint keys fraud >"$T/k"
grep -q "primary: sha256 ${ph:0:12}" "$T/k" && ok "keys shows fingerprints" || bad "keys: $(cat "$T/k")"

expect_fail 1 'already exists' "$MPISCORE" endpoint create fraud
expect_fail 1 'invalid endpoint name' "$MPISCORE" endpoint create 'bad/name'
expect_fail 1 'no endpoint "nope"' "$MPISCORE" endpoint show nope
expect_fail 1 'expected NAME' "$MPISCORE" endpoint create

# regenerate: a new primary, the secondary untouched
"$MPISCORE" endpoint keys fraud --regenerate primary >"$T/r"
np=$(awk '/^primary: /{print $2}' "$T/r")
nh=$(printf '%s' "$np" | sha256sum | cut -c1-64)
sh=$(printf '%s' "$SKEY" | sha256sum | cut -c1-64)
if [[ $np =~ ^[0-9a-f]{64}$ && $np != "$PKEY" ]] && grep -q "$nh" "$state" && ! grep -q "$ph" "$state" && grep -q "$sh" "$state"; then
    ok "--regenerate primary replaces only the primary key"
else
    bad "--regenerate primary: $(cat "$T/r")"
fi
expect_fail 1 'primary or secondary' "$MPISCORE" endpoint keys fraud --regenerate tertiary

# update: deployments must be registered models, traffic sums to 100, mirror <= 50
expect_fail 1 'nothing to change' "$MPISCORE" endpoint update fraud
expect_fail 3 'no model "nosuch"' "$MPISCORE" endpoint update fraud --deployment blue=nosuch:1
expect_fail 3 'no such version' "$MPISCORE" endpoint update fraud --deployment blue=churn:9
expect_fail 1 'is a file, not a registered model' "$MPISCORE" endpoint update fraud --deployment blue="$T/model.h5"
expect_fail 1 'expected DEPLOYMENT=MODEL' "$MPISCORE" endpoint update fraud --deployment blue
"$MPISCORE" endpoint update fraud --deployment blue=churn:1 >/dev/null
grep -q '"traffic": 100' "$state" && ok "a single deployment gets 100% of the traffic" || bad "single deployment traffic: $(cat "$state")"
expect_fail 1 'traffic adds up to 90, not 100' "$MPISCORE" endpoint update fraud --deployment green=churn:2 --traffic blue=90
expect_fail 1 'no deployment "red"' "$MPISCORE" endpoint update fraud --deployment green=churn:2 --traffic blue=90,red=10
expect_fail 1 'percent must be 0..100' "$MPISCORE" endpoint update fraud --deployment green=churn:2 --traffic blue=x,green=10
expect_fail 1 'mirror traffic adds up to 60' "$MPISCORE" endpoint update fraud --deployment green=churn:2 --deployment red=churn:1 --traffic blue=100 --mirror green=30,red=30
expect_fail 1 'cannot take live and mirror traffic' "$MPISCORE" endpoint update fraud --deployment green=churn:2 --traffic blue=90,green=10 --mirror green=10
before=$(cat "$state")
[ "$before" = "$(cat "$state")" ] && ok "refused updates leave the state file as it was" || bad "state changed by a refused update"
"$MPISCORE" endpoint update fraud --deployment green=churn --traffic blue=90,green=10 >/dev/null
"$MPISCORE" endpoint show fraud >"$T/show"
if grep -Eq 'blue +churn:1 .* 90%' "$T/show" && grep -Eq 'green +churn:2 .* 10%' "$T/show"; then
    ok "show: deployments, resolved versions (churn -> churn:2) and traffic"
else
    bad "show: $(cat "$T/show")"
fi
grep -q 'not being served' "$T/show" && ok "show says when nothing serves it" || bad "show: $(cat "$T/show")"
"$MPISCORE" endpoint update fraud --deployment red=churn:1 --mirror red=10 >/dev/null
grep -Eq 'red +churn:1 .* 0% +10%' <("$MPISCORE" endpoint show fraud) && ok "mirror set" || bad "mirror: $("$MPISCORE" endpoint show fraud)"
"$MPISCORE" endpoint update fraud --mirror none --remove-deployment red >/dev/null
! grep -q '"red"' "$state" && ok "--remove-deployment" || bad "red still in $state"
expect_fail 1 'traffic adds up to 10, not 100' "$MPISCORE" endpoint update fraud --remove-deployment blue
ls -a "$MPISCORE_HOME/endpoints/fraud" | grep -q tmp && bad "temporary files left" || ok "no temporaries left"

new_endpoint alpha
"$MPISCORE" endpoint list >"$T/list"
if [ "$(awk '{print $1}' "$T/list" | tr '\n' ' ')" = "alpha fraud " ]; then ok "list, sorted"; else bad "list: $(cat "$T/list")"; fi
"$MPISCORE" endpoint delete alpha >/dev/null
[ ! -e "$MPISCORE_HOME/endpoints/alpha" ] && ok "delete removes the folder" || bad "alpha still there"
expect_fail 1 'no endpoint "alpha"' "$MPISCORE" endpoint delete alpha
new_endpoint empty
expect_fail 1 'has no deployments' "$MPISCORE" serve empty --port 0

# concurrent updates: each is a locked read-modify-write, none is lost
for i in 1 2 3 4 5 6; do
    "$MPISCORE" endpoint update fraud --deployment "d$i=churn:1" --traffic blue=90,green=10 >/dev/null &
done
wait
n=$("$MS_PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["deployments"]))' "$state")
[ "$n" = 8 ] && ok "6 concurrent updates all kept" || bad "concurrent updates: $n deployments, expected 8"
finish
