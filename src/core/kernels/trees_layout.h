/*
 * trees_layout.h — the compiled form of a tree ensemble that the fast
 * kernels walk (built once per load by ms_trees_compile, model_trees.c).
 *
 * Every tree is renumbered breadth-first so that a split's two children sit
 * side by side: the left child is child[n], the right one child[n] + 1, and
 * a walk step is "n = child[n] + !go_left" with no branch. Indices are
 * global across trees. A split's float64 threshold is turned into a float32
 * one under a single rule, "go left when x < thr", that decides every
 * float32 x exactly as the container's rule (lt or le) does on the float64
 * threshold, so kernels compare with one instruction. Leaves have child -1
 * and keep their walk in place, so a kernel may step every lane `depth[t]`
 * times without asking which lanes have arrived.
 *
 * Invariants (the compiler guarantees them; kernels rely on them and check
 * nothing):
 *   - child[n] >= 0 implies child[n] + 1 < n_nodes, both in the same tree;
 *   - feat[n] & MS_FEAT_MASK < n_features for every node (leaves: 0);
 *   - packed: node + (child - node) + 1 < n_nodes for splits, as above;
 *   - a walk from root[t] reaches a leaf in at most depth[t] steps;
 *   - leaf_f32[n] is the leaf's value as float (leaf_width 1), leaf_f64[n]
 *     as double; for leaf_width > 1, leaf_f64[n * w .. n * w + w - 1].
 */
#ifndef MPISCORE_TREES_LAYOUT_H
#define MPISCORE_TREES_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define MS_FEAT_MISSING_LEFT 0x80000000u
#define MS_FEAT_MASK 0x7fffffffu
#define MS_TREE_PAD 32

/* The quantized form (trees_quant.c) that the fastest kernels walk, built
 * at load for models it suits (one value per leaf, < 2^15 features, at
 * most MS_QUANT_MAX_CUTS distinct thresholds per feature, a bounded size),
 * else NULL and the kernels walk the layout below.
 *
 * Cuts: feature f's distinct float32 thresholds (the "x < thr" rule of
 * ms_tree_layout.thr), sorted, are cut[cut_off[f] .. cut_off[f] + n_f - 1],
 * padded with NaN to cut_len[f] = 2^k - 1 >= n_f entries. A row's value x
 * maps to its bin, the number of cuts <= x (0 .. n_f), or MS_BIN_NAN for
 * NaN; then for the cut c_k, x < c_k exactly when bin(x) < k + 1 (x not
 * NaN), so a node compares two small integers.
 *
 * Trees come in two forms, chosen per tree (n_split[t] says which).
 *
 * Small trees (at most MS_QUANT_SMALL_LEAVES leaves; n_split[t] is their
 * split count): the bitvector form of QuickScorer. The leaves are numbered
 * left to right (in order), bit p of a 32-bit word standing for leaf p;
 * split s of the tree is split[split_off[t] + s], and when a row goes
 * right there, the leaves of its left subtree cannot be the row's: clear
 * their bits (AND with split.keep). The row's leaf is then the lowest bit
 * left, for every split of the tree is evaluated and exactly the leaves on
 * the row's path stay reachable from the left. Leaves at
 * leaf_f32/leaf_f64[leaf_off[t] + p].
 *
 * Other trees (n_split[t] == MS_QUANT_WALK, so more than 32 leaves and
 * depth[t] >= 6, which the kernels rely on): complete, depth[t] levels of
 * splits, stored heap-ordered (node i's children 2i and 2i + 1, the root
 * 1, word 0 unused) at node[node_off[t] ..], its 2^depth[t] leaves at
 * leaf_f32/leaf_f64[leaf_off[t] ..]: a walk is "i = 2i + right" depth[t]
 * times, then leaf i - 2^depth[t]. A leaf of the container above the last
 * level becomes a chain of pass-through splits (every bin, NaN too, goes
 * left) ending at its leaf (the leftmost bottom position below it; the
 * others are never reached).
 *
 * One rule for "goes right" in both forms, a single signed comparison:
 * (int32)(bin ^ flip) >= (int32)(bound ^ flip), where bound is the split's
 * bin bound and flip is 0x80000000 when NaN goes right, else 0. Bins
 * 0 .. 65534 compare as themselves either way (flipping the sign bit of
 * both sides turns the signed comparison into the unsigned one), and the
 * NaN bin 0xffffffff is -1 unflipped (goes left) or INT32_MAX flipped
 * (goes right).
 *
 * Node word: bits 0-15 bound, bits 16-30 feature, bit 31 flip; so
 * bound ^ flip is the word & 0x8000ffff. The pass-through word is 0xffff.
 * node[] has MS_QUANT_PAD zero words after the last tree, so a kernel may
 * load a whole register of a small tree's words. */
struct ms_model;
struct ms_tree_layout;

#define MS_QUANT_MAX_CUTS 65534u
#define MS_BIN_NAN 0xffffffffu
#define MS_QUANT_PAD 64
#define MS_QNODE_FEAT 0x7fffu
#define MS_QNODE_FLIP 0x80000000u
#define MS_QNODE_PASS 0xffffu
#define MS_QUANT_SMALL_LEAVES 32
#define MS_QUANT_WALK UINT32_MAX

typedef struct ms_quant_split {
    uint32_t feat, flip, bound_flip, keep; /* bound_flip = bound ^ flip */
} ms_quant_split;

typedef struct ms_tree_quant {
    size_t n_features;
    uint32_t *cut_off; /* n_features */
    uint32_t *cut_len; /* n_features: 2^k - 1 */
    float *cut;
    uint32_t *depth;    /* n_trees */
    uint32_t *node_off; /* n_trees */
    uint32_t *leaf_off; /* n_trees */
    uint32_t *node;
    uint32_t *n_split;   /* n_trees: splits of a small tree, or MS_QUANT_WALK */
    uint32_t *split_off; /* n_trees (small trees) */
    ms_quant_split *split;
    float *leaf_f32;  /* float32 sums, else NULL */
    double *leaf_f64; /* float64 sums, else NULL */
    /* trees in cache-sized groups, as ms_tree_layout's */
    size_t n_groups;
    size_t *group_start;
} ms_tree_quant;

/* Build l->quant for model m (validated, l compiled from it); leaves it NULL
 * when the model does not suit or memory is short (the kernels then walk
 * l as before: the same scores, slower). */
void ms_tree_quant_build(struct ms_tree_layout *l, const struct ms_model *m);
void ms_tree_quant_free(ms_tree_quant *q);
/* The bins of nr rows of x (nf features each), feature-major: bins[f *
 * stride + r]; rows nr .. stride - 1 get bin 0. */
void ms_tree_quant_bins(const ms_tree_quant *q, const float *x, size_t nr, size_t nf, size_t stride,
                        uint32_t *bins);

/* The quantized kernels' shared driver: rows in blocks of MS_QUANT_ROWS
 * binned once, trees in the layout's groups, and for every tree and every
 * chunk of `chunk` rows of the block (from row v0), add_tree adds the
 * tree's leaf to acc32 (float32 sums) or acc64 (float64) at [k *
 * MS_QUANT_ROWS + row], k the tree's score: leaves added per row in tree
 * order, so the sums are the scalar kernel's. Lanes past the block's last
 * row walk bins of 0 into slots nobody reads. */
#define MS_QUANT_LOG_ROWS 7
#define MS_QUANT_ROWS (1 << MS_QUANT_LOG_ROWS)
typedef void (*ms_quant_tree_fn)(const ms_tree_quant *q, size_t tree, const uint32_t *bins,
                                 size_t v0, float *acc32, double *acc64);
void ms_tree_quant_run(const struct ms_model *m, const float *x, size_t n_rows, float *raw,
                       size_t chunk, ms_quant_tree_fn add_tree);

typedef struct ms_tree_layout {
    size_t n_trees;
    size_t n_nodes;
    size_t leaf_width;
    uint32_t *root;   /* n_trees: the tree's root node */
    uint32_t *depth;  /* n_trees: steps from the root to its deepest leaf */
    int32_t *out;     /* n_trees: the score a tree adds to (leaf_width 1) */
    int32_t *child;   /* n_nodes: left child (right = left + 1), -1 for a leaf */
    uint32_t *feat;   /* n_nodes: feature | MS_FEAT_MISSING_LEFT */
    float *thr;       /* n_nodes: go left when x < thr (splits) */
    float *leaf_f32;  /* n_nodes (leaf_width 1): leaf value as float */
    double *leaf_f64; /* n_nodes * leaf_width: leaf value as double */
    /* The same nodes packed in 64 bits when every model fits (features
     * < 2^16, a child at most 2^15 - 1 nodes after its parent): low word
     * the threshold's bits, high word feature | (child - node) << 16 |
     * missing-left << 31. A leaf is (child - node) = 0 with a NaN
     * threshold and missing-left set: every x then "goes left" and stays.
     * One 64-bit gather fetches a whole node, and there is no leaf test.
     * NULL when the model does not fit. */
    uint64_t *packed;
    /* The packed words split in two arrays (threshold bits, metadata), with
     * MS_TREE_PAD zero entries after the last node: the top levels of a
     * tree (breadth-first, so levels 0..L are its first 2^(L+1) - 1 nodes)
     * are loaded into registers and indexed there instead of gathered. */
    float *packed_thr;
    uint32_t *packed_meta;
    double *divisor; /* n_raw: trees adding to the score (aggregate mean), else 1 */
    /* Trees are scored in groups small enough to stay in cache while a
     * block of rows walks them: group g is trees group_start[g] ..
     * group_start[g+1] - 1. */
    size_t n_groups;
    size_t *group_start;
    int simd_ok;          /* row offsets fit the 32-bit gather indices */
    ms_tree_quant *quant; /* NULL unless the model suits it (above) */
} ms_tree_layout;

#endif
