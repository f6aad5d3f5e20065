#!/usr/bin/env bash
# Folder inputs as data tools leave them: Spark/Hadoop markers (_SUCCESS,
# _committed_*, .crc), a README or schema beside the data, and extensionless
# part files. Markers and other formats are left out (said at --log-level
# info) and the scores equal those of the same rows in one file, under
# mpirun -n 2; compressed files, in a folder or named, are refused by name
# with exit 2 and no output, never read as CSV; a file starting with PAR1 is
# read as Parquet whatever its name (tests/parquet/test_parquet_input.sh).
source "$MS_SRC/tests/lib.sh"
make_fixtures
cd "$T"
M="$T/model.h5"
abc_csv all.csv 3000 5
mkdir lake
head -n 1501 all.csv >lake/part-00000-c000.csv
{ head -n 1 all.csv; tail -n +1502 all.csv; } >lake/part-r-00001
touch lake/_SUCCESS lake/_committed_4412 lake/.part-00000-c000.csv.crc
echo '{"fields": []}' >lake/schema.json
echo "scores" >lake/README.md

mpis 2 run --model "$M" --input all.csv --output one.csv --id-column id
mpis 2 run --model "$M" --input lake --output lake.csv --id-column id --log-level info 2>log.txt
same one.csv lake.csv "a Spark/Hadoop folder scores like the single file"
for f in _SUCCESS _committed_4412 .part-00000-c000.csv.crc schema.json README.md; do
    if grep -q "left out lake/$f: " log.txt; then ok "info log says $f was left out"; else
        bad "no 'left out lake/$f' in: $(cat log.txt)"
    fi
done
grep -q "2 file(s)" log.txt && ok "two data files planned" || bad "files planned: $(cat log.txt)"

refused() { # PATTERN INPUT: exit 2 with PATTERN, no output left
    rm -f out.csv out.csv.partial
    expect_fail 2 "$1" mpis 2 run --model "$M" --input "$2" --output out.csv
    [ ! -e out.csv ] && [ ! -e out.csv.partial ] || bad "output left after refusing $2"
}
gzip -k lake/part-r-00001
refused "^mpiscore: error: lake/part-r-00001\.gz: the file is gzip-compressed; decompress it first \(gzip -dk FILE\)$" lake
refused "^mpiscore: error: lake/part-r-00001\.gz: the file is gzip-compressed" lake/part-r-00001.gz
rm lake/part-r-00001.gz
# named .csv but compressed: known by its bytes, not its name
printf '\x28\xb5\x2f\xfd\x00\x00' >zst.csv
refused "^mpiscore: error: zst\.csv: the file is zstd-compressed; decompress it first \(zstd -d FILE\)$" zst.csv
printf 'BZh91AY' >b.csv
refused "^mpiscore: error: b\.csv: the file is bzip2-compressed" b.csv
printf 'PAR1\x15\x04' >t.parquet
refused "^mpiscore: error: t\.parquet: not a Parquet file \(6 bytes, too short\)$" t.parquet
printf 'PAR1\x15\x04' >p.csv
refused "^mpiscore: error: p\.csv: not a Parquet file \(6 bytes, too short\)$" p.csv
mkdir empty
touch empty/_SUCCESS
refused "^mpiscore: error: empty: folder has no input files \(left out empty/_SUCCESS: a marker of the tool that wrote the folder\)$" empty
finish
