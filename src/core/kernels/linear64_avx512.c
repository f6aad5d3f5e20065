/*
 * linear64_avx512.c — float64 linear kernel, AVX-512: linear64_avx2.c's
 * scheme on 8-lane registers, the tail a zero-masked load (x and w alike).
 */
#include <immintrin.h>

#include "mpiscore/kernels.h"

#define ROWS 4

static inline void dot4(const double *const rows[ROWS], const double *w, size_t f, double s[ROWS])
{
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    size_t j = 0;
    for (; j + 8 <= f; j += 8) {
        __m512d wv = _mm512_loadu_pd(w + j);
        a0 = _mm512_fmadd_pd(_mm512_loadu_pd(rows[0] + j), wv, a0);
        a1 = _mm512_fmadd_pd(_mm512_loadu_pd(rows[1] + j), wv, a1);
        a2 = _mm512_fmadd_pd(_mm512_loadu_pd(rows[2] + j), wv, a2);
        a3 = _mm512_fmadd_pd(_mm512_loadu_pd(rows[3] + j), wv, a3);
    }
    if (j < f) {
        __mmask8 m = (__mmask8)((1u << (f - j)) - 1);
        __m512d wv = _mm512_maskz_loadu_pd(m, w + j);
        a0 = _mm512_fmadd_pd(_mm512_maskz_loadu_pd(m, rows[0] + j), wv, a0);
        a1 = _mm512_fmadd_pd(_mm512_maskz_loadu_pd(m, rows[1] + j), wv, a1);
        a2 = _mm512_fmadd_pd(_mm512_maskz_loadu_pd(m, rows[2] + j), wv, a2);
        a3 = _mm512_fmadd_pd(_mm512_maskz_loadu_pd(m, rows[3] + j), wv, a3);
    }
    s[0] = _mm512_reduce_add_pd(a0);
    s[1] = _mm512_reduce_add_pd(a1);
    s[2] = _mm512_reduce_add_pd(a2);
    s[3] = _mm512_reduce_add_pd(a3);
}

static inline void score_block(const ms_model *m, const double *const rows[ROWS],
                               double *const dst[ROWS], size_t n)
{
    size_t f = m->n_features;
    for (size_t k = 0; k < m->n_raw; k++) {
        double s[ROWS];
        dot4(rows, m->linear.coef64 + k * f, f, s);
        for (size_t i = 0; i < n; i++)
            dst[i][k] = s[i] + m->linear.intercept64[k];
    }
}

void ms_linear64_avx512(const ms_model *m, const double *x, size_t n_rows, double *raw)
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
