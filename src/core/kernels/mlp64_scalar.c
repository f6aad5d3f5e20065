/*
 * mlp64_scalar.c — the float64 reference MLP kernel: one row at a time,
 * each neuron the dot product in input order plus the bias (numpy's
 * X @ W + b order), the hidden activation in double (numpy's maximum,
 * tanh, scipy's expit), nothing rounded to float.
 */
#include <math.h>

#include "mpiscore/kernels.h"

#define ROWS 4 /* rows per block in the AVX2 kernel: its work space */

size_t ms_mlp64_work(const ms_model *m)
{
    size_t w = 0;
    for (size_t l = 0; l <= m->mlp.n_layers; l++)
        w = m->mlp.width[l] > w ? m->mlp.width[l] : w;
    return 2 * ROWS * (w ? w : 1);
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

void ms_mlp64_scalar(const ms_model *m, const double *x, size_t n_rows, double *raw, double *work)
{
    const ms_mlp *p = &m->mlp;
    size_t n = p->n_layers, hidden = 0;
    for (size_t l = 1; l < n; l++)
        hidden = p->width[l] > hidden ? p->width[l] : hidden;
    double *buf[2] = {work, work + hidden};
    for (size_t r = 0; r < n_rows; r++) {
        const double *in = x + r * m->n_features;
        for (size_t l = 0; l < n; l++) {
            size_t ni = p->width[l], no = p->width[l + 1];
            int last = l + 1 == n;
            double *out = last ? raw + r * m->n_raw : buf[l & 1];
            for (size_t o = 0; o < no; o++) {
                const double *w = p->weight64[l] + o * ni;
                double acc = 0;
                for (size_t j = 0; j < ni; j++)
                    acc += w[j] * in[j];
                acc += p->bias64[l][o];
                out[o] = last ? acc : activate64(p->activation, acc);
            }
            in = out;
        }
    }
}
