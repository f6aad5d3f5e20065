/*
 * dot64_avx2.h — what the float64 AVX2 kernels (linear64_avx2.c,
 * mlp64_avx2.c) share: the dot products of four rows with one weight row,
 * 4-lane FMA over the features, the tail a masked load of x and w alike (so
 * an Inf/NaN past the row never leaks in as 0 * Inf), the four sums reduced
 * together. Include only from files built with AVX2 + FMA.
 */
#ifndef MPISCORE_DOT64_AVX2_H
#define MPISCORE_DOT64_AVX2_H

#include <immintrin.h>
#include <stddef.h>

#define MS_DOT64_ROWS 4

/* Sums of a, b, c, d, each as (l0+l1)+(l2+l3). */
static inline __m256d ms_reduce4_pd(__m256d a, __m256d b, __m256d c, __m256d d)
{
    __m256d ab = _mm256_hadd_pd(a, b);
    __m256d cd = _mm256_hadd_pd(c, d);
    return _mm256_add_pd(_mm256_permute2f128_pd(ab, cd, 0x20),
                         _mm256_permute2f128_pd(ab, cd, 0x31));
}

/* Dot products of rows[0..3] with w over f values. */
static inline __m256d ms_dot4_pd(const double *const rows[MS_DOT64_ROWS], const double *w, size_t f)
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
    return ms_reduce4_pd(a0, a1, a2, a3);
}

#endif
