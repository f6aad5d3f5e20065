/*
 * batch_util.h — what the reader and output tests need to look at column
 * batches (batch.h) the way they looked at the old row-major matrix: specs
 * of float32 numbers (a zeroed ms_colspec is one), element i of the row-
 * major view (row i / n_cols, column i % n_cols), and column equality.
 */
#ifndef MS_TEST_BATCH_UTIL_H
#define MS_TEST_BATCH_UTIL_H

#include <string.h>

#include "mpiscore/batch.h"

static const ms_colspec F32S[4096]; /* kind MS_COL_NUM, prec MS_PREC_F32 */

static inline float bx(const ms_batch *b, size_t i)
{
    return ms_batch_f32(b, i % b->n_cols)[i / b->n_cols];
}

static inline double bx64(const ms_batch *b, size_t i)
{
    return ms_batch_f64(b, i % b->n_cols)[i / b->n_cols];
}

/* Same cells, bit for bit (NaN included), in every column. */
static inline int batch_cols_eq(const ms_batch *a, const ms_batch *b)
{
    if (a->n_cols != b->n_cols)
        return 0;
    for (size_t c = 0; c < a->n_cols; c++) {
        size_t es = a->spec[c].kind == MS_COL_NUM && a->spec[c].prec == MS_PREC_F64 ? 8 : 4;
        if (a->n_rows && memcmp(a->col[c], b->col[c], a->n_rows * es) != 0)
            return 0;
    }
    return 1;
}

#endif
