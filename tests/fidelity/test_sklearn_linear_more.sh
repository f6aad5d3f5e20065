#!/usr/bin/env bash
# The other scikit-learn linear models (SVMs, ridge classifiers, lasso /
# elastic net and CV forms, Huber, GLMs with their links, searches),
# LinearDiscriminantAnalysis, PCA and TransformedTargetRegressor score as
# the library predicts (1e-12) under mpirun -n 2, every ISA; unsupported
# target transforms are refused by name.
source "$MS_SRC/tests/lib.sh"
"$MS_PYTHON" "$MS_SRC/tests/fidelity/fidelity_linear_more.py" "$T"
