/*
 * mlp_avx512.c — MLP kernel, AVX-512F.
 *
 * The batch goes through the network in blocks of rows (mlp_internal.h):
 * a block's inputs are transposed feature-major into the work space, then
 * each layer is a matrix product out[o][rows] = b[o] + sum_j W[o][j] *
 * in[j][rows] computed in register tiles of RO neurons x RV vectors of 16
 * rows: per input j, RV loads and RO broadcast weights feed RO * RV FMAs.
 * Bias and ReLU are applied in registers, tanh and logistic on the tile's
 * outputs while they are in L1. The input transpose works on 16 x 16
 * tiles in registers (twice as fast as a scalar loop, which took a fifth
 * of the time of a 30 -> 64 -> 32 -> 3 network); the last layer's block
 * goes back into raw row-major.
 *
 * Invariants (shared with mlp_avx2.c, which is this file on 8 lanes):
 *  - float32 accumulation by FMA, starting from the bias and adding inputs
 *    in order: each lane computes its row exactly as the scalar reference
 *    orders it, with float rounding per step instead of double (the unit
 *    test bounds the difference with the forward error of that sum);
 *  - a lane's result depends only on its row (padding lanes hold zeros and
 *    are never written back), so batch boundaries and rank counts never
 *    change an output, and the AVX2 kernel gives the same bits;
 *  - tanh and logistic are within a few float ulps (relative < 1e-6) of
 *    the double functions; NaN propagates through every activation.
 */
#include <immintrin.h>

#include "mlp_internal.h"

#define LANES 16
#define RO 4 /* neurons per register tile */
#define RV 4 /* row vectors per register tile: 4 x 4 accumulators of 16 rows */

/* e^x for x <= 0, within 2 ulp (Cephes expf: x = n ln2 + r, |r| <= ln2/2,
 * degree-6 polynomial, 2^n put into the exponent). Below ln(FLT_MIN) the
 * result is 0 rather than subnormal (absolute error < FLT_MIN). NaN gives
 * NaN. */
static inline __m512 exp_nonpos(__m512 x)
{
    const __m512 lo = _mm512_set1_ps(-87.3365f);
    __mmask16 tiny = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    x = _mm512_max_ps(lo, x); /* vmaxps returns its second operand, x, on NaN */
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 y = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
    y = _mm512_add_ps(y, _mm512_set1_ps(1.0f));
    __m512i e =
        _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    y = _mm512_mul_ps(y, _mm512_castsi512_ps(e));
    return _mm512_mask_blend_ps(tiny, y, _mm512_setzero_ps());
}

static inline __m512 abs_ps(__m512 z)
{
    return _mm512_castsi512_ps(
        _mm512_and_si512(_mm512_castps_si512(z), _mm512_set1_epi32(0x7fffffff)));
}

/* 1 / (1 + e^-z) as (z >= 0 ? 1 : t) / (1 + t) with t = e^-|z|: t never
 * overflows, and for z < 0 the small result keeps its relative accuracy. */
static inline __m512 logistic_ps(__m512 z)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 t = exp_nonpos(_mm512_sub_ps(_mm512_setzero_ps(), abs_ps(z)));
    __mmask16 pos = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GE_OQ);
    return _mm512_div_ps(_mm512_mask_blend_ps(pos, t, one), _mm512_add_ps(one, t));
}

/* Cephes tanhf: an odd polynomial below |z| = 0.625, where 1 - 2/(e^2z + 1)
 * would cancel; above, (1 - t) / (1 + t) with t = e^-2|z| and z's sign. */
static inline __m512 tanh_ps(__m512 z)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 a = abs_ps(z);
    __m512 z2 = _mm512_mul_ps(z, z);
    __m512 p = _mm512_set1_ps(-5.70498872745e-3f);
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(2.06390887954e-2f));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(-5.37397155531e-2f));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(1.33314422036e-1f));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(-3.33332819422e-1f));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z2), z, z);
    __m512 t = exp_nonpos(_mm512_mul_ps(a, _mm512_set1_ps(-2.0f)));
    __m512 big = _mm512_div_ps(_mm512_sub_ps(one, t), _mm512_add_ps(one, t));
    big = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_castps_si512(big),
        _mm512_and_si512(_mm512_castps_si512(z), _mm512_set1_epi32((int)0x80000000u))));
    __mmask16 is_small = _mm512_cmp_ps_mask(a, _mm512_set1_ps(0.625f), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(is_small, big, small);
}

/* out[i][k] = b[i] + sum_j w[i][j] * in[j][k] for ro neurons and rv
 * vectors of rows (both compile-time constants after inlining, so acc
 * lives in registers); ReLU applied before the store when asked. */
static inline __attribute__((always_inline)) void tile(const float *w, size_t ni, const float *b,
                                                       const float *in, size_t stride, float *out,
                                                       int relu, const int ro, const int rv)
{
    __m512 acc[RO][RV];
#pragma GCC unroll 4
    for (int i = 0; i < ro; i++)
#pragma GCC unroll 4
        for (int k = 0; k < rv; k++)
            acc[i][k] = _mm512_set1_ps(b[i]);
    for (size_t j = 0; j < ni; j++) {
        __m512 v[RV];
#pragma GCC unroll 4
        for (int k = 0; k < rv; k++)
            v[k] = _mm512_load_ps(in + j * stride + k * LANES);
#pragma GCC unroll 4
        for (int i = 0; i < ro; i++) {
            __m512 wv = _mm512_set1_ps(w[i * ni + j]);
#pragma GCC unroll 4
            for (int k = 0; k < rv; k++)
                acc[i][k] = _mm512_fmadd_ps(wv, v[k], acc[i][k]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < ro; i++)
#pragma GCC unroll 4
        for (int k = 0; k < rv; k++) {
            __m512 s = relu ? _mm512_max_ps(_mm512_setzero_ps(), acc[i][k]) : acc[i][k];
            _mm512_store_ps(out + i * stride + k * LANES, s);
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
            __m512 z = _mm512_load_ps(o);
            _mm512_store_ps(o, act == MS_ACT_TANH ? tanh_ps(z) : logistic_ps(z));
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

/* a[i][q] -> a[q][i] for a 16 x 16 tile, in registers: pairs of rows
 * interleaved by 32 bits, then by 64 bits (columns 4k + c of four rows in
 * lane k), then 128-bit lanes gathered twice. */
static inline void transpose16(__m512 a[16])
{
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]);
    }
    for (int g = 0; g < 4; g++) {
        __m512d t0 = _mm512_castps_pd(t[4 * g]), t1 = _mm512_castps_pd(t[4 * g + 1]);
        __m512d t2 = _mm512_castps_pd(t[4 * g + 2]), t3 = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (int c = 0; c < 4; c++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
        __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xdd);
        __m512 w0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        __m512 w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xdd);
        a[c] = _mm512_shuffle_f32x4(v0, w0, 0x88);
        a[4 + c] = _mm512_shuffle_f32x4(v1, w1, 0x88);
        a[8 + c] = _mm512_shuffle_f32x4(v0, w0, 0xdd);
        a[12 + c] = _mm512_shuffle_f32x4(v1, w1, 0xdd);
    }
}

/* nb rows of x (f features each) -> xt[j][r] in 16 x 16 tiles; the rows
 * of the last vector beyond nb are zeros. Masked loads never touch memory
 * past a row or past the batch. */
static void transpose_in(const float *x, size_t nb, size_t f, float *xt, size_t stride)
{
    for (size_t r = 0; r < nb; r += LANES) {
        size_t nr = nb - r < LANES ? nb - r : LANES;
        for (size_t j = 0; j < f; j += LANES) {
            size_t nj = f - j < LANES ? f - j : LANES;
            __mmask16 mj = (__mmask16)((1u << nj) - 1);
            __m512 a[LANES];
            if (nj == LANES && nr == LANES) {
#pragma GCC unroll 16
                for (size_t i = 0; i < LANES; i++)
                    a[i] = _mm512_loadu_ps(x + (r + i) * f + j);
            } else {
                for (size_t i = 0; i < LANES; i++)
                    a[i] = i < nr ? _mm512_maskz_loadu_ps(mj, x + (r + i) * f + j)
                                  : _mm512_setzero_ps();
            }
            transpose16(a);
            for (size_t q = 0; q < nj; q++)
                _mm512_store_ps(xt + (j + q) * stride + r, a[q]);
        }
    }
}

void ms_mlp_avx512(const ms_model *m, const float *x, size_t n_rows, float *raw, float *work)
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
