/*
 * xgb_import.c — XGBoost JSON model -> ms_model (xgb_import.h).
 *
 * Mirrors what XGBoost 1.7 itself does with the same file, so the imported
 * model predicts what XGBoost predicts, bit for bit before the link:
 *  - trees are placed by their "id" (gbm/gbtree_model.cc LoadModel) and
 *    summed in that order per output group (tree_info), into a float32
 *    starting at the base margin (predictor/cpu_predictor.cc,
 *    predictor.cc InitOutPredictions);
 *  - a node is a leaf when its left child is -1; its value is its
 *    split_condition (tree_model.cc LoadModelImpl: the Node union);
 *  - a split goes left when x < split_condition (float32), a missing value
 *    (NaN) follows default_left; the right child XGBoost takes is always
 *    left + 1 (predict_fn.h GetNextNode), so a file saying otherwise is
 *    refused rather than read two ways;
 *  - base_score is the text XGBoost prints with to_chars; its margin is the
 *    objective's ProbToMargin computed in float (objective/regression_loss.h,
 *    regression_obj.cu; learner.cc).
 * Unreachable nodes (pruned ones, marked deleted) are dropped and the rest
 * renumbered, so every stored node is reachable exactly once.
 *
 * Before jansson sees the text, one pass over it (prescan) settles two
 * things jansson cannot:
 *  - Non-finite floats: XGBoost writes bare NaN, Infinity and -Infinity,
 *    which are not JSON (categorical splits always carry a NaN
 *    split_condition; statistics can be non-finite). Outside strings they
 *    are replaced, in a copy, by strings of the same length ("N", "+Inf",
 *    "-Inf", space-padded), so jansson parses the file with its positions
 *    intact and the importer says "NaN" where the value matters (a leaf)
 *    and ignores it where XGBoost does (statistics we do not read).
 *  - Exact float32 values: XGBoost reads each float straight from its text
 *    (correctly rounded); jansson gives the nearest double, and rounding
 *    that again to float gives the same float unless the double is exactly
 *    halfway between two floats. That happens: "33554450" (a shortest
 *    float32 text that is itself a midpoint) and "7.038531e-26" (a double
 *    rounding error) both do, about 0.2% of all float32 values. So every
 *    real whose double is such a midpoint is read again with strtof and the
 *    float kept in a table; two texts with the same midpoint double but
 *    different floats (never written by XGBoost) are refused.
 */
#include "mpiscore/xgb_import.h"

#include <errno.h>
#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_internal.h"
#include "mpiscore/prep.h"
#include "ubjson.h"

/* XGBoost marks a deleted (pruned) node with this split index. */
#define XGB_DELETED_NODE 2147483647LL

typedef enum { BASE_AS_IS, BASE_LOGIT, BASE_LOG } base_rule;
typedef enum { OUT_SCORE, OUT_BINARY_PROB, OUT_BINARY_MARGIN, OUT_MULTI } out_shape;

/* Objectives whose prediction transform is one of our links. base: the
 * objective's ProbToMargin; out: the outputs and classes it gets. */
static const struct objective {
    const char *name;
    ms_link link;
    base_rule base;
    out_shape out;
} objectives[] = {
    {"binary:logistic", MS_LINK_LOGISTIC, BASE_LOGIT, OUT_BINARY_PROB},
    {"binary:logitraw", MS_LINK_IDENTITY, BASE_AS_IS, OUT_BINARY_MARGIN},
    /* 0/1 predictions (margin > 0), classes 0 and 1 */
    {"binary:hinge", MS_LINK_STEP, BASE_AS_IS, OUT_BINARY_MARGIN},
    {"reg:logistic", MS_LINK_LOGISTIC, BASE_LOGIT, OUT_SCORE},
    {"reg:squarederror", MS_LINK_IDENTITY, BASE_AS_IS, OUT_SCORE},
    {"reg:squaredlogerror", MS_LINK_IDENTITY, BASE_AS_IS, OUT_SCORE},
    {"reg:pseudohubererror", MS_LINK_IDENTITY, BASE_AS_IS, OUT_SCORE},
    {"reg:absoluteerror", MS_LINK_IDENTITY, BASE_AS_IS, OUT_SCORE},
    {"count:poisson", MS_LINK_EXP, BASE_LOG, OUT_SCORE},
    {"reg:gamma", MS_LINK_EXP, BASE_LOG, OUT_SCORE},
    {"reg:tweedie", MS_LINK_EXP, BASE_LOG, OUT_SCORE},
    /* learning to rank: the prediction is the margin (no transform, and
     * base_score is used as it is, ObjFunction's default ProbToMargin) */
    {"rank:pairwise", MS_LINK_IDENTITY, BASE_AS_IS, OUT_SCORE},
    {"rank:ndcg", MS_LINK_IDENTITY, BASE_AS_IS, OUT_SCORE},
    {"rank:map", MS_LINK_IDENTITY, BASE_AS_IS, OUT_SCORE},
    {"multi:softprob", MS_LINK_SOFTMAX, BASE_AS_IS, OUT_MULTI},
    {"multi:softmax", MS_LINK_SOFTMAX, BASE_AS_IS, OUT_MULTI},
};
#define N_OBJECTIVES (sizeof objectives / sizeof objectives[0])

/* A real whose double lies exactly halfway between two floats, and the
 * float its text means (strtof). Sorted by d; `conflict` when two texts
 * with this double mean different floats. */
typedef struct midpoint {
    double d;
    float f;
    int conflict;
} midpoint;

typedef struct ctx {
    const char *name; /* the source, first in every message */
    ms_error *err;
    midpoint *mid; /* from prescan, sorted by d */
    size_t n_mid;
    locale_t cloc; /* numbers are read in the C locale, whatever the caller's */
} ctx;

static ms_status fail(ctx *c, ms_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ms_status fail(ctx *c, ms_status st, const char *fmt, ...)
{
    char msg[MS_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ms_error_set(c->err, st, "%s: %s", c->name, msg);
}

static const char *type_name(json_type t)
{
    switch (t) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Member `key` of object `obj` (whose path in the file is `path`) with the
 * given type. Absent: MS_OK with *out = NULL when optional. */
static ms_status member(ctx *c, json_t *obj, const char *path, const char *key, json_type type,
                        int optional, json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) {
        if (optional)
            return MS_OK;
        return fail(c, MS_EMODEL, "%s%s%s is missing", path, *path ? "." : "", key);
    }
    if (json_typeof(v) != type)
        return fail(c, MS_EMODEL, "%s%s%s is %s, expected %s", path, *path ? "." : "", key,
                    type_name(json_typeof(v)),
                    type == JSON_INTEGER ? "an integer" : type_name(type));
    *out = v;
    return MS_OK;
}

/* XGBoost stores its parameters as decimal strings ("num_feature": "3"). */
static ms_status count_param(ctx *c, json_t *obj, const char *path, const char *key, long long max,
                             int optional, long long dflt, long long *out)
{
    ms_status st;
    json_t *v;
    if ((st = member(c, obj, path, key, JSON_STRING, optional, &v)) != MS_OK)
        return st;
    *out = dflt;
    if (!v)
        return MS_OK;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    long long x = 0;
    int ok = n > 0 && n <= 19;
    for (size_t i = 0; ok && i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            ok = 0;
        else
            x = x * 10 + (s[i] - '0');
    }
    if (!ok || x > max) {
        char q[64];
        ms_quote_excerpt(s, n, 32, q, sizeof q);
        if (ok)
            return fail(c, MS_EMODEL, "%s.%s = %s is too large (at most %lld)", path, key, q, max);
        return fail(c, MS_EMODEL, "%s.%s = \"%s\" is not a non-negative integer", path, key, q);
    }
    *out = x;
    return MS_OK;
}

/* A decimal number as XGBoost's to_chars writes it (no hex, inf or nan,
 * which strtof would also take). */
static int is_decimal(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (!digits)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    return i == n;
}

typedef enum { F32_OK, F32_NOT_NUMBER, F32_NAN, F32_INF, F32_RANGE, F32_AMBIGUOUS } f32_result;

/* The stand-ins prescan puts where XGBoost wrote NaN / +-Infinity. */
#define NAN_MARK "\"N\""
#define POS_INF_MARK "\"+Inf\""
#define NEG_INF_MARK "\"-Inf\""

/* 1 if d lies exactly halfway between two adjacent float32 values (the
 * largest float and 2^128, where rounding overflows, count too). */
static int f32_midpoint(double d)
{
    float f = (float)d;
    if ((double)f == d || isnan(d))
        return 0;
    float lo = (double)f < d ? f : nextafterf(f, -INFINITY);
    float hi = (double)f < d ? nextafterf(f, INFINITY) : f;
    double dl = isinf(lo) ? -ldexp(1, 128) : (double)lo;
    double dh = isinf(hi) ? ldexp(1, 128) : (double)hi;
    return (dl + dh) / 2 == d;
}

static int cmp_midpoint(const void *a, const void *b)
{
    double x = ((const midpoint *)a)->d, y = ((const midpoint *)b)->d;
    return x < y ? -1 : x > y;
}

/* The float32 XGBoost reads from a JSON number (see the top of the file). */
static f32_result json_f32(const ctx *c, json_t *v, float *out)
{
    if (json_is_integer(v)) {
        *out = (float)json_integer_value(v); /* correctly rounded */
        return F32_OK;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!strcmp(s, "N"))
            return F32_NAN;
        if (!strcmp(s, "+Inf") || !strcmp(s, "-Inf"))
            return F32_INF;
    }
    if (!json_is_real(v))
        return F32_NOT_NUMBER;
    double d = json_real_value(v);
    float f = (float)d;
    if (f32_midpoint(d)) {
        midpoint key = {d, 0, 0};
        const midpoint *hit =
            c->n_mid ? bsearch(&key, c->mid, c->n_mid, sizeof *c->mid, cmp_midpoint) : NULL;
        if (!hit || hit->conflict) /* no hit: a text prescan did not see */
            return F32_AMBIGUOUS;
        f = hit->f;
    }
    *out = f;
    if (!isfinite(f))
        return F32_RANGE;
    return F32_OK;
}

static ms_status f32_fail(ctx *c, f32_result r, json_t *v, const char *what)
{
    if (r == F32_NOT_NUMBER)
        return fail(c, MS_EMODEL, "%s is %s, expected a number", what, type_name(json_typeof(v)));
    if (r == F32_NAN || r == F32_INF)
        return fail(c, MS_EMODEL, "%s is %s", what, r == F32_NAN ? "NaN" : "infinite");
    if (r == F32_RANGE)
        return fail(c, MS_EMODEL, "%s = %.9g is out of float32 range", what, json_number_value(v));
    return fail(c, MS_EMODEL,
                "%s = %.17g: the file holds two numbers that read as this double but as "
                "different float32 values",
                what, json_number_value(v));
}

/* An integer element of a JSON array. */
static int elem_int(json_t *arr, size_t i, long long *out)
{
    json_t *v = json_array_get(arr, i);
    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

/* One tree's arrays, checked for presence, type and length. */
typedef struct tree_json {
    json_t *left, *right, *feature, *cond, *default_left, *split_type;
    /* categorical splits: node ids, and each one's categories (those that
     * go right) as categories[segments[k] .. + sizes[k]) */
    json_t *cat_nodes, *cat_segments, *cat_sizes, *cats;
    long long n_nodes;
} tree_json;

static ms_status tree_shape(ctx *c, json_t *tree, size_t pos, tree_json *tj)
{
    ms_status st;
    char path[96];
    json_t *tp;
    snprintf(path, sizeof path, "learner.gradient_booster.model.trees[%zu]", pos);
    if ((st = member(c, tree, path, "tree_param", JSON_OBJECT, 0, &tp)) != MS_OK)
        return st;
    char tpath[128];
    snprintf(tpath, sizeof tpath, "%s.tree_param", path);
    long long leaf_vec;
    if ((st = count_param(c, tp, tpath, "num_nodes", INT32_MAX, 0, 0, &tj->n_nodes)) != MS_OK ||
        (st = count_param(c, tp, tpath, "size_leaf_vector", INT32_MAX, 1, 0, &leaf_vec)) != MS_OK)
        return st;
    if (tj->n_nodes < 1)
        return fail(c, MS_EMODEL, "%s.num_nodes = 0: a tree has at least a root", tpath);
    if (leaf_vec > 1)
        return fail(c, MS_EMODEL, "%s.size_leaf_vector = %lld: vector leaves are not supported",
                    tpath, leaf_vec);
    static const char *const keys[] = {"left_children",    "right_children", "split_indices",
                                       "split_conditions", "default_left",   "split_type"};
    json_t **slots[] = {&tj->left, &tj->right,        &tj->feature,
                        &tj->cond, &tj->default_left, &tj->split_type};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        /* split_type came with categorical support (1.5); older files are
         * all numerical */
        int optional = !strcmp(keys[k], "split_type");
        if ((st = member(c, tree, path, keys[k], JSON_ARRAY, optional, slots[k])) != MS_OK)
            return st;
        if (*slots[k] && json_array_size(*slots[k]) != (size_t)tj->n_nodes)
            return fail(c, MS_EMODEL, "%s.%s has %zu values but tree_param.num_nodes = %lld", path,
                        keys[k], json_array_size(*slots[k]), tj->n_nodes);
    }
    static const char *const cat_keys[] = {"categories_nodes", "categories_segments",
                                           "categories_sizes", "categories"};
    json_t **cat_slots[] = {&tj->cat_nodes, &tj->cat_segments, &tj->cat_sizes, &tj->cats};
    for (size_t k = 0; k < 4; k++)
        if ((st = member(c, tree, path, cat_keys[k], JSON_ARRAY, 1, cat_slots[k])) != MS_OK)
            return st;
    size_t nc = tj->cat_nodes ? json_array_size(tj->cat_nodes) : 0;
    if (nc && (!tj->cat_segments || !tj->cat_sizes || !tj->cats))
        return fail(c, MS_EMODEL,
                    "%s has categories_nodes but not categories_segments, categories_sizes and "
                    "categories",
                    path);
    for (size_t k = 1; nc && k < 3; k++)
        if (json_array_size(*cat_slots[k]) != nc)
            return fail(c, MS_EMODEL, "%s.%s has %zu values but categories_nodes has %zu", path,
                        cat_keys[k], json_array_size(*cat_slots[k]), nc);
    return MS_OK;
}

/* The imported forest, grown tree by tree. */
typedef struct forest {
    size_t n_trees, n_nodes, cap_nodes, max_depth, n_leaves;
    int64_t *node_offset;
    int32_t *feature, *left, *right, *tree_output;
    double *threshold, *value;
    uint8_t *missing_left;
    /* categorical splits (model.h ms_trees): is_cat and cat_offset per
     * node (cap_nodes + 1), the bitset words grown as trees come */
    uint8_t *is_cat;
    int64_t *cat_offset;
    uint32_t *cat_bits;
    size_t n_words, cap_words, n_cat;
} forest;

/* XGBoost's categories are below 2^24 (common/categorical.h
 * OutOfRangeCat: a float holds each exactly). */
#define XGB_MAX_CAT ((long long)MS_CAT_MAX_WORDS * 32 - 1)

/* Node i's entry in the tree's categories_nodes, or -1. */
static ms_status cat_index(ctx *c, const tree_json *tj, size_t id, size_t n, int32_t *idx)
{
    size_t nc = tj->cat_nodes ? json_array_size(tj->cat_nodes) : 0;
    for (size_t i = 0; i < n; i++)
        idx[i] = -1;
    for (size_t k = 0; k < nc; k++) {
        long long node;
        if (elem_int(tj->cat_nodes, k, &node) || node < 0 || node >= (long long)n)
            return fail(c, MS_EMODEL, "tree %zu: categories_nodes[%zu] is not a node of the tree",
                        id, k);
        if (idx[node] >= 0)
            return fail(c, MS_EMODEL, "tree %zu: categories_nodes lists node %lld twice", id, node);
        idx[node] = (int32_t)k;
    }
    return MS_OK;
}

/* Append node i's bitset (its categories go right) to f: one bit per
 * category, words up to the largest, as XGBoost's loader sizes it. */
static ms_status cat_bitset(ctx *c, const tree_json *tj, size_t id, size_t i, int32_t k, forest *f)
{
    long long seg = 0, size = 0, top = -1;
    size_t n_cats = json_array_size(tj->cats);
    if (k >= 0 && (elem_int(tj->cat_segments, (size_t)k, &seg) ||
                   elem_int(tj->cat_sizes, (size_t)k, &size) || seg < 0 || size < 0 ||
                   (unsigned long long)seg > n_cats || (unsigned long long)size > n_cats - seg))
        return fail(c, MS_EMODEL,
                    "tree %zu node %zu: categories_segments / categories_sizes lie outside the "
                    "%zu categories",
                    id, i, n_cats);
    for (long long j = seg; j < seg + size; j++) {
        long long v;
        if (elem_int(tj->cats, (size_t)j, &v) || v < 0 || v > XGB_MAX_CAT)
            return fail(c, MS_EMODEL,
                        "tree %zu node %zu: categories[%lld] is not a category (an integer in "
                        "0..%lld)",
                        id, i, j, XGB_MAX_CAT);
        if (v > top)
            top = v;
    }
    size_t words = top < 0 ? 0 : (size_t)top / 32 + 1;
    if (words == 0)
        return MS_OK; /* an empty set: nothing goes right, no words */
    if (f->n_words + words > f->cap_words) {
        size_t cap = f->cap_words ? f->cap_words : 64;
        while (cap < f->n_words + words)
            cap *= 2;
        uint32_t *nb = realloc(f->cat_bits, cap * sizeof *nb);
        if (!nb)
            return ms_error_set(c->err, MS_EINTERNAL, "out of memory (%zu bitset words)", cap);
        f->cat_bits = nb;
        f->cap_words = cap;
    }
    uint32_t *w = f->cat_bits + f->n_words;
    memset(w, 0, words * sizeof *w);
    for (long long j = seg; j < seg + size; j++) {
        long long v = 0;
        elem_int(tj->cats, (size_t)j, &v);
        w[v / 32] |= 1u << (v % 32);
    }
    f->n_words += words;
    return MS_OK;
}

/* Check tree `id` completely and, when `keep`, append its reachable nodes
 * (renumbered in file order, so the root stays first) to f. The walk is
 * iterative with an explicit stack: depth is bounded only by the file. */
static ms_status convert_tree(ctx *c, const tree_json *tj, size_t id, long long n_features,
                              int keep, forest *f)
{
    ms_status st = MS_OK;
    size_t n = (size_t)tj->n_nodes;
    uint8_t *seen = calloc(n, 1);
    int32_t *stack = malloc(n * sizeof *stack), *depth = malloc(n * sizeof *depth);
    int32_t *newid = malloc(n * sizeof *newid), *catk = malloc(n * sizeof *catk);
    if (!seen || !stack || !depth || !newid || !catk) {
        st = ms_error_set(c->err, MS_EINTERNAL, "out of memory (tree %zu: %zu nodes)", id, n);
        goto done;
    }
    if ((st = cat_index(c, tj, id, n, catk)) != MS_OK)
        goto done;
    size_t top = 0, max_depth = 0, leaves = 0;
    stack[top++] = 0;
    seen[0] = 1;
    depth[0] = 0;
    while (top) {
        size_t i = (size_t)stack[--top];
        long long l, r;
        if (elem_int(tj->left, i, &l) || elem_int(tj->right, i, &r)) {
            st = fail(c, MS_EMODEL, "tree %zu node %zu: %s is not an integer", id, i,
                      elem_int(tj->left, i, &l) ? "left_children" : "right_children");
            goto done;
        }
        if (l == -1) {
            if (r != -1) {
                st = fail(c, MS_EMODEL,
                          "tree %zu node %zu: left child -1 (a leaf) but right child %lld", id, i,
                          r);
                goto done;
            }
            leaves++;
            if ((size_t)depth[i] > max_depth)
                max_depth = (size_t)depth[i];
            continue;
        }
        long long kids[2] = {l, r};
        for (int k = 0; k < 2; k++) {
            if (kids[k] < 0 || kids[k] >= tj->n_nodes) {
                st = fail(c, MS_EMODEL,
                          "tree %zu node %zu: %s child %lld is out of range (the tree has %zu "
                          "nodes)",
                          id, i, k ? "right" : "left", kids[k], n);
                goto done;
            }
        }
        if (r != l + 1) {
            st = fail(c, MS_EMODEL,
                      "tree %zu node %zu: right child %lld is not left child + 1 (XGBoost "
                      "predicts with node %lld)",
                      id, i, r, l + 1);
            goto done;
        }
        for (int k = 0; k < 2; k++) {
            if (seen[kids[k]]) {
                st = fail(c, MS_EMODEL,
                          "tree %zu node %zu: child %lld is reached twice (a cycle or a shared "
                          "node)",
                          id, i, kids[k]);
                goto done;
            }
            seen[kids[k]] = 1;
            depth[kids[k]] = depth[i] + 1;
            stack[top++] = (int32_t)kids[k];
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        long long fi;
        if (seen[i]) {
            newid[i] = (int32_t)kept++;
            continue;
        }
        /* the pruner leaves deleted nodes in the arrays; anything else
         * unreachable means the file was damaged */
        if (elem_int(tj->feature, i, &fi) || fi != XGB_DELETED_NODE) {
            st = fail(c, MS_EMODEL, "tree %zu node %zu is not reachable from the root", id, i);
            goto done;
        }
    }
    if (keep && f->n_nodes + kept > f->cap_nodes) {
        st = ms_error_set(c->err, MS_EINTERNAL, "tree %zu: node count changed", id);
        goto done;
    }
    size_t base = f->n_nodes;
    for (size_t i = 0; i < n; i++) {
        if (!seen[i])
            continue;
        size_t o = base + (size_t)newid[i];
        long long l = -1, r = -1, fi = 0, dl = 0;
        elem_int(tj->left, i, &l);
        elem_int(tj->right, i, &r);
        json_t *cv = json_array_get(tj->cond, i);
        float v = 0;
        f32_result fr = json_f32(c, cv, &v);
        char what[96];
        if (l == -1) {
            snprintf(what, sizeof what, "tree %zu node %zu: leaf value", id, i);
            if (fr != F32_OK) {
                st = f32_fail(c, fr, cv, what);
                goto done;
            }
            if (keep) {
                f->feature[o] = -1;
                f->left[o] = f->right[o] = -1;
                f->threshold[o] = 0;
                f->missing_left[o] = 0;
                f->value[o] = v;
                f->is_cat[o] = 0;
                f->cat_offset[o + 1] = (int64_t)f->n_words;
            }
            continue;
        }
        if (elem_int(tj->feature, i, &fi)) {
            st = fail(c, MS_EMODEL, "tree %zu node %zu: split_indices is not an integer", id, i);
            goto done;
        }
        if (fi < 0 || fi >= n_features) {
            st = fail(c, MS_EMODEL, "tree %zu node %zu: split feature %lld %s num_feature %lld", id,
                      i, fi, fi < 0 ? "is negative," : ">=", n_features);
            goto done;
        }
        long long stype = 0;
        if (tj->split_type && (elem_int(tj->split_type, i, &stype) || (stype != 0 && stype != 1))) {
            st = fail(c, MS_EMODEL,
                      "tree %zu node %zu: split_type must be 0 (numerical) or 1 "
                      "(categorical)",
                      id, i);
            goto done;
        }
        if (stype == 0 && catk[i] >= 0) {
            st = fail(c, MS_EMODEL, "tree %zu node %zu: categories_nodes lists a numerical split",
                      id, i);
            goto done;
        }
        snprintf(what, sizeof what, "tree %zu node %zu: split condition", id, i);
        /* a categorical split's condition is NaN and unused (GetNextNode) */
        if (stype == 1) {
            fr = F32_OK;
            v = 0;
        }
        if (fr != F32_OK) {
            st = f32_fail(c, fr, cv, what);
            goto done;
        }
        json_t *dv = json_array_get(tj->default_left, i);
        if (json_is_boolean(dv))
            dl = json_is_true(dv);
        else if (!json_is_integer(dv) || ((dl = json_integer_value(dv)) != 0 && dl != 1)) {
            st = fail(c, MS_EMODEL, "tree %zu node %zu: default_left must be 0 or 1", id, i);
            goto done;
        }
        if (keep) {
            f->feature[o] = (int32_t)fi;
            f->left[o] = newid[l];
            f->right[o] = newid[r];
            f->threshold[o] = v;
            f->missing_left[o] = (uint8_t)dl;
            f->value[o] = 0;
            f->is_cat[o] = (uint8_t)stype;
            /* a categorical split listed nowhere has no categories: XGBoost
             * sends every value left, as an empty bitset does */
            if (stype == 1 && (st = cat_bitset(c, tj, id, i, catk[i], f)) != MS_OK)
                goto done;
            f->n_cat += (size_t)stype;
            f->cat_offset[o + 1] = (int64_t)f->n_words;
        }
    }
    if (keep) {
        f->n_nodes += kept;
        f->node_offset[f->n_trees + 1] = (int64_t)f->n_nodes;
        f->n_trees++;
        f->n_leaves += leaves;
        if (max_depth > f->max_depth)
            f->max_depth = max_depth;
    }
done:
    free(seen);
    free(stack);
    free(depth);
    free(newid);
    free(catk);
    return st;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* n strings "<prefix><i>" (f0, f1, ... / p_0, p_1, ... / 0, 1, ...). */
static char **numbered(const char *prefix, size_t n)
{
    char **v = calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; v && i < n; i++) {
        char buf[48];
        snprintf(buf, sizeof buf, "%s%zu", prefix, i);
        if (!(v[i] = dup_str(buf))) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return NULL;
        }
    }
    return v;
}

static char **copy_strs(char *const *src, size_t n)
{
    char **v = calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; v && i < n; i++) {
        if (!(v[i] = dup_str(src[i]))) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return NULL;
        }
    }
    return v;
}

/* Feature names: the model's (learner.feature_names), the caller's, or
 * f0..f{n-1} as XGBoost names unnamed features. */
static ms_status feature_names(ctx *c, json_t *learner, size_t nf, const ms_xgb_options *opt,
                               ms_model *m)
{
    ms_status st;
    json_t *names;
    if ((st = member(c, learner, "learner", "feature_names", JSON_ARRAY, 1, &names)) != MS_OK)
        return st;
    size_t have = names ? json_array_size(names) : 0;
    if (have && have != nf)
        return fail(c, MS_EMODEL, "learner.feature_names has %zu names but num_feature = %zu", have,
                    nf);
    for (size_t i = 0; i < have; i++)
        if (!json_is_string(json_array_get(names, i)))
            return fail(c, MS_EMODEL, "learner.feature_names[%zu] is not a string", i);
    size_t given = opt && opt->feature_names ? opt->n_feature_names : 0;
    if (opt && opt->feature_names) {
        if (given != nf)
            return fail(c, MS_EUSAGE, "%zu feature names were given but the model has %zu features",
                        given, nf);
        for (size_t i = 0; i < nf; i++) {
            if (!opt->feature_names[i][0])
                return fail(c, MS_EUSAGE, "given feature name %zu is empty", i + 1);
            for (size_t j = 0; j < i; j++)
                if (!strcmp(opt->feature_names[i], opt->feature_names[j]))
                    return fail(c, MS_EUSAGE, "given feature name \"%s\" is repeated",
                                opt->feature_names[i]);
            /* splits refer to features by position: names that disagree
             * with the model's would silently feed the wrong columns */
            if (have && strcmp(opt->feature_names[i], json_string_value(json_array_get(names, i))))
                return fail(c, MS_EUSAGE,
                            "given feature name %zu \"%s\" differs from the model's \"%s\"", i + 1,
                            opt->feature_names[i], json_string_value(json_array_get(names, i)));
        }
    }
    if (given)
        m->feature_names = copy_strs(opt->feature_names, nf);
    else if (!have)
        m->feature_names = numbered("f", nf);
    else {
        m->feature_names = calloc(nf, sizeof *m->feature_names);
        for (size_t i = 0; m->feature_names && i < nf; i++)
            if (!(m->feature_names[i] = dup_str(json_string_value(json_array_get(names, i))))) {
                for (size_t j = 0; j < i; j++)
                    free(m->feature_names[j]);
                free(m->feature_names);
                m->feature_names = NULL;
            }
    }
    if (!m->feature_names)
        return ms_error_set(c->err, MS_EINTERNAL, "out of memory (%zu feature names)", nf);
    m->n_features = nf;
    return MS_OK;
}

/* learner.learner_model_param.base_score ("5E-1") as the float XGBoost
 * parses, then the objective's ProbToMargin, in float like XGBoost. */
static ms_status base_margin(ctx *c, json_t *mp, const struct objective *obj, float *out)
{
    ms_status st;
    json_t *v;
    const char *path = "learner.learner_model_param";
    if ((st = member(c, mp, path, "base_score", JSON_STRING, 0, &v)) != MS_OK)
        return st;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    char q[64];
    ms_quote_excerpt(s, n, 32, q, sizeof q);
    if (!is_decimal(s, n) || strlen(s) != n)
        return fail(c, MS_EMODEL, "%s.base_score = \"%s\" is not a number", path, q);
    errno = 0;
    float bs = strtof_l(s, NULL, c->cloc);
    if (!isfinite(bs))
        return fail(c, MS_EMODEL, "%s.base_score = \"%s\" is out of float32 range", path, q);
    float margin = bs;
    if (obj->base == BASE_LOGIT) {
        if (!(bs > 0.0f && bs < 1.0f))
            return fail(c, MS_EMODEL, "%s.base_score = %s must be in (0, 1) for objective %s", path,
                        q, obj->name);
        margin = -logf(1.0f / bs - 1.0f); /* LogisticRegression::ProbToMargin */
    } else if (obj->base == BASE_LOG) {
        if (!(bs > 0.0f))
            return fail(c, MS_EMODEL, "%s.base_score = %s must be positive for objective %s", path,
                        q, obj->name);
        margin = logf(bs); /* std::log(float) in PoissonRegression::ProbToMargin */
    }
    if (!isfinite(margin))
        return fail(c, MS_EMODEL, "%s.base_score = %s gives a non-finite base margin", path, q);
    *out = margin;
    return MS_OK;
}

/* Outputs, classes and link for the objective with `groups` raw scores. */
static ms_status outputs(ctx *c, const struct objective *obj, size_t groups, ms_model *m)
{
    m->link = obj->link;
    m->n_raw = groups;
    if (obj->out == OUT_SCORE || obj->out == OUT_BINARY_MARGIN) {
        char *score = "score";
        m->output_names = copy_strs(&score, 1);
        m->n_outputs = m->output_names ? 1 : 0;
    } else {
        size_t n = obj->out == OUT_MULTI ? groups : 2;
        m->output_names = numbered("p_", n);
        m->n_outputs = m->output_names ? n : 0;
    }
    if (obj->out != OUT_SCORE) {
        size_t n = obj->out == OUT_MULTI ? groups : 2;
        m->class_labels = numbered("", n);
        m->n_classes = m->class_labels ? n : 0;
    }
    if (!m->output_names || (obj->out != OUT_SCORE && !m->class_labels))
        return ms_error_set(c->err, MS_EINTERNAL, "out of memory");
    return MS_OK;
}

/* Rounds [begin, end) to import (xgb_import.h). */
static ms_status pick_rounds(ctx *c, json_t *learner, long long rounds, const ms_xgb_options *opt,
                             ms_xgb_summary *sum)
{
    ms_status st;
    if (opt && opt->has_range) {
        long long b = opt->begin, e = opt->end ? opt->end : rounds;
        if (b < 0 || e < 0 || b >= e || e > rounds)
            return fail(c, MS_EUSAGE,
                        "iteration range %lld:%lld does not fit the model's %lld boosting rounds "
                        "(BEGIN < END <= %lld, END 0 = the last round)",
                        opt->begin, opt->end, rounds, rounds);
        sum->begin = b;
        sum->end = e;
        return MS_OK;
    }
    json_t *attrs;
    long long best = -1;
    if ((st = member(c, learner, "learner", "attributes", JSON_OBJECT, 1, &attrs)) != MS_OK)
        return st;
    if (attrs && (st = count_param(c, attrs, "learner.attributes", "best_iteration", INT32_MAX, 1,
                                   -1, &best)) != MS_OK)
        return st;
    sum->begin = 0;
    sum->end = rounds;
    if (best >= 0) {
        if (best >= rounds)
            return fail(c, MS_EMODEL,
                        "learner.attributes.best_iteration = %lld but the model has %lld boosting "
                        "rounds (choose rounds with an iteration range)",
                        best, rounds);
        sum->end = best + 1;
        sum->used_best_iteration = 1;
    }
    return MS_OK;
}

/* XGBoost's `missing` for a model trained through its scikit-learn API: the
 * wrapper's parameters are a JSON text in learner.attributes.scikit_learn,
 * written by Python's json module, so the default is the bare token NaN
 * (which jansson refuses): the value is read from the text itself. NaN or
 * null: only NaN is missing, as without the attribute. */
static ms_status sklearn_missing(ctx *c, json_t *learner, int *has, float *value)
{
    json_t *attrs = json_object_get(learner, "attributes");
    json_t *skl = attrs ? json_object_get(attrs, "scikit_learn") : NULL;
    const char *text = skl ? json_string_value(skl) : NULL;
    *has = 0;
    if (!text)
        return MS_OK;
    const char *p = strstr(text, "\"missing\":");
    if (!p)
        return MS_OK;
    p += strlen("\"missing\":");
    while (*p == ' ')
        p++;
    if (!strncmp(p, "NaN", 3) || !strncmp(p, "null", 4))
        return MS_OK;
    char *end;
    double v = strtod(p, &end);
    while (*end == ' ')
        end++;
    if (end == p || (*end != ',' && *end != '}'))
        return fail(c, MS_EMODEL,
                    "learner.attributes.scikit_learn: \"missing\" is not a number (%.20s)", p);
    *has = 1;
    *value = (float)v;
    return MS_OK;
}

/* Refuse what is neither JSON nor UBJSON (read by ms_ubjson_decode) before
 * jansson's less helpful "string or '}' expected": XGBoost's old binary
 * format, or any other binary file. */
static ms_status sniff(ctx *c, const char *json, size_t len)
{
    if (memchr(json, '\0', len < 4096 ? len : 4096))
        return fail(c, MS_EMODEL,
                    "expected an XGBoost JSON or UBJSON model (save_model with a .json or .ubj "
                    "name); this looks like another binary file (the old binary format?)");
    return MS_OK;
}

/* One pass over the text, outside strings (see the top of the file):
 * *copy receives a copy with NaN / Infinity / -Infinity replaced (NULL when
 * there are none) and c->mid the reals whose double is a float midpoint.
 * Tokens start after a separator and end before one; anything else is left
 * for jansson to refuse. */
static ms_status prescan(ctx *c, const char *json, size_t len, char **copy)
{
    static const struct {
        const char *token, *mark;
    } subs[] = {{"NaN", NAN_MARK}, {"Infinity", POS_INF_MARK}, {"-Infinity", NEG_INF_MARK}};
    ms_status st = MS_OK;
    char small[64], *buf = small;
    size_t cap_mid = 0, bufsz = sizeof small;
    int in_str = 0;
    *copy = NULL;
    for (size_t i = 0; i < len; i++) {
        char ch = json[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (ch == '"') {
            in_str = 1;
            continue;
        }
        if (ch != 'N' && ch != 'I' && ch != '-' && (ch < '0' || ch > '9'))
            continue;
        if (i > 0 && (!json[i - 1] || !strchr("[,: \t\r\n", json[i - 1])))
            continue;
        if (ch == '-' || (ch >= '0' && ch <= '9')) {
            size_t n = 0;
            int real = 0;
            while (i + n < len && json[i + n] && strchr("0123456789+-.eE", json[i + n])) {
                real |= json[i + n] == '.' || json[i + n] == 'e' || json[i + n] == 'E';
                n++;
            }
            if (n > 1 || ch != '-') {
                if (real) {
                    if (n + 1 > bufsz) {
                        char *nb = malloc(n + 1);
                        if (!nb)
                            goto oom;
                        if (buf != small)
                            free(buf);
                        buf = nb;
                        bufsz = n + 1;
                    }
                    memcpy(buf, json + i, n);
                    buf[n] = '\0';
                    double d = strtod_l(buf, NULL, c->cloc);
                    if (f32_midpoint(d)) {
                        if (c->n_mid == cap_mid) {
                            size_t nc = cap_mid ? 2 * cap_mid : 16;
                            midpoint *nm = realloc(c->mid, nc * sizeof *nm);
                            if (!nm)
                                goto oom;
                            c->mid = nm;
                            cap_mid = nc;
                        }
                        midpoint e = {d, strtof_l(buf, NULL, c->cloc), 0};
                        c->mid[c->n_mid++] = e;
                    }
                }
                i += n - 1;
                continue;
            }
        }
        for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++) {
            size_t n = strlen(subs[k].token);
            if (len - i < n || memcmp(json + i, subs[k].token, n) != 0)
                continue;
            if (i + n < len && (!json[i + n] || !strchr("],} \t\r\n", json[i + n])))
                continue;
            if (!*copy) {
                if (!(*copy = malloc(len)))
                    goto oom;
                memcpy(*copy, json, len);
            }
            size_t m = strlen(subs[k].mark);
            memset(*copy + i, ' ', n);
            memcpy(*copy + i, subs[k].mark, m);
            i += n - 1;
            break;
        }
    }
    /* one entry per double; texts that disagree make it a conflict */
    if (c->n_mid) {
        qsort(c->mid, c->n_mid, sizeof *c->mid, cmp_midpoint);
        size_t w = 0;
        for (size_t r = 0; r < c->n_mid; r++) {
            if (w && c->mid[w - 1].d == c->mid[r].d) {
                if (memcmp(&c->mid[w - 1].f, &c->mid[r].f, sizeof(float)) != 0)
                    c->mid[w - 1].conflict = 1;
                continue;
            }
            c->mid[w++] = c->mid[r];
        }
        c->n_mid = w;
    }
    goto done;
oom:
    st = ms_error_set(c->err, MS_EINTERNAL, "out of memory (%s: %zu bytes)", c->name, len);
done:
    if (buf != small)
        free(buf);
    return st;
}

/* One feature's categories from the --categories file: all strings or
 * all finite numbers, made into the dictionary the readers look cells up
 * in. */
static ms_status cat_dict(ctx *c, const char *file, const char *feat, json_t *list, ms_dict **out)
{
    ms_status st = MS_OK;
    size_t n = json_array_size(list), n_str = 0;
    const char **strs = calloc(n ? n : 1, sizeof *strs);
    double *nums = calloc(n ? n : 1, sizeof *nums);
    char msg[MS_ERROR_MSG_MAX];
    if (!strs || !nums) {
        st = ms_error_set(c->err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(list, i);
        if (json_is_string(v))
            strs[n_str++] = json_string_value(v);
        else if (json_is_number(v) && isfinite(json_number_value(v)))
            nums[i] = json_number_value(v);
        else {
            st = ms_error_set(c->err, MS_EUSAGE,
                              "%s: \"%s\": category %zu is neither a string nor a finite number",
                              file, feat, i);
            goto done;
        }
    }
    if (n_str && n_str != n) {
        st = ms_error_set(c->err, MS_EUSAGE, "%s: \"%s\" mixes text and number categories", file,
                          feat);
        goto done;
    }
    st =
        n_str ? ms_dict_create_str(strs, n, out, c->err) : ms_dict_create_num(nums, n, out, c->err);
    if (st != MS_OK) {
        snprintf(msg, sizeof msg, "%s", c->err->msg);
        st = ms_error_set(c->err, MS_EUSAGE, "%s: \"%s\": %s", file, feat, msg);
    }
done:
    free(strs);
    free(nums);
    return st;
}

/* --categories: the listed features read as text categories (their codes
 * in the file's order), the others as numbers, through a program of no
 * steps (prep.h ms_prep_create_passthrough). */
static ms_status categories(ctx *c, json_t *learner, const char *file, ms_model *m)
{
    ms_status st = MS_OK;
    json_error_t je;
    json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &je), *types = NULL;
    if (!root) {
        FILE *fp = fopen(file, "rb");
        if (!fp)
            return ms_error_set(c->err, MS_EIO, "%s: %s", file, strerror(errno));
        fclose(fp);
        return ms_error_set(c->err, MS_EUSAGE, "%s:%d:%d: %s", file, je.line, je.column, je.text);
    }
    if (!json_is_object(root)) {
        st = ms_error_set(c->err, MS_EUSAGE,
                          "%s: expected an object {\"feature\": [categories in code order]}", file);
        goto done;
    }
    MS_CHECK(member(c, learner, "learner", "feature_types", JSON_ARRAY, 1, &types));
    if (types && json_array_size(types) != m->n_features)
        types = NULL; /* XGBoost writes none or one per feature */
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        size_t k = 0;
        while (k < m->n_features && strcmp(m->feature_names[k], key))
            k++;
        if (k == m->n_features) {
            st = ms_error_set(c->err, MS_EUSAGE, "%s: the model has no feature \"%s\"", file, key);
            goto done;
        }
        json_t *ty = types ? json_array_get(types, k) : NULL;
        if (json_is_string(ty) && strcmp(json_string_value(ty), "c")) {
            st = ms_error_set(c->err, MS_EUSAGE,
                              "%s: feature \"%s\" is not categorical in the model (type \"%s\")",
                              file, key, json_string_value(ty));
            goto done;
        }
        if (!json_is_array(val)) {
            st = ms_error_set(c->err, MS_EUSAGE, "%s: \"%s\": expected a list of categories", file,
                              key);
            goto done;
        }
    }
    if (!(m->inputs = calloc(m->n_features, sizeof *m->inputs))) {
        st = ms_error_set(c->err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    m->n_inputs = m->n_features;
    for (size_t k = 0; k < m->n_features; k++) {
        ms_colspec *in = &m->inputs[k];
        json_t *list = json_object_get(root, m->feature_names[k]);
        if (!(in->name = dup_str(m->feature_names[k]))) {
            st = ms_error_set(c->err, MS_EINTERNAL, "out of memory");
            goto done;
        }
        /* numbers as a program reads them (float64, then the float32 cast
         * that XGBoost's DMatrix makes of a pandas column) */
        in->prec = MS_PREC_F64;
        if (!list)
            continue;
        in->kind = MS_COL_CAT;
        in->unknown_is_error = 1;
        MS_CHECK(cat_dict(c, file, m->feature_names[k], list, &in->dict));
    }
    st = ms_prep_create_passthrough(m, c->err);
done:
    json_decref(root);
    return st;
}

static ms_status import(ctx *c, json_t *root, const ms_xgb_options *opt, ms_model *m,
                        ms_xgb_summary *sum)
{
    ms_status st = MS_OK;
    json_t *learner, *mp, *objv, *objname, *gb, *gbname, *model, *gbparam, *trees, *info, *ver;
    tree_json *tj = NULL;
    json_t **by_id = NULL;
    forest f;
    memset(&f, 0, sizeof f);

    if (!json_is_object(root))
        return fail(c, MS_EMODEL, "not an XGBoost model (the top level is %s, not an object)",
                    type_name(json_typeof(root)));
    if (!json_object_get(root, "learner"))
        return fail(c, MS_EMODEL, "not an XGBoost model (no \"learner\" object)");
    MS_CHECK(member(c, root, "", "learner", JSON_OBJECT, 0, &learner));
    MS_CHECK(member(c, root, "", "version", JSON_ARRAY, 1, &ver));
    if (ver) {
        long long v[3] = {0, 0, 0};
        if (json_array_size(ver) != 3 || elem_int(ver, 0, &v[0]) || elem_int(ver, 1, &v[1]) ||
            elem_int(ver, 2, &v[2]) || v[0] < 0 || v[1] < 0 || v[2] < 0 || v[0] > 999 ||
            v[1] > 999 || v[2] > 999) {
            st = fail(c, MS_EMODEL, "version is not [major, minor, patch]");
            goto done;
        }
        /* before 1.0 base_score was stored as a margin already */
        if (v[0] < 1) {
            st = fail(c, MS_EMODEL,
                      "models saved by XGBoost %lld.%lld are not supported (1.0 or "
                      "later)",
                      v[0], v[1]);
            goto done;
        }
        snprintf(sum->version, sizeof sum->version, "%lld.%lld.%lld", v[0], v[1], v[2]);
    }

    /* objective */
    MS_CHECK(member(c, learner, "learner", "objective", JSON_OBJECT, 0, &objv));
    MS_CHECK(member(c, objv, "learner.objective", "name", JSON_STRING, 0, &objname));
    const char *oname = json_string_value(objname);
    const struct objective *obj = NULL;
    for (size_t i = 0; i < N_OBJECTIVES && !obj; i++)
        if (!strcmp(oname, objectives[i].name) && strlen(oname) == json_string_length(objname))
            obj = &objectives[i];
    if (!obj) {
        char q[96];
        ms_quote_excerpt(oname, json_string_length(objname), 64, q, sizeof q);
        st = fail(c, MS_EMODEL,
                  "objective \"%s\" is not supported (binary:logistic, binary:logitraw, "
                  "reg:logistic, reg:squarederror, reg:squaredlogerror, reg:pseudohubererror, "
                  "reg:absoluteerror, count:poisson, reg:gamma, reg:tweedie, multi:softprob, "
                  "multi:softmax, rank:pairwise, rank:ndcg, rank:map, binary:hinge)",
                  q);
        goto done;
    }
    snprintf(sum->objective, sizeof sum->objective, "%s", obj->name);

    /* learner_model_param */
    long long nf, ncls, ntarget;
    const char *mpath = "learner.learner_model_param";
    MS_CHECK(member(c, learner, "learner", "learner_model_param", JSON_OBJECT, 0, &mp));
    MS_CHECK(count_param(c, mp, mpath, "num_feature", MS_XGB_MAX_FEATURES, 0, 0, &nf));
    MS_CHECK(count_param(c, mp, mpath, "num_class", MS_XGB_MAX_CLASSES, 0, 0, &ncls));
    MS_CHECK(count_param(c, mp, mpath, "num_target", INT32_MAX, 1, 1, &ntarget));
    if (nf < 1) {
        st = fail(c, MS_EMODEL, "%s.num_feature = 0: the model has no features", mpath);
        goto done;
    }
    if (ntarget > 1) {
        st = fail(c, MS_EMODEL, "%s.num_target = %lld: multi-target models are not supported",
                  mpath, ntarget);
        goto done;
    }
    size_t groups = 1;
    if (obj->out == OUT_MULTI) {
        if (ncls < 2) {
            st = fail(c, MS_EMODEL, "%s.num_class = %lld: objective %s needs at least 2 classes",
                      mpath, ncls, obj->name);
            goto done;
        }
        groups = (size_t)ncls;
    } else if (ncls > 1) {
        st = fail(c, MS_EMODEL, "%s.num_class = %lld with objective %s (expected 0)", mpath, ncls,
                  obj->name);
        goto done;
    }
    float margin = 0;
    MS_CHECK(base_margin(c, mp, obj, &margin));

    /* the booster */
    const char *gpath = "learner.gradient_booster";
    MS_CHECK(member(c, learner, "learner", "gradient_booster", JSON_OBJECT, 0, &gb));
    MS_CHECK(member(c, gb, gpath, "name", JSON_STRING, 0, &gbname));
    const char *bname = json_string_value(gbname);
    if (strcmp(bname, "gbtree") != 0) {
        char q[64];
        ms_quote_excerpt(bname, json_string_length(gbname), 32, q, sizeof q);
        if (!strcmp(bname, "dart"))
            st = fail(c, MS_EMODEL,
                      "booster \"dart\" is not supported (its trees are scaled by "
                      "weight_drop when predicting): only gbtree");
        else if (!strcmp(bname, "gblinear"))
            st = fail(c, MS_EMODEL, "booster \"gblinear\" is not supported: only gbtree");
        else
            st = fail(c, MS_EMODEL, "unknown booster \"%s\": only gbtree", q);
        goto done;
    }
    const char *bpath = "learner.gradient_booster.model";
    long long npar, ntrees_param, leaf_vec;
    MS_CHECK(member(c, gb, gpath, "model", JSON_OBJECT, 0, &model));
    MS_CHECK(member(c, model, bpath, "gbtree_model_param", JSON_OBJECT, 0, &gbparam));
    const char *ppath = "learner.gradient_booster.model.gbtree_model_param";
    MS_CHECK(count_param(c, gbparam, ppath, "num_parallel_tree", INT32_MAX, 0, 0, &npar));
    MS_CHECK(count_param(c, gbparam, ppath, "num_trees", INT32_MAX, 0, 0, &ntrees_param));
    MS_CHECK(count_param(c, gbparam, ppath, "size_leaf_vector", INT32_MAX, 1, 0, &leaf_vec));
    if (npar < 1) {
        st = fail(c, MS_EMODEL, "%s.num_parallel_tree = 0", ppath);
        goto done;
    }
    if (leaf_vec > 1) {
        st = fail(c, MS_EMODEL, "%s.size_leaf_vector = %lld: vector leaves are not supported",
                  ppath, leaf_vec);
        goto done;
    }
    MS_CHECK(member(c, model, bpath, "trees", JSON_ARRAY, 0, &trees));
    MS_CHECK(member(c, model, bpath, "tree_info", JSON_ARRAY, 0, &info));
    size_t nt = json_array_size(trees);
    if ((size_t)ntrees_param != nt) {
        st = fail(c, MS_EMODEL, "%s.num_trees = %lld but %s.trees has %zu trees", ppath,
                  ntrees_param, bpath, nt);
        goto done;
    }
    if (json_array_size(info) != nt) {
        st = fail(c, MS_EMODEL, "%s.tree_info has %zu entries but there are %zu trees", bpath,
                  json_array_size(info), nt);
        goto done;
    }
    if (nt == 0) {
        st = fail(c, MS_EMODEL, "the model has no trees");
        goto done;
    }
    size_t layer = (size_t)npar * groups;
    if (nt % layer) {
        st = fail(c, MS_EMODEL,
                  "%zu trees are not whole boosting rounds of %zu (num_parallel_tree %lld x %zu "
                  "output groups)",
                  nt, layer, npar, groups);
        goto done;
    }
    sum->rounds = (long long)(nt / layer);
    MS_CHECK(pick_rounds(c, learner, sum->rounds, opt, sum));
    size_t first = (size_t)sum->begin * layer, last = (size_t)sum->end * layer;

    /* trees go where their id says (XGBoost's loader does the same) */
    tj = calloc(nt, sizeof *tj);
    by_id = calloc(nt, sizeof *by_id);
    if (!tj || !by_id) {
        st = ms_error_set(c->err, MS_EINTERNAL, "out of memory (%zu trees)", nt);
        goto done;
    }
    for (size_t p = 0; p < nt; p++) {
        json_t *t = json_array_get(trees, p), *idv;
        char path[96];
        long long id;
        snprintf(path, sizeof path, "%s.trees[%zu]", bpath, p);
        if (!json_is_object(t)) {
            st =
                fail(c, MS_EMODEL, "%s is %s, expected an object", path, type_name(json_typeof(t)));
            goto done;
        }
        MS_CHECK(member(c, t, path, "id", JSON_INTEGER, 0, &idv));
        id = json_integer_value(idv);
        if (id < 0 || (size_t)id >= nt) {
            st = fail(c, MS_EMODEL, "%s.id = %lld is out of range (%zu trees)", path, id, nt);
            goto done;
        }
        if (by_id[id]) {
            st = fail(c, MS_EMODEL, "%s.id = %lld is used twice", path, id);
            goto done;
        }
        by_id[id] = t;
        MS_CHECK(tree_shape(c, t, p, &tj[id]));
        if ((size_t)id >= first && (size_t)id < last)
            f.cap_nodes += (size_t)tj[id].n_nodes;
    }

    size_t nsel = last - first;
    f.node_offset = calloc(nsel + 1, sizeof *f.node_offset);
    f.tree_output = malloc(nsel * sizeof *f.tree_output);
    f.feature = malloc(f.cap_nodes * sizeof *f.feature);
    f.left = malloc(f.cap_nodes * sizeof *f.left);
    f.right = malloc(f.cap_nodes * sizeof *f.right);
    f.threshold = malloc(f.cap_nodes * sizeof *f.threshold);
    f.value = malloc(f.cap_nodes * sizeof *f.value);
    f.missing_left = malloc(f.cap_nodes);
    f.is_cat = malloc(f.cap_nodes);
    f.cat_offset = calloc(f.cap_nodes + 1, sizeof *f.cat_offset);
    if (!f.node_offset || !f.tree_output || !f.feature || !f.left || !f.right || !f.threshold ||
        !f.value || !f.missing_left || !f.is_cat || !f.cat_offset) {
        st = ms_error_set(c->err, MS_EINTERNAL, "out of memory (%zu nodes)", f.cap_nodes);
        goto done;
    }
    for (size_t t = 0; t < nt; t++) {
        long long g;
        if (elem_int(info, t, &g) || g < 0 || (size_t)g >= groups) {
            st = fail(c, MS_EMODEL, "%s.tree_info[%zu] is not an output group in 0..%zu", bpath, t,
                      groups - 1);
            goto done;
        }
        int keep = t >= first && t < last;
        if (keep)
            f.tree_output[f.n_trees] = (int32_t)g;
        MS_CHECK(convert_tree(c, &tj[t], t, nf, keep, &f));
    }

    m->kind = MS_KIND_TREES;
    if (opt && opt->has_missing) {
        m->has_missing_value = !isnan(opt->missing);
        m->missing_value = (float)opt->missing;
    } else {
        MS_CHECK(sklearn_missing(c, learner, &m->has_missing_value, &m->missing_value));
    }
    MS_CHECK(outputs(c, obj, groups, m));
    MS_CHECK(feature_names(c, learner, (size_t)nf, opt, m));
    if (opt && opt->categories_path)
        MS_CHECK(categories(c, learner, opt->categories_path, m));
    char src[64];
    snprintf(src, sizeof src, "xgboost%s%s", sum->version[0] ? " " : "", sum->version);
    if (!(m->source = dup_str(src))) {
        st = ms_error_set(c->err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    ms_trees *tr = &m->trees;
    if (!(tr->base_score = malloc(groups * sizeof *tr->base_score))) {
        st = ms_error_set(c->err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    /* one base margin for every group: InitOutPredictions fills with it */
    for (size_t k = 0; k < groups; k++)
        tr->base_score[k] = margin;
    tr->n_trees = f.n_trees;
    tr->n_nodes = f.n_nodes;
    tr->leaf_width = 1;
    tr->node_offset = f.node_offset;
    tr->feature = f.feature;
    tr->threshold = f.threshold;
    tr->left = f.left;
    tr->right = f.right;
    tr->missing_left = f.missing_left;
    tr->value = f.value;
    tr->tree_output = f.tree_output;
    tr->split = MS_SPLIT_LT;
    tr->missing_is_error = 0;
    tr->mean = 0;
    tr->float32_sum = 1;
    tr->max_depth = f.max_depth;
    tr->n_leaves = f.n_leaves;
    if (f.n_cat) {
        tr->is_cat = f.is_cat;
        tr->cat_offset = f.cat_offset;
        tr->cat_bits = f.cat_bits ? f.cat_bits : malloc(sizeof *f.cat_bits);
        tr->n_cat_words = f.n_words;
        tr->cat_other_missing = 0; /* common/categorical.h Decision: invalid goes left */
        f.is_cat = NULL;
        f.cat_offset = NULL;
        f.cat_bits = NULL;
        if (!tr->cat_bits) {
            st = ms_error_set(c->err, MS_EINTERNAL, "out of memory");
            goto done;
        }
    }
    free(f.is_cat);
    free(f.cat_offset);
    free(f.cat_bits);
    memset(&f, 0, sizeof f); /* owned by m now */
    sum->n_trees = tr->n_trees;
    sum->n_features = m->n_features;
done:
    free(f.node_offset);
    free(f.tree_output);
    free(f.feature);
    free(f.left);
    free(f.right);
    free(f.threshold);
    free(f.value);
    free(f.missing_left);
    free(f.is_cat);
    free(f.cat_offset);
    free(f.cat_bits);
    free(tj);
    free(by_id);
    return st;
}

ms_status ms_xgb_import(const char *json, size_t len, const char *name, const ms_xgb_options *opt,
                        ms_model **out, ms_xgb_summary *summary, ms_error *err)
{
    ms_status st = MS_OK;
    ctx c = {name, err, NULL, 0, (locale_t)0};
    ms_xgb_summary local;
    ms_xgb_summary *sum = summary ? summary : &local;
    json_error_t je;
    json_t *root = NULL;
    char *marked = NULL;
    ms_model *m = NULL;
    memset(sum, 0, sizeof *sum);
    *out = NULL;
    if (!(c.cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0))) {
        st = ms_error_set(err, MS_EINTERNAL, "cannot create the C locale: %s", strerror(errno));
        goto done;
    }
    if (ms_ubjson_sniff(json, len)) {
        /* binary floats are exact float32 values: no midpoints to settle */
        MS_CHECK(ms_ubjson_decode(json, len, name, &root, err));
    } else {
        MS_CHECK(sniff(&c, json, len));
        MS_CHECK(prescan(&c, json, len, &marked));
        root = json_loadb(marked ? marked : json, len, JSON_REJECT_DUPLICATES, &je);
        if (!root) {
            st = ms_error_set(err, MS_EMODEL, "%s:%d:%d: %s", name, je.line, je.column, je.text);
            goto done;
        }
    }
    if (!(m = calloc(1, sizeof *m))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    MS_CHECK(import(&c, root, opt, m, sum));
    MS_CHECK(ms_model_validate(m, name, err));
    /* ready to score on any ISA, as ms_model_load leaves a model */
    MS_CHECK(ms_trees_compile(m, err));
done:
    json_decref(root);
    free(marked);
    free(c.mid);
    if (c.cloc)
        freelocale(c.cloc);
    if (st != MS_OK) {
        ms_model_free(m);
        return st;
    }
    *out = m;
    return MS_OK;
}

ms_status ms_xgb_import_file(const char *path, const ms_xgb_options *opt, ms_model **out,
                             ms_xgb_summary *summary, ms_error *err)
{
    ms_status st;
    struct stat sb;
    char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fileno(fp), &sb) != 0) {
        st = ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = ms_error_set(err, MS_EIO, "%s: %s", path, strerror(EISDIR));
        goto done;
    }
    /* read to the end rather than trust st_size (pipes, growing files) */
    size_t cap = sb.st_size > 0 ? (size_t)sb.st_size + 1 : 65536;
    for (;;) {
        char *nb = realloc(buf, cap);
        if (!nb) {
            st = ms_error_set(err, MS_EINTERNAL, "out of memory (%s: %zu bytes)", path, cap);
            goto done;
        }
        buf = nb;
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (len < cap) {
            if (ferror(fp)) {
                st = ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
                goto done;
            }
            break;
        }
        cap *= 2;
    }
    st = ms_xgb_import(buf, len, path, opt, out, summary, err);
done:
    free(buf);
    fclose(fp);
    return st;
}
