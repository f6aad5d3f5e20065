/*
 * trees_quant.c — the quantized tree layout (trees_layout.h ms_tree_quant):
 * built once at load from the compiled layout, and the per-row binning the
 * quantized kernels (trees_quant_avx512.c, trees_quant_avx2.c) start from.
 *
 * Why: a node of the compiled layout is a float32 threshold plus 32 bits
 * of feature/child/missing metadata, and a walk step gathers it; complete
 * heap-ordered trees need no child field, and comparing bins instead of
 * floats lets feature, missing-left and bound share one 32-bit word, so a
 * tree's top levels sit in a few registers and a step is a permute.
 *
 * Exactness: the cuts of a feature are exactly the float32 thresholds its
 * splits compare with under "x < thr" (ms_tree_layout.thr, already proven
 * equivalent to the container's rule), and bin(x) counts the cuts <= x
 * with IEEE comparisons, so x < c_k <=> bin(x) <= k for every float32 x
 * but NaN (-0.0 and +0.0 are one cut; +-inf land in the first and last
 * bins); NaN has its own bin that each node sends its own way.
 *
 * Bounds: a model is not quantized (the kernels walk the compiled layout)
 * when a feature has more than MS_QUANT_MAX_CUTS distinct thresholds, the
 * model has 2^15 features or more or leaf vectors, or completing its trees
 * would take more than QUANT_SLOTS_PER_NODE times its node count (deep
 * lopsided trees): memory stays within a small multiple of the model's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpiscore/kernels.h"
#include "mpiscore/model.h"
#include "trees_layout.h"

#define QUANT_MAX_DEPTH 24
#define QUANT_SLOTS_PER_NODE 8
#define QUANT_SLOTS_MIN (1u << 16)
#define QUANT_SLOTS_MAX (1u << 30)
/* trees grouped so a group's words and leaves stay in L2 while a block of
 * rows walks them */
#define QUANT_GROUP_BYTES (192u * 1024u)

void ms_tree_quant_free(ms_tree_quant *q)
{
    if (!q)
        return;
    free(q->cut_off);
    free(q->cut_len);
    free(q->cut);
    free(q->depth);
    free(q->node_off);
    free(q->leaf_off);
    free(q->node);
    free(q->n_split);
    free(q->split_off);
    free(q->split);
    free(q->leaf_f32);
    free(q->leaf_f64);
    free(q->group_start);
    free(q);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The index of thr among feature f's sorted cuts (it is one of them). */
static uint32_t cut_index(const ms_tree_quant *q, uint32_t f, uint32_t n_f, float thr)
{
    const float *c = q->cut + q->cut_off[f];
    uint32_t lo = 0, hi = n_f;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c[mid] < thr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Sorted distinct cuts per feature into q (cut_off, cut_len, cut); n_cuts
 * receives each feature's count. 0 if a feature has too many or memory is
 * short. */
static int build_cuts(ms_tree_quant *q, const ms_tree_layout *l, uint32_t *n_cuts)
{
    size_t nf = q->n_features, total = 0;
    size_t *fill = calloc(nf + 1, sizeof *fill);
    float *raw = malloc((l->n_nodes ? l->n_nodes : 1) * sizeof *raw);
    int ok = 0;
    q->cut_off = calloc(nf ? nf : 1, sizeof *q->cut_off);
    q->cut_len = calloc(nf ? nf : 1, sizeof *q->cut_len);
    if (!fill || !raw || !q->cut_off || !q->cut_len)
        goto done;
    /* counting sort of the split thresholds by feature, then sort each run */
    for (size_t n = 0; n < l->n_nodes; n++)
        if (l->child[n] >= 0)
            fill[(l->feat[n] & MS_FEAT_MASK) + 1]++;
    for (size_t f = 0; f < nf; f++)
        fill[f + 1] += fill[f];
    for (size_t n = 0; n < l->n_nodes; n++)
        if (l->child[n] >= 0)
            raw[fill[l->feat[n] & MS_FEAT_MASK]++] = l->thr[n];
    /* fill[f] is now the end of feature f's run, fill[f - 1] its start */
    for (size_t f = 0; f < nf; f++) {
        size_t start = f ? fill[f - 1] : 0, len = fill[f] - start, d = 0;
        qsort(raw + start, len, sizeof *raw, cmp_float);
        for (size_t i = 0; i < len; i++)
            if (d == 0 || raw[start + i] != raw[start + d - 1])
                raw[start + d++] = raw[start + i];
        if (d > MS_QUANT_MAX_CUTS)
            goto done;
        n_cuts[f] = (uint32_t)d;
        uint32_t padded = 0;
        while (padded < d)
            padded = padded * 2 + 1;
        q->cut_len[f] = padded;
        total += padded;
    }
    if (!(q->cut = malloc((total ? total : 1) * sizeof *q->cut)))
        goto done;
    total = 0;
    for (size_t f = 0; f < nf; f++) {
        size_t start = f ? fill[f - 1] : 0;
        q->cut_off[f] = (uint32_t)total;
        memcpy(q->cut + total, raw + start, n_cuts[f] * sizeof *raw);
        /* NaN never compares <= x: the padding is never counted */
        for (size_t i = n_cuts[f]; i < q->cut_len[f]; i++)
            q->cut[total + i] = NAN;
        total += q->cut_len[f];
    }
    ok = 1;
done:
    free(fill);
    free(raw);
    return ok;
}

/* Write tree t's complete heap-ordered form (trees_layout.h). */
static void build_tree(ms_tree_quant *q, const ms_tree_layout *l, size_t t, const uint32_t *n_cuts)
{
    struct {
        uint32_t node, level, pos;
    } stack[2 * QUANT_MAX_DEPTH + 2];
    uint32_t depth = q->depth[t], *word = q->node + q->node_off[t];
    size_t sp = 0;
    stack[sp].node = l->root[t];
    stack[sp].level = 0;
    stack[sp++].pos = 0;
    while (sp) {
        sp--;
        uint32_t n = stack[sp].node, level = stack[sp].level, pos = stack[sp].pos;
        uint32_t heap = (1u << level) + pos;
        if (level == depth) {
            /* a leaf at the bottom (depth[t] bounds every path) */
            if (q->leaf_f32)
                q->leaf_f32[q->leaf_off[t] + pos] = l->leaf_f32[n];
            else
                q->leaf_f64[q->leaf_off[t] + pos] = l->leaf_f64[n];
            continue;
        }
        if (l->child[n] < 0) {
            /* pass-through: every bin, NaN too, is below bound 0xffff */
            word[heap] = MS_QNODE_PASS;
            stack[sp].node = n;
            stack[sp].level = level + 1;
            stack[sp++].pos = 2 * pos;
            continue;
        }
        uint32_t f = l->feat[n] & MS_FEAT_MASK;
        uint32_t bound = cut_index(q, f, n_cuts[f], l->thr[n]) + 1;
        word[heap] = (l->feat[n] & MS_FEAT_MISSING_LEFT ? 0 : MS_QNODE_FLIP) | f << 16 | bound;
        uint32_t kid = (uint32_t)l->child[n];
        stack[sp].node = kid;
        stack[sp].level = level + 1;
        stack[sp++].pos = 2 * pos;
        stack[sp].node = kid + 1;
        stack[sp].level = level + 1;
        stack[sp++].pos = 2 * pos + 1;
    }
}

/* Leaves of the subtree at layout node n, numbered from *next in order;
 * its splits appended at q->split[*ns]. Recursion depth is bounded by the
 * leaf count (MS_QUANT_SMALL_LEAVES). */
static void build_small(ms_tree_quant *q, const ms_tree_layout *l, uint32_t n, uint32_t leaf_off,
                        uint32_t *next, size_t *ns, const uint32_t *n_cuts)
{
    if (l->child[n] < 0) {
        if (q->leaf_f32)
            q->leaf_f32[leaf_off + *next] = l->leaf_f32[n];
        else
            q->leaf_f64[leaf_off + *next] = l->leaf_f64[n];
        (*next)++;
        return;
    }
    ms_quant_split *s = q->split + (*ns)++;
    uint32_t f = l->feat[n] & MS_FEAT_MASK, lo = *next;
    uint32_t bound = cut_index(q, f, n_cuts[f], l->thr[n]) + 1;
    build_small(q, l, (uint32_t)l->child[n], leaf_off, next, ns, n_cuts);
    uint64_t left = ((1ull << *next) - 1) ^ ((1ull << lo) - 1);
    s->feat = f;
    s->flip = l->feat[n] & MS_FEAT_MISSING_LEFT ? 0 : MS_QNODE_FLIP;
    s->bound_flip = bound ^ s->flip;
    s->keep = (uint32_t)~left;
    build_small(q, l, (uint32_t)l->child[n] + 1, leaf_off, next, ns, n_cuts);
}

/* Leaves of tree t (a walk over the layout's children). */
static size_t count_leaves(const ms_tree_layout *l, size_t t)
{
    size_t end = t + 1 < l->n_trees ? l->root[t + 1] : l->n_nodes, leaves = 0;
    for (size_t n = l->root[t]; n < end; n++)
        leaves += l->child[n] < 0;
    return leaves;
}

void ms_tree_quant_build(ms_tree_layout *l, const ms_model *m)
{
    ms_tree_quant *q = NULL;
    uint32_t *n_cuts = NULL;
    size_t nt = l->n_trees, slots = 0, leaves = 0, splits = 0, budget;
    l->quant = NULL;
    /* categorical splits are scored on the reference walks (dispatch.c) */
    if (l->leaf_width != 1 || m->n_features > (size_t)MS_QNODE_FEAT + 1 || m->trees.is_cat)
        return;
    budget = l->n_nodes * QUANT_SLOTS_PER_NODE;
    if (budget < QUANT_SLOTS_MIN)
        budget = QUANT_SLOTS_MIN;
    if (budget > QUANT_SLOTS_MAX) /* offsets are 32-bit */
        budget = QUANT_SLOTS_MAX;
    if (!(q = calloc(1, sizeof *q)))
        return;
    q->n_split = malloc(nt * sizeof *q->n_split);
    if (!q->n_split)
        goto fail;
    for (size_t t = 0; t < nt; t++) {
        size_t n_leaves = count_leaves(l, t);
        if (n_leaves <= MS_QUANT_SMALL_LEAVES) {
            q->n_split[t] = (uint32_t)n_leaves - 1;
            splits += n_leaves - 1;
            leaves += n_leaves;
            continue;
        }
        q->n_split[t] = MS_QUANT_WALK;
        if (l->depth[t] > QUANT_MAX_DEPTH)
            goto fail;
        slots += (size_t)1 << l->depth[t];
        leaves += (size_t)1 << l->depth[t];
        if (slots > budget)
            goto fail;
    }
    q->n_features = m->n_features;
    n_cuts = calloc(m->n_features ? m->n_features : 1, sizeof *n_cuts);
    q->depth = malloc(nt * sizeof *q->depth);
    q->node_off = calloc(nt, sizeof *q->node_off);
    q->leaf_off = malloc(nt * sizeof *q->leaf_off);
    q->node = calloc(slots + MS_QUANT_PAD, sizeof *q->node);
    q->split_off = calloc(nt, sizeof *q->split_off);
    q->split = malloc((splits ? splits : 1) * sizeof *q->split);
    /* the leaves in the precision the model sums in */
    if (m->trees.float32_sum)
        q->leaf_f32 = calloc(leaves, sizeof *q->leaf_f32);
    else
        q->leaf_f64 = calloc(leaves, sizeof *q->leaf_f64);
    q->group_start = malloc((nt + 1) * sizeof *q->group_start);
    if (!n_cuts || !q->depth || !q->node_off || !q->leaf_off || !q->node || !q->split_off ||
        !q->split || !(q->leaf_f32 || q->leaf_f64) || !q->group_start || !build_cuts(q, l, n_cuts))
        goto fail;
    size_t off = 0, leaf = 0, ns = 0, group_bytes = 0, lbytes = m->trees.float32_sum ? 4 : 8;
    q->n_groups = 0;
    for (size_t t = 0; t < nt; t++) {
        size_t bytes;
        q->depth[t] = l->depth[t];
        q->leaf_off[t] = (uint32_t)leaf;
        if (q->n_split[t] != MS_QUANT_WALK) {
            uint32_t next = 0;
            q->split_off[t] = (uint32_t)ns;
            build_small(q, l, l->root[t], (uint32_t)leaf, &next, &ns, n_cuts);
            leaf += next;
            bytes = q->n_split[t] * sizeof *q->split + next * lbytes;
        } else {
            size_t size = (size_t)1 << l->depth[t];
            q->node_off[t] = (uint32_t)off;
            build_tree(q, l, t, n_cuts);
            off += size;
            leaf += size;
            bytes = size * (sizeof(uint32_t) + lbytes);
        }
        if (t == 0 || group_bytes + bytes > QUANT_GROUP_BYTES) {
            q->group_start[q->n_groups++] = t;
            group_bytes = 0;
        }
        group_bytes += bytes;
    }
    q->group_start[q->n_groups] = nt;
    free(n_cuts);
    l->quant = q;
    return;
fail:
    free(n_cuts);
    ms_tree_quant_free(q);
}

void ms_tree_quant_bins(const ms_tree_quant *q, const float *x, size_t nr, size_t nf, size_t stride,
                        uint32_t *bins)
{
    for (size_t f = 0; f < nf; f++) {
        const float *c = q->cut + q->cut_off[f];
        uint32_t first = (q->cut_len[f] + 1) / 2, *out = bins + f * stride;
        for (size_t r = 0; r < nr; r++) {
            float v = x[r * nf + f];
            uint32_t b = 0;
            /* binary lifting over 2^k - 1 sorted cuts: b ends as the number
             * of cuts <= v (NaN padding is never <= v) */
            for (uint32_t step = first; step; step /= 2)
                b += c[b + step - 1] <= v ? step : 0;
            out[r] = isnan(v) ? MS_BIN_NAN : b;
        }
        for (size_t r = nr; r < stride; r++)
            out[r] = 0;
    }
}

void ms_tree_quant_run(const ms_model *m, const float *x, size_t n_rows, float *raw, size_t chunk,
                       ms_quant_tree_fn add_tree)
{
    const ms_tree_layout *l = m->trees.compiled;
    const ms_tree_quant *q = l->quant;
    const ms_trees *t = &m->trees;
    size_t kr = m->n_raw, nf = m->n_features, rows = MS_QUANT_ROWS;
    /* per block: accumulators score-major, so a vector's rows of one score
     * are contiguous */
    double *acc64 = malloc(kr * rows * sizeof *acc64);
    float *acc32 = malloc(kr * rows * sizeof *acc32);
    uint32_t *bins = malloc((rows * nf + 1) * sizeof *bins);
    if (!acc64 || !acc32 || !bins) {
        free(acc64);
        free(acc32);
        free(bins);
        ms_trees_scalar(m, x, n_rows, raw); /* no memory for speed: still right */
        return;
    }
    for (size_t r0 = 0; r0 < n_rows; r0 += rows) {
        size_t nr = n_rows - r0 < rows ? n_rows - r0 : rows;
        ms_tree_quant_bins(q, x + r0 * nf, nr, nf, rows, bins);
        for (size_t k = 0; k < kr; k++)
            for (size_t i = 0; i < rows; i++) {
                acc64[k * rows + i] = 0.0;
                acc32[k * rows + i] = (float)t->base_score[k];
            }
        for (size_t g = 0; g < q->n_groups; g++)
            for (size_t v0 = 0; v0 < nr; v0 += chunk)
                for (size_t ti = q->group_start[g]; ti < q->group_start[g + 1]; ti++)
                    add_tree(q, ti, bins, v0, acc32 + (size_t)l->out[ti] * rows,
                             acc64 + (size_t)l->out[ti] * rows);
        for (size_t i = 0; i < nr; i++)
            for (size_t k = 0; k < kr; k++)
                raw[(r0 + i) * kr + k] =
                    t->float32_sum
                        ? acc32[k * rows + i]
                        : (float)(t->base_score[k] + acc64[k * rows + i] / l->divisor[k]);
    }
    free(acc64);
    free(acc32);
    free(bins);
}
