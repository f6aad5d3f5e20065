/*
 * trees_cat.h — the categorical split test (model.h ms_trees, is_cat),
 * shared by the reference walks (trees_scalar.c, trees64_scalar.c) and the
 * loader's own check. Models with categorical splits score on those walks
 * on every ISA (dispatch.c); numeric-only models never reach this code.
 */
#ifndef MPISCORE_TREES_CAT_H
#define MPISCORE_TREES_CAT_H

#include <stddef.h>
#include <stdint.h>

#include "mpiscore/model.h"

/* 1 if split n (is_cat) sends the non-NaN value v left. v >= 0 and below
 * the bitset's width is category (uint32)v, which truncates as XGBoost's
 * and scikit-learn's casts do; the loader bounds every bitset to
 * MS_CAT_MAX_WORDS words, so the cast cannot overflow. */
static inline int ms_trees_cat_left(const ms_trees *t, size_t n, double v)
{
    int64_t lo = t->cat_offset[n];
    if (t->cat_uint8 && v >= 0)
        v = v < 2147483648.0 ? (double)((uint32_t)v & 0xffu) : 0.0;
    double width = 32.0 * (double)(t->cat_offset[n + 1] - lo);
    if (v >= 0 && v < width) {
        uint32_t c = (uint32_t)v;
        return !((t->cat_bits[lo + c / 32] >> (c % 32)) & 1u);
    }
    return t->cat_other_missing ? t->missing_left[n] : 1;
}

#endif
