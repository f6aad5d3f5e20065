/* mlp_scalar.c — placeholder until the MLP kernels land (the loader refuses mlp). */
#include <stdlib.h>

#include "mpiscore/kernels.h"

void ms_mlp_scalar(const ms_model *m, const float *x, size_t n_rows, float *raw, float *work)
{
    (void)m;
    (void)x;
    (void)n_rows;
    (void)raw;
    (void)work;
    abort();
}

size_t ms_mlp_work_floats(const ms_model *m, size_t n_rows)
{
    (void)m;
    (void)n_rows;
    return 0;
}
