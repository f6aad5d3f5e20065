/* trees_avx512.c — placeholder: the reference kernel until the SIMD one lands. */
#include "mpiscore/kernels.h"

void ms_trees_avx512(const ms_model *m, const float *x, size_t n_rows, float *raw)
{
    ms_trees_scalar(m, x, n_rows, raw);
}
