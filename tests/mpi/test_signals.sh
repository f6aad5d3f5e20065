#!/usr/bin/env bash
# Signals: a stopped run exits 6 (interrupted) and `--resume` then gives an
# output byte-identical to an uninterrupted run. One process: TERM and INT at
# start-up and mid-run. Under mpirun (Open MPI 4.1): USR2 to mpirun (which
# forwards it and passes the ranks' 6 through) and TERM/INT to the ranks (as
# a process-group kill or Slurm does) exit 6; TERM to mpirun itself makes
# mpirun end the job and exit 1 on its own: the ranks still stop at a batch
# boundary and the run resumes exactly. A completed run's --resume says the
# output is complete.
source "$MS_SRC/tests/lib.sh"
make_synthetic 50000
args=("${run_args[@]}")
"$MPISCORE" run "${args[@]}" --output "$T/ref.csv"

wait_running() {
    for _ in $(seq 1 600); do
        grep -Eq '"rows": [1-9]' "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# catches PID SIG: PID has a handler for SIG (bit SIG-1 of SigCgt)
catches() {
    local num mask
    num=$(kill -l "$2")
    mask=$(awk '/^SigCgt:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
    [ -n "$mask" ] && (((0x$mask >> (num - 1)) & 1))
}

# stop N WHEN SIG TARGET WANT_RC: run with N ranks (0: no mpirun), send SIG
# at start-up or mid-run to the run (TARGET=run: the process or mpirun;
# ranks: mpirun's children), expect WANT_RC, then resume to the reference.
stop() {
    local n=$1 when=$2 sig=$3 target=$4 want=$5 what="$1 rank(s), $3 to $4 $2"
    local out="$T/o_${n}_${when}_${sig}_${target}.csv"
    local cmd=("$MPISCORE" run "${args[@]}" --output "$out" --status-file "$T/st.json")
    [ "$n" = 0 ] && what="one process, $sig $when" || cmd=(mpirun -n "$n" "${cmd[@]}")
    rm -f "$T/st.json"
    MPISCORE_FAULT=slow-input timeout 120 "${cmd[@]}" >/dev/null 2>"$T/sig.err" &
    # $! is timeout's; the run (the process, or mpirun) is its child
    local pid=$! run="" ranks=""
    for _ in $(seq 1 200); do
        run=$(pgrep -P "$pid" || true)
        [ -n "$run" ] && { [ "$n" = 0 ] || [ "$(pgrep -P "$run" | wc -l)" = "$n" ]; } && break
        sleep 0.01
    done
    if [ "$when" = mid-run ]; then
        wait_running "$T/st.json" || bad "$what: the run made no progress"
    else
        # start-up: as soon as the process catches the signal (SigCgt), i.e.
        # during MPI_Init and set-up; before that the kernel's default action
        # applies to any program, and a slow (sanitizer) build is still there
        local p
        p=$([ "$target" = ranks ] && pgrep -P "$run" | head -n 1 || echo "$run")
        [ "$n" != 0 ] && [ "$target" = run ] && p=""
        for _ in $(seq 1 500); do
            [ -z "$p" ] && break
            catches "$p" "$sig" && break
            sleep 0.01
        done
    fi
    if [ "$target" = ranks ]; then
        ranks=$(pgrep -P "$run")
        # shellcheck disable=SC2086
        kill -"$sig" $ranks
    else
        kill -"$sig" "$run"
    fi
    local rc=0
    wait "$pid" || rc=$?
    [ "$rc" = "$want" ] && ok "$what: exit $rc" || bad "$what: exit $rc, $(cat "$T/sig.err")"
    grep -Eq "^mpiscore: error: interrupted by signal [0-9]+ after [0-9]+ rows; continue with --resume\$" \
        "$T/sig.err" && ok "$what: $(grep interrupted "$T/sig.err")" ||
        bad "$what: no interruption message: $(cat "$T/sig.err")"
    [ ! -e "$out" ] && ok "$what: nothing under the final name" || bad "$what: $out exists"
    rc=0
    mpis 2 run "${args[@]}" --output "$out" --resume 2>"$T/res.err" || rc=$?
    [ "$rc" = 0 ] || bad "$what: resume exit $rc, $(cat "$T/res.err")"
    same "$T/ref.csv" "$out" "$what: resumed output identical to an uninterrupted run"
}

stop 0 start-up TERM run 6
stop 0 mid-run TERM run 6
stop 0 start-up INT run 6
stop 0 mid-run INT run 6
stop 2 mid-run USR2 run 6
stop 2 start-up TERM ranks 6
stop 2 mid-run TERM ranks 6
stop 2 mid-run INT ranks 6
stop 3 mid-run USR2 run 6
# Open MPI 4.1's mpirun ends the job itself on TERM/INT and exits 1 whatever
# the ranks return (docs/reliability.md says so: this checks it)
stop 2 mid-run TERM run 1
stop 2 mid-run INT run 1

# a completed run (a signal that came too late, say): resume says so
mpis 2 run "${args[@]}" --output "$T/done.csv"
expect_fail 2 "^mpiscore: error: $T/done.csv: the run that wrote it completed: the output is complete" \
    mpis 2 run "${args[@]}" --output "$T/done.csv" --resume
same "$T/ref.csv" "$T/done.csv" "completed output untouched by the refused resume"
finish
