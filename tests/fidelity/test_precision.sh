#!/usr/bin/env bash
# Models score at their library's precision (issue 11): HistGradientBoosting
# exact on decimal data, linear / logistic / MLP within 1e-12, RandomForest
# exact at float32, --precision float32 honoured; every ISA, mpirun -n 2,
# CSV and HDF5 in.
source "$MS_SRC/tests/lib.sh"
"$MS_PYTHON" "$MS_SRC/tests/fidelity/fidelity_precision.py" "$T"
