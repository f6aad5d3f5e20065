/*
 * linear64_avx2.c — float64 linear kernel, AVX2 + FMA: linear_avx2.c's
 * scheme (four rows from the batch's four quarters against one coefficient
 * row, masked tail, the four accumulators reduced together) on doubles.
 * A row's result depends only on that row (dot64_avx2.h has the dot products).
 */
#include "dot64_avx2.h"
#include "mpiscore/kernels.h"

#define ROWS MS_DOT64_ROWS

static inline void score_block(const ms_model *m, const double *const rows[ROWS],
                               double *const dst[ROWS], size_t n)
{
    size_t f = m->n_features;
    for (size_t k = 0; k < m->n_raw; k++) {
        __m256d v = ms_dot4_pd(rows, m->linear.coef64 + k * f, f);
        v = _mm256_add_pd(v, _mm256_set1_pd(m->linear.intercept64[k]));
        double s[ROWS];
        _mm256_storeu_pd(s, v);
        for (size_t i = 0; i < n; i++)
            dst[i][k] = s[i];
    }
}

void ms_linear64_avx2(const ms_model *m, const double *x, size_t n_rows, double *raw)
{
    size_t f = m->n_features, kr = m->n_raw, q = n_rows / ROWS;
    const double *rows[ROWS];
    double *dst[ROWS];
    for (size_t r = 0; r < q; r++) {
        for (size_t i = 0; i < ROWS; i++) {
            rows[i] = x + (i * q + r) * f;
            dst[i] = raw + (i * q + r) * kr;
        }
        score_block(m, rows, dst, ROWS);
    }
    size_t n = n_rows - q * ROWS;
    if (n == 0)
        return;
    for (size_t i = 0; i < ROWS; i++) {
        size_t r = q * ROWS + (i < n ? i : n - 1);
        rows[i] = x + r * f;
        dst[i] = raw + r * kr;
    }
    score_block(m, rows, dst, n);
}
