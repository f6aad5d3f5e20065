#!/usr/bin/env bash
# I/O faults: a full filesystem (small tmpfs mounts), the output folder
# removed mid-run, the input truncated while being read, a read-only
# filesystem and permission denied (as an unprivileged user). Each gives one
# clean error line naming the file, a non-zero exit and nothing under the
# final name; a full disk keeps a journal that --resume continues from,
# byte-identical to an uninterrupted run. Needs root (mount, setpriv).
source "$MS_SRC/tests/lib.sh"
[ "$(id -u)" -eq 0 ] || { bad "needs root: it mounts small tmpfs filesystems"; finish; }
mounts=()
cleanup() {
    local m
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done
    rm -rf "$T" "$MS_OMPI_TMP"
}
trap cleanup EXIT
# tmpfs_at DIR SIZE [OPTIONS]: a fresh tmpfs of SIZE at DIR
tmpfs_at() {
    mkdir -p "$1"
    mount -t tmpfs -o "size=$2${3:+,$3}" tmpfs "$1"
    mounts+=("$1")
}
# resize DIR SIZE: grow (or, once emptied, shrink) a tmpfs
resize() { mount -o "remount,size=$2" "$1"; }

make_fixtures
M="$T/model.h5"
# 20k rows (~600 KB of output) for the full disks; 300k rows for the faults
# that hit a running run (batches of 10 rows keep it going for seconds)
gen() {
    LC_ALL=C awk -v n="$1" -v seed="$2" 'BEGIN { srand(seed); print "id,a,b,c"
        for (i = 0; i < n; i++) printf "r%d,%.4f,%.4f,%.4f\n", i, rand() * 4 - 2, rand() * 4 - 2, rand() * 4 - 2 }'
}
gen 20000 1 >"$T/in.csv"
gen 300000 2 >"$T/big.csv"
args=(--model "$M" --input "$T/in.csv" --id-column id --mini-batch-rows 100 --journal-every 0)
mpis 0 run "${args[@]}" --output "$T/ref.csv"

# no_final PATH WHAT: nothing under the final name
no_final() {
    [ ! -e "$1" ] && ok "$2: nothing under the final name" || bad "$2: $1 exists"
}
# resume_same OUT REF WHAT [N]: --resume (N ranks) continues from a commit point
# and gives REF exactly
resume_same() {
    local out=$1 ref=$2 what=$3 n=${4:-0}
    if ! mpis "$n" run "${args[@]}" --output "$out" --resume 2>"$T/resume.err"; then
        bad "$what: resume failed: $(cat "$T/resume.err")"
        return
    fi
    same "$ref" "$out" "$what: resumed output identical to an uninterrupted run"
    [ ! -e "$out.partial" ] && [ ! -e "$out.journal" ] && ok "$what: partial and journal removed" ||
        bad "$what: partial or journal left behind"
}

# --- full filesystem -------------------------------------------------------
# One process: every batch is committed and journaled on its own, so where
# the disk fills is the same every time.
tmpfs_at "$T/full" 64k
expect_fail 4 "^mpiscore: error: $T/full/out\.csv\.partial: No space left on device; partial output kept: continue with --resume once that is fixed$" \
    mpis 0 run "${args[@]}" --output "$T/full/out.csv"
no_final "$T/full/out.csv" "disk full (CSV)"
grep -q '^R ' "$T/full/out.csv.journal" && ok "disk full: the journal has commit points" ||
    bad "disk full: no commit point in the journal"
resize "$T/full" 16m
resume_same "$T/full/out.csv" "$T/ref.csv" "disk full (CSV), space freed"
grep -Eq "^mpiscore: resuming after [1-9][0-9]* rows" "$T/resume.err" &&
    ok "disk full: resumed from a commit point ($(head -n 1 "$T/resume.err"))" ||
    bad "disk full: did not resume from a commit point: $(cat "$T/resume.err")"

# Two ranks: whichever of output or journal hits the wall first is named.
rm -f "$T"/full/*
resize "$T/full" 64k
expect_fail 4 "^mpiscore: error: $T/full/out\.csv\.(partial|journal): No space left on device; partial output kept: continue with --resume once that is fixed$" \
    mpis 2 run "${args[@]}" --output "$T/full/out.csv"
no_final "$T/full/out.csv" "disk full (CSV, -n 2)"
resize "$T/full" 16m
resume_same "$T/full/out.csv" "$T/ref.csv" "disk full (CSV, -n 2), space freed" 2

# HDF5 output cannot resume: the partial goes, and the run exits cleanly
# (HDF5 1.10 used to crash at exit on a file whose close had failed).
rm -f "$T"/full/*
resize "$T/full" 64k
for n in 0 2; do
    expect_fail 4 "^mpiscore: error: $T/full/out\.h5\.partial: No space left on device$" \
        mpis "$n" run "${args[@]}" --output "$T/full/out.h5"
    grep -q "Segmentation fault\|signal" "$T/err.txt" && bad "disk full (HDF5, n=$n): $(cat "$T/err.txt")"
    [ -z "$(ls -A "$T/full")" ] && ok "disk full (HDF5, n=$n): nothing left on the disk" ||
        bad "disk full (HDF5, n=$n): left $(ls -A "$T/full")"
done

# The errors file on a full disk (one 4 KB page: the first buffer of
# records fits, the rest fails when it is flushed before the output is
# renamed): no output and no cut-short errors file under the final names.
awk 'BEGIN { print "id,a,b,c"
    for (i = 0; i < 1000; i++)
        if (i % 25 == 3) printf "r%d,1,2,bad%040d\n", i, i; else printf "r%d,%.3f,%.3f,0.5\n", i, i / 1000, -i / 500 }' \
    >"$T/mixed.csv"
eargs=(--model "$M" --input "$T/mixed.csv" --id-column id --on-error continue)
mpis 0 run "${eargs[@]}" --output "$T/eref.csv" --errors-file "$T/eref.errors.csv" 2>/dev/null
[ "$(wc -c <"$T/eref.errors.csv")" -gt 4096 ] && [ "$(wc -c <"$T/eref.errors.csv")" -lt 8192 ] ||
    bad "errors file fixture: $(wc -c <"$T/eref.errors.csv") bytes, expected 4-8 KB"
tmpfs_at "$T/errs" 4k
expect_fail 4 "^mpiscore: error: $T/errs/e\.csv\.partial: No space left on device; partial output kept: continue with --resume once that is fixed$" \
    mpis 0 run "${eargs[@]}" --output "$T/eo.csv" --errors-file "$T/errs/e.csv"
no_final "$T/eo.csv" "errors file on a full disk: output"
no_final "$T/errs/e.csv" "errors file on a full disk: errors file"
resize "$T/errs" 1m
if mpis 0 run "${eargs[@]}" --output "$T/eo.csv" --errors-file "$T/errs/e.csv" --resume 2>/dev/null; then
    same "$T/eref.csv" "$T/eo.csv" "errors file on a full disk, space freed: output"
    same "$T/eref.errors.csv" "$T/errs/e.csv" "errors file on a full disk, space freed: errors file"
else
    bad "errors file on a full disk: resume failed"
fi

# --- the output folder removed mid-run --------------------------------------
# wait_running STATUS: until the run's --status-file shows rows (bounded: 30 s)
wait_running() {
    local i
    for i in $(seq 1 600); do
        grep -Eq '"rows": [1-9]' "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
bargs=(--model "$M" --input "$T/big.csv" --id-column id --mini-batch-rows 10 --journal-every 0.05)
for ext in csv h5; do
    rm -rf "$T/gone" "$T/st.json"
    mkdir "$T/gone"
    MPISCORE_FAULT=slow-input timeout 120 mpirun -n 2 "$MPISCORE" run "${bargs[@]}" --output "$T/gone/o.$ext" \
        --status-file "$T/st.json" >/dev/null 2>"$T/gone.err" &
    pid=$!
    wait_running "$T/st.json" || bad "folder removed ($ext): the run made no progress"
    rm -rf "$T/gone"
    rc=0
    wait "$pid" || rc=$?
    first=$(head -n 1 "$T/gone.err")
    [ "$rc" = 4 ] && [ "$first" = "mpiscore: error: $T/gone/o.$ext.partial: deleted while being written (was the output folder removed?)" ] &&
        ok "folder removed ($ext): exit 4, $first" || bad "folder removed ($ext): exit $rc, $(cat "$T/gone.err")"
    grep -q '"state": "failed"' "$T/st.json" && ok "folder removed ($ext): status says failed" ||
        bad "folder removed ($ext): status $(cat "$T/st.json")"
done

# --- the input truncated while being read -----------------------------------
# cut N SIZE: score a copy of big.csv with N ranks, cut it to SIZE bytes
# once the run is under way: an error naming the file, never fewer rows
cut_input() {
    local n=$1 size=$2
    cp "$T/big.csv" "$T/cut.csv"
    rm -f "$T/st.json" "$T"/cut_out.csv*
    local cmd=("$MPISCORE" run --model "$M" --input "$T/cut.csv" --id-column id --mini-batch-rows 10
        --journal-every 0.05 --output "$T/cut_out.csv" --status-file "$T/st.json")
    [ "$n" = 0 ] || cmd=(mpirun -n "$n" "${cmd[@]}")
    # slow-input: the coordinator cuts a batch every 2 ms, so the run is
    # still reading when the file is cut, however fast the machine
    MPISCORE_FAULT=slow-input timeout 120 "${cmd[@]}" >/dev/null 2>"$T/cut.err" &
    pid=$!
    wait_running "$T/st.json" || bad "truncated input (n=$n): the run made no progress"
    truncate -s "$size" "$T/cut.csv"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 4 ] && head -n 1 "$T/cut.err" | grep -Eq "^mpiscore: error: $T/cut\.csv: file shrank while being read \(" &&
        ok "truncated input to $size bytes (n=$n): exit 4, $(head -n 1 "$T/cut.err")" ||
        bad "truncated input to $size bytes (n=$n): exit $rc, $(cat "$T/cut.err")"
    no_final "$T/cut_out.csv" "truncated input (n=$n)"
    [ ! -e "$T/cut_out.csv.partial" ] && [ ! -e "$T/cut_out.csv.journal" ] &&
        ok "truncated input (n=$n): no partial or journal left (the input changed: nothing to resume)" ||
        bad "truncated input (n=$n): partial or journal left"
}
size=$(stat -c %s "$T/big.csv")
cut_input 2 $((size / 3))    # behind the scanner: a worker's read comes up short
cut_input 2 $((size - 1000)) # ahead of it, mid-record: the scanner finds the end early
cut_input 0 $((size / 2))

# --- read-only filesystem and permission denied ---------------------------------
tmpfs_at "$T/ro" 64k ro
expect_fail 4 "^mpiscore: error: $T/ro/o\.csv\.partial: Read-only file system$" \
    mpis 2 run "${args[@]}" --output "$T/ro/o.csv"
expect_fail 4 "^mpiscore: error: $T/ro/o\.h5\.partial: cannot create HDF5 file \(Read-only file system\)$" \
    mpis 2 run "${args[@]}" --output "$T/ro/o.h5"
[ -z "$(ls -A "$T/ro")" ] && ok "read-only: nothing written" || bad "read-only: $(ls -A "$T/ro")"

# as nobody, with a copy of the binary that user can reach wherever the build
# tree lives; root-owned folders are not writable for it
chmod 755 "$T"
chmod 644 "$M" "$T/in.csv"
cp "$MPISCORE" "$T/mpiscore-copy"
mkdir -m 755 "$T/rootonly"
mkdir -m 777 "$T/open"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$T/mpiscore-copy" "$@"; }
expect_fail 4 "^mpiscore: error: $T/rootonly/o\.csv\.partial: Permission denied$" \
    as_nobody run "${args[@]}" --output "$T/rootonly/o.csv"
expect_fail 4 "^mpiscore: error: $T/rootonly/o\.h5\.partial: cannot create HDF5 file \(Permission denied\)$" \
    as_nobody run "${args[@]}" --output "$T/rootonly/o.h5"
expect_fail 4 "^mpiscore: error: $T/rootonly/e\.csv\.partial: Permission denied$" \
    as_nobody run "${args[@]}" --output "$T/open/o.csv" --on-error continue --errors-file "$T/rootonly/e.csv"
[ -z "$(ls -A "$T/open")" ] && [ -z "$(ls -A "$T/rootonly")" ] && ok "permission denied: nothing left behind" ||
    bad "permission denied: left $(ls -A "$T/open" "$T/rootonly")"
finish
