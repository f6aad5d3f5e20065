#!/usr/bin/env bash
# scikit-learn Pipelines / ColumnTransformers on a telco-like mixed table:
# the container's preprocessing program (reference evaluator and the C
# program) gives the pipeline's own features, and container_ref gives its
# predict_proba (exact for float32 trees, 1e-12 for float64 models).
source "$MS_SRC/tests/lib.sh"
"$MS_PYTHON" "$MS_SRC/tests/fidelity/fidelity_pipelines.py" "$T"
