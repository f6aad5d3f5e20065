#!/bin/sh
# make-man.sh MPISCORE SUBCOMMAND PAGE VERSION OUT: a man page from
# `mpiscore SUBCOMMAND --help` (help2man), for the build's man target.
set -eu
# a sanitizer build must not leave its leak report in the page
export ASAN_OPTIONS=detect_leaks=0
bin=$1 sub=$2 page=$3 ver=$4 out=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# help2man runs a program: this one is `mpiscore SUBCOMMAND`.
printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$bin" "$sub" >"$tmp/$page"
chmod +x "$tmp/$page"
case $sub in
    "") desc="score large datasets with trained models across MPI ranks" ;;
    run) desc="score inputs into one output file, in input order" ;;
    model) desc="register, list, describe and import models" ;;
    submit) desc="start a run as a detached job (local or Slurm)" ;;
    status) desc="state, progress, rows/s and ETA of jobs" ;;
    cancel) desc="stop a job at a batch boundary (resumable)" ;;
    logs) desc="a job's output" ;;
    endpoint) desc="create endpoints, rotate keys, deploy models and split traffic" ;;
    serve) desc="serve an endpoint over HTTP (Open Inference Protocol v2, /score)" ;;
    *) desc="mpiscore $sub" ;;
esac
help2man --no-info --no-discard-stderr --version-string="$ver" --name="$desc" \
    --section=1 --output="$out" "$tmp/$page"
