#!/usr/bin/env bash
# Tree ensembles and MLPs trained with scikit-learn score identically
# (|diff| <= 1e-5, same labels) under mpirun -n 2, for every ISA, CSV and
# HDF5 in and out; missing values are routed (HistGradientBoosting) or make
# bad rows (scikit-learn trees). tests/fidelity/fidelity_trees.py has the cases.
source "$MS_SRC/tests/lib.sh"
"$MS_PYTHON" "$MS_SRC/tests/fidelity/fidelity_trees.py" "$T"
