/*
 * prep.h — the preprocessing program of a container (docs/formats.md,
 * "Preprocessing"): ordered column operations exported from a scikit-learn
 * Pipeline / ColumnTransformer (scalers, imputers, encoders, bins,
 * polynomial features, named ufuncs), run per batch before the estimator.
 *
 * The program reads the model's input columns (model.h: m->inputs, typed
 * per columns.h) and writes the estimator's dense feature matrix; the
 * kernels then run as without a program.
 */
#ifndef MPISCORE_PREP_H
#define MPISCORE_PREP_H

#include <stddef.h>

#include "mpiscore/model.h"
#include "mpiscore/status.h"

typedef struct ms_prep ms_prep;

/* Rows [r0, r0 + n) of the input columns into x: n rows x m->n_features,
 * row-major, float or double per m->precision. col[k] is input k's array as
 * m->inputs[k] says (float or double numbers with NaN = missing, or int32
 * category codes). A value a step cannot compute is NaN in x (the scorer
 * refuses such a row when the estimator takes no missing values). Never
 * allocates: one row tile of every slot lives on the stack (256 KiB; a
 * thread that calls it needs that much). Requires m->prep != NULL. */
void ms_prep_apply(const ms_model *m, const void *const *col, size_t r0, size_t n, void *x);

void ms_prep_free(ms_prep *p);

/* Give m a program of no steps whose features are its inputs in order, so
 * the readers produce m->inputs (set by the caller: m->n_features specs,
 * numbers in float64 or category codes) and feature k is input k: what an
 * importer needs to read text categories as their codes (`model import
 * xgboost --categories`). */
ms_status ms_prep_create_passthrough(ms_model *m, ms_error *err);

/* 1 if no feature the program writes can be NaN, whatever its inputs hold
 * (every missing value is imputed on its way, no step can make a NaN):
 * then a row with missing cells is scorable by any estimator. */
int ms_prep_nan_free(const ms_prep *p);

#endif
