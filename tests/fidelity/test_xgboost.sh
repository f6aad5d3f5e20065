#!/usr/bin/env bash
# XGBoost models imported with `mpiscore model import xgboost` score like
# XGBoost itself (|diff| <= 1e-5, identity-link scores bit-identical, labels
# equal) under mpirun -n 2, for every ISA, CSV and HDF5 in and out; real
# XGBoost models the importer cannot take are refused (fidelity_xgb.py).
source "$MS_SRC/tests/lib.sh"
"$MS_PYTHON" "$MS_SRC/tests/fidelity/fidelity_xgb.py" "$T"
