#!/usr/bin/env bash
# CSV dialect defects of issue 12 (#13, #19-#24), end to end under
# mpirun -n 2: each either the exact one-line error and exit code, or the
# scored output compared with what pandas reads from the same file.
source "$MS_SRC/tests/lib.sh"
make_fixtures
M="$T/model.h5"
cd "$T"

# run_abort CODE PATTERN INPUT [extra args]: fails with CODE/PATTERN, leaves no output
run_abort() {
    local code=$1 pat=$2 input=$3
    shift 3
    rm -f "$T/out.csv" "$T/out.csv.partial"
    expect_fail "$code" "$pat" mpis 2 run --model "$M" --input "$input" --output "$T/out.csv" "$@"
    if [ -e "$T/out.csv" ] || [ -e "$T/out.csv.partial" ]; then
        bad "output left behind after failure on $input"
    fi
}

# score INPUT OUTPUT [extra args]: a run that must succeed
score() {
    local in=$1 out=$2
    shift 2
    rm -f "$out" "$out.errors.csv"
    mpis 2 run --model "$M" --input "$in" --output "$out" "$@" 2>"$T/score.err" ||
        bad "scoring $in failed: $(cat "$T/score.err")"
}

# good row k of good.csv (1-based), without its extra column
row() { sed -n "$(($1 + 1))p" good.csv | cut -d, -f1-4; }
# the scored line of good row k
scored() { sed -n "$(($1 + 1))p" expected_ms.csv; }
score good.csv expected_ms.csv --id-column id

# ---- #19: text after a closing quote is a row error, never a merge ----------
{
    echo "id,a,b,c"
    echo "\"$(row 1 | cut -d, -f1)\"b,$(row 1 | cut -d, -f2-)"
    row 2
    echo "\"$(row 3 | cut -d, -f1)\",$(row 3 | cut -d, -f2-)"
    echo "\"6\" ruler,$(row 4 | cut -d, -f2-)"
    echo "\"He said \\\"hi\\\"\",$(row 5 | cut -d, -f2-)"
    row 6
} >stray.csv
run_abort 2 "^mpiscore: error: stray\.csv:2:1: column \"id\": unexpected character 'b' after a closing quote \(character 6\)$" \
    stray.csv --id-column id
for rows in 1 2 1000; do
    score stray.csv stray_out.csv --id-column id --on-error continue --mini-batch-rows "$rows"
    want=$(printf 'id,p_no,p_yes,label\n,,,\n%s\n%s\n,,,\n,,,\n%s\n' "$(scored 2)" "$(scored 3)" \
        "$(scored 6)")
    [ "$(cat stray_out.csv)" = "$want" ] &&
        ok "stray quote, batches of $rows: 3 bad rows in place, the others scored as written" ||
        bad "stray quote, batches of $rows: $(cat stray_out.csv)"
    { cut -d, -f1-3 stray_out.csv.errors.csv | tail -n +2 | tr "\n" " "; } >stray_err.txt 2>/dev/null || true
    [ "$(cat stray_err.txt)" = "stray.csv,2,id stray.csv,5,id stray.csv,6,id " ] &&
        ok "stray quote, batches of $rows: errors file names line and column" ||
        bad "stray quote errors, batches of $rows: $(cat stray_out.csv.errors.csv)"
done
grep -q "3 of 6 rows could not be scored" "$T/score.err" && ok "stray quote: 6 rows counted" ||
    bad "stray quote summary: $(cat "$T/score.err")"
# pandas reads the well-formed rows the same way (ids as written)
"$MS_PYTHON" - stray.csv <<'EOF' && ok "pandas agrees on the good rows' ids" || bad "pandas ids differ"
import sys, csv
import pandas as pd
df = pd.read_csv(sys.argv[1], dtype=str, on_bad_lines="skip", engine="python")
ids = [r[0] for r in csv.reader(open("stray_out.csv"))][1:]
assert [i for i in ids if i] == ["id1", "id2", "id5"], ids
EOF

# ---- #13: a stray byte in a number field names the field and the character -
printf 'id,a,b,c\nr1,4,5,"6"x\n' >stray_num.csv
run_abort 2 "^mpiscore: error: stray_num\.csv:2:4: column \"c\": unexpected character 'x' after a closing quote \(character 11\)$" \
    stray_num.csv
printf 'id,a,b,c\nr1,1,2,3\nr2,1,"2\n' >unterm.csv
run_abort 2 '^mpiscore: error: unterm\.csv:3:3: unterminated quoted field \(opened at character 6\)$' unterm.csv

# ---- #20: a lone CR is a line end, as pandas reads it ----------------------
# CR-only (classic Mac, Excel "CSV (Macintosh)"), and a mix of LF, CRLF and
# lone CR: the rows pandas reads, scored exactly as the LF file, at any batch
# size and rank count (the scanner cuts batches at every line end)
tr '\n' '\r' <good.csv >cr_only.csv
"$MS_PYTHON" - <<'EOF'
import random
random.seed(20)
lines = open("good.csv", newline="").read().split("\n")[:-1]
with open("mixed_ends.csv", "w", newline="") as f:
    for i, l in enumerate(lines):
        f.write(l + random.choice(["\n", "\r\n", "\r"]) + ("\r" if i % 7 == 3 else ""))
EOF
for f in cr_only mixed_ends; do
    "$MS_PYTHON" -c "import pandas as pd, sys; assert len(pd.read_csv(sys.argv[1])) == 50" "$f.csv" &&
        ok "$f: pandas reads 50 rows" || bad "$f: pandas does not read 50 rows"
    for n in 0 2 3; do
        for rows in 1 2 7 1000; do
            rm -f "$f.out.csv"
            mpis "$n" run --model "$M" --input "$f.csv" --output "$f.out.csv" --id-column id \
                --mini-batch-rows "$rows" 2>"$T/score.err" || bad "$f: $(cat "$T/score.err")"
            cmp -s "$f.out.csv" expected_ms.csv || bad "$f, $n ranks, batches of $rows: output differs"
        done
    done
    ok "$f: the output of the LF file, for 1/2/3 ranks and batches of 1, 2, 7, 1000"
done
# the issue's own case: a header and two rows, never a header and no rows
printf 'a,b,c\r1,2,3\r4,5,6\r' >cr_small.csv
score cr_small.csv cr_small_out.csv
[ "$(wc -l <cr_small_out.csv)" = 3 ] && ok "CR-only: 2 rows scored" || bad "CR-only: $(cat cr_small_out.csv)"
# a lone CR inside an LF file ends a record (pandas reads id,x\na,1\rb,2\nc,3\n
# as 3 rows): rows 2 and 3 on one line are both scored
{
    echo "id,a,b,c"
    row 1
    printf '%s\r%s\n' "$(row 2)" "$(row 3)"
    row 4
} >lone_cr.csv
score lone_cr.csv lone_out.csv --id-column id
want=$(printf 'id,p_no,p_yes,label\n%s\n%s\n%s\n%s\n' "$(scored 1)" "$(scored 2)" "$(scored 3)" \
    "$(scored 4)")
[ "$(cat lone_out.csv)" = "$want" ] && ok "lone CR in an LF file: 4 rows, as pandas reads them" ||
    bad "lone CR: $(cat lone_out.csv)"
# a row error after lone CRs names the line an editor shows
printf 'id,a,b,c\rr1,1,2,3\rr2,x,2,3\rr3,1,2,3\r' >cr_bad.csv
run_abort 2 '^mpiscore: error: cr_bad\.csv:3:2: column "a": not a number: "x"$' cr_bad.csv --id-column id
# inside quotes CR and CRLF are data, as pandas keeps them
printf 'id,a,b,c\r"x\ry",1,2,3\r"u\r\nv",1,2,3\r' >cr_quoted.csv
score cr_quoted.csv cr_quoted_out.csv --id-column id
if "$MS_PYTHON" - <<'EOF'; then
import pandas as pd
ours = pd.read_csv("cr_quoted_out.csv", dtype=str)
theirs = pd.read_csv("cr_quoted.csv", dtype=str)
assert list(ours["id"]) == list(theirs["id"]) == ["x\ry", "u\r\nv"], (list(ours["id"]), list(theirs["id"]))
EOF
    ok "quoted CR and CRLF are kept in ids, as pandas reads them"
else
    bad "quoted CRs: $(od -c cr_quoted_out.csv | head)"
fi

# ---- #22: id values are kept exactly as written (RFC 4180) ------------------
# blanks around an unquoted id are part of it, as pandas reads them; a quoted
# id is the text between its quotes
{
    echo "id,a,b,c"
    echo " $(row 1 | cut -d, -f1) ,$(row 1 | cut -d, -f2-)"
    printf '\t%s,%s\r\n' "$(row 2 | cut -d, -f1)" "$(row 2 | cut -d, -f2-)"
    echo "\" $(row 3 | cut -d, -f1)  \",$(row 3 | cut -d, -f2-)"
    echo "$(row 4 | cut -d, -f1) x,$(row 4 | cut -d, -f2-)"
} >blank_ids.csv
for rows in 1 1000; do
    score blank_ids.csv blank_ids_out.csv --id-column id --mini-batch-rows "$rows"
    if "$MS_PYTHON" - <<'EOF'; then
import pandas as pd
ours = pd.read_csv("blank_ids_out.csv", dtype=str, keep_default_na=False)
theirs = pd.read_csv("blank_ids.csv", dtype=str, keep_default_na=False)
assert list(ours["id"]) == list(theirs["id"]) == [" id0 ", "\tid1", " id2  ", "id3 x"], (list(ours["id"]), list(theirs["id"]))
EOF
        ok "ids keep their blanks as pandas reads them (batches of $rows)"
    else
        bad "blank ids (batches of $rows): $(cat blank_ids_out.csv)"
    fi
done

# ---- #21: empty header names (pandas' index column, a trailing comma) ------
"$MS_PYTHON" -c '
import pandas as pd
df = pd.read_csv("good.csv")
df.to_csv("pandas_index.csv")              # ",id,a,b,c,extra"
df.to_csv("trailing.csv", index=False)
' && sed -i '1s/$/,/; 2,$s/$/,/' trailing.csv
head -n 1 pandas_index.csv | grep -q '^,id,a,b,c,extra$' || bad "pandas wrote $(head -n 1 pandas_index.csv)"
score pandas_index.csv index_out.csv --id-column id
same index_out.csv expected_ms.csv "pandas to_csv index column (empty name) is ignored"
score trailing.csv trailing_out.csv --id-column id
same trailing_out.csv expected_ms.csv "trailing comma in the header (empty name) is ignored"
printf ',,a,b,c\n1,2,3,4,5\n' >two_empty.csv
score two_empty.csv two_empty_out.csv
[ "$(wc -l <two_empty_out.csv)" = 2 ] && ok "two empty names are no duplicate" ||
    bad "two empty names: $(cat two_empty_out.csv)"

# ---- #22: header names keep their blanks (as pandas reads them) ------------
# matched exactly first, then trimmed; an ambiguous trimmed match is refused
{ echo "id, a , b,c"; tail -n +2 good.csv | cut -d, -f1-4; } >blanks.csv
"$MS_PYTHON" -c '
import pandas as pd
assert list(pd.read_csv("blanks.csv").columns) == ["id", " a ", " b", "c"]
' && ok "pandas keeps the blanks in the header" || bad "pandas reads other names"
score blanks.csv blanks_out.csv --id-column id
same blanks_out.csv expected_ms.csv "names with blanks match the model's trimmed names"
# the exact name wins over a trimmed one: " a" holds junk, "a" the values
{ echo "id, a,a,b,c"; tail -n +2 good.csv | cut -d, -f1-4 | sed 's/,/,junk,/'; } >exact.csv
score exact.csv exact_out.csv --id-column id
same exact_out.csv expected_ms.csv "an exact name is preferred to a trimmed one"
printf 'id, a,a ,b,c
r1,1,2,3,4
' >ambiguous.csv
run_abort 2 '^mpiscore: error: ambiguous\.csv: model feature "a" is ambiguous: columns 2 \(" a"\) and 3 \("a "\) both match once blanks are trimmed$' \
    ambiguous.csv

# ---- #23: pandas' default NA spellings read as missing ---------------------
# the logistic model refuses missing values: each spelling is "missing
# value", not "not a number"
for na in 'N/A' 'n/a' '#N/A' '<NA>' '#NA' '-1.#IND' '1.#QNAN' '1.#IND' '-1.#QNAN' '#N/A N/A' 'None' 'NA' 'NULL'; do
    printf 'id,a,b,c\nr1,1,%s,3\n' "$na" >na.csv
    run_abort 2 '^mpiscore: error: na\.csv:2:3: column "b": missing value$' na.csv
done
printf 'id,a,b,c\nr1,1,none,3\n' >na_case.csv
run_abort 2 '^mpiscore: error: na_case\.csv:2:3: column "b": not a number: "none"$' na_case.csv

# ---- #24: UTF-16 is named ---------------------------------------------------
"$MS_PYTHON" -c '
t = open("good.csv").read()
open("u16le.csv", "wb").write(t.encode("utf-16"))        # BOM + little-endian
open("u16be.csv", "wb").write(b"\xfe\xff" + t.encode("utf-16-be"))
'
run_abort 2 '^mpiscore: error: u16le\.csv: file is UTF-16 \(little-endian byte order mark\); convert it to UTF-8$' u16le.csv
run_abort 2 '^mpiscore: error: u16be\.csv: file is UTF-16 \(big-endian byte order mark\); convert it to UTF-8$' u16be.csv

finish
