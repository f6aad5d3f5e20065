/*
 * mlp_avx2.c — MLP kernel, AVX2 + FMA.
 *
 * mlp_avx512.c's scheme on 8-lane registers (see there for the layout and
 * the invariants): blocks of rows transposed feature-major, each layer a
 * register-tiled matrix product of RO neurons x RV vectors of 8 rows with
 * float32 FMA accumulation from the bias in input order, bias and ReLU in
 * registers, tanh and logistic on the tile just written. The same
 * operations in the same order per lane as the AVX-512 kernel, and the
 * same activation code, so both give the same bits.
 */
#include <immintrin.h>

#include "mlp_internal.h"

#define LANES 8
#define RO 4 /* neurons per register tile */
#define RV 2 /* row vectors per register tile: 8 accumulators, 11 of the 16 ymm registers */

/* e^x for x <= 0, within 2 ulp (Cephes expf: x = n ln2 + r, |r| <= ln2/2,
 * degree-6 polynomial, 2^n put into the exponent). Below ln(FLT_MIN) the
 * result is 0 rather than subnormal (absolute error < FLT_MIN). NaN gives
 * NaN. */
static inline __m256 exp_nonpos(__m256 x)
{
    const __m256 lo = _mm256_set1_ps(-87.3365f);
    __m256 tiny = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(lo, x); /* vmaxps returns its second operand, x, on NaN */
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 y = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
    __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(tiny, y);
}

static inline __m256 abs_ps(__m256 z)
{
    return _mm256_and_ps(z, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}

/* 1 / (1 + e^-z) as (z >= 0 ? 1 : t) / (1 + t) with t = e^-|z|: t never
 * overflows, and for z < 0 the small result keeps its relative accuracy. */
static inline __m256 logistic_ps(__m256 z)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 t = exp_nonpos(_mm256_sub_ps(_mm256_setzero_ps(), abs_ps(z)));
    __m256 pos = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GE_OQ);
    return _mm256_div_ps(_mm256_blendv_ps(t, one, pos), _mm256_add_ps(one, t));
}

/* Cephes tanhf: an odd polynomial below |z| = 0.625, where 1 - 2/(e^2z + 1)
 * would cancel; above, (1 - t) / (1 + t) with t = e^-2|z| and z's sign. */
static inline __m256 tanh_ps(__m256 z)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 a = abs_ps(z);
    __m256 z2 = _mm256_mul_ps(z, z);
    __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(2.06390887954e-2f));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(-5.37397155531e-2f));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(1.33314422036e-1f));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(-3.33332819422e-1f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z2), z, z);
    __m256 t = exp_nonpos(_mm256_mul_ps(a, _mm256_set1_ps(-2.0f)));
    __m256 big = _mm256_div_ps(_mm256_sub_ps(one, t), _mm256_add_ps(one, t));
    big = _mm256_or_ps(big, _mm256_and_ps(z, _mm256_set1_ps(-0.0f)));
    __m256 is_small = _mm256_cmp_ps(a, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
    return _mm256_blendv_ps(big, small, is_small);
}

/* out[i][k] = b[i] + sum_j w[i][j] * in[j][k] for ro neurons and rv
 * vectors of rows (both compile-time constants after inlining, so acc
 * lives in registers); ReLU applied before the store when asked. */
static inline __attribute__((always_inline)) void tile(const float *w, size_t ni, const float *b,
                                                       const float *in, size_t stride, float *out,
                                                       int relu, const int ro, const int rv)
{
    __m256 acc[RO][RV];
#pragma GCC unroll 4
    for (int i = 0; i < ro; i++)
#pragma GCC unroll 4
        for (int k = 0; k < rv; k++)
            acc[i][k] = _mm256_set1_ps(b[i]);
    for (size_t j = 0; j < ni; j++) {
        __m256 v[RV];
#pragma GCC unroll 4
        for (int k = 0; k < rv; k++)
            v[k] = _mm256_load_ps(in + j * stride + k * LANES);
#pragma GCC unroll 4
        for (int i = 0; i < ro; i++) {
            __m256 wv = _mm256_set1_ps(w[i * ni + j]);
#pragma GCC unroll 4
            for (int k = 0; k < rv; k++)
                acc[i][k] = _mm256_fmadd_ps(wv, v[k], acc[i][k]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < ro; i++)
#pragma GCC unroll 4
        for (int k = 0; k < rv; k++) {
            __m256 s = relu ? _mm256_max_ps(_mm256_setzero_ps(), acc[i][k]) : acc[i][k];
            _mm256_store_ps(out + i * stride + k * LANES, s);
        }
}

/* ro neurons over nv vectors of rows, then their tanh / logistic. */
static inline __attribute__((always_inline)) void neurons(const float *w, size_t ni, const float *b,
                                                          const float *in, size_t stride,
                                                          float *out, size_t nv, ms_activation act,
                                                          const int ro)
{
    int relu = act == MS_ACT_RELU;
    size_t v = 0;
    for (; v + RV <= nv; v += RV)
        tile(w, ni, b, in + v * LANES, stride, out + v * LANES, relu, ro, RV);
    for (; v < nv; v++)
        tile(w, ni, b, in + v * LANES, stride, out + v * LANES, relu, ro, 1);
    if (act != MS_ACT_TANH && act != MS_ACT_LOGISTIC)
        return;
    for (int i = 0; i < ro; i++)
        for (size_t k = 0; k < nv; k++) {
            float *o = out + i * stride + k * LANES;
            __m256 z = _mm256_load_ps(o);
            _mm256_store_ps(o, act == MS_ACT_TANH ? tanh_ps(z) : logistic_ps(z));
        }
}

/* One layer for a block: in is ni x stride, out no x stride (feature-major),
 * nv vectors of rows computed. act = identity for the last layer. */
static void layer(const float *w, const float *b, size_t ni, size_t no, const float *in, float *out,
                  size_t stride, size_t nv, ms_activation act)
{
    size_t o = 0;
    for (; o + RO <= no; o += RO)
        neurons(w + o * ni, ni, b + o, in, stride, out + o * stride, nv, act, RO);
    for (; o + 2 <= no; o += 2)
        neurons(w + o * ni, ni, b + o, in, stride, out + o * stride, nv, act, 2);
    for (; o < no; o++)
        neurons(w + o * ni, ni, b + o, in, stride, out + o * stride, nv, act, 1);
}

/* a[i][q] -> a[q][i] for an 8 x 8 tile, in registers: rows interleaved
 * by 32 then 64 bits within 128-bit lanes, then the lanes exchanged. */
static inline void transpose8(__m256 a[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(a[2 * i], a[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(a[2 * i], a[2 * i + 1]);
    }
    for (int g = 0; g < 2; g++) {
        u[4 * g] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int c = 0; c < 4; c++) {
        a[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
        a[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
}

/* nb rows of x (f features each) -> xt[j][r] in 8 x 8 tiles; the rows of
 * the last vector beyond nb are zeros. Masked loads never touch memory
 * past a row or past the batch. */
static void transpose_in(const float *x, size_t nb, size_t f, float *xt, size_t stride)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (size_t r = 0; r < nb; r += LANES) {
        size_t nr = nb - r < LANES ? nb - r : LANES;
        for (size_t j = 0; j < f; j += LANES) {
            size_t nj = f - j < LANES ? f - j : LANES;
            __m256 a[LANES];
            if (nj == LANES && nr == LANES) {
#pragma GCC unroll 8
                for (size_t i = 0; i < LANES; i++)
                    a[i] = _mm256_loadu_ps(x + (r + i) * f + j);
            } else {
                /* lane q is loaded iff the sign bit of its mask word is set */
                __m256i mj = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nj), lane);
                for (size_t i = 0; i < LANES; i++)
                    a[i] =
                        i < nr ? _mm256_maskload_ps(x + (r + i) * f + j, mj) : _mm256_setzero_ps();
            }
            transpose8(a);
            for (size_t q = 0; q < nj; q++)
                _mm256_store_ps(xt + (j + q) * stride + r, a[q]);
        }
    }
}

void ms_mlp_avx2(const ms_model *m, const float *x, size_t n_rows, float *raw, float *work)
{
    const ms_mlp *p = &m->mlp;
    size_t f = m->n_features, kr = m->n_raw, nl = p->n_layers;
    if (n_rows == 0)
        return;
    size_t block = ms_mlp_block_rows(m, n_rows), maxw = ms_mlp_max_width(m);
    float *buf[2];
    buf[0] = ms_mlp_work_align(work);
    buf[1] = buf[0] + block * maxw;
    for (size_t r0 = 0; r0 < n_rows; r0 += block) {
        size_t nb = n_rows - r0 < block ? n_rows - r0 : block;
        size_t nv = (nb + LANES - 1) / LANES;
        transpose_in(x + r0 * f, nb, f, buf[0], block);
        int cur = 0;
        for (size_t l = 0; l < nl; l++) {
            ms_activation act = l + 1 < nl ? p->activation : MS_ACT_IDENTITY;
            layer(p->weight[l], p->bias[l], p->width[l], p->width[l + 1], buf[cur], buf[cur ^ 1],
                  block, nv, act);
            cur ^= 1;
        }
        const float *z = buf[cur];
        for (size_t r = 0; r < nb; r++)
            for (size_t k = 0; k < kr; k++)
                raw[(r0 + r) * kr + k] = z[k * block + r];
    }
}
