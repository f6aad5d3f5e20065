/*
 * test_trees.c — tree ensembles: the loader's refusals (exact messages), a
 * save/load round trip, and every ISA this CPU has against the scalar
 * reference on random trees (balanced, lopsided, single leaves), random
 * inputs with NaN, +-inf and values exactly equal to thresholds, both split
 * rules, float32 and float64 sums, one score and several, leaf vectors.
 * The scalar kernel walks the container's own arrays with float64
 * thresholds; the others walk the compiled layout, so agreement also
 * checks ms_trees_compile's threshold rounding and renumbering.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/kernels/trees_layout.h"
#include "../../src/core/model_internal.h"
#include "check.h"
#include "mpiscore/kernels.h"

static double urand(void)
{
    return (double)rand() / RAND_MAX;
}

/* Inputs and thresholds come from one small grid so that equality with a
 * threshold is common. */
static float grid(void)
{
    return (float)((rand() % 41) - 20) * 0.25f;
}

typedef struct {
    size_t cap, n;
    int32_t *feature, *left, *right;
    double *threshold, *value;
    uint8_t *ml;
    size_t w;
} builder;

static size_t add_node(builder *b)
{
    CHECK_FATAL(b->n < b->cap);
    size_t i = b->n++;
    b->feature[i] = -1;
    b->left[i] = b->right[i] = -1;
    b->threshold[i] = 0.0;
    b->ml[i] = 0;
    for (size_t k = 0; k < b->w; k++)
        b->value[i * b->w + k] = 0.0;
    return i;
}

/* A random subtree rooted at a new node; indices are tree-local (base is
 * the tree's first node in the builder). Thresholds are grid values, or
 * points between two floats (only a float64 holds them) so the compiled
 * float32 rule is exercised on both sides. */
static size_t grow(builder *b, size_t base, int depth, int lopsided, size_t nf)
{
    size_t i = add_node(b);
    int stop = depth == 0 || (depth < 6 && rand() % 5 == 0);
    if (stop) {
        for (size_t k = 0; k < b->w; k++)
            b->value[i * b->w + k] = (urand() - 0.5) * (rand() % 3 ? 1.0 : 1e4) + 1e-7 * urand();
        return i - base;
    }
    b->feature[i] = (int32_t)((size_t)rand() % nf);
    float g = grid();
    switch (rand() % 3) {
    case 0:
        b->threshold[i] = g;
        break;
    case 1: /* halfway to the next float: exactly representable in double */
        b->threshold[i] = ((double)g + (double)nextafterf(g, INFINITY)) / 2;
        break;
    default:
        b->threshold[i] = (double)g - 1e-9;
        break;
    }
    b->ml[i] = (uint8_t)(rand() % 2);
    /* lopsided trees are long chains with small trees hanging off them */
    int dl = depth - 1, dr = depth - 1;
    if (lopsided && rand() % 2)
        dl = rand() % 3;
    else if (lopsided)
        dr = rand() % 3;
    size_t l = grow(b, base, dl, lopsided, nf);
    size_t r = grow(b, base, dr, lopsided, nf);
    b->left[i] = (int32_t)l;
    b->right[i] = (int32_t)r;
    return i - base;
}

typedef struct {
    size_t n_trees, n_raw, w, nf;
    int le, f32, mean, lopsided;
} config;

static ms_model *make_forest(const config *c)
{
    ms_model *m = calloc(1, sizeof *m);
    CHECK_FATAL(m);
    builder b = {.cap = c->n_trees * 20000, .w = c->w};
    b.feature = malloc(b.cap * sizeof *b.feature);
    b.left = malloc(b.cap * sizeof *b.left);
    b.right = malloc(b.cap * sizeof *b.right);
    b.threshold = malloc(b.cap * sizeof *b.threshold);
    b.value = malloc(b.cap * b.w * sizeof *b.value);
    b.ml = malloc(b.cap);
    CHECK_FATAL(b.feature && b.left && b.right && b.threshold && b.value && b.ml);
    ms_trees *t = &m->trees;
    t->node_offset = malloc((c->n_trees + 1) * sizeof *t->node_offset);
    t->tree_output = c->w == 1 ? malloc(c->n_trees * sizeof *t->tree_output) : NULL;
    CHECK_FATAL(t->node_offset);
    for (size_t i = 0; i < c->n_trees; i++) {
        t->node_offset[i] = (int64_t)b.n;
        int depth = i % 7 == 3 ? 0 : 1 + rand() % (c->lopsided ? 30 : 10);
        grow(&b, b.n, depth, c->lopsided, c->nf);
        if (t->tree_output)
            t->tree_output[i] = (int32_t)(i % c->n_raw);
    }
    t->node_offset[c->n_trees] = (int64_t)b.n;
    t->n_trees = c->n_trees;
    t->n_nodes = b.n;
    t->leaf_width = c->w;
    t->feature = b.feature;
    t->left = b.left;
    t->right = b.right;
    t->threshold = b.threshold;
    t->value = b.value;
    t->missing_left = b.ml;
    t->base_score = malloc(c->n_raw * sizeof *t->base_score);
    for (size_t k = 0; k < c->n_raw; k++)
        t->base_score[k] = urand() - 0.5;
    t->split = c->le ? MS_SPLIT_LE : MS_SPLIT_LT;
    t->float32_sum = c->f32;
    t->mean = c->mean;
    m->kind = MS_KIND_TREES;
    m->link = MS_LINK_IDENTITY;
    m->n_features = c->nf;
    m->n_raw = m->n_outputs = c->n_raw;
    m->feature_names = calloc(c->nf, sizeof(char *));
    for (size_t i = 0; i < c->nf; i++) {
        m->feature_names[i] = malloc(24);
        snprintf(m->feature_names[i], 24, "f%zu", i);
    }
    m->output_names = calloc(c->n_raw, sizeof(char *));
    for (size_t i = 0; i < c->n_raw; i++) {
        m->output_names[i] = malloc(24);
        snprintf(m->output_names[i], 24, "s%zu", i);
    }
    return m;
}

static void fill_inputs(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int r = rand() % 100;
        x[i] = r < 10 ? NAN : r < 12 ? INFINITY : r < 14 ? -INFINITY : grid();
    }
}

/* mode 0: as compiled (the quantized layout where it suits, tested on its
 * own in test_trees_quant.c); 1: without it, so the packed walk runs; 2:
 * without the packed layout either, so the kernels' general walk runs (it
 * serves models with more than 2^16 features or very wide trees). */
static void compare_isas(const char *what, ms_model *m, int mode)
{
    static const size_t rows[] = {1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 700};
    ms_error err;
    CHECK_MSG(ms_model_validate(m, "t.h5", &err) == MS_OK, "%s: %s", what, err.msg);
    CHECK_FATAL(ms_trees_compile(m, &err) == MS_OK);
    ms_tree_layout *l = m->trees.compiled;
    CHECK_MSG(l->packed != NULL, "%s: expected a packed layout", what);
    if (mode > 0) {
        ms_tree_quant_free(l->quant);
        l->quant = NULL;
    }
    if (mode > 1) {
        free(l->packed);
        l->packed = NULL;
    }
    for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++) {
        size_t n = rows[ri];
        float *x = malloc(n * m->n_features * sizeof *x);
        float *ref = malloc(n * m->n_outputs * sizeof *ref);
        float *out = malloc(n * m->n_outputs * sizeof *out);
        float *scratch = malloc(ms_predict_scratch_floats(m, n) * sizeof *scratch);
        CHECK_FATAL(x && ref && out && scratch);
        fill_inputs(x, n * m->n_features);
        ms_predict(m, MS_ISA_SCALAR, x, n, ref, scratch);
        for (int isa = 1; isa < MS_ISA_COUNT; isa++) {
            if (!ms_isa_supported((ms_isa)isa))
                continue;
            ms_predict(m, (ms_isa)isa, x, n, out, scratch);
            size_t bad = 0, first = 0;
            for (size_t i = 0; i < n * m->n_outputs; i++)
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

static void test_isas(void)
{
    static const config configs[] = {
        {.n_trees = 40, .n_raw = 1, .w = 1, .nf = 7, .le = 0, .f32 = 1},
        {.n_trees = 40, .n_raw = 1, .w = 1, .nf = 7, .le = 1, .f32 = 0},
        {.n_trees = 30, .n_raw = 3, .w = 1, .nf = 30, .le = 0, .f32 = 1},
        {.n_trees = 30, .n_raw = 3, .w = 1, .nf = 1, .le = 1, .f32 = 0, .lopsided = 1},
        {.n_trees = 20, .n_raw = 3, .w = 3, .nf = 5, .le = 1, .f32 = 0, .mean = 1},
        {.n_trees = 25, .n_raw = 2, .w = 2, .nf = 4, .le = 0, .f32 = 1, .lopsided = 1},
        {.n_trees = 1, .n_raw = 1, .w = 1, .nf = 3, .le = 1, .f32 = 0, .mean = 1},
        {.n_trees = 300, .n_raw = 1, .w = 1, .nf = 12, .le = 0, .f32 = 1, .lopsided = 1},
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        for (int mode = 0; mode < 3; mode++) {
            static const char *const modes[] = {"", " (not quantized)", " (unpacked)"};
            char what[64];
            snprintf(what, sizeof what, "config %zu%s", i, modes[mode]);
            ms_model *m = make_forest(&configs[i]);
            compare_isas(what, m, mode);
            ms_model_free(m);
        }
    }
}

/* A 3-node tree: root splits feature 0 at 0.5, leaves -1 and +1. */
static ms_model *tiny(void)
{
    config c = {.n_trees = 1, .n_raw = 1, .w = 1, .nf = 2};
    ms_model *m = make_forest(&c);
    ms_trees *t = &m->trees;
    t->n_nodes = 3;
    t->node_offset[1] = 3;
    int32_t f[] = {0, -1, -1}, l[] = {1, -1, -1}, r[] = {2, -1, -1};
    double v[] = {0, -1, 1};
    memcpy(t->feature, f, sizeof f);
    memcpy(t->left, l, sizeof l);
    memcpy(t->right, r, sizeof r);
    memcpy(t->value, v, sizeof v);
    t->threshold[0] = 0.5;
    t->missing_left[0] = 1;
    t->base_score[0] = 0.25;
    return m;
}

static void expect_refusal(ms_model *m, const char *want)
{
    ms_error err;
    ms_status st = ms_model_validate(m, "t.h5", &err);
    CHECK_MSG(st == MS_EMODEL, "expected a refusal: %s", want);
    if (st == MS_EMODEL)
        CHECK_STREQ(err.msg, want);
    ms_model_free(m);
}

static void test_refusals(void)
{
    ms_model *m;
    m = tiny();
    m->trees.left[0] = 3;
    expect_refusal(m, "t.h5: tree 0 node 0: left child 3 is out of range (the tree has 3 nodes)");
    m = tiny();
    m->trees.right[0] = 0;
    expect_refusal(m, "t.h5: tree 0 node 0: child 0 is reached twice (a cycle or a shared node)");
    m = tiny();
    m->trees.right[0] = 1;
    expect_refusal(m, "t.h5: tree 0 node 0: child 1 is reached twice (a cycle or a shared node)");
    m = tiny();
    m->trees.feature[1] = 1; /* a split whose children point back at the root */
    m->trees.left[1] = 0;
    m->trees.right[1] = 2;
    expect_refusal(m, "t.h5: tree 0 node 1: child 0 is reached twice (a cycle or a shared node)");
    m = tiny();
    m->trees.feature[0] = 2;
    expect_refusal(
        m, "t.h5: tree 0 node 0: split feature 2 is out of range (the model has 2 features)");
    m = tiny();
    m->trees.value[2] = NAN;
    expect_refusal(m, "t.h5: tree 0 node 2: leaf value is NaN");
    m = tiny();
    m->trees.left[2] = 1;
    expect_refusal(m, "t.h5: tree 0 node 2: a leaf (feature -1) has children");
    m = tiny();
    m->trees.threshold[0] = INFINITY;
    expect_refusal(m, "t.h5: tree 0 node 0: threshold is not finite");
    m = tiny();
    m->trees.tree_output[0] = 1;
    expect_refusal(m, "t.h5: tree 0 adds to score 1, but the model has 1 scores");
    m = tiny();
    m->trees.base_score[0] = NAN;
    expect_refusal(m, "t.h5: /trees/base_score[0] is not finite");
    m = tiny(); /* node 2 unreachable: the root's right child is a new leaf 3 */
    m->trees.n_nodes = 4;
    m->trees.node_offset[1] = 4;
    m->trees.feature[3] = -1;
    m->trees.left[3] = m->trees.right[3] = -1;
    m->trees.value[3] = 0;
    m->trees.right[0] = 3;
    expect_refusal(m, "t.h5: tree 0 node 2 is not reachable from the tree's root");
}

/* Split rule and missing routing on values at the threshold, and the
 * float64 threshold's exact meaning for float32 inputs. */
static void test_semantics(void)
{
    ms_error err;
    float x[] = {0.5f, 0, 0.49999997f, 0, NAN, 0, 0.50000006f, 0};
    for (int le = 0; le < 2; le++) {
        for (int isa = 0; isa < MS_ISA_COUNT; isa++) {
            if (!ms_isa_supported((ms_isa)isa))
                continue;
            ms_model *m = tiny();
            m->trees.split = le ? MS_SPLIT_LE : MS_SPLIT_LT;
            CHECK_FATAL(ms_model_validate(m, "t.h5", &err) == MS_OK);
            CHECK_FATAL(ms_trees_compile(m, &err) == MS_OK);
            float out[4], scratch[4];
            ms_predict(m, (ms_isa)isa, x, 4, out, scratch);
            CHECK(out[0] == (le ? -0.75f : 1.25f)); /* 0.5 itself */
            CHECK(out[1] == -0.75f);
            CHECK(out[2] == -0.75f); /* NaN goes left */
            CHECK(out[3] == 1.25f);
            /* a threshold between two floats: 0.5 and its successor both
             * compare the same under either rule */
            ms_model_free(m);
            m = tiny();
            m->trees.split = le ? MS_SPLIT_LE : MS_SPLIT_LT;
            m->trees.threshold[0] = (0.5 + (double)nextafterf(0.5f, 1.0f)) / 2;
            m->trees.missing_left[0] = 0;
            CHECK_FATAL(ms_trees_compile(m, &err) == MS_OK);
            ms_predict(m, (ms_isa)isa, x, 4, out, scratch);
            CHECK(out[0] == -0.75f);
            CHECK(out[2] == 1.25f); /* NaN goes right now */
            CHECK(out[3] == 1.25f);
            ms_model_free(m);
        }
    }
}

static void test_round_trip(void)
{
    config c = {.n_trees = 12, .n_raw = 3, .w = 1, .nf = 6, .le = 1, .f32 = 0};
    ms_model *m = make_forest(&c);
    m->link = MS_LINK_SOFTMAX;
    m->n_classes = 3;
    m->class_labels = calloc(3, sizeof(char *));
    for (int i = 0; i < 3; i++) {
        m->class_labels[i] = malloc(4);
        snprintf(m->class_labels[i], 4, "c%d", i);
    }
    ms_error err;
    char path[64];
    snprintf(path, sizeof path, "/tmp/ms-test-trees-%ld.h5", (long)getpid());
    CHECK_FATAL(ms_model_validate(m, path, &err) == MS_OK);
    CHECK_FATAL(ms_trees_compile(m, &err) == MS_OK);
    CHECK_MSG(ms_model_save(m, path, &err) == MS_OK, "%s", err.msg);
    ms_model *back = NULL;
    CHECK_MSG(ms_model_load(path, &back, &err) == MS_OK, "%s", err.msg);
    unlink(path);
    if (!back) {
        ms_model_free(m);
        return;
    }
    CHECK(back->trees.n_trees == 12 && back->trees.n_nodes == m->trees.n_nodes);
    CHECK(back->trees.split == MS_SPLIT_LE && back->n_raw == 3 && back->n_classes == 3);
    size_t n = 100;
    float *x = malloc(n * 6 * sizeof *x), *a = malloc(n * 3 * sizeof *a);
    float *b = malloc(n * 3 * sizeof *b), *s = malloc(ms_predict_scratch_floats(m, n) * 4);
    fill_inputs(x, n * 6);
    ms_predict(m, MS_ISA_SCALAR, x, n, a, s);
    ms_predict(back, ms_isa_best(), x, n, b, s);
    CHECK(memcmp(a, b, n * 3 * sizeof *a) == 0);
    free(x);
    free(a);
    free(b);
    free(s);
    ms_model_free(back);
    ms_model_free(m);
}

/* Mark about a third of a forest's splits categorical, each with a random
 * bitset of 0..3 words. */
static void add_categories(ms_model *m, int other_missing, int uint8_cast)
{
    ms_trees *t = &m->trees;
    t->is_cat = calloc(t->n_nodes, 1);
    t->cat_offset = calloc(t->n_nodes + 1, sizeof *t->cat_offset);
    t->cat_bits = malloc((3 * t->n_nodes + 1) * sizeof *t->cat_bits);
    CHECK_FATAL(t->is_cat && t->cat_offset && t->cat_bits);
    size_t w = 0;
    for (size_t n = 0; n < t->n_nodes; n++) {
        if (t->feature[n] >= 0 && rand() % 3 == 0) {
            t->is_cat[n] = 1;
            for (int k = rand() % 4; k > 0; k--)
                t->cat_bits[w++] = (uint32_t)rand() ^ ((uint32_t)rand() << 16);
        }
        t->cat_offset[n + 1] = (int64_t)w;
    }
    t->n_cat_words = w;
    t->cat_other_missing = other_missing;
    t->cat_uint8 = uint8_cast;
}

/* Categorical splits on every ISA (trees_cat.c's blocked walk) score as the
 * reference walk does, bit for bit; and the rule itself on a stump: listed
 * categories go right, others left or where missing goes, NaN the missing
 * way, fractions truncate, uint8 casting wraps at 256. */
static void test_categorical(void)
{
    static const config configs[] = {
        {.n_trees = 40, .n_raw = 1, .w = 1, .nf = 7, .le = 0, .f32 = 1},
        {.n_trees = 30, .n_raw = 3, .w = 1, .nf = 3, .le = 0, .f32 = 1, .lopsided = 1},
        {.n_trees = 20, .n_raw = 3, .w = 3, .nf = 5, .le = 1, .f32 = 0, .mean = 1},
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "categorical config %zu", i);
        ms_model *m = make_forest(&configs[i]);
        add_categories(m, (int)i % 2, (int)i == 1);
        compare_isas(what, m, 0);
        ms_model_free(m);
    }
    static const struct {
        float x;
        int other_missing, uint8_cast;
        double want;
    } cases[] = {
        {1, 0, 0, 1},     {2, 0, 0, -1},   {33, 0, 0, 1},  {1.9f, 0, 0, 1},  {-0.5f, 0, 0, -1},
        {-0.5f, 1, 0, 1}, {64, 0, 0, -1},  {64, 1, 0, 1},  {NAN, 0, 0, 1},   {-0.0f, 0, 0, -1},
        {257, 0, 1, 1},   {257, 0, 0, -1}, {289, 1, 1, 1}, {3e9f, 1, 1, -1}, {INFINITY, 0, 0, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ms_model *m = tiny(); /* missing goes left (leaf -1) ... */
        ms_trees *t = &m->trees;
        t->missing_left[0] = 0; /* ... now right (leaf +1) */
        t->is_cat = calloc(3, 1);
        t->cat_offset = calloc(4, sizeof *t->cat_offset);
        t->cat_bits = malloc(2 * sizeof *t->cat_bits);
        CHECK_FATAL(t->is_cat && t->cat_offset && t->cat_bits);
        t->is_cat[0] = 1;
        t->cat_offset[1] = t->cat_offset[2] = t->cat_offset[3] = 2;
        t->cat_bits[0] = 1u << 1; /* category 1 and 33 go right */
        t->cat_bits[1] = 1u << 1;
        t->n_cat_words = 2;
        t->cat_other_missing = cases[i].other_missing;
        t->cat_uint8 = cases[i].uint8_cast;
        ms_error err;
        CHECK_MSG(ms_model_validate(m, "t.h5", &err) == MS_OK, "%s", err.msg);
        for (int isa = 0; isa < MS_ISA_COUNT; isa++) {
            if (!ms_isa_supported((ms_isa)isa))
                continue;
            float x[2] = {cases[i].x, 0}, out[1], scratch[64];
            ms_predict(m, (ms_isa)isa, x, 1, out, scratch);
            CHECK_MSG(out[0] == (float)(0.25 + cases[i].want),
                      "categorical case %zu (x = %g) on %s: %g", i, (double)cases[i].x,
                      ms_isa_name((ms_isa)isa), (double)out[0]);
        }
        ms_model_free(m);
    }
}

int main(void)
{
    srand(7);
    test_refusals();
    test_semantics();
    test_isas();
    test_categorical();
    test_round_trip();
    if (ms_test_failures)
        fprintf(stderr, "%d checks failed\n", ms_test_failures);
    return ms_test_failures ? 1 : 0;
}
