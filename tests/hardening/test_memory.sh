#!/usr/bin/env bash
# Bounded memory: every rank's peak RSS (getrusage, reported as max_rss_kb
# in --metrics) is set by the batch size and the reorder window, not by the
# input: 10M rows take no more than 1M rows, and both stay under a bound
# made of the rank's footprint on a 50-row input plus an allowance per row
# the window can hold. Measured under mpirun -n 2 for both transports
# (descriptors with CSV output, bytes with HDF5 output). The bound is taken
# from runs of the same build, so it holds in the ASan build too.
source "$MS_SRC/tests/lib.sh"
make_fixtures
M="$T/model.h5"

# 1M rows of a,b,c (19.5 MB), then 10M rows as ten copies of its body (195 MB)
LC_ALL=C awk 'BEGIN { srand(3); print "a,b,c"
    for (i = 0; i < 1000000; i++) printf "%.3f,%.3f,%.3f\n", rand() * 4 - 2, rand() * 4 - 2, rand() * 4 - 2 }' \
    >"$T/m1.csv"
{
    head -n 1 "$T/m1.csv"
    for _ in 1 2 3 4 5 6 7 8 9 10; do tail -n +2 "$T/m1.csv"; done
} >"$T/m10.csv"
[ "$(wc -l <"$T/m10.csv")" = 10000001 ] && ok "10M-row input generated" || bad "10M-row input has the wrong size"

# rss_run NAME INPUT ARGS...: run with --metrics (output removed after);
# prints "rows rank0_kb rank1_kb window batch_rows"
rss_run() {
    local name=$1 input=$2
    shift 2
    local out="$T/$name.out"
    case " $* " in *" --format hdf5 "*) out="$T/$name.h5" ;; *) out="$T/$name.csv" ;; esac
    mpis 2 run --model "$M" --input "$input" --output "$out" --metrics "$T/$name.json" "$@" \
        --no-progress >/dev/null 2>"$T/$name.err" || { cat "$T/$name.err" >&2; return 1; }
    rm -f "$out"
    "$MS_PYTHON" - "$T/$name.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
rss = {r["rank"]: r["max_rss_kb"] for r in m["per_rank"]}
assert m["max_rss_kb"] == max(rss.values()) > 0, m
print(m["rows"], rss[0], rss[1], m["window"], m["mini_batch_rows"])
EOF
}

# check MODE ARGS...: tiny, 1M and 10M runs with the same options
check() {
    local mode=$1
    shift
    local tiny r1 r10
    tiny=$(rss_run "$mode-tiny" "$T/good.csv" "$@") || { bad "$mode: 50-row run failed"; return; }
    r1=$(rss_run "$mode-1m" "$T/m1.csv" "$@") || { bad "$mode: 1M-row run failed"; return; }
    r10=$(rss_run "$mode-10m" "$T/m10.csv" "$@") || { bad "$mode: 10M-row run failed"; return; }
    echo "$mode: rows rank0_kb rank1_kb window batch: tiny [$tiny] 1M [$r1] 10M [$r10]"
    read -r _ t0 t1 _ _ <<<"$tiny"
    read -r n1 a0 a1 w b <<<"$r1"
    read -r n10 z0 z1 _ _ <<<"$r10"
    [ "$n1" = 1000000 ] && [ "$n10" = 10000000 ] && ok "$mode: 1M and 10M rows scored" ||
        bad "$mode: scored $n1 and $n10 rows"
    # Allowance over the 50-row footprint: 8 MB (the CSV scanner's 4 MB
    # block, message buffers) plus 100 bytes for every row the window can
    # hold (this input's ~20 B of text, 12 B of floats, ~26 B of output,
    # each in up to two places).
    local allow=$((8192 + w * b * 100 / 1024))
    local r
    for r in 0 1; do
        local base=$((r == 0 ? t0 : t1)) one=$((r == 0 ? a0 : a1)) ten=$((r == 0 ? z0 : z1))
        [ "$one" -le $((base + allow)) ] && [ "$ten" -le $((base + allow)) ] &&
            ok "$mode: rank $r peak RSS ${one} KB (1M), ${ten} KB (10M) <= ${base} + ${allow} KB" ||
            bad "$mode: rank $r peak RSS ${one} KB (1M), ${ten} KB (10M) over ${base} + ${allow} KB"
        # 10x the rows: at most 1.2x the memory plus 8 MB of noise
        [ "$ten" -le $((one * 12 / 10 + 8192)) ] &&
            ok "$mode: rank $r: 10M rows take no more memory than 1M (${ten} vs ${one} KB)" ||
            bad "$mode: rank $r: 10M rows took ${ten} KB, 1M rows ${one} KB"
    done
}

check descriptors-csv
check bytes-hdf5 --transport bytes --format hdf5 --mini-batch-rows 8192
finish
