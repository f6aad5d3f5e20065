/*
 * trees64_scalar.c — tree ensembles of float64 models (HistGradientBoosting):
 * the double input compared with the container's double threshold, so a
 * value sits on the side of a split scikit-learn puts it (48.9 against
 * 48.900000000000006), and the leaves added to the base score in tree order
 * in double, as _raw_predict does (raw = baseline; raw += leaf, iteration
 * by iteration). One walk over the container's arrays serves every ISA.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpiscore/kernels.h"
#include "trees_cat.h"

static size_t find_leaf64(const ms_trees *t, size_t tree, const double *x)
{
    size_t base = (size_t)t->node_offset[tree], n = base;
    while (t->feature[n] >= 0) {
        double v = x[t->feature[n]];
        int left;
        if (isnan(v))
            left = t->missing_left[n];
        else if (t->is_cat && t->is_cat[n])
            left = ms_trees_cat_left(t, n, v);
        else if (t->split == MS_SPLIT_LE)
            left = v <= t->threshold[n];
        else
            left = v < t->threshold[n];
        n = base + (size_t)(left ? t->left[n] : t->right[n]);
    }
    return n;
}

void ms_trees64_scalar(const ms_model *m, const double *x, size_t n_rows, double *raw)
{
    const ms_trees *t = &m->trees;
    size_t kr = m->n_raw, w = t->leaf_width;
    size_t *count = calloc(kr ? kr : 1, sizeof *count);
    if (!count) {
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
        const double *row = x + r * m->n_features;
        double *acc = raw + r * kr;
        /* a mean (forest) is of the trees alone; a sum starts at the base */
        for (size_t k = 0; k < kr; k++)
            acc[k] = t->mean ? 0.0 : t->base_score[k];
        for (size_t i = 0; i < t->n_trees; i++) {
            const double *leaf = t->value + find_leaf64(t, i, row) * w;
            if (w == 1)
                acc[t->tree_output[i]] += leaf[0];
            else
                for (size_t k = 0; k < kr; k++)
                    acc[k] += leaf[k];
        }
        if (t->mean)
            for (size_t k = 0; k < kr; k++)
                acc[k] = t->base_score[k] + (count[k] ? acc[k] / (double)count[k] : acc[k]);
    }
    free(count);
}
