#!/usr/bin/env bash
# Categorical splits score exactly as their library: XGBoost enable_categorical
# (JSON, UBJSON; --categories for text columns, integer codes without) margins
# bit-identical, HistGradientBoosting categorical_features (bare and after an
# OrdinalEncoder) predict_proba equal, under mpirun -n 2 on every ISA; unseen
# categories, bad --categories files and hostile bitsets refused with one line
# (fidelity_categorical.py).
source "$MS_SRC/tests/lib.sh"
"$MS_PYTHON" "$MS_SRC/tests/fidelity/fidelity_categorical.py" "$T"
