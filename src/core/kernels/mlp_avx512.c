/* mlp_avx512.c — placeholder until the MLP kernels land (the loader refuses mlp). */
#include <stdlib.h>

#include "mpiscore/kernels.h"

void ms_mlp_avx512(const ms_model *m, const float *x, size_t n_rows, float *raw, float *work)
{
    (void)m;
    (void)x;
    (void)n_rows;
    (void)raw;
    (void)work;
    abort();
}
