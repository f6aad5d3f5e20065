/*
 * linear64_avx2.c — float64 linear kernel, AVX2 + FMA: linear_avx2.c's
 * scheme (four rows from the batch's four quarters against one coefficient
 * row, masked tail, the four accumulators reduced together) on doubles.
 * A row's result depends only on that row; the tail mask covers x too, so
 * an Inf/NaN past the row never leaks in.
 */
#include <immintrin.h>

#include "mpiscore/kernels.h"

#define ROWS 4

static inline __m256d reduce4(__m256d a, __m256d b, __m256d c, __m256d d)
{
    __m256d ab = _mm256_hadd_pd(a, b);
    __m256d cd = _mm256_hadd_pd(c, d);
    return _mm256_add_pd(_mm256_permute2f128_pd(ab, cd, 0x20),
                         _mm256_permute2f128_pd(ab, cd, 0x31));
}

static inline __m256d dot4(const double *const rows[ROWS], const double *w, size_t f)
{
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    size_t j = 0;
    for (; j + 4 <= f; j += 4) {
        __m256d wv = _mm256_loadu_pd(w + j);
        a0 = _mm256_fmadd_pd(_mm256_loadu_pd(rows[0] + j), wv, a0);
        a1 = _mm256_fmadd_pd(_mm256_loadu_pd(rows[1] + j), wv, a1);
        a2 = _mm256_fmadd_pd(_mm256_loadu_pd(rows[2] + j), wv, a2);
        a3 = _mm256_fmadd_pd(_mm256_loadu_pd(rows[3] + j), wv, a3);
    }
    if (j < f) {
        long long left = (long long)(f - j);
        __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(left), _mm256_setr_epi64x(0, 1, 2, 3));
        __m256d wv = _mm256_maskload_pd(w + j, m);
        a0 = _mm256_fmadd_pd(_mm256_maskload_pd(rows[0] + j, m), wv, a0);
        a1 = _mm256_fmadd_pd(_mm256_maskload_pd(rows[1] + j, m), wv, a1);
        a2 = _mm256_fmadd_pd(_mm256_maskload_pd(rows[2] + j, m), wv, a2);
        a3 = _mm256_fmadd_pd(_mm256_maskload_pd(rows[3] + j, m), wv, a3);
    }
    return reduce4(a0, a1, a2, a3);
}

static inline void score_block(const ms_model *m, const double *const rows[ROWS],
                               double *const dst[ROWS], size_t n)
{
    size_t f = m->n_features;
    for (size_t k = 0; k < m->n_raw; k++) {
        __m256d v = dot4(rows, m->linear.coef64 + k * f, f);
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
