/*
 * trees_cat.c — tree ensembles with categorical splits (model.h ms_trees,
 * is_cat) on the SIMD ISAs. The compiled layout the SIMD kernels walk holds
 * numeric splits only, so these models walk the container's own arrays as
 * the reference does (trees_scalar.c), but a block of rows walks each tree
 * together, level by level: the rows' loads and branches are independent,
 * so the core overlaps them instead of waiting on one row's path at a
 * time. Each row still adds its trees' leaves in tree order, so the scores
 * are the reference's bit for bit. Only XGBoost's shape (one leaf value per
 * tree, float32 sum); anything else goes to the reference walk.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpiscore/kernels.h"
#include "trees_cat.h"

#define BLOCK 16

void ms_trees_cat_blocked(const ms_model *m, const float *x, size_t n_rows, float *raw)
{
    const ms_trees *t = &m->trees;
    size_t kr = m->n_raw, nf = m->n_features;
    int le = t->split == MS_SPLIT_LE;
    if (t->leaf_width != 1 || !t->float32_sum || t->mean) {
        ms_trees_scalar(m, x, n_rows, raw);
        return;
    }
    for (size_t r0 = 0; r0 < n_rows; r0 += BLOCK) {
        size_t nb = n_rows - r0 < BLOCK ? n_rows - r0 : BLOCK;
        float *acc = raw + r0 * kr;
        for (size_t i = 0; i < nb; i++)
            for (size_t k = 0; k < kr; k++)
                acc[i * kr + k] = (float)t->base_score[k];
        for (size_t tree = 0; tree < t->n_trees; tree++) {
            size_t base = (size_t)t->node_offset[tree], node[BLOCK];
            for (size_t i = 0; i < nb; i++)
                node[i] = base;
            for (int active = 1; active;) {
                active = 0;
                for (size_t i = 0; i < nb; i++) {
                    size_t n = node[i];
                    int32_t f = t->feature[n];
                    if (f < 0)
                        continue;
                    active = 1;
                    double v = x[(r0 + i) * nf + (size_t)f], thr = t->threshold[n];
                    /* branch-free but for the categorical test: a row's
                     * direction is data, which no predictor guesses */
                    int isn = v != v;
                    int left = le ? v <= thr : v < thr;
                    if (t->is_cat[n] && !isn)
                        left = ms_trees_cat_left(t, n, v);
                    left = (isn & t->missing_left[n]) | ((isn ^ 1) & left);
                    int32_t l = t->left[n], r = t->right[n];
                    node[i] = base + (size_t)(r + ((l - r) & -left));
                }
            }
            size_t k = (size_t)t->tree_output[tree];
            for (size_t i = 0; i < nb; i++)
                acc[i * kr + k] += (float)t->value[node[i]];
        }
    }
}
