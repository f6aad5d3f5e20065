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
#include "dot64_avx2.h"
#include "mlp_internal.h"

#define ROWS MS_DOT64_ROWS

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
                _mm256_storeu_pd(s, ms_dot4_pd(in, p->weight64[l] + o * ni, ni));
                for (size_t i = 0; i < ROWS; i++) {
                    double z = s[i] + p->bias64[l][o];
                    out[i][o] = last ? z : ms_mlp_activate(p->activation, z);
                }
            }
            for (size_t i = 0; i < ROWS; i++)
                in[i] = out[i];
            cur ^= 1;
        }
    }
}
