#!/usr/bin/env bash
# Linear models trained with scikit-learn score identically (|diff| <= 1e-12)
# under mpirun -n 2, for every ISA, CSV and HDF5 in and out.
source "$MS_SRC/tests/lib.sh"
"$MS_PYTHON" "$MS_SRC/tests/fidelity/fidelity_linear.py" "$T"
