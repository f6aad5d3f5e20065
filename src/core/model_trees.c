/*
 * model_trees.c — the tree_ensemble part of the model container
 * (docs/formats.md): read, validate, write, describe, and compile into the
 * layout the fast kernels walk (kernels/trees_layout.h).
 *
 * Validation proves what every kernel assumes: each tree is a tree (every
 * node reached exactly once from its root, so no cycles and no shared
 * nodes), children and features are in range, and every number a kernel
 * adds or compares is finite. The compiled layout is derived from a
 * validated model only.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "kernels/trees_layout.h"
#include "model_internal.h"

/* Trees are grouped so that a group's nodes stay in the L2 cache while a
 * block of rows walks all of them. */
#define GROUP_BYTES (256u * 1024u)

static void layout_free(ms_tree_layout *l)
{
    if (!l)
        return;
    free(l->root);
    free(l->depth);
    free(l->out);
    free(l->child);
    free(l->feat);
    free(l->thr);
    free(l->leaf_f32);
    free(l->leaf_f64);
    free(l->divisor);
    free(l->packed);
    free(l->packed_thr);
    free(l->packed_meta);
    free(l->group_start);
    ms_tree_quant_free(l->quant);
    free(l);
}

void ms_trees_free(ms_trees *t)
{
    free(t->node_offset);
    free(t->feature);
    free(t->threshold);
    free(t->left);
    free(t->right);
    free(t->missing_left);
    free(t->value);
    free(t->tree_output);
    free(t->base_score);
    free(t->is_cat);
    free(t->cat_offset);
    free(t->cat_bits);
    layout_free(t->compiled);
    memset(t, 0, sizeof *t);
}

/* ---- reading ----------------------------------------------------------- */

static ms_status req_choice(hid_t f, const char *path, const char *name, const char *a,
                            const char *b, int *out, ms_error *err)
{
    char *s = NULL;
    ms_status st = ms_model_req_str(f, path, name, &s, err);
    if (st != MS_OK)
        return st;
    if (!strcmp(s, a))
        *out = 0;
    else if (!strcmp(s, b))
        *out = 1;
    else
        st = ms_error_set(err, MS_EMODEL, "%s: attribute %s = \"%s\", expected %s or %s", path,
                          name, s, a, b);
    free(s);
    return st;
}

/* A 1-D integer dataset of exactly n values (n = 0: any length, returned
 * in *len), narrowed to int32 with range checks. */
static ms_status read_i32(hid_t f, const char *path, const char *name, size_t n, size_t *len,
                          int32_t **out, ms_error *err)
{
    int64_t *v = NULL;
    hsize_t got = 0;
    ms_status st = ms_model_read_ints(f, path, name, &got, &v, err);
    *out = NULL;
    if (st != MS_OK)
        return st;
    if (n && got != n) {
        st = ms_error_set(err, MS_EMODEL, "%s: %s has %llu values, expected %zu", path, name,
                          (unsigned long long)got, n);
        goto done;
    }
    if (!(*out = malloc((got ? got : 1) * sizeof **out))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory (%s)", name);
        goto done;
    }
    for (hsize_t i = 0; i < got; i++) {
        if (v[i] < INT32_MIN || v[i] > INT32_MAX) {
            st = ms_error_set(err, MS_EMODEL, "%s: %s[%llu] = %lld is out of range", path, name,
                              (unsigned long long)i, (long long)v[i]);
            goto done;
        }
        (*out)[i] = (int32_t)v[i];
    }
    if (len)
        *len = (size_t)got;
done:
    free(v);
    if (st != MS_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

static ms_status read_f64(hid_t f, const char *path, const char *name, size_t n, double **out,
                          ms_error *err)
{
    hsize_t dims[2] = {0, 0};
    ms_status st = ms_model_read_doubles(f, path, name, 1, dims, out, err);
    if (st == MS_OK && dims[0] != n) {
        st = ms_error_set(err, MS_EMODEL, "%s: %s has %llu values, expected %zu", path, name,
                          (unsigned long long)dims[0], n);
        free(*out);
        *out = NULL;
    }
    return st;
}

static int dataset_rank(hid_t f, const char *name)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t sp = H5Dget_space(d);
    int r = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
    return r;
}

/* The optional categorical datasets (/trees/split_type, cat_offset,
 * cat_bits, attribute categorical_other). Their consistency is checked by
 * validate(), like everything else a kernel indexes with. */
static ms_status read_categorical(hid_t f, const char *path, ms_trees *t, ms_error *err)
{
    ms_status st = MS_OK;
    int32_t *type = NULL;
    int64_t *bits = NULL;
    hsize_t n_off = 0, n_bits = 0;
    int other = 0, cast = 0;
    MS_CHECK(req_choice(f, path, "categorical_other", "left", "missing", &other, err));
    if (H5Aexists(f, "category_cast") > 0)
        MS_CHECK(req_choice(f, path, "category_cast", "trunc", "uint8", &cast, err));
    MS_CHECK(read_i32(f, path, "/trees/split_type", t->n_nodes, NULL, &type, err));
    if (!(t->is_cat = malloc(t->n_nodes))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < t->n_nodes; i++) {
        if (type[i] != 0 && type[i] != 1) {
            st = ms_error_set(err, MS_EMODEL,
                              "%s: /trees/split_type[%zu] = %d, expected 0 (numeric) or 1 "
                              "(categorical)",
                              path, i, (int)type[i]);
            goto done;
        }
        t->is_cat[i] = (uint8_t)type[i];
    }
    MS_CHECK(ms_model_read_ints(f, path, "/trees/cat_offset", &n_off, &t->cat_offset, err));
    if (n_off != t->n_nodes + 1) {
        st = ms_error_set(err, MS_EMODEL, "%s: /trees/cat_offset has %llu values, expected %zu",
                          path, (unsigned long long)n_off, t->n_nodes + 1);
        goto done;
    }
    MS_CHECK(ms_model_read_ints(f, path, "/trees/cat_bits", &n_bits, &bits, err));
    if (!(t->cat_bits = malloc((n_bits ? n_bits : 1) * sizeof *t->cat_bits))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    for (hsize_t i = 0; i < n_bits; i++) {
        if (bits[i] < 0 || bits[i] > UINT32_MAX) {
            st = ms_error_set(err, MS_EMODEL,
                              "%s: /trees/cat_bits[%llu] = %lld is not a 32-bit word", path,
                              (unsigned long long)i, (long long)bits[i]);
            goto done;
        }
        t->cat_bits[i] = (uint32_t)bits[i];
    }
    t->n_cat_words = (size_t)n_bits;
    t->cat_other_missing = other;
    t->cat_uint8 = cast;
done:
    free(type);
    free(bits);
    return st;
}

ms_status ms_trees_read(hid_t f, const char *path, ms_model *m, ms_error *err)
{
    ms_status st = MS_OK;
    ms_trees *t = &m->trees;
    int32_t *ml = NULL;
    int64_t *offs = NULL;
    hsize_t n_off = 0, bd[2] = {0, 0}, vd[2] = {0, 0};
    int rule = 0, missing = 0, mean = 0, acc = 0;
    MS_CHECK(req_choice(f, path, "split_rule", "lt", "le", &rule, err));
    MS_CHECK(req_choice(f, path, "missing", "route", "error", &missing, err));
    MS_CHECK(req_choice(f, path, "aggregate", "sum", "mean", &mean, err));
    MS_CHECK(req_choice(f, path, "accumulate", "float64", "float32", &acc, err));
    t->split = rule ? MS_SPLIT_LE : MS_SPLIT_LT;
    t->missing_is_error = missing;
    t->mean = mean;
    t->float32_sum = acc;

    MS_CHECK(ms_model_read_ints(f, path, "/trees/node_offset", &n_off, &offs, err));
    if (n_off < 2) {
        st = ms_error_set(err, MS_EMODEL, "%s: /trees/node_offset must hold at least 2 values",
                          path);
        goto done;
    }
    t->n_trees = (size_t)n_off - 1;
    if (offs[0] != 0 || offs[t->n_trees] <= 0 || offs[t->n_trees] > INT32_MAX) {
        st = ms_error_set(err, MS_EMODEL,
                          "%s: /trees/node_offset must run from 0 to the node count", path);
        goto done;
    }
    t->n_nodes = (size_t)offs[t->n_trees];
    t->node_offset = offs;
    offs = NULL;

    MS_CHECK(read_i32(f, path, "/trees/feature", t->n_nodes, NULL, &t->feature, err));
    MS_CHECK(read_f64(f, path, "/trees/threshold", t->n_nodes, &t->threshold, err));
    MS_CHECK(read_i32(f, path, "/trees/left", t->n_nodes, NULL, &t->left, err));
    MS_CHECK(read_i32(f, path, "/trees/right", t->n_nodes, NULL, &t->right, err));
    MS_CHECK(read_i32(f, path, "/trees/missing_left", t->n_nodes, NULL, &ml, err));
    if (!(t->missing_left = malloc(t->n_nodes))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < t->n_nodes; i++) {
        if (ml[i] != 0 && ml[i] != 1) {
            st = ms_error_set(err, MS_EMODEL, "%s: /trees/missing_left[%zu] = %d, expected 0 or 1",
                              path, i, (int)ml[i]);
            goto done;
        }
        t->missing_left[i] = (uint8_t)ml[i];
    }
    MS_CHECK(ms_model_read_doubles(f, path, "/trees/base_score", 1, bd, &t->base_score, err));
    m->n_raw = (size_t)bd[0];
    int vr = dataset_rank(f, "/trees/value");
    MS_CHECK(ms_model_read_doubles(f, path, "/trees/value", vr == 2 ? 2 : 1, vd, &t->value, err));
    t->leaf_width = vr == 2 ? (size_t)vd[1] : 1;
    if (vd[0] != t->n_nodes) {
        st = ms_error_set(err, MS_EMODEL, "%s: /trees/value has %llu rows, expected %zu", path,
                          (unsigned long long)vd[0], t->n_nodes);
        goto done;
    }
    if (t->leaf_width == 1)
        MS_CHECK(read_i32(f, path, "/trees/tree_output", t->n_trees, NULL, &t->tree_output, err));
    if (ms_h5_exists(f, "/trees/split_type"))
        MS_CHECK(read_categorical(f, path, t, err));
done:
    free(ml);
    free(offs);
    return st;
}

/* ---- validation -------------------------------------------------------- */

/* Walk one tree from its root, proving it is a tree and measuring it.
 * seen (n nodes of scratch, zeroed) and stack (n entries) belong to the
 * caller. */
static ms_status check_tree(const ms_model *m, size_t ti, uint8_t *seen, uint32_t *stack,
                            uint32_t *depth_of, size_t *depth_out, size_t *leaves_out,
                            const char *path, ms_error *err)
{
    const ms_trees *t = &m->trees;
    size_t base = (size_t)t->node_offset[ti];
    size_t n = (size_t)(t->node_offset[ti + 1] - t->node_offset[ti]);
    size_t sp = 0, max_depth = 0, leaves = 0;
    memset(seen, 0, n);
    stack[sp++] = 0;
    depth_of[0] = 0;
    seen[0] = 1;
    while (sp) {
        uint32_t i = stack[--sp];
        size_t g = base + i;
        int32_t feat = t->feature[g];
        if (depth_of[i] > max_depth)
            max_depth = depth_of[i];
        if (feat == -1) {
            leaves++;
            if (t->is_cat && t->is_cat[g])
                return ms_error_set(err, MS_EMODEL,
                                    "%s: tree %zu node %u: a leaf is marked categorical "
                                    "(/trees/split_type)",
                                    path, ti, i);
            if (t->left[g] != -1 || t->right[g] != -1)
                return ms_error_set(err, MS_EMODEL,
                                    "%s: tree %zu node %u: a leaf (feature -1) has children", path,
                                    ti, i);
            for (size_t k = 0; k < t->leaf_width; k++)
                if (!isfinite(t->value[g * t->leaf_width + k]))
                    return ms_error_set(
                        err, MS_EMODEL, "%s: tree %zu node %u: leaf value is %s", path, ti, i,
                        isnan(t->value[g * t->leaf_width + k]) ? "NaN" : "infinite");
            continue;
        }
        if (feat < -1 || (size_t)feat >= m->n_features)
            return ms_error_set(err, MS_EMODEL,
                                "%s: tree %zu node %u: split feature %d is out of range "
                                "(the model has %zu features)",
                                path, ti, i, (int)feat, m->n_features);
        if (!(t->is_cat && t->is_cat[g]) && !isfinite(t->threshold[g]))
            return ms_error_set(err, MS_EMODEL, "%s: tree %zu node %u: threshold is not finite",
                                path, ti, i);
        int32_t kids[2] = {t->left[g], t->right[g]};
        for (int c = 0; c < 2; c++) {
            if (kids[c] < 0 || (size_t)kids[c] >= n)
                return ms_error_set(err, MS_EMODEL,
                                    "%s: tree %zu node %u: %s child %d is out of range "
                                    "(the tree has %zu nodes)",
                                    path, ti, i, c ? "right" : "left", (int)kids[c], n);
            if (seen[kids[c]])
                return ms_error_set(err, MS_EMODEL,
                                    "%s: tree %zu node %u: child %d is reached twice "
                                    "(a cycle or a shared node)",
                                    path, ti, i, (int)kids[c]);
            seen[kids[c]] = 1;
            depth_of[kids[c]] = depth_of[i] + 1;
            stack[sp++] = (uint32_t)kids[c];
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!seen[i])
            return ms_error_set(err, MS_EMODEL,
                                "%s: tree %zu node %zu is not reachable from the tree's root", path,
                                ti, i);
    *depth_out = max_depth;
    *leaves_out = leaves;
    return MS_OK;
}

/* The bitsets are where the kernels' categorical test (trees_cat.h)
 * indexes: each node's range inside cat_bits, no wider than
 * MS_CAT_MAX_WORDS, empty for numeric splits and leaves. */
static ms_status validate_categorical(const ms_trees *t, const char *path, ms_error *err)
{
    if (!t->is_cat && !t->cat_offset && !t->cat_bits)
        return MS_OK;
    if (!t->is_cat || !t->cat_offset || !t->cat_bits)
        return ms_error_set(err, MS_EMODEL, "%s: the categorical splits are incomplete", path);
    if (t->cat_offset[0] != 0 || t->cat_offset[t->n_nodes] < 0 ||
        (uint64_t)t->cat_offset[t->n_nodes] != t->n_cat_words)
        return ms_error_set(err, MS_EMODEL,
                            "%s: /trees/cat_offset must run from 0 to the %zu words of "
                            "/trees/cat_bits",
                            path, t->n_cat_words);
    for (size_t i = 0; i < t->n_nodes; i++) {
        int64_t w = t->cat_offset[i + 1] - t->cat_offset[i];
        if (t->cat_offset[i + 1] < t->cat_offset[i] || w > MS_CAT_MAX_WORDS)
            return ms_error_set(err, MS_EMODEL,
                                "%s: /trees/cat_offset: node %zu has %lld bitset words "
                                "(expected 0..%d)",
                                path, i, (long long)w, MS_CAT_MAX_WORDS);
        if (w && !t->is_cat[i])
            return ms_error_set(err, MS_EMODEL,
                                "%s: /trees/cat_offset: node %zu has a bitset but is not a "
                                "categorical split",
                                path, i);
    }
    return MS_OK;
}

/* Checks every tree; with measure != NULL also returns depth and leaves
 * (ms_trees_compile stores them). */
static ms_status validate(const ms_model *m, const char *path, size_t *depth, size_t *leaves,
                          ms_error *err)
{
    const ms_trees *t = &m->trees;
    ms_status st = MS_OK;
    uint8_t *seen = NULL;
    uint32_t *stack = NULL, *depth_of = NULL;
    if (!t->node_offset || !t->feature || !t->threshold || !t->left || !t->right ||
        !t->missing_left || !t->value || !t->base_score)
        return ms_error_set(err, MS_EMODEL, "%s: the tree ensemble is incomplete", path);
    if (t->n_trees == 0 || t->n_nodes == 0)
        return ms_error_set(err, MS_EMODEL, "%s: the model has no trees", path);
    if (t->n_nodes > INT32_MAX)
        return ms_error_set(err, MS_EMODEL, "%s: %zu nodes is more than this build supports", path,
                            t->n_nodes);
    if (t->split != MS_SPLIT_LT && t->split != MS_SPLIT_LE)
        return ms_error_set(err, MS_EMODEL, "%s: unknown split rule %d", path, (int)t->split);
    if (t->leaf_width != 1 && t->leaf_width != m->n_raw)
        return ms_error_set(err, MS_EMODEL,
                            "%s: /trees/value has %zu values per leaf, expected 1 or %zu", path,
                            t->leaf_width, m->n_raw);
    if (t->leaf_width == 1 && !t->tree_output)
        return ms_error_set(err, MS_EMODEL, "%s: dataset /trees/tree_output is missing", path);
    for (size_t k = 0; k < m->n_raw; k++)
        if (!isfinite(t->base_score[k]))
            return ms_error_set(err, MS_EMODEL, "%s: /trees/base_score[%zu] is not finite", path,
                                k);
    MS_CHECK(validate_categorical(t, path, err));
    if (t->node_offset[0] != 0 || (size_t)t->node_offset[t->n_trees] != t->n_nodes)
        return ms_error_set(err, MS_EMODEL, "%s: /trees/node_offset must run from 0 to %zu", path,
                            t->n_nodes);
    size_t biggest = 0;
    for (size_t i = 0; i < t->n_trees; i++) {
        if (t->node_offset[i + 1] <= t->node_offset[i])
            return ms_error_set(err, MS_EMODEL, "%s: tree %zu has no nodes (/trees/node_offset)",
                                path, i);
        size_t n = (size_t)(t->node_offset[i + 1] - t->node_offset[i]);
        if (n > biggest)
            biggest = n;
        if (t->leaf_width == 1 && (t->tree_output[i] < 0 || (size_t)t->tree_output[i] >= m->n_raw))
            return ms_error_set(err, MS_EMODEL,
                                "%s: tree %zu adds to score %d, but the model has %zu scores", path,
                                i, (int)t->tree_output[i], m->n_raw);
    }
    seen = malloc(biggest);
    stack = malloc(biggest * sizeof *stack);
    depth_of = malloc(biggest * sizeof *depth_of);
    if (!seen || !stack || !depth_of) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    size_t max_depth = 0, n_leaves = 0;
    for (size_t i = 0; i < t->n_trees; i++) {
        size_t d = 0, l = 0;
        MS_CHECK(check_tree(m, i, seen, stack, depth_of, &d, &l, path, err));
        if (d > max_depth)
            max_depth = d;
        n_leaves += l;
    }
    if (depth)
        *depth = max_depth;
    if (leaves)
        *leaves = n_leaves;
done:
    free(seen);
    free(stack);
    free(depth_of);
    return st;
}

ms_status ms_trees_validate(const ms_model *m, const char *path, ms_error *err)
{
    return validate(m, path, NULL, NULL, err);
}

/* ---- writing ----------------------------------------------------------- */

static int write_categorical(hid_t f, const ms_trees *t)
{
    int rc = 0;
    int32_t *type = malloc((t->n_nodes ? t->n_nodes : 1) * sizeof *type);
    if (!type)
        return -1;
    for (size_t i = 0; i < t->n_nodes; i++)
        type[i] = t->is_cat[i];
    rc |= ms_h5_write_attr_str(f, "categorical_other", t->cat_other_missing ? "missing" : "left");
    if (t->cat_uint8)
        rc |= ms_h5_write_attr_str(f, "category_cast", "uint8");
    rc |= ms_model_write_ints(f, "/trees/split_type", t->n_nodes, type);
    rc |= ms_model_write_i64(f, "/trees/cat_offset", t->n_nodes + 1, t->cat_offset);
    rc |= ms_model_write_u32(f, "/trees/cat_bits", t->n_cat_words, t->cat_bits);
    free(type);
    return rc;
}

int ms_trees_write(hid_t f, const ms_model *m)
{
    const ms_trees *t = &m->trees;
    int rc = 0;
    int32_t *tmp = NULL;
    if (!t->node_offset || !t->feature || !t->threshold || !t->left || !t->right ||
        !t->missing_left || !t->value || !t->base_score || (t->leaf_width == 1 && !t->tree_output))
        return -1;
    size_t n = t->n_nodes > t->n_trees + 1 ? t->n_nodes : t->n_trees + 1;
    if (!(tmp = malloc(n * sizeof *tmp)))
        return -1;
    rc |= ms_h5_write_attr_str(f, "split_rule", t->split == MS_SPLIT_LE ? "le" : "lt");
    rc |= ms_h5_write_attr_str(f, "missing", t->missing_is_error ? "error" : "route");
    rc |= ms_h5_write_attr_str(f, "aggregate", t->mean ? "mean" : "sum");
    rc |= ms_h5_write_attr_str(f, "accumulate", t->float32_sum ? "float32" : "float64");
    for (size_t i = 0; i <= t->n_trees; i++)
        tmp[i] = (int32_t)t->node_offset[i];
    rc |= ms_model_write_ints(f, "/trees/node_offset", t->n_trees + 1, tmp);
    rc |= ms_model_write_ints(f, "/trees/feature", t->n_nodes, t->feature);
    hsize_t nd[2] = {t->n_nodes, t->leaf_width}, bd[1] = {m->n_raw};
    rc |= ms_model_write_doubles(f, "/trees/threshold", 1, nd, t->threshold);
    rc |= ms_model_write_ints(f, "/trees/left", t->n_nodes, t->left);
    rc |= ms_model_write_ints(f, "/trees/right", t->n_nodes, t->right);
    for (size_t i = 0; i < t->n_nodes; i++)
        tmp[i] = t->missing_left[i];
    rc |= ms_model_write_ints(f, "/trees/missing_left", t->n_nodes, tmp);
    rc |= ms_model_write_doubles(f, "/trees/value", t->leaf_width == 1 ? 1 : 2, nd, t->value);
    if (t->leaf_width == 1)
        rc |= ms_model_write_ints(f, "/trees/tree_output", t->n_trees, t->tree_output);
    rc |= ms_model_write_doubles(f, "/trees/base_score", 1, bd, t->base_score);
    if (t->is_cat)
        rc |= write_categorical(f, t);
    free(tmp);
    return rc;
}

/* ---- description ------------------------------------------------------- */

void ms_trees_describe(const ms_model *m, FILE *out)
{
    const ms_trees *t = &m->trees;
    fprintf(out, "trees:     %zu (%zu nodes, %zu leaves, max depth %zu)\n", t->n_trees, t->n_nodes,
            t->n_leaves, t->max_depth);
    fprintf(out, "splits:    go left when x %s threshold; missing values %s\n",
            t->split == MS_SPLIT_LE ? "<=" : "<",
            t->missing_is_error ? "are bad rows" : "follow each split's default branch");
    fprintf(out, "scores:    %zu = base_score + %s of %s (%s)\n", m->n_raw,
            t->mean ? "mean" : "sum",
            t->leaf_width == 1 ? "one leaf value per tree" : "leaf vectors",
            t->float32_sum ? "float32, tree order" : "float64");
    if (t->is_cat) {
        size_t n_cat = 0;
        for (size_t i = 0; i < t->n_nodes; i++)
            n_cat += t->is_cat[i];
        fprintf(out,
                "           %zu categorical splits (a listed category goes right; other values "
                "%s)\n",
                n_cat, t->cat_other_missing ? "go where missing values go" : "go left");
        if (t->cat_uint8)
            fprintf(
                out,
                "           categories cast to 8 bits first, as scikit-learn does (256 is 0)\n");
    }
}

/* ---- compiling --------------------------------------------------------- */

/* The float32 t such that, for every float32 x, "x < t" decides as the
 * container's rule does against the float64 threshold. */
static float lt_threshold(double thr, ms_split_rule rule)
{
    float f = (float)thr;
    if (rule == MS_SPLIT_LT) {
        /* x < thr  <=>  x < (smallest float >= thr) */
        if ((double)f < thr)
            f = nextafterf(f, INFINITY);
        return f;
    }
    /* x <= thr  <=>  x <= (largest float <= thr)  <=>  x < its successor */
    if ((double)f > thr)
        f = nextafterf(f, -INFINITY);
    return nextafterf(f, INFINITY);
}

/* Fill l->packed if every node fits 64 bits (trees_layout.h); a model that
 * does not fit, or no memory for it, leaves it NULL (the unpacked layout
 * scores the same, a little slower). */
static void pack(ms_tree_layout *l, size_t n_features)
{
    if (n_features > 0xffff)
        return;
    for (size_t n = 0; n < l->n_nodes; n++)
        if (l->child[n] >= 0 && (size_t)l->child[n] - n > 0x7fff)
            return;
    l->packed = malloc(l->n_nodes * sizeof *l->packed);
    l->packed_thr = calloc(l->n_nodes + MS_TREE_PAD, sizeof *l->packed_thr);
    l->packed_meta = calloc(l->n_nodes + MS_TREE_PAD, sizeof *l->packed_meta);
    if (!l->packed || !l->packed_thr || !l->packed_meta) {
        free(l->packed);
        free(l->packed_thr);
        free(l->packed_meta);
        l->packed = NULL;
        l->packed_thr = NULL;
        l->packed_meta = NULL;
        return;
    }
    for (size_t n = 0; n < l->n_nodes; n++) {
        uint32_t meta, bits;
        float thr = l->child[n] >= 0 ? l->thr[n] : NAN;
        memcpy(&bits, &thr, sizeof bits);
        if (l->child[n] < 0)
            meta = MS_FEAT_MISSING_LEFT;
        else
            meta = (l->feat[n] & MS_FEAT_MISSING_LEFT) | (l->feat[n] & MS_FEAT_MASK) |
                   (uint32_t)((size_t)l->child[n] - n) << 16;
        l->packed[n] = (uint64_t)meta << 32 | bits;
        l->packed_thr[n] = thr;
        l->packed_meta[n] = meta;
    }
}

ms_status ms_trees_compile(ms_model *m, ms_error *err)
{
    ms_trees *t = &m->trees;
    ms_status st = MS_OK;
    uint32_t *queue = NULL, *qdepth = NULL;
    size_t w = t->leaf_width, biggest = 0;
    MS_CHECK(validate(m, "model", &t->max_depth, &t->n_leaves, err));
    ms_tree_layout *l = calloc(1, sizeof *l);
    if (!l) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    t->compiled = l;
    l->n_trees = t->n_trees;
    l->n_nodes = t->n_nodes;
    l->leaf_width = w;
    for (size_t i = 0; i < t->n_trees; i++) {
        size_t n = (size_t)(t->node_offset[i + 1] - t->node_offset[i]);
        if (n > biggest)
            biggest = n;
    }
    l->root = malloc(t->n_trees * sizeof *l->root);
    l->depth = malloc(t->n_trees * sizeof *l->depth);
    l->out = calloc(t->n_trees, sizeof *l->out);
    l->child = malloc(t->n_nodes * sizeof *l->child);
    l->feat = malloc(t->n_nodes * sizeof *l->feat);
    l->thr = malloc(t->n_nodes * sizeof *l->thr);
    l->leaf_f32 = calloc(t->n_nodes, sizeof *l->leaf_f32);
    l->leaf_f64 = calloc(t->n_nodes * w, sizeof *l->leaf_f64);
    l->divisor = malloc(m->n_raw * sizeof *l->divisor);
    l->group_start = malloc((t->n_trees + 1) * sizeof *l->group_start);
    queue = malloc(biggest * sizeof *queue);
    qdepth = malloc(biggest * sizeof *qdepth);
    if (!l->root || !l->depth || !l->out || !l->child || !l->feat || !l->thr || !l->leaf_f32 ||
        !l->leaf_f64 || !l->divisor || !l->group_start || !queue || !qdepth) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory compiling %zu trees", t->n_trees);
        goto done;
    }
    /* Breadth-first renumbering: the queue holds old local indices in new
     * order, so a node's new index is base + its queue position, and a
     * split's children are appended side by side. */
    size_t base = 0, group_bytes = 0;
    size_t node_bytes = 3 * sizeof(uint32_t) + sizeof(float) + w * sizeof(double);
    l->n_groups = 0;
    for (size_t ti = 0; ti < t->n_trees; ti++) {
        size_t old_base = (size_t)t->node_offset[ti];
        size_t n = (size_t)(t->node_offset[ti + 1] - t->node_offset[ti]), tail = 1;
        uint32_t depth = 0;
        queue[0] = 0;
        qdepth[0] = 0;
        for (size_t q = 0; q < n; q++) {
            size_t g = old_base + queue[q], nn = base + q;
            if (qdepth[q] > depth)
                depth = qdepth[q];
            if (t->feature[g] < 0) {
                l->child[nn] = -1;
                l->feat[nn] = 0;
                l->thr[nn] = 0.0f;
                l->leaf_f32[nn] = (float)t->value[g * w];
                memcpy(l->leaf_f64 + nn * w, t->value + g * w, w * sizeof(double));
                continue;
            }
            l->child[nn] = (int32_t)(base + tail);
            l->feat[nn] = (uint32_t)t->feature[g] | (t->missing_left[g] ? MS_FEAT_MISSING_LEFT : 0);
            l->thr[nn] = lt_threshold(t->threshold[g], t->split);
            queue[tail] = (uint32_t)t->left[g];
            queue[tail + 1] = (uint32_t)t->right[g];
            qdepth[tail] = qdepth[tail + 1] = qdepth[q] + 1;
            tail += 2;
        }
        l->root[ti] = (uint32_t)base;
        l->depth[ti] = depth;
        l->out[ti] = w == 1 ? t->tree_output[ti] : 0;
        size_t bytes = n * node_bytes;
        if (ti == 0 || group_bytes + bytes > GROUP_BYTES) {
            l->group_start[l->n_groups++] = ti;
            group_bytes = 0;
        }
        group_bytes += bytes;
        base += n;
    }
    l->group_start[l->n_groups] = t->n_trees;
    pack(l, m->n_features);
    for (size_t k = 0; k < m->n_raw; k++)
        l->divisor[k] = t->mean ? 0.0 : 1.0;
    if (t->mean) {
        for (size_t ti = 0; ti < t->n_trees; ti++)
            if (w == 1)
                l->divisor[t->tree_output[ti]] += 1.0;
            else
                for (size_t k = 0; k < m->n_raw; k++)
                    l->divisor[k] += 1.0;
        for (size_t k = 0; k < m->n_raw; k++)
            if (l->divisor[k] == 0.0)
                l->divisor[k] = 1.0; /* no tree adds to it: the base score stands */
    }
    /* 16 rows of features must be addressable with 32-bit gather indices */
    l->simd_ok = m->n_features <= ((size_t)1 << 26);
    ms_tree_quant_build(l, m);
done:
    free(queue);
    free(qdepth);
    if (st != MS_OK) {
        layout_free(t->compiled);
        t->compiled = NULL;
    }
    return st;
}
