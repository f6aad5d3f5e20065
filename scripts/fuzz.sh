#!/usr/bin/env bash
# Build the fuzz harnesses (tests/fuzz/fuzz_*.c) with clang's libFuzzer,
# AddressSanitizer and UBSan into build-fuzz/, replay every stored input
# once, then fuzz each harness for a bounded time.
#   bash scripts/fuzz.sh                    # all harnesses, ~3 minutes in total
#   bash scripts/fuzz.sh --seconds 600 csv  # one harness, 10 minutes
#   bash scripts/fuzz.sh --regress          # only replay corpus + regressions
# Fails on any crash, failed property, leak, sanitizer report, timeout (an
# input over 25 s) or out-of-memory (an allocation over 512 MiB, or 2 GiB
# resident). Prints executions per second and total executions per harness.
# Each harness starts from a copy of its seed corpus (tests/fuzz/corpus/NAME,
# with tests/fuzz/NAME.dict when there is one), so fuzzing never modifies
# the repository; a failing input is kept in build-fuzz/artifacts/NAME/:
# once fixed, add it to tests/fuzz/regressions/NAME/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${MPISCORE_FUZZ_BUILD:-$here/build-fuzz}
total=${MPISCORE_FUZZ_TOTAL_SECONDS:-180}
seconds=""
regress_only=0
names=()
while [ $# -gt 0 ]; do
    case "$1" in
    --regress) regress_only=1 ;;
    --seconds)
        seconds=${2:?--seconds needs a number}
        shift
        ;;
    -h | --help)
        sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "fuzz.sh: unknown option $1" >&2
        exit 1
        ;;
    *) names+=("$1") ;;
    esac
    shift
done

bash "$here/scripts/setup.sh"
if [ ${#names[@]} -eq 0 ]; then
    for src in "$here"/tests/fuzz/fuzz_*.c; do
        n=$(basename "$src" .c)
        names+=("${n#fuzz_}")
    done
fi
for n in "${names[@]}"; do
    [ -f "$here/tests/fuzz/fuzz_$n.c" ] || { echo "fuzz.sh: no harness tests/fuzz/fuzz_$n.c" >&2; exit 1; }
done
# the default splits the total budget, so adding a harness keeps CI's time
if [ -z "$seconds" ]; then
    seconds=$((total / ${#names[@]}))
    [ "$seconds" -ge 10 ] || seconds=10
fi

CC=clang cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPISCORE_FUZZ=ON -DMPISCORE_WERROR=ON \
    -DMPISCORE_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${names[@]/#/fuzz_}" >/dev/null

scratch=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/mpiscore-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/files"
export MPISCORE_FUZZ_TMPDIR=$scratch/files
# A small quarantine: freed blocks are reused sooner, which keeps the HDF5
# harness several times faster; use-after-free is still caught within 16 MiB.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
limits=(-rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=25)

fails=0
report() { # NAME LOG WHAT: the failure's first lines
    echo "FAIL: $1: $3" >&2
    grep -E "ERROR|fuzz property|runtime error|SUMMARY|Test unit written|^replay " "$2" | tail -n 12 >&2 || true
    fails=$((fails + 1))
}

# 1. every stored input once
for n in "${names[@]}"; do
    files=()
    for d in "$here/tests/fuzz/corpus/$n" "$here/tests/fuzz/regressions/$n"; do
        [ -d "$d" ] && while IFS= read -r -d '' f; do files+=("$f"); done \
            < <(find "$d" -type f ! -name '.*' -print0 | sort -z)
    done
    if [ ${#files[@]} -eq 0 ]; then
        report "$n" /dev/null "no corpus in tests/fuzz/corpus/$n"
        continue
    fi
    log=$scratch/$n.replay.log
    if "$build/tests/fuzz/fuzz_$n" "${limits[@]}" "${files[@]}" >"$log" 2>&1; then
        echo "replay $n: ${#files[@]} stored inputs, no failure"
    else
        report "$n" "$log" "a stored input fails (corpus or regressions)"
    fi
done
if [ "$regress_only" = 1 ]; then
    [ "$fails" -eq 0 ] || exit 1
    exit 0
fi

# 2. fuzz each harness for $seconds from a copy of its seed corpus
printf '%-10s %8s %12s %8s  %s\n' harness seconds executions exec/s result
for n in "${names[@]}"; do
    mkdir -p "$scratch/corpus/$n" "$build/artifacts/$n"
    cp -r "$here/tests/fuzz/corpus/$n/." "$scratch/corpus/$n/" 2>/dev/null || true
    log=$scratch/$n.log
    dict=()
    [ -f "$here/tests/fuzz/$n.dict" ] && dict=(-dict="$here/tests/fuzz/$n.dict")
    rc=0
    "$build/tests/fuzz/fuzz_$n" "${limits[@]}" "${dict[@]}" -max_total_time="$seconds" \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$n/" "$scratch/corpus/$n" \
        >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    result=ok
    [ "$rc" -eq 0 ] || result="FAILED (exit $rc)"
    printf '%-10s %8s %12s %8s  %s\n' "$n" "$seconds" "${runs:-?}" "${rate:-?}" "$result"
    [ "$rc" -eq 0 ] || report "$n" "$log" "see $build/artifacts/$n/"
done
[ "$fails" -eq 0 ] || { echo "fuzz.sh: $fails failure(s)" >&2; exit 1; }
echo "fuzz.sh: no failure"
