#!/usr/bin/env bash
# Fatal signals (issue 12 item 2): a rank that dies of SIGSEGV, SIGBUS,
# SIGFPE, SIGILL or SIGABRT mid-run ends the whole job within seconds, never
# a hang in a crash handler (Open MPI's prints a backtrace with malloc and
# can deadlock after heap corruption; ours writes one preformatted line and
# dies by the signal). MPISCORE_FAULT=crash-worker[:SIG] makes the last rank
# crash after 20 batches (segv: a real invalid write). Checked under
# `mpirun -n 3` and `mpiscore run -n 3`: a non-zero exit within 20 s, exactly
# one line naming the rank and the signal, Open MPI's handler silent, nothing
# under the final name, and `--resume` then byte-identical to a clean run.
source "$MS_SRC/tests/lib.sh"
make_synthetic 50000
args=("${run_args[@]}")
"$MPISCORE" run "${args[@]}" --output "$T/ref.csv"
BOUND=20

# crash HOW N SIG NUM: run with N ranks (HOW = mpirun or launcher, i.e.
# `mpiscore run -n N`), the last rank dying of SIG (signal number NUM)
crash() {
    local how=$1 n=$2 sig=$3 num=$4 what="$1 -n $2, rank $(($2 - 1)) $3"
    local out="$T/o_${how}_${n}_${sig}.csv" cmd rc=0
    if [ "$how" = mpirun ]; then
        cmd=(mpirun -n "$n" "$MPISCORE" run)
    else
        cmd=("$MPISCORE" run -n "$n")
    fi
    local t0 t1
    t0=$(date +%s.%N)
    MPISCORE_FAULT=crash-worker:$sig timeout -k 5 $((BOUND * 3)) "${cmd[@]}" "${args[@]}" \
        --output "$out" >/dev/null 2>"$T/crash.err" || rc=$?
    t1=$(date +%s.%N)
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    if [ "$rc" = 0 ] || [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        bad "$what: exit $rc after $secs s (0: the fault did not fire; 124/137: hung)"
    elif awk -v s="$secs" -v b="$BOUND" 'BEGIN { exit !(s > b) }'; then
        bad "$what: the job took $secs s to end (bound $BOUND s)"
    else
        ok "$what: exit $rc after $secs s"
    fi
    local pat="^mpiscore: error: rank $((n - 1)) \\(pid [0-9]+ on [^)]+\\): fatal signal $num \\(SIG${sig^^}\\); aborting the job\$"
    local lines
    lines=$(grep -Ec "$pat" "$T/crash.err" || true)
    [ "$lines" = 1 ] && ok "$what: $(grep -E "$pat" "$T/crash.err")" ||
        bad "$what: $lines lines naming the rank and signal: $(cat "$T/crash.err")"
    ! grep -q "Process received signal" "$T/crash.err" &&
        ok "$what: Open MPI's crash handler did not run" ||
        bad "$what: Open MPI's crash handler ran: $(cat "$T/crash.err")"
    [ ! -e "$out" ] && ok "$what: nothing under the final name" || bad "$what: $out exists"
    [ -e "$out.journal" ] && ok "$what: journal kept" || bad "$what: no journal left to resume"
    rc=0
    mpis "$n" run "${args[@]}" --output "$out" --resume 2>"$T/res.err" || rc=$?
    [ "$rc" = 0 ] || bad "$what: resume exit $rc, $(cat "$T/res.err")"
    grep -Eq "resuming after [1-9][0-9]* rows" "$T/res.err" &&
        ok "$what: resumed mid-run ($(grep -o 'after [0-9]* rows' "$T/res.err"))" ||
        bad "$what: the resume did not continue a partial run: $(cat "$T/res.err")"
    same "$T/ref.csv" "$out" "$what: resumed output identical to a clean run"
}

crash mpirun 3 segv 11
crash launcher 3 segv 11
crash mpirun 2 bus 7
crash mpirun 2 fpe 8
crash mpirun 2 ill 4
crash mpirun 2 abrt 6
finish
