#!/usr/bin/env bash
# The model registry through the CLI: concurrent registers get distinct
# versions, list and info read them back, a tampered stored file is refused
# with the exact message, and usage errors exit 1 with one line.
source "$MS_SRC/tests/lib.sh"
make_fixtures
M="$T/model.h5"
export MPISCORE_HOME="$T/home"
R="$MPISCORE_HOME/models"
cd "$T"

# empty registry: header only; an unknown name is a model error
"$MPISCORE" model list >"$T/list0.txt"
[ "$(wc -l <"$T/list0.txt")" = 1 ] && ok "empty registry lists the header only" ||
    bad "empty list: $(cat "$T/list0.txt")"
expect_fail 3 "^mpiscore: error: no model \"churn\" in the registry \($R\)$" \
    "$MPISCORE" model info churn

# 8 concurrent registers: 8 distinct versions 1..8, each printed once
pids=()
for i in 1 2 3 4 5 6 7 8; do
    "$MPISCORE" model register churn "$M" --notes "run $i" >"$T/reg$i.out" 2>"$T/reg$i.err" &
    pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
[ "$rc" = 0 ] && ok "8 concurrent registers succeed" || bad "a register failed: $(cat "$T"/reg*.err)"
got=$(cat "$T"/reg*.out | sort -t: -k2 -n | tr '\n' ' ')
want="churn:1 churn:2 churn:3 churn:4 churn:5 churn:6 churn:7 churn:8 "
[ "$got" = "$want" ] && ok "concurrent registers got versions 1..8" || bad "versions: $got"
n_meta=$(find "$R/churn" -name meta.json | wc -l)
n_tmp=$(find "$R/churn" -name '.*.tmp' | wc -l)
[ "$n_meta" = 8 ] && [ "$n_tmp" = 0 ] && ok "8 complete versions, no temporaries left" ||
    bad "meta.json files: $n_meta, temporaries: $n_tmp"
for v in 1 8; do
    same "$M" "$R/churn/$v/model.h5" "stored copy $v is byte-identical"
done
sha=$(sha256sum "$M" | cut -c1-64)
grep -q "\"sha256\": \"$sha\"" "$R/churn/5/meta.json" && ok "meta.json sha256 matches sha256sum" ||
    bad "meta.json: $(cat "$R/churn/5/meta.json")"

# a second name, then list: sorted by name then version
"$MPISCORE" model register alpha "$M" >/dev/null
"$MPISCORE" model list >"$T/list.txt"
keys=$(tail -n +2 "$T/list.txt" | awk '{printf "%s:%s ", $1, $2}')
[ "$keys" = "alpha:1 $want" ] && ok "list is sorted by name then version" || bad "list: $keys"
head -n 1 "$T/list.txt" | grep -Eq '^NAME +VERSION +CREATED +KIND +SHA256 +NOTES$' &&
    ok "list header" || bad "list header: $(head -n 1 "$T/list.txt")"
grep -Eq "^churn +3 +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +linear +${sha:0:12} +run [1-8]$" \
    "$T/list.txt" && ok "list row: version, created, kind, short sha256, notes" ||
    bad "list rows: $(cat "$T/list.txt")"
[ "$("$MPISCORE" model list alpha | wc -l)" = 2 ] && ok "list NAME shows one model" ||
    bad "list alpha: $("$MPISCORE" model list alpha)"

# info by reference and by path
"$MPISCORE" model info churn:latest >"$T/info.txt"
grep -q "^model: *churn:8$" "$T/info.txt" && grep -q "^sha256: *$sha$" "$T/info.txt" &&
    grep -q "^created: *[0-9]" "$T/info.txt" && grep -q "^notes: *run [1-8]$" "$T/info.txt" &&
    grep -q "^kind: *linear$" "$T/info.txt" && ok "info churn:latest: version, sha256, notes, kind" ||
    bad "info churn:latest: $(cat "$T/info.txt")"
"$MPISCORE" model info churn >"$T/info_bare.txt"
same "$T/info.txt" "$T/info_bare.txt" "info churn = info churn:latest"
"$MPISCORE" model info "$M" >"$T/info_file.txt"
grep -q "^kind: *linear$" "$T/info_file.txt" && ! grep -q "^model:" "$T/info_file.txt" &&
    ok "info FILE still describes a plain container" || bad "info FILE: $(cat "$T/info_file.txt")"

# tampered stored file: refused, other versions unaffected
printf 'x' >>"$R/churn/3/model.h5"
expect_fail 3 '^mpiscore: error: churn:3: model file does not match its registered sha256 \(tampered or corrupt\)$' \
    "$MPISCORE" model info churn:3
"$MPISCORE" model info churn:4 >/dev/null && ok "other versions still resolve" ||
    bad "churn:4 refused after tampering with churn:3"

# refusals
expect_fail 3 '^mpiscore: error: churn:9: no such version \(latest is 8\)$' "$MPISCORE" model info churn:9
expect_fail 1 "^mpiscore: error: model name \"x y\": use letters, digits, '\.', '_' and '-'$" \
    "$MPISCORE" model register "x y" "$M"
expect_fail 3 '^mpiscore: error: .*notmodel\.h5: not an mpiscore model' \
    "$MPISCORE" model register broken notmodel.h5
[ ! -e "$R/broken" ] && ok "a refused model takes no version" || bad "folder left for a refused model"
expect_fail 4 '^mpiscore: error: .*nosuch\.h5: No such file or directory$' "$MPISCORE" model info nosuch.h5
expect_fail 1 '^mpiscore model register: expected NAME and FILE' "$MPISCORE" model register churn
expect_fail 1 '^mpiscore model register: --notes needs a value' "$MPISCORE" model register churn "$M" --notes
expect_fail 1 '^mpiscore model register: unknown option "--bogus"' "$MPISCORE" model register churn "$M" --bogus
expect_fail 1 '^mpiscore model list: expected at most one NAME' "$MPISCORE" model list a b
expect_fail 1 '^mpiscore model info: expected one MODEL' "$MPISCORE" model info
expect_fail 1 '^mpiscore: error: churn:x: version "x": expected a number or "latest"$' \
    "$MPISCORE" model info churn:x
for sub in register list info; do
    "$MPISCORE" model "$sub" --help | grep -q "^usage: mpiscore model $sub" &&
        ok "model $sub --help" || bad "model $sub --help"
done
# run resolves references the same way (churn:3 is tampered above)
mpis 2 run --model churn:4 --input good.csv --output "$T/r4.csv" --id-column id
mpis 2 run --model "$M" --input good.csv --output "$T/rf.csv" --id-column id
same "$T/r4.csv" "$T/rf.csv" "run --model churn:4 scores like the file itself"
expect_fail 3 '^mpiscore: error: churn:3: model file does not match its registered sha256' \
    mpis 2 run --model churn:3 --input good.csv --output "$T/r3.csv"
# one damaged meta.json hides nothing else: it is flagged, the rest listed,
# and the exit status (3) tells a script the registry needs repair
printf '{"name": "churn", "vers' >"$R/churn/5/meta.json"
rc=0
"$MPISCORE" model list >"$T/listd.txt" 2>"$T/listd.err" || rc=$?
[ "$rc" = 3 ] && ok "list with a damaged entry exits 3" || bad "list exit $rc"
[ "$(grep -c '^churn  ' "$T/listd.txt")" = 8 ] && ok "list still shows all 8 versions" ||
    bad "list: $(cat "$T/listd.txt")"
grep -Eq '^churn        5  DAMAGED: meta.json: line 1 column [0-9]+: .+$' "$T/listd.txt" &&
    ok "damaged entry: $(grep DAMAGED "$T/listd.txt")" || bad "no DAMAGED line: $(cat "$T/listd.txt")"
grep -Eq '^churn        4  20' "$T/listd.txt" && ok "neighbour version listed in full" ||
    bad "churn:4 not listed: $(cat "$T/listd.txt")"
grep -q '^mpiscore: error: 1 registry entry is damaged' "$T/listd.err" &&
    ok "stderr: $(cat "$T/listd.err")" || bad "stderr: $(cat "$T/listd.err")"
rc=0
"$MPISCORE" model list churn >"$T/listd1.txt" 2>/dev/null || rc=$?
[ "$rc" = 3 ] && grep -q DAMAGED "$T/listd1.txt" && [ "$(wc -l <"$T/listd1.txt")" = 9 ] &&
    ok "list churn: same" || bad "list churn: rc $rc $(cat "$T/listd1.txt")"
expect_fail 3 "^mpiscore: error: churn:5: $R/churn/5/meta.json: line 1 column [0-9]+: " \
    "$MPISCORE" model info churn:5
echo '[1, 2]' >"$R/churn/5/meta.json"
expect_fail 3 "^mpiscore: error: churn:5: $R/churn/5/meta.json: not a valid registry record" \
    "$MPISCORE" model info churn:5

# every --help exits 0 and prints no printf escape ("%%")
for cmd in "" run model submit status cancel logs "model register" "model list" \
    "model info" "model import"; do
    rc=0
    # shellcheck disable=SC2086
    "$MPISCORE" $cmd --help >"$T/help.txt" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
        bad "mpiscore $cmd --help: exit $rc"
    elif grep -q '%%' "$T/help.txt"; then
        bad "mpiscore $cmd --help: $(grep '%%' "$T/help.txt")"
    elif ! grep -Eq '^usage: (mpirun -n N )?mpiscore' "$T/help.txt"; then
        bad "mpiscore $cmd --help: no usage line"
    else
        ok "mpiscore $cmd --help"
    fi
done
grep -q 'or P% of rows' < <("$MPISCORE" run --help) && ok "run --help: P% of rows" ||
    bad "run --help: $("$MPISCORE" run --help | grep max-errors)"
finish
