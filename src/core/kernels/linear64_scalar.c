/*
 * linear64_scalar.c — the float64 reference linear kernel: raw = intercept
 * + coef . x in double, feature order, nothing rounded to float (the
 * float64 models of kernels.h). The SIMD variants are tested against it.
 */
#include "mpiscore/kernels.h"

void ms_linear64_scalar(const ms_model *m, const double *x, size_t n_rows, double *raw)
{
    size_t f = m->n_features, kr = m->n_raw;
    for (size_t r = 0; r < n_rows; r++) {
        const double *row = x + r * f;
        for (size_t k = 0; k < kr; k++) {
            const double *w = m->linear.coef64 + k * f;
            double acc = 0;
            for (size_t j = 0; j < f; j++)
                acc += w[j] * row[j];
            /* numpy: X @ coef.T + intercept, the intercept added last */
            raw[r * kr + k] = acc + m->linear.intercept64[k];
        }
    }
}
