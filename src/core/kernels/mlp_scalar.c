/*
 * mlp_scalar.c — the reference MLP kernel, and the block and work-space
 * sizing every MLP kernel shares (mlp_internal.h).
 *
 * One row at a time, one neuron at a time: the bias, then weight * input
 * added in input order in double, the activation applied in double, the
 * result stored as float (what the next layer reads). It is the yardstick
 * the SIMD variants are tested against, so it stays plain.
 */
#include <math.h>
#include <stdint.h>

#include "mlp_internal.h"

size_t ms_mlp_max_width(const ms_model *m)
{
    size_t w = 0;
    for (size_t l = 0; l <= m->mlp.n_layers; l++)
        w = m->mlp.width[l] > w ? m->mlp.width[l] : w;
    return w;
}

size_t ms_mlp_block_rows(const ms_model *m, size_t n_rows)
{
    size_t w = ms_mlp_max_width(m);
    size_t b = MS_MLP_BUFFER_FLOATS / (w ? w : 1) / MS_MLP_LANES * MS_MLP_LANES;
    if (b < MS_MLP_LANES)
        b = MS_MLP_LANES;
    if (b > MS_MLP_BLOCK_MAX)
        b = MS_MLP_BLOCK_MAX;
    /* a short batch gets a short block, not a full one of padding */
    size_t need = (n_rows + MS_MLP_LANES - 1) / MS_MLP_LANES * MS_MLP_LANES;
    return need < b ? need : b;
}

float *ms_mlp_work_align(float *work)
{
    uintptr_t p = (uintptr_t)work;
    return (float *)((p + 63) & ~(uintptr_t)63);
}

/* Two buffers of block x widest layer, plus room to align them (work
 * comes after the raw scores in the caller's scratch: any float offset).
 * The scalar kernel needs less (two rows), the SIMD kernels exactly this. */
size_t ms_mlp_work_floats(const ms_model *m, size_t n_rows)
{
    if (n_rows == 0)
        return 0;
    return 2 * ms_mlp_block_rows(m, n_rows) * ms_mlp_max_width(m) + MS_MLP_LANES;
}

void ms_mlp_scalar(const ms_model *m, const float *x, size_t n_rows, float *raw, float *work)
{
    const ms_mlp *p = &m->mlp;
    size_t n = p->n_layers, hidden = 0;
    for (size_t l = 1; l < n; l++)
        hidden = p->width[l] > hidden ? p->width[l] : hidden;
    float *buf[2] = {work, work + hidden};
    for (size_t r = 0; r < n_rows; r++) {
        const float *in = x + r * m->n_features;
        for (size_t l = 0; l < n; l++) {
            size_t ni = p->width[l], no = p->width[l + 1];
            int last = l + 1 == n;
            float *out = last ? raw + r * m->n_raw : buf[l & 1];
            for (size_t o = 0; o < no; o++) {
                const float *w = p->weight[l] + o * ni;
                double acc = p->bias[l][o];
                for (size_t j = 0; j < ni; j++)
                    acc += (double)w[j] * (double)in[j];
                out[o] = (float)(last ? acc : ms_mlp_activate(p->activation, acc));
            }
            in = out;
        }
    }
}
