/*
 * trees_scalar.c — the reference tree-ensemble kernel: one row at a time,
 * every tree in order, walking the container's own arrays (model.h
 * ms_trees) with the container's own split rule on the float64 threshold.
 * It shares nothing with the compiled layout the SIMD kernels use, so the
 * tests comparing them check the compiler (ms_trees_compile) as well.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpiscore/kernels.h"
#include "trees_cat.h"

/* The leaf tree t sends row x to (a node index in the flat arrays). The
 * loader proved every path ends in a leaf within max_depth steps. */
static size_t find_leaf(const ms_trees *t, size_t tree, const float *x)
{
    size_t base = (size_t)t->node_offset[tree], n = base;
    while (t->feature[n] >= 0) {
        float v = x[t->feature[n]];
        int left;
        if (isnan(v))
            left = t->missing_left[n];
        else if (t->is_cat && t->is_cat[n])
            left = ms_trees_cat_left(t, n, (double)v);
        else if (t->split == MS_SPLIT_LE)
            left = (double)v <= t->threshold[n];
        else
            left = (double)v < t->threshold[n];
        n = base + (size_t)(left ? t->left[n] : t->right[n]);
    }
    return n;
}

void ms_trees_scalar(const ms_model *m, const float *x, size_t n_rows, float *raw)
{
    const ms_trees *t = &m->trees;
    size_t kr = m->n_raw, w = t->leaf_width;
    /* per-score state on the heap, once per batch: a container may have
     * any number of scores, too many for the stack */
    double *acc = malloc(kr * sizeof *acc);
    float *acc32 = malloc(kr * sizeof *acc32);
    size_t *count = calloc(kr, sizeof *count);
    if (!acc || !acc32 || !count) {
        /* kernels cannot return a status; scores never made up */
        fputs("mpiscore: out of memory in the tree kernel\n", stderr);
        abort();
    }
    for (size_t i = 0; i < t->n_trees; i++)
        if (w == 1)
            count[t->tree_output[i]]++;
        else
            for (size_t k = 0; k < kr; k++)
                count[k]++;
    for (size_t r = 0; r < n_rows; r++) {
        const float *row = x + r * m->n_features;
        for (size_t k = 0; k < kr; k++) {
            acc[k] = 0.0;
            acc32[k] = (float)t->base_score[k];
        }
        for (size_t i = 0; i < t->n_trees; i++) {
            const double *leaf = t->value + find_leaf(t, i, row) * w;
            if (w == 1) {
                size_t k = (size_t)t->tree_output[i];
                acc[k] += leaf[0];
                acc32[k] += (float)leaf[0];
            } else {
                for (size_t k = 0; k < kr; k++) {
                    acc[k] += leaf[k];
                    acc32[k] += (float)leaf[k];
                }
            }
        }
        for (size_t k = 0; k < kr; k++) {
            double s = acc[k];
            if (t->mean && count[k])
                s /= (double)count[k];
            raw[r * kr + k] = t->float32_sum ? acc32[k] : (float)(t->base_score[k] + s);
        }
    }
    free(acc);
    free(acc32);
    free(count);
}
