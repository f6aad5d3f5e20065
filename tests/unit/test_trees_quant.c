/*
 * test_trees_quant.c — the quantized tree layout (kernels/trees_quant.c)
 * and the kernels walking it: bins against a brute-force count of cuts;
 * every ISA bit for bit against the scalar reference (which walks the
 * container's float64 thresholds) on random forests of small trees
 * (bitvector form), deep complete trees (walk form) and both mixed, with
 * inputs that are NaN, +-inf, -0.0, exactly a threshold or its float
 * neighbours, features never split on, both split rules, float32 and
 * float64 sums, several scores and mean aggregation; and the bounds: the
 * most distinct thresholds a feature may have, one more (not quantized,
 * still exact), a tree too deep to complete, too many features.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/kernels/trees_layout.h"
#include "../../src/core/model_internal.h"
#include "check.h"
#include "mpiscore/kernels.h"

/* Thresholds (and so inputs) come from a small pool, so that inputs equal
 * to a threshold, -0.0 against 0.0 and neighbouring floats are common. */
static double pool_threshold(void)
{
    static const double fixed[] = {0.0, -0.0, 1.0, -1.0, 0.5, 1e30, -1e30, 3.4e38};
    float g = (float)((rand() % 21) - 10) * 0.5f;
    switch (rand() % 4) {
    case 0:
        return fixed[rand() % (sizeof fixed / sizeof fixed[0])];
    case 1: /* halfway to the next float: only a double holds it */
        return ((double)g + (double)nextafterf(g, INFINITY)) / 2;
    default:
        return g;
    }
}

static float pool_input(void)
{
    int r = rand() % 100;
    if (r < 6)
        return NAN;
    if (r < 9)
        return r % 2 ? INFINITY : -INFINITY;
    if (r < 14)
        return r % 2 ? -0.0f : 0.0f;
    float v = (float)pool_threshold();
    if (r < 30)
        return nextafterf(v, r % 2 ? INFINITY : -INFINITY);
    return v;
}

/* A model whose trees are filled in by the caller through add(). */
typedef struct {
    ms_model *m;
    size_t cap, n, tree;
} forest;

static forest forest_new(size_t n_trees, size_t cap, size_t nf, size_t n_raw)
{
    forest f = {.cap = cap};
    ms_model *m = f.m = calloc(1, sizeof *m);
    CHECK_FATAL(m);
    ms_trees *t = &m->trees;
    t->node_offset = calloc(n_trees + 1, sizeof *t->node_offset);
    t->tree_output = calloc(n_trees, sizeof *t->tree_output);
    t->feature = malloc(cap * sizeof *t->feature);
    t->left = malloc(cap * sizeof *t->left);
    t->right = malloc(cap * sizeof *t->right);
    t->threshold = malloc(cap * sizeof *t->threshold);
    t->value = malloc(cap * sizeof *t->value);
    t->missing_left = malloc(cap);
    t->base_score = malloc(n_raw * sizeof *t->base_score);
    m->feature_names = calloc(nf, sizeof(char *));
    m->output_names = calloc(n_raw, sizeof(char *));
    CHECK_FATAL(t->node_offset && t->tree_output && t->feature && t->left && t->right &&
                t->threshold && t->value && t->missing_left && t->base_score && m->feature_names &&
                m->output_names);
    for (size_t i = 0; i < nf; i++) {
        m->feature_names[i] = malloc(24);
        snprintf(m->feature_names[i], 24, "f%zu", i);
    }
    for (size_t k = 0; k < n_raw; k++) {
        m->output_names[k] = malloc(24);
        snprintf(m->output_names[k], 24, "s%zu", k);
        t->base_score[k] = (double)(rand() % 100) / 64 - 0.75;
    }
    t->n_trees = n_trees;
    t->leaf_width = 1;
    m->kind = MS_KIND_TREES;
    m->link = MS_LINK_IDENTITY;
    m->n_features = nf;
    m->n_raw = m->n_outputs = n_raw;
    return f;
}

/* A new node of the current tree (index local to the tree). */
static int32_t add_node(forest *f, int32_t feature, double thr, int ml)
{
    ms_trees *t = &f->m->trees;
    CHECK_FATAL(f->n < f->cap);
    size_t i = f->n++;
    t->feature[i] = feature;
    t->threshold[i] = thr;
    t->missing_left[i] = (uint8_t)ml;
    t->left[i] = t->right[i] = -1;
    t->value[i] = (double)(rand() % 2001 - 1000) / 256 + 1e-9 * (rand() % 7);
    return (int32_t)(i - (size_t)t->node_offset[f->tree]);
}

/* A random subtree, at most `leaves` leaves and `depth` levels of splits,
 * on features 0 .. used - 1; returns its local index. */
static int32_t grow(forest *f, int depth, size_t leaves, size_t used)
{
    /* the top levels always split, so deep configurations grow big trees */
    if (depth == 0 || leaves < 2 || (depth < 6 && rand() % 8 == 0))
        return add_node(f, -1, 0.0, 0);
    ms_trees *t = &f->m->trees;
    int32_t i = add_node(f, (int32_t)((size_t)rand() % used), pool_threshold(), rand() % 2);
    size_t base = (size_t)t->node_offset[f->tree];
    size_t quarter = leaves / 4 ? leaves / 4 : 1;
    size_t left = quarter + (size_t)rand() % (leaves - 2 * quarter + 1);
    int32_t l = grow(f, depth - 1, left, used);
    int32_t r = grow(f, depth - 1, leaves - left, used);
    t->left[base + (size_t)i] = l;
    t->right[base + (size_t)i] = r;
    return i;
}

static void end_tree(forest *f)
{
    ms_trees *t = &f->m->trees;
    t->tree_output[f->tree] = (int32_t)(f->tree % f->m->n_raw);
    t->node_offset[++f->tree] = (int64_t)f->n;
    t->n_nodes = f->n;
}

static const ms_tree_quant *quant_of(const ms_model *m)
{
    const ms_tree_layout *l = m->trees.compiled;
    return l ? l->quant : NULL;
}

static void compile(ms_model *m, const char *what)
{
    ms_error err;
    CHECK_MSG(ms_model_validate(m, "t.h5", &err) == MS_OK, "%s: %s", what, err.msg);
    CHECK_MSG(ms_trees_compile(m, &err) == MS_OK, "%s: %s", what, err.msg);
}

/* Every ISA against the scalar reference, bit for bit, on rows from the
 * input pool (row counts around the kernels' vector and block sizes). */
static void compare_isas(const char *what, const ms_model *m, size_t max_rows)
{
    static const size_t rows[] = {1, 16, 17, 127, 128, 129, 255, 256, 257, 1000};
    for (size_t ri = 0; ri < sizeof rows / sizeof rows[0] && rows[ri] <= max_rows; ri++) {
        size_t n = rows[ri], nx = n * m->n_features, no = n * m->n_outputs;
        float *x = malloc(nx * sizeof *x), *ref = malloc(no * sizeof *ref);
        float *out = malloc(no * sizeof *out);
        float *scratch = malloc(ms_predict_scratch_floats(m, n) * sizeof *scratch);
        CHECK_FATAL(x && ref && out && scratch);
        for (size_t i = 0; i < nx; i++)
            x[i] = pool_input();
        ms_predict(m, MS_ISA_SCALAR, x, n, ref, scratch);
        for (int isa = 1; isa < MS_ISA_COUNT; isa++) {
            if (!ms_isa_supported((ms_isa)isa))
                continue;
            ms_predict(m, (ms_isa)isa, x, n, out, scratch);
            size_t bad = 0, first = 0;
            for (size_t i = 0; i < no; i++)
                if (memcmp(&ref[i], &out[i], sizeof(float)) != 0 && !bad++)
                    first = i;
            CHECK_MSG(bad == 0, "%s, %zu rows, %s: %zu values differ, first [%zu] %.9g vs %.9g",
                      what, n, ms_isa_name((ms_isa)isa), bad, first, ref[first], out[first]);
        }
        free(x);
        free(ref);
        free(out);
        free(scratch);
    }
}

/* The bins of random rows against counting the cuts <= x by hand. */
static void check_bins(const char *what, const ms_tree_quant *q, size_t nf)
{
    size_t nr = 100, stride = 128;
    float *x = malloc(nr * nf * sizeof *x);
    uint32_t *bins = malloc(stride * nf * sizeof *bins);
    CHECK_FATAL(x && bins);
    for (size_t i = 0; i < nr * nf; i++)
        x[i] = pool_input();
    ms_tree_quant_bins(q, x, nr, nf, stride, bins);
    size_t bad = 0;
    for (size_t f = 0; f < nf; f++) {
        const float *c = q->cut + q->cut_off[f];
        for (size_t r = 0; r < stride; r++) {
            uint32_t want = 0;
            if (r >= nr)
                want = 0;
            else if (isnan(x[r * nf + f]))
                want = MS_BIN_NAN;
            else
                for (uint32_t k = 0; k < q->cut_len[f]; k++)
                    want += c[k] <= x[r * nf + f];
            bad += bins[f * stride + r] != want;
        }
        for (uint32_t k = 1; k < q->cut_len[f]; k++) /* sorted, distinct, then NaN */
            bad += !(c[k - 1] < c[k]) && !isnan(c[k]);
    }
    CHECK_MSG(bad == 0, "%s: %zu bins or cuts wrong", what, bad);
    free(x);
    free(bins);
}

typedef struct {
    const char *name;
    size_t n_trees, nf, used, n_raw;
    int depth;
    size_t leaves; /* at most this many per tree */
    int le, f32, mean;
    int want_small, want_walk; /* the forms expected among the trees */
} config;

static void test_forests(void)
{
    static const config configs[] = {
        {"small trees", 200, 12, 12, 1, 30, 32, 0, 1, 0, 1, 0},
        {"small trees, le, float64", 120, 9, 5, 1, 30, 31, 1, 0, 0, 1, 0},
        {"complete trees", 60, 10, 10, 1, 9, 512, 0, 1, 0, 0, 1},
        {"mixed, 3 scores", 150, 20, 13, 3, 10, 64, 1, 1, 0, 1, 1},
        {"mixed, float64, mean", 90, 6, 6, 2, 8, 48, 0, 0, 1, 1, 1},
        {"stumps and single leaves", 40, 3, 2, 1, 1, 2, 1, 1, 0, 1, 0},
    };
    for (size_t ci = 0; ci < sizeof configs / sizeof configs[0]; ci++) {
        const config *c = &configs[ci];
        forest f = forest_new(c->n_trees, c->n_trees * 2 * c->leaves, c->nf, c->n_raw);
        for (size_t i = 0; i < c->n_trees; i++) {
            /* mixed forests: every third tree small */
            int mixed = c->want_small && c->want_walk && i % 3 == 0;
            grow(&f, c->depth, mixed ? 24 : c->leaves, c->used);
            end_tree(&f);
        }
        ms_trees *t = &f.m->trees;
        t->split = c->le ? MS_SPLIT_LE : MS_SPLIT_LT;
        t->float32_sum = c->f32;
        t->mean = c->mean;
        compile(f.m, c->name);
        const ms_tree_quant *q = quant_of(f.m);
        CHECK_MSG(q != NULL, "%s: expected a quantized layout", c->name);
        if (!q) {
            ms_model_free(f.m);
            continue;
        }
        size_t small = 0, walk = 0;
        for (size_t i = 0; i < c->n_trees; i++)
            q->n_split[i] == MS_QUANT_WALK ? walk++ : small++;
        CHECK_MSG(!!small == c->want_small && !!walk == c->want_walk,
                  "%s: %zu small trees and %zu complete ones", c->name, small, walk);
        for (size_t fi = c->used; fi < c->nf; fi++)
            CHECK_MSG(q->cut_len[fi] == 0, "%s: feature %zu is never split on", c->name, fi);
        check_bins(c->name, q, c->nf);
        compare_isas(c->name, f.m, 1000);
        ms_model_free(f.m);
    }
}

/* n stumps on feature 0 with the distinct thresholds 0, 1, .., n - 1. */
static ms_model *stumps(size_t n)
{
    forest f = forest_new(n, 3 * n, 2, 1);
    for (size_t i = 0; i < n; i++) {
        ms_trees *t = &f.m->trees;
        size_t base = f.n;
        add_node(&f, 0, (double)i, (int)(i % 2));
        t->left[base] = add_node(&f, -1, 0, 0);
        t->right[base] = add_node(&f, -1, 0, 0);
        end_tree(&f);
    }
    f.m->trees.float32_sum = 1;
    return f.m;
}

static void test_bounds(void)
{
    /* the most distinct thresholds one feature may have, and one more */
    ms_model *m = stumps(MS_QUANT_MAX_CUTS);
    compile(m, "65534 cuts");
    CHECK(quant_of(m) != NULL);
    compare_isas("65534 cuts", m, 129);
    ms_model_free(m);
    m = stumps(MS_QUANT_MAX_CUTS + 1);
    compile(m, "65535 cuts");
    CHECK(quant_of(m) == NULL);
    compare_isas("65535 cuts (not quantized)", m, 129);
    ms_model_free(m);

    /* a chain 16 splits deep ending in a subtree of up to 64 leaves: too
     * many leaves for the bitvector form, 2^22 slots to complete */
    forest f = forest_new(1, 400, 4, 1);
    ms_trees *t = &f.m->trees;
    int32_t prev = -1;
    for (int d = 0; d < 16; d++) {
        int32_t s = add_node(&f, d % 4, pool_threshold(), d % 2);
        if (prev >= 0)
            t->right[prev] = s;
        t->left[s] = add_node(&f, -1, 0, 0);
        prev = s;
    }
    t->right[prev] = grow(&f, 6, 64, 4);
    end_tree(&f);
    t->float32_sum = 1;
    compile(f.m, "deep chain");
    CHECK(quant_of(f.m) == NULL);
    compare_isas("deep chain (not quantized)", f.m, 1000);
    ms_model_free(f.m);

    /* feature indices must fit the node word's 15 bits */
    f = forest_new(3, 300, (size_t)MS_QNODE_FEAT + 2, 1);
    for (int i = 0; i < 3; i++) {
        size_t base = f.n;
        add_node(&f, i == 1 ? (int32_t)MS_QNODE_FEAT + 1 : i, pool_threshold(), 1);
        f.m->trees.left[base] = add_node(&f, -1, 0, 0);
        f.m->trees.right[base] = add_node(&f, -1, 0, 0);
        end_tree(&f);
    }
    compile(f.m, "32769 features");
    CHECK(quant_of(f.m) == NULL);
    ms_model_free(f.m);
}

int main(void)
{
    srand(11);
    test_forests();
    test_bounds();
    if (ms_test_failures)
        fprintf(stderr, "%d checks failed\n", ms_test_failures);
    return ms_test_failures ? 1 : 0;
}
