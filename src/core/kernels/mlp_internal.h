/*
 * mlp_internal.h — what the MLP kernels (mlp_scalar.c, mlp_avx2.c,
 * mlp_avx512.c) share: how a batch is cut into row blocks, and so how
 * much work space ms_mlp_work_floats promises.
 *
 * The SIMD kernels push one block of rows through every layer before the
 * next block starts, so a block's activations stay in cache whatever the
 * batch size. Inside a block activations are stored feature-major: neuron
 * j of the block's rows is the `block` floats at buf + j * block, so one
 * vector holds one neuron for 8 or 16 consecutive rows. Two buffers of
 * block * ms_mlp_max_width floats take turns as a layer's input and output
 * (the block's transposed inputs sit in the first).
 */
#ifndef MPISCORE_MLP_INTERNAL_H
#define MPISCORE_MLP_INTERNAL_H

#include <math.h>

#include "mpiscore/kernels.h"

/* A hidden layer's activation in double, as numpy computes it: maximum(z,
 * 0) (NaN stays NaN), tanh, scipy's expit. The scalar kernels (float32
 * and float64) share it. */
static inline double ms_mlp_activate(ms_activation a, double z)
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

/* Block rows are a multiple of this: one AVX-512 vector, two AVX2 ones. */
#define MS_MLP_LANES 16
/* At most this many rows per block, fewer when layers are wide: the aim is
 * one activation buffer of MS_MLP_BUFFER_FLOATS floats (64 KiB). */
#define MS_MLP_BLOCK_MAX 128
#define MS_MLP_BUFFER_FLOATS 16384

/* The widest layer boundary, inputs and outputs included. */
size_t ms_mlp_max_width(const ms_model *m);
/* Rows per block for a batch of n_rows (> 0): a multiple of MS_MLP_LANES. */
size_t ms_mlp_block_rows(const ms_model *m, size_t n_rows);
/* work rounded up to a 64-byte boundary (ms_mlp_work_floats leaves room). */
float *ms_mlp_work_align(float *work);

#endif
