#!/usr/bin/env bash
# An installed mpiscore works on its own: `cmake --install` into a temporary
# prefix, then, with the source and build folders hidden (a private mount
# namespace lays empty folders over them), a scoring job, a local submit and a
# Slurm submit run from the installed copy alone; its man pages and bash
# completion are there; `cpack -G DEB` gives mpiscore_VERSION_amd64.deb whose
# Depends come from dpkg-shlibdeps, which apt accepts, and whose unpacked
# /usr tree scores too.
source "$MS_SRC/tests/lib.sh"
: "${MS_BUILD:?}"
CLUSTER=$MS_SRC/slurm/local-cluster.sh
export MPISCORE_SLURM_DIR=${MPISCORE_SLURM_DIR:-/tmp/mpiscore-slurm}
export SLURM_CONF=$MPISCORE_SLURM_DIR/slurm.conf
export MPISCORE_HOME=$T/home
unset MPISCORE_SBATCH_TEMPLATE
started=0
cleanup() {
    local f
    for f in "$MPISCORE_HOME"/jobs/*/slurm_id; do
        [ -e "$f" ] && { scancel "$(cat "$f")" >/dev/null 2>&1 || true; }
    done
    [ "$started" = 1 ] && { bash "$CLUSTER" stop >/dev/null 2>&1 || true; }
    rm -rf "$T" "$MS_OMPI_TMP"
}
trap cleanup EXIT
make_fixtures
cp "$MS_SRC/datasets/digits.csv" "$MS_SRC/datasets/digits_logreg.h5" "$T/"
mpis 2 run --model "$T/digits_logreg.h5" --input "$T/digits.csv" --id-column image_id \
    --output "$T/ref.csv"

P=$T/prefix
cmake --install "$MS_BUILD" --prefix "$P" >"$T/install.log"
for f in bin/mpiscore share/mpiscore/mpiscore.sbatch share/mpiscore/export_sklearn.py \
    share/bash-completion/completions/mpiscore share/doc/mpiscore/README.md \
    share/man/man1/mpiscore.1 share/man/man1/mpiscore-run.1 share/man/man1/mpiscore-model.1 \
    share/man/man1/mpiscore-submit.1 share/man/man1/mpiscore-status.1 \
    share/man/man1/mpiscore-cancel.1 share/man/man1/mpiscore-logs.1; do
    [ -s "$P/$f" ] && ok "installed $f" || bad "missing $P/$f"
done
strings "$P/bin/mpiscore" | grep -qF "$MS_SRC/slurm" && bad "the binary names a file of the source folder" ||
    ok "no source path compiled into the binary"
man -l "$P/share/man/man1/mpiscore-run.1" 2>/dev/null | grep -q -- "--mini-batch-rows" &&
    ok "man mpiscore-run lists the run options" || bad "man page mpiscore-run has no options"

# hidden CMD...: CMD with the source and build folders out of view
hidden() {
    unshare --mount --propagation private -- bash -c '
        mount -t tmpfs none "$2" && mount -t tmpfs none "$1" && shift 2 && exec "$@"' \
        _ "$MS_SRC" "$MS_BUILD" "$@"
}
hidden test ! -e "$MS_SRC/CMakeLists.txt" && ok "source folder hidden" || bad "source still visible"

hidden "$P/bin/mpiscore" --version >"$T/version.txt"
grep -Eq '^mpiscore [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9a-f]{7,}(-dirty)?\)$' "$T/version.txt" &&
    ok "--version: $(cat "$T/version.txt")" || bad "--version printed '$(cat "$T/version.txt")'"

hidden "$P/bin/mpiscore" run -n 2 --model "$T/digits_logreg.h5" --input "$T/digits.csv" \
    --id-column image_id --output "$T/installed.csv"
same "$T/ref.csv" "$T/installed.csv" "installed copy, source hidden: run -n 2 = the build's run"

# bash completion: subcommands and the run options from the installed binary
comp() {
    hidden bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mpiscore
        printf "%s\n" "${COMPREPLY[@]}"' _ "$P/share/bash-completion/completions/mpiscore" "$@"
}
[ "$(comp mpiscore su)" = submit ] && ok "completion: su -> submit" || bad "completion of su: $(comp mpiscore su)"
comp "$P/bin/mpiscore" run --mini | grep -qx -- --mini-batch-rows &&
    ok "completion: run --mini -> --mini-batch-rows" || bad "completion of run --mini: $(comp "$P/bin/mpiscore" run --mini)"

# wait_state ID REGEX: poll `status` (bounded; a failed job ends the wait)
wait_state() {
    local line
    for _ in $(seq 1 600); do
        line=$("$P/bin/mpiscore" status "$1")
        grep -Eq "^$1  $2" <<<"$line" && return 0
        grep -q "^$1  failed" <<<"$line" && return 1
        sleep 0.2
    done
    return 1
}

id=$(hidden "$P/bin/mpiscore" submit -n 2 -- --model "$T/digits_logreg.h5" \
    --input "$T/digits.csv" --id-column image_id --output "$T/local_job.csv")
wait_state "$id" done && ok "local submit from the installed copy: done" ||
    bad "local job $id: $("$P/bin/mpiscore" status "$id")"
same "$T/ref.csv" "$T/local_job.csv" "local job output = a direct run"

if ! bash "$CLUSTER" status >/dev/null 2>&1; then
    bash "$CLUSTER" start >"$T/start.log" 2>&1 || { cat "$T/start.log"; bad "cluster start"; finish; }
    started=1
fi
id=$(hidden "$P/bin/mpiscore" submit --backend slurm --nodes 1 --ntasks-per-node 2 \
    --time 00:10:00 -- --model "$T/digits_logreg.h5" --input "$T/digits.csv" \
    --id-column image_id --output "$T/slurm_job.csv")
grep -q "^#SBATCH --ntasks-per-node=2$" "$MPISCORE_HOME/jobs/$id/job.sbatch" &&
    ok "slurm submit rendered the installed template" || bad "no job.sbatch for job $id"
wait_state "$id" done && ok "Slurm submit from the installed copy: done" ||
    bad "Slurm job $id: $("$P/bin/mpiscore" status "$id"); $(cat "$MPISCORE_HOME/jobs/$id/stderr" 2>/dev/null)"
same "$T/ref.csv" "$T/slurm_job.csv" "Slurm job output = a direct run"
mv "$P/share/mpiscore/mpiscore.sbatch" "$T/away.sbatch"
expect_fail 4 "^mpiscore: error: cannot find mpiscore.sbatch in share/mpiscore beside or above $P/bin/mpiscore" \
    hidden "$P/bin/mpiscore" submit --backend slurm -- --model "$T/digits_logreg.h5" \
    --input "$T/digits.csv" --output "$T/never.csv"

# The Debian package
version=$(sed -n 's/^project(mpiscore VERSION \([0-9.]*\).*/\1/p' "$MS_SRC/CMakeLists.txt")
(cd "$T" && cpack -G DEB --config "$MS_BUILD/CPackConfig.cmake" -B "$T/pkg" >"$T/cpack.log" 2>&1) ||
    { cat "$T/cpack.log"; bad "cpack -G DEB"; finish; }
deb=$T/pkg/mpiscore_${version}_amd64.deb
[ -s "$deb" ] && ok "cpack made $(basename "$deb")" || { bad "no $deb: $(ls "$T/pkg")"; finish; }
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libhdf5 libopenmpi libhwloc libcsv libjansson libc6 openmpi-bin; do
    grep -q "$lib" <<<"$depends" && ok "Depends names $lib" || bad "Depends lacks $lib: $depends"
done
dpkg-deb -c "$deb" | awk '{print $6}' >"$T/contents.txt"
for f in ./usr/bin/mpiscore ./usr/share/mpiscore/mpiscore.sbatch ./usr/share/man/man1/mpiscore-run.1 \
    ./usr/share/bash-completion/completions/mpiscore; do
    grep -qx -- "$f" "$T/contents.txt" && ok "package holds $f" || bad "package lacks $f"
done
apt-get install -s "$deb" >"$T/apt.log" 2>&1 && grep -q "^Inst mpiscore" "$T/apt.log" &&
    ok "apt-get accepts the package and its dependencies" || bad "apt-get -s install: $(tail -3 "$T/apt.log")"
dpkg-deb -x "$deb" "$T/root"
hidden "$T/root/usr/bin/mpiscore" run -n 2 --model "$T/digits_logreg.h5" --input "$T/digits.csv" \
    --id-column image_id --output "$T/deb.csv"
same "$T/ref.csv" "$T/deb.csv" "the packaged binary, unpacked: run -n 2 = the build's run"

finish
