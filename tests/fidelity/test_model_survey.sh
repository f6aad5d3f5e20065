#!/usr/bin/env bash
# The survey of ordinary models (scripts/model_survey.py --fast): 56
# scikit-learn / XGBoost models, bare and in Pipelines, exported and run on
# a mixed table; fails if any scores wrong or crashes, or fewer than 80%
# score within tolerance (docs/models.md).
source "$MS_SRC/tests/lib.sh"
"$MS_PYTHON" "$MS_SRC/scripts/model_survey.py" --fast --work "$T" --goal 80
