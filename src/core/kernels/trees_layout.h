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
    int simd_ok; /* row offsets fit the 32-bit gather indices */
} ms_tree_layout;

#endif
