#!/usr/bin/env bash
# Bad input, one case each, under mpirun -n 2: the exact one-line error
# (file, line, column), the exit code, and no output file left behind; with
# --on-error continue, bad rows are listed and kept in place, empty.
source "$MS_SRC/tests/lib.sh"
make_fixtures
M="$T/model.h5"
cd "$T"

# run_abort CODE PATTERN INPUT [extra args]: fails with CODE/PATTERN, leaves no output
run_abort() {
    local code=$1 pat=$2 input=$3
    shift 3
    rm -f "$T/out.csv" "$T/out.csv.partial"
    expect_fail "$code" "$pat" mpis 2 run --model "$M" --input "$input" --output "$T/out.csv" \
        --id-column id "$@"
    if [ -e "$T/out.csv" ] || [ -e "$T/out.csv.partial" ]; then
        bad "output left behind after failure on $input"
    fi
}

hdr="id,a,b,c,extra"
printf '%s\n' "$hdr" >header_only.csv
: >empty.csv
printf 'id,a,b,extra\nx,1,2,3\n' >no_c.csv
printf 'id,a,b,a,c\nx,1,2,3,4\n' >dup.csv
printf '%s\nr1,1,2,3,z\nr2,abc,2,3,z\nr3,1,2,3,z\n' "$hdr" >nonnum.csv
printf '%s\nr1,1,1e999,3,z\n' "$hdr" >huge.csv
printf '%s\nr1,1,2,nan,z\n' "$hdr" >nan.csv
printf '%s\nr1,1,-inf,3,z\n' "$hdr" >inf.csv
printf '%s\nr1,1,2,3,z,extra\n' "$hdr" >many.csv
printf '%s\nr1,1,2,3,z\nr2,1,2\n' "$hdr" >few.csv
printf '%s\nr1,1,2,3,z\n"r2,1,2,3,z\nr3,1,2,3,z\n' "$hdr" >unterminated.csv
printf '%s\n"multi\nline id",1,2,3,z\nr3,1,2,3,z\nr4,1,2,x,z\n' "$hdr" >newline_id.csv

# missing, unreadable, empty
run_abort 2 "^mpiscore: error: missing\.csv: No such file or directory$" missing.csv
run_abort 2 "^mpiscore: error: empty\.csv: empty file \(no header row\)$" empty.csv
cp "$T/good.csv" unreadable.csv
chmod 000 unreadable.csv
chmod 755 "$T"
if [ "$(id -u)" -eq 0 ]; then
    # root reads everything: check as an unprivileged user, with a copy of the
    # binary in a folder that user can reach wherever the build tree lives
    chmod 644 "$M"
    cp "$MPISCORE" "$T/mpiscore-copy"
    expect_fail 4 "unreadable\.csv: Permission denied$" runuser -u nobody -- "$T/mpiscore-copy" run \
        --model "$M" --input "$T/unreadable.csv" --output "$T/u.csv"
else
    run_abort 4 "unreadable\.csv: Permission denied$" unreadable.csv
fi

# header only: a valid, empty result
mpis 2 run --model "$M" --input header_only.csv --output "$T/ho.csv" --id-column id
[ "$(cat "$T/ho.csv")" = "id,p_no,p_yes,label" ] && ok "header only: output has the header only" ||
    bad "header only: got $(cat "$T/ho.csv")"

# header problems
run_abort 2 '^mpiscore: error: no_c\.csv: column "c" required by the model is missing from the header$' no_c.csv
run_abort 2 '^mpiscore: error: dup\.csv:1:4: duplicate column name "a" \(also column 2\)$' dup.csv

# row problems (abort)
run_abort 2 '^mpiscore: error: nonnum\.csv:3:2: column "a": not a number: "abc"$' nonnum.csv
# the fixture is a scikit-learn linear model: a float64 model, so the range is float64's
run_abort 2 '^mpiscore: error: huge\.csv:2:3: column "b": value out of float64 range: "1e999"$' huge.csv
run_abort 2 '^mpiscore: error: nan\.csv:2:4: column "c": missing value$' nan.csv
run_abort 2 '^mpiscore: error: inf\.csv:2:3: column "b": infinite value: "-inf"$' inf.csv
run_abort 2 '^mpiscore: error: many\.csv:2: expected 5 fields, found 6$' many.csv
run_abort 2 '^mpiscore: error: few\.csv:3: expected 5 fields, found 3$' few.csv
run_abort 2 '^mpiscore: error: unterminated\.csv:3:1: unterminated quoted field \(opened at character 1\)$' unterminated.csv
# an id with an embedded newline is fine; line numbers after it stay right
run_abort 2 '^mpiscore: error: newline_id\.csv:5:4: column "c": not a number: "x"$' newline_id.csv

# a 10 MB field
{ printf '%s\nr1,' "$hdr"; head -c 10000000 /dev/zero | tr '\0' '7'; printf 'x,2,3,z\n'; } >big.csv
run_abort 2 '^mpiscore: error: big\.csv:2:2: column "a": not a number: "7777' big.csv
# binary garbage
head -c 100000 /dev/urandom >garbage.csv
rc=0
mpis 2 run --model "$M" --input garbage.csv --output "$T/g.csv" >/dev/null 2>"$T/g.err" || rc=$?
if [ "$rc" = 2 ] && [ "$(wc -l <"$T/g.err")" -ge 1 ] && [ ! -e "$T/g.csv" ]; then
    ok "binary garbage: exit 2, $(head -c 100 "$T/g.err" | head -n 1)"
else
    bad "binary garbage: exit $rc, $(head -c 300 "$T/g.err")"
fi

# model problems
printf 'not a model\n' >notmodel.txt
expect_fail 3 "^mpiscore: error: .*notmodel\.txt: not an HDF5 file$" mpis 2 run --model notmodel.txt \
    --input good.csv --output "$T/o.csv"
expect_fail 3 "^mpiscore: error: .*wrong_nf\.h5: .*n_features" mpis 2 run --model wrong_nf.h5 \
    --input good.csv --output "$T/o.csv"
expect_fail 3 "^mpiscore: error: .*notmodel\.h5: not an mpiscore model" mpis 2 run --model notmodel.h5 \
    --input good.csv --output "$T/o.csv"
expect_fail 4 "^mpiscore: error: .*nosuch\.h5: No such file or directory$" mpis 2 run --model nosuch.h5 \
    --input good.csv --output "$T/o.csv"

# output problems
expect_fail 4 "^mpiscore: error: $T/nodir/o\.csv: folder $T/nodir does not exist$" mpis 2 run \
    --model "$M" --input good.csv --output "$T/nodir/o.csv"
echo keep >exists.csv
expect_fail 4 "^mpiscore: error: $T/exists\.csv: already exists \(use --overwrite to replace it\)$" \
    mpis 2 run --model "$M" --input good.csv --output "$T/exists.csv"
[ "$(cat exists.csv)" = keep ] && ok "existing output untouched" || bad "existing output changed"
mpis 2 run --model "$M" --input good.csv --output "$T/exists.csv" --overwrite --id-column id
[ "$(wc -l <exists.csv)" = 51 ] && ok "--overwrite replaces it" || bad "--overwrite did not replace"
expect_fail 1 "the output is also an input" mpis 2 run --model "$M" --input "$T/exists.csv" \
    --output "$T/exists.csv" --overwrite

# usage errors
expect_fail 1 "^mpiscore run: --model, --input and --output are required" mpis 0 run --model "$M"
expect_fail 1 "^mpiscore run: --mini-batch-rows 0: expected a whole number from 1 to 16777216" \
    mpis 0 run --model "$M" --input good.csv --output o.csv --mini-batch-rows 0
expect_fail 1 "^mpiscore run: --on-error maybe: expected abort or continue" \
    mpis 0 run --model "$M" --input good.csv --output o.csv --on-error maybe

# continue: bad rows kept in place (empty) and listed; good rows scored
cat nonnum.csv >mixed.csv
tail -n +2 few.csv >>mixed.csv
mpis 2 run --model "$M" --input mixed.csv --output "$T/c.csv" --id-column id --on-error continue \
    --mini-batch-rows 2 2>"$T/c.err"
expected_out=$(printf 'id,p_no,p_yes,label\nr1,X\nr2,,,\nr3,X\nr1,X\nr2,,,\n')
got=$(sed -E 's/^(r[0-9]),[0-9.e-]+,[0-9.e-]+,(yes|no)$/\1,X/' "$T/c.csv")
[ "$got" = "$expected_out" ] && ok "continue: bad rows kept in place with empty values" ||
    bad "continue output: $got"
exp_err=$(printf 'file,line,column,reason,record\nmixed.csv,3,a,"column ""a"": not a number: ""abc""","r2,abc,2,3,z"\nmixed.csv,6,,"expected 5 fields, found 3","r2,1,2"\n')
[ "$(cat "$T/c.csv.errors.csv")" = "$exp_err" ] && ok "continue: errors file lists line, column, reason, record" ||
    bad "errors file: $(cat "$T/c.csv.errors.csv")"
grep -q "2 of 5 rows could not be scored" "$T/c.err" && ok "continue: summary on stderr" ||
    bad "continue summary: $(cat "$T/c.err")"
expect_fail 5 "^mpiscore: error: too many bad rows: 2 > --max-errors 1 \(first: mixed\.csv:3:2" \
    mpis 2 run --model "$M" --input mixed.csv --output "$T/c2.csv" --on-error continue --max-errors 1
[ ! -e "$T/c2.csv" ] && [ -e "$T/c2.csv.errors.csv" ] && ok "max-errors: no output, errors file kept" ||
    bad "max-errors: output or errors file wrong"
expect_fail 5 "^mpiscore: error: too many bad rows: 2 of 5 exceed --max-errors 10%" \
    mpis 2 run --model "$M" --input mixed.csv --output "$T/c3.csv" --on-error continue --max-errors 10%
mpis 2 run --model "$M" --input mixed.csv --output "$T/c4.csv" --on-error continue --max-errors 40% 2>/dev/null &&
    ok "max-errors 40% tolerates 2 of 5" || bad "max-errors 40% failed"
finish
