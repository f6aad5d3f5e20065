#!/usr/bin/env bash
# Ranks on two hosts, simulated on this machine: two network namespaces
# joined by a veth pair, each with its own hostname. mpirun runs on host 1
# with a hostfile naming both hosts' addresses; Open MPI starts host 2's
# daemon through tests/multinode/netns-agent.sh (its rsh agent) and the ranks
# talk TCP over the veth. Checked, against single-host runs of the same data:
# - inputs on a shared folder: descriptors, outputs (CSV, HDF5, errors file)
#   byte-identical; --report-bindings gives each host its own node-local
#   ranks 0 and 1 and the cores a single-host run gives them, also when ranks
#   alternate between hosts (--map-by node);
# - inputs and output folder hidden from host 2 (a tmpfs over them in its
#   mount namespace): detected at start-up, bytes streamed, the output written
#   on host 1, byte-identical; --transport descriptors and HDF5 input refused
#   naming the rank and host; a model missing on host 2 is named likewise;
# - host 2 limited to the scalar kernel (MPISCORE_ISA there): every rank runs
#   scalar, so the output equals a scalar single-host run on data where the
#   kernel variants round differently.
# Needs root (namespaces). Every mpirun is under `timeout`; the namespaces
# and anything left in them are removed on exit.
source "$MS_SRC/tests/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
    bad "must run as root: it creates network namespaces"
    finish
fi

tag=$$
H1=ms-h1-$tag H2=ms-h2-$tag # namespace names, also the hosts' names
A1=10.213.7.1 A2=10.213.7.2 NET=10.213.7.0/24
AGENT=$MS_SRC/tests/multinode/netns-agent.sh

cleanup() {
    local ns pids
    for ns in "$H1" "$H2"; do
        # daemons and ranks this test started there, if a run was cut short
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        if [ -n "$pids" ]; then
            # shellcheck disable=SC2086  # one pid per word
            kill -KILL $pids 2>/dev/null || true
        fi
        ip netns delete "$ns" 2>/dev/null || true
    done
    rm -rf "$T" "$MS_OMPI_TMP"
}
trap cleanup EXIT
# Namespaces left by an earlier run of this test that was killed outright
# (its pid is gone and nothing runs in them).
for ns in $(ip netns list | awk '{print $1}' | grep -E '^ms-h[12]-[0-9]+$' || true); do
    if ! kill -0 "${ns##*-}" 2>/dev/null && [ -z "$(ip netns pids "$ns" 2>/dev/null)" ]; then
        ip netns delete "$ns" 2>/dev/null || true
    fi
done

ip netns add "$H1"
ip netns add "$H2"
ip link add eth1 netns "$H1" type veth peer name eth1 netns "$H2"
ip -n "$H1" addr add "$A1/24" dev eth1
ip -n "$H2" addr add "$A2/24" dev eth1
for ns in "$H1" "$H2"; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth1 up
done
printf '%s slots=2\n%s slots=2\n' "$A1" "$A2" >"$T/hostfile"
export MS_NETNS_HOSTS="$A1=$H1=$H1 $A2=$H2=$H2" MS_NETNS_HIDE='' MS_NETNS_ENV=''

# multi MPIRUN-ARGS...: mpirun on host 1 (its own hostname), ranks placed by
# the hostfile, TCP between hosts over the veth only. --bind-to none leaves
# binding to mpiscore (--bind core), which the test checks.
multi() {
    # shellcheck disable=SC2016  # expanded by the inner shell
    timeout -k 10 120 ip netns exec "$H1" unshare --uts sh -c 'hostname "$1"; shift; exec "$@"' \
        sh "$H1" env OMPI_MCA_plm_rsh_agent="sh $AGENT" OMPI_MCA_btl=self,vader,tcp \
        OMPI_MCA_btl_tcp_if_include="$NET" OMPI_MCA_oob_tcp_if_include="$NET" \
        mpirun --hostfile "$T/hostfile" --bind-to none "$@"
}
# run_ok WHAT CMD...: CMD exits 0 (its stdout and stderr in $T/out.txt, $T/err.txt).
run_ok() {
    local what=$1 rc=0
    shift
    "$@" >"$T/out.txt" 2>"$T/err.txt" || rc=$?
    if [ "$rc" = 0 ]; then ok "$what: exit 0"; else bad "$what: exit $rc: $(cat "$T/err.txt")"; fi
}
# metric FILE EXPR: a value from a --metrics file (m = the JSON object).
metric() {
    "$MS_PYTHON" -c 'import json, sys; m = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$1" "$2"
}
# bindings FILE: the --report-bindings lines of a run's stderr.
bindings() { grep -E '^mpiscore: rank [0-9]+: ' "$1" || true; }

# --- data -------------------------------------------------------------------
# shared/: what every host sees (model). host1/: inputs and outputs, hidden
# from host 2 in the "inputs only on the coordinator's host" runs.
mkdir -p "$T/shared" "$T/host1/in" "$T/host1/h5" "$T/ref"
"$MS_PYTHON" "$MS_SRC/scripts/make_dataset.py" synthetic --rows 6000 --features 8 --classes 3 \
    --out "$T/gen" --format csv --files 3 >/dev/null
mv "$T"/gen/part-*.csv "$T/host1/in/"
mv "$T/gen/model.h5" "$T/shared/model.h5"
# one bad row, so per-row error records cross hosts too
sed -i '10s/^\([^,]*\),[^,]*/\1,abc/' "$T/host1/in/part-001.csv"
# HDF5 input with the model's features; and, for the kernel check below, a
# regression on 100 features with rows whose terms (~1e6) cancel: there the
# kernel variants' different summation orders round differently in float32.
"$MS_PYTHON" - "$T" "$MS_SRC/scripts" <<'EOF'
import sys
import h5py
import numpy as np
from sklearn.linear_model import LinearRegression
sys.path.insert(0, sys.argv[2])
from export_sklearn import export
t = sys.argv[1]
rng = np.random.default_rng(3)
with h5py.File(f"{t}/host1/h5/data.h5", "w") as h:
    h.create_dataset("features", data=rng.normal(size=(300, 8)))
    h["features"].attrs["feature_names"] = [f"f{i}" for i in range(8)]
f = 100
x = rng.normal(size=(500, f))
reg = LinearRegression().fit(x, x @ rng.normal(size=f) + 0.3)
names = [f"x{i}" for i in range(f)]
export(reg, f"{t}/shared/reg.h5", feature_names=names)
w, b = reg.coef_, reg.intercept_
with open(f"{t}/shared/cancel.csv", "w") as out:
    out.write("id," + ",".join(names) + "\n")
    for i in range(3000):
        r = (rng.normal(size=f) * 1e6).astype(np.float32).astype(np.float64)
        r[-1] = np.float32(-(b + w[:-1] @ r[:-1]) / w[-1])
        out.write(f"{i}," + ",".join(repr(float(np.float32(v))) for v in r) + "\n")
EOF
model=$T/shared/model.h5
base=(--model "$model" --input "$T/host1/in" --id-column row_id --mini-batch-rows 97
    --on-error continue)
# runs meant to succeed also report their bindings and transport
args=("${base[@]}" --report-bindings --log-level info)

# Single-host references: two ranks, binding left to mpiscore.
for ext in csv h5; do
    run_ok "single-host reference ($ext)" mpirun -n 2 --bind-to none "$MPISCORE" run "${args[@]}" \
        --output "$T/ref/scores.$ext"
done
grep -q "^$T/host1/in/part-001.csv,10,f0," "$T/ref/scores.csv.errors.csv" &&
    ok "the reference has the bad row in its errors file" ||
    bad "no bad row in $(cat "$T/ref/scores.csv.errors.csv")"
bindings "$T/err.txt" >"$T/ref/bindings.txt"
# what each local rank reports on this machine, host name aside
single0=$(grep '^mpiscore: rank 0: ' "$T/ref/bindings.txt" | sed "s/^mpiscore: rank 0: //")
single1=$(grep '^mpiscore: rank 1: ' "$T/ref/bindings.txt" | sed "s/^mpiscore: rank 1: //")
[[ "$single0" == "local rank 0, host $(hostname) "* && "$single1" == "local rank 1, "* ]] &&
    ok "single-host bindings: $single0 / $single1" || bad "single-host bindings: $(cat "$T/err.txt")"
# expect_bindings FILE HOST_OF_RANK0 ... HOST_OF_RANK3: the report names each
# rank's host and its node-local rank (0, 1 per host in rank order), with the
# core a single-host run gives that local rank.
expect_bindings() {
    local f=$1 r=0 h want seen=" "
    shift
    for h in "$@"; do
        local lr=0
        [[ "$seen" == *" $h "* ]] && lr=1
        seen="$seen$h "
        if [ "$lr" = 0 ]; then want=$single0; else want=$single1; fi
        want="mpiscore: rank $r: ${want/host $(hostname) /host $h }"
        if grep -qxF "$want" "$f"; then
            ok "binding: $want"
        else
            bad "expected '$want' in: $(bindings "$f")"
        fi
        r=$((r + 1))
    done
}

# --- inputs on a shared folder: descriptors ----------------------------------
mkdir "$T/host1/out"
for ext in csv h5; do
    out=$T/host1/out/shared.$ext
    run_ok "2 hosts x 2 ranks, shared inputs ($ext)" multi -n 4 "$MPISCORE" run "${args[@]}" \
        --output "$out" --metrics "$out.json"
    same "$T/ref/scores.$ext" "$out" "2 hosts, shared inputs: $ext output equals the single-host run"
    same "$T/ref/scores.$ext.errors.csv" "$out.errors.csv" \
        "2 hosts, shared inputs: $ext errors file equals the single-host run"
    [ "$(metric "$out.json" 'm["transport"]')" = descriptors ] &&
        ok "shared inputs: transport descriptors" ||
        bad "shared inputs: transport $(metric "$out.json" 'm["transport"]')"
    expect_bindings "$T/err.txt" "$H1" "$H1" "$H2" "$H2"
    # host 2's ranks took part (dynamic scheduling: each asks for work at once)
    rows2=$(metric "$out.json" 'sum(p["rows"] for p in m["per_rank"] if p["rank"] >= 2)')
    [ "$rows2" -gt 0 ] && ok "host 2's ranks scored $rows2 rows" || bad "host 2's ranks scored no rows"
done

# ranks alternating between hosts: node-local ranks do not follow world ranks
out=$T/host1/out/bynode.csv
run_ok "2 hosts, --map-by node, --transport bytes" multi -n 4 --map-by node "$MPISCORE" run \
    "${args[@]}" --output "$out" --metrics "$out.json" --transport bytes
same "$T/ref/scores.csv" "$out" "--map-by node, --transport bytes: output equals the single-host run"
expect_bindings "$T/err.txt" "$H1" "$H2" "$H1" "$H2"
[ "$(metric "$out.json" 'm["transport"]')" = bytes ] && ok "--transport bytes: transport bytes" ||
    bad "--transport bytes: transport $(metric "$out.json" 'm["transport"]')"

# --- inputs (and the output folder) only on the coordinator's host -----------
export MS_NETNS_HIDE="$A2=$T/host1"
for ext in csv h5; do
    out=$T/host1/out/local.$ext
    run_ok "inputs only on host 1 ($ext)" multi -n 4 "$MPISCORE" run "${args[@]}" --output "$out" \
        --metrics "$out.json"
    same "$T/ref/scores.$ext" "$out" "inputs only on host 1: $ext output equals the single-host run"
    same "$T/ref/scores.$ext.errors.csv" "$out.errors.csv" \
        "inputs only on host 1: $ext errors file equals the single-host run"
    [ "$(metric "$out.json" 'm["transport"]')" = bytes ] &&
        ok "inputs only on host 1: detected, transport bytes" ||
        bad "inputs only on host 1: transport $(metric "$out.json" 'm["transport"]')"
    want="mpiscore: inputs are not visible on every rank (rank 2 on $H2 cannot read them all at their planned sizes): sending bytes"
    grep -qxF "$want" "$T/err.txt" && ok "logged: $want" || bad "no '$want' in: $(cat "$T/err.txt")"
    expect_bindings "$T/err.txt" "$H1" "$H1" "$H2" "$H2"
    rows2=$(metric "$out.json" 'sum(p["rows"] for p in m["per_rank"] if p["rank"] >= 2)')
    [ "$rows2" -gt 0 ] && ok "host 2's ranks scored $rows2 rows they cannot see" ||
        bad "host 2's ranks scored no rows"
done
# refused where workers would have to read the files themselves; nothing written
mkdir "$T/host1/fail"
expect_fail 2 "^mpiscore: error: --transport descriptors: rank 2 on $H2 cannot read every input file at its planned size$" \
    multi -n 4 "$MPISCORE" run "${base[@]}" --output "$T/host1/fail/x.csv" --transport descriptors
expect_fail 2 "^mpiscore: error: $T/host1/h5/data.h5: HDF5 input must be readable on every rank \(the bytes transport is for CSV\)$" \
    multi -n 4 "$MPISCORE" run --model "$model" --input "$T/host1/h5/data.h5" \
    --output "$T/host1/fail/x.csv"
left=$(ls -A "$T/host1/fail")
[ -z "$left" ] && ok "refused runs left no file" || bad "refused runs left: $left"
# the model only on the coordinator's host: rank 0 reads and checks it once
# and sends those bytes to every rank (none opens the path itself)
export MS_NETNS_HIDE="$A2=$T/shared"
out=$T/host1/out/model_on_host1.csv
run_ok "model only on host 1" multi -n 4 "$MPISCORE" run "${args[@]}" --output "$out"
same "$T/ref/scores.csv" "$out" "model only on host 1: output equals the single-host run"
export MS_NETNS_HIDE=''

# --- one kernel variant for every rank ---------------------------------------
# (cancel.csv: the variants round differently on it, see the data section)
iargs=(--model "$T/shared/reg.h5" --input "$T/shared/cancel.csv" --id-column id --mini-batch-rows 97)
MPISCORE_ISA=scalar "$MPISCORE" run "${iargs[@]}" --output "$T/ref/scalar.csv"
"$MPISCORE" run "${iargs[@]}" --output "$T/ref/best.csv" --metrics "$T/ref/best.json"
best=$(metric "$T/ref/best.json" 'm["isa"]')
if [ "$best" != scalar ]; then
    cmp -s "$T/ref/scalar.csv" "$T/ref/best.csv" &&
        bad "scalar and $best agree bit for bit on the cancellation data: it tests nothing" ||
        ok "scalar and $best round differently on the cancellation data"
fi
export MS_NETNS_ENV="$A2=MPISCORE_ISA=scalar"
out=$T/host1/out/isa.csv
run_ok "host 2 limited to scalar" multi -n 4 "$MPISCORE" run "${iargs[@]}" --output "$out" \
    --metrics "$out.json"
same "$T/ref/scalar.csv" "$out" "host 2 limited to scalar: every rank ran scalar, output equals it"
[ "$(metric "$out.json" 'm["isa"]')" = scalar ] && ok "metrics: isa scalar" ||
    bad "metrics: isa $(metric "$out.json" 'm["isa"]')"
if [ "$best" != scalar ]; then
    # a variant forced on host 1 that host 2 does not run is refused, not mixed
    export MPISCORE_ISA=$best # host 1's ranks; host 2's agent sets scalar
    expect_fail 1 "^mpiscore: error: MPISCORE_ISA=$best, but rank 2 runs scalar: every rank must run the same kernel variant$" \
        multi -n 4 "$MPISCORE" run "${iargs[@]}" --output "$T/host1/fail/isa.csv"
    unset MPISCORE_ISA
fi
export MS_NETNS_ENV=''

for ns in "$H1" "$H2"; do
    pids=$(ip netns pids "$ns")
    [ -z "$pids" ] && ok "nothing left running in $ns" || bad "left running in $ns: $pids"
done
finish
