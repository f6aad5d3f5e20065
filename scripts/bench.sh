#!/usr/bin/env bash
# Build and run the throughput benchmarks; figures go to docs/benchmarks.md.
#   bash scripts/bench.sh            # linear (scripts/bench.py) and trees (scripts/bench_trees.py)
#   bash scripts/bench.sh --linear [bench.py options, e.g. --rows 200000]
#   bash scripts/bench.sh --trees  [bench_trees.py options, e.g. --trees 100]
#   bash scripts/bench.sh --cores  [bench_cores.py options]: what the second core is worth here
#   bash scripts/bench.sh --serve  [bench_serve.py options, e.g. --seconds 4]: the endpoint server vs FastAPI
#   bash scripts/bench.sh --parquet [bench_parquet.py options, e.g. --rows 200000]: Parquet in and
#                                    out, logistic and 500 trees, vs DuckDB
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/setup.sh"
build=$(bash "$here/scripts/build.sh")
py=$(bash "$here/scripts/find-python.sh")
what=all
case "${1:-}" in
--cores)
    shift
    exec "$py" "$here/scripts/bench_cores.py" --mpiscore "$build/mpiscore" "$@"
    ;;
--parquet)
    shift
    duck=$(bash "$here/tests/parquet/setup_duckdb.sh" "$build")
    exec "$py" "$here/scripts/bench_parquet.py" --mpiscore "$build/mpiscore" --duckdb "$duck" \
        --doc "$here/docs/benchmarks.md" "$@"
    ;;
--linear | --trees | --serve)
    what=${1#--}
    shift
    ;;
esac
common=(--mpiscore "$build/mpiscore" --doc "$here/docs/benchmarks.md")
if [ "$what" = serve ]; then
    exec "$py" "$here/scripts/bench_serve.py" "${common[@]}" "$@"
fi
if [ "$what" != trees ]; then
    duck=$(bash "$here/tests/parquet/setup_duckdb.sh" "$build")
    "$py" "$here/scripts/bench.py" "${common[@]}" --duckdb "$duck" \
        --parse-bench "$build/tests/bench_csv_parse" "$@"
fi
if [ "$what" != linear ]; then
    "$py" "$here/scripts/bench_trees.py" "${common[@]}" "$@"
fi
