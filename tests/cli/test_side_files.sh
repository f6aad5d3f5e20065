#!/usr/bin/env bash
# Side files (issue 12, items 3-6 and 14): every path a run writes is checked
# against every input (files inside input folders too), the model and every
# other written path, by identity, before anything is opened for writing; an
# existing errors file follows the output's rules; unwritable --metrics and
# --status-file are refused at start-up with the reason. Each refusal: the
# exact line, the exit code, and every file that was there byte-identical.
source "$MS_SRC/tests/lib.sh"
make_fixtures
M="$T/model.h5"
cd "$T"
mkdir -p in o
cp good.csv in/part1.csv
cp good.csv in/part2.csv
printf '%s\nbad,1,x,3,z\n' "$(head -n 1 good.csv)" >bad.csv

# snapshot / unchanged: sha256 of every file under $T (but the test's own
# out.txt/err.txt), before and after a command
snapshot() { find "$T" -type f ! -name out.txt ! -name err.txt ! -name 'sums.*' -print0 | sort -z |
    xargs -0 sha256sum >"$T/sums.$1"; }
unchanged() {
    snapshot after
    if cmp -s "$T/sums.before" "$T/sums.after"; then ok "$1: every file unchanged"
    else bad "$1: files changed: $(diff "$T/sums.before" "$T/sums.after" | head -4 | tr '\n' ' ')"; fi
}
# refuse CODE PATTERN WHAT ARGS...: a run refused with CODE and PATTERN that
# leaves every file as it was and creates none
refuse() {
    local code=$1 pat=$2 what=$3
    shift 3
    snapshot before
    expect_fail "$code" "$pat" mpis 2 run --model "$M" --id-column id "$@"
    unchanged "$what"
}

# 3: a side file naming an input, a file inside an input folder, or the model
refuse 1 "^mpiscore: error: --errors-file good\.csv is input good\.csv: the run would overwrite what it reads$" \
    "errors file = input" --input good.csv --output o/a.csv --on-error continue --errors-file good.csv
refuse 1 "^mpiscore: error: --metrics \./in/part2\.csv is input in/part2\.csv: the run would overwrite what it reads$" \
    "metrics = file in an input folder" --input in --output o/a.csv --metrics ./in/part2.csv
ln -s model.h5 link.h5
refuse 1 "^mpiscore: error: --status-file link\.h5 is the model $M: the run would overwrite what it reads$" \
    "status file = the model through a symlink" --model "$M" --input good.csv --output o/a.csv \
    --status-file link.h5
# 4: a side file with the output's name (the output not there yet, and there)
refuse 1 "^mpiscore: error: --metrics o/x\.csv and --output o/x\.csv are the same file$" \
    "metrics = output" --input good.csv --output o/x.csv --metrics o/x.csv
refuse 1 "^mpiscore: error: --status-file \./o/\./x\.csv\.partial and --output o/x\.csv\.partial are the same file$" \
    "status file = the output's partial" --input good.csv --output o/x.csv --status-file ./o/./x.csv.partial
refuse 1 "^mpiscore: error: --errors-file o/x\.csv\.journal and --output o/x\.csv\.journal are the same file$" \
    "errors file = the output's journal" --input good.csv --output o/x.csv --on-error continue \
    --errors-file o/x.csv.journal
refuse 1 "^mpiscore: error: --status-file o/m\.json and --metrics o/m\.json are the same file$" \
    "status file = metrics" --input good.csv --output o/x.csv --metrics o/m.json --status-file o/m.json
mpis 2 run --model "$M" --input good.csv --output o/done.csv --id-column id
refuse 1 "^mpiscore: error: --metrics o/done\.csv and --output o/done\.csv are the same file$" \
    "metrics = existing output, with --overwrite" --input good.csv --output o/done.csv --overwrite \
    --metrics o/done.csv

# 5: an existing errors file (the default name, or the one named) is refused
# unless --overwrite, and with --overwrite replaced only at the end
echo "keep me" >o/e.csv.errors.csv
refuse 4 "^mpiscore: error: o/e\.csv\.errors\.csv: already exists \(use --overwrite to replace it\)$" \
    "default errors file exists" --input bad.csv --output o/e.csv --on-error continue
echo "keep me too" >o/named.csv
refuse 4 "^mpiscore: error: o/named\.csv: already exists \(use --overwrite to replace it\)$" \
    "named errors file exists" --input bad.csv --output o/e.csv --on-error continue --errors-file o/named.csv
mpis 2 run --model "$M" --input bad.csv --output o/e.csv --id-column id --on-error continue \
    --errors-file o/named.csv --overwrite 2>/dev/null
if [ -e o/e.csv ] && grep -q '^bad\.csv,2,' o/named.csv && [ ! -e o/named.csv.partial ]; then
    ok "with --overwrite the errors file is replaced at the end"
else
    bad "errors file not replaced: $(cat o/named.csv)"
fi

# 6: every side file is checked before the first batch: an errors file that
# cannot be created stops the run before anything is written
refuse 4 "^mpiscore: error: nodir/e\.csv: folder nodir does not exist$" \
    "errors file folder missing" --input bad.csv --output o/six.csv --on-error continue --errors-file nodir/e.csv

# 14: a delimiter that cannot be one, shown escaped on one line; unwritable
# --metrics / --status-file refused at start-up (exit 4) with the reason
refuse 1 "^mpiscore run: --delimiter '\\\\n': expected one character other than CR, LF, '\"' and NUL, or 'tab' \(see mpiscore run --help\)$" \
    "delimiter LF" --input good.csv --output o/d.csv --delimiter $'\n'
"$MPISCORE" run --model "$M" --input good.csv --output o/d.csv --delimiter $'\n' 2>"$T/err.txt" || true
if [ "$(wc -l <"$T/err.txt")" = 1 ]; then ok "delimiter LF: one line"; else bad "delimiter LF: $(wc -l <"$T/err.txt") lines"; fi
refuse 1 "^mpiscore run: --delimiter '\\\\r': expected one character" \
    "delimiter CR" --input good.csv --output o/d.csv --delimiter $'\r'
refuse 4 "^mpiscore: error: --metrics nodir/m\.json: cannot write nodir/m\.json\.partial: No such file or directory$" \
    "metrics folder missing" --input good.csv --output o/m.csv --metrics nodir/m.json
refuse 4 "^mpiscore: error: --status-file nodir/s\.json: cannot write nodir/s\.json\.partial: No such file or directory$" \
    "status folder missing" --input good.csv --output o/s.csv --status-file nodir/s.json
if command -v setpriv >/dev/null; then
    mkdir -p ro && chmod 555 ro && chmod 777 o && chmod o+rx "$T"
    snapshot before
    rc=0
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$MPISCORE" run --model "$M" --input good.csv \
        --output o/p.csv --id-column id --metrics ro/m.json >/dev/null 2>"$T/err.txt" || rc=$?
    if [ "$rc" = 4 ] && grep -qx "mpiscore: error: --metrics ro/m\.json: cannot write ro/m\.json\.partial: Permission denied" "$T/err.txt"; then
        ok "metrics permission denied: exit 4 with the reason"
    else
        bad "metrics permission denied: rc $rc: $(cat "$T/err.txt")"
    fi
    unchanged "metrics permission denied"
fi

# a clean run with every side file still works
mpis 2 run --model "$M" --input good.csv --output o/all.csv --id-column id --on-error continue \
    --metrics o/all.json --status-file o/all.status
if [ -s o/all.csv ] && [ -s o/all.json ] && [ -s o/all.status ] && [ -s o/all.csv.errors.csv ] &&
    [ -z "$(ls o/*.partial 2>/dev/null)" ]; then
    ok "clean run: output, errors file, metrics and status file in place, no partial left"
else
    bad "clean run: $(ls o)"
fi
finish
