/*
 * mlp64_avx2.c — float64 MLP kernel, AVX2 + FMA (also what AVX-512 runs).
 *
 * Four rows at a time through every layer: each neuron's weight row is
 * loaded once for the four rows (4-lane FMA over the inputs, masked tail),
 * the four sums reduced together, the bias added after the dot product as
 * numpy does, the activation in scalar double (libm tanh / exp, so the
 * values are numpy's to an ulp). A block's activations (4 x widest layer,
 * twice) stay in L1. A short last block repeats a real row, so a row's
 * result never depends on its neighbours.
 */
#include <immintrin.h>
#include <math.h>

#include "mpiscore/kernels.h"

#define ROWS 4

static inline __m256d reduce4(__m256d a, __m256d b, __m256d c, __m256d d)
{
    __m256d ab = _mm256_hadd_pd(a, b);
    __m256d cd = _mm256_hadd_pd(c, d);
    return _mm256_add_pd(_mm256_permute2f128_pd(ab, cd, 0x20),
                         _mm256_permute2f128_pd(ab, cd, 0x31));
}

static inline __m256d dot4(const double *const in[ROWS], const double *w, size_t f)
{
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    size_t j = 0;
    for (; j + 4 <= f; j += 4) {
        __m256d wv = _mm256_loadu_pd(w + j);
        a0 = _mm256_fmadd_pd(_mm256_loadu_pd(in[0] + j), wv, a0);
        a1 = _mm256_fmadd_pd(_mm256_loadu_pd(in[1] + j), wv, a1);
        a2 = _mm256_fmadd_pd(_mm256_loadu_pd(in[2] + j), wv, a2);
        a3 = _mm256_fmadd_pd(_mm256_loadu_pd(in[3] + j), wv, a3);
    }
    if (j < f) {
        long long left = (long long)(f - j);
        __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(left), _mm256_setr_epi64x(0, 1, 2, 3));
        __m256d wv = _mm256_maskload_pd(w + j, m);
        a0 = _mm256_fmadd_pd(_mm256_maskload_pd(in[0] + j, m), wv, a0);
        a1 = _mm256_fmadd_pd(_mm256_maskload_pd(in[1] + j, m), wv, a1);
        a2 = _mm256_fmadd_pd(_mm256_maskload_pd(in[2] + j, m), wv, a2);
        a3 = _mm256_fmadd_pd(_mm256_maskload_pd(in[3] + j, m), wv, a3);
    }
    return reduce4(a0, a1, a2, a3);
}

static inline double activate64(ms_activation a, double z)
{
    switch (a) {
    case MS_ACT_RELU:
        return z < 0 ? 0 : z;
    case MS_ACT_TANH:
        return tanh(z);
    case MS_ACT_LOGISTIC:
        return 1.0 / (1.0 + exp(-z));
    case MS_ACT_IDENTITY:
    default:
        return z;
    }
}

void ms_mlp64_avx2(const ms_model *m, const double *x, size_t n_rows, double *raw, double *work)
{
    const ms_mlp *p = &m->mlp;
    size_t nl = p->n_layers, kr = m->n_raw, f = m->n_features, maxw = 0;
    for (size_t l = 0; l <= nl; l++)
        maxw = p->width[l] > maxw ? p->width[l] : maxw;
    double *buf[2] = {work, work + ROWS * maxw};
    for (size_t r0 = 0; r0 < n_rows; r0 += ROWS) {
        size_t n = n_rows - r0 < ROWS ? n_rows - r0 : ROWS;
        const double *in[ROWS];
        for (size_t i = 0; i < ROWS; i++)
            in[i] = x + (r0 + (i < n ? i : n - 1)) * f;
        int cur = 0;
        for (size_t l = 0; l < nl; l++) {
            size_t ni = p->width[l], no = p->width[l + 1];
            int last = l + 1 == nl;
            double *out[ROWS];
            for (size_t i = 0; i < ROWS; i++)
                out[i] = last ? (i < n ? raw + (r0 + i) * kr : buf[cur] + i * maxw)
                              : buf[cur] + i * maxw;
            for (size_t o = 0; o < no; o++) {
                double s[ROWS];
                _mm256_storeu_pd(s, dot4(in, p->weight64[l] + o * ni, ni));
                for (size_t i = 0; i < ROWS; i++) {
                    double z = s[i] + p->bias64[l][o];
                    out[i][o] = last ? z : activate64(p->activation, z);
                }
            }
            for (size_t i = 0; i < ROWS; i++)
                in[i] = out[i];
            cur ^= 1;
        }
    }
}
