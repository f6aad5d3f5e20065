#!/usr/bin/env bash
# scikit-learn Pipelines / ColumnTransformers on a telco-like mixed table:
# the container's preprocessing program (reference evaluator and the C
# program) gives the pipeline's own features; container_ref and
# `mpirun -n 2 mpiscore run` (raw CSV with string columns, HDF5 of numbers,
# every ISA) give its predict_proba (float32 trees: the float32 of it;
# float64 models: 1e-12); unseen categories under handle_unknown='error'
# are row errors with line and column. The raw rows as Parquet (string
# columns, nulls; DuckDB writes them) score byte for byte as the CSV.
source "$MS_SRC/tests/lib.sh"
MS_DUCKDB_ORACLE=$(bash "$MS_SRC/tests/parquet/setup_duckdb.sh" "$MS_BUILD")/duckdb_oracle.mjs
export MS_DUCKDB_ORACLE
"$MS_PYTHON" "$MS_SRC/tests/fidelity/fidelity_pipelines.py" "$T"
