/*
 * trees_quant_avx512.c — tree ensembles with AVX-512 on the quantized
 * layout (trees_layout.h ms_tree_quant): a block of rows is mapped to bins
 * once (feature-major: a feature's bins of 16 consecutive rows are one
 * load), then 16 rows walk a complete tree together, one row per lane.
 *
 * The top TOP levels have few nodes, each known here with its feature, so
 * every node's bins are one contiguous load and a lane's way is picked
 * from the nodes' masks: no gather. Below, a level's nodes are contiguous
 * in a heap-ordered tree, so a lane's node word is a permute of registers
 * loaded once per tree and level (levels 0-3: one register, 4: one, 5:
 * two, 6: four), gathered only deeper; each step gathers the lanes' bins
 * (one 32-bit word per lane) and compares integers. VECS vectors of rows are in
 * flight per tree to cover the gather latency, rows go in blocks of ROWS
 * and trees in the layout's cache-sized groups, as in trees_avx512.c.
 * Leaves are added per row in tree order, in float32 or double as the
 * container says, so the result is bit-identical to trees_scalar.c.
 */
#include <immintrin.h>

#include "mpiscore/kernels.h"
#include "trees_layout.h"

#define LANES 16
#define VECS 8

#define LOG_ROWS MS_QUANT_LOG_ROWS /* rows per block, a multiple of LANES * VECS */
#define TOP 3                      /* levels decided from contiguous loads */

/* One step for 16 lanes at heap indices i whose node words are nd; row
 * holds the lanes' rows in the block (bins are feature-major). The rule is
 * trees_layout.h's: right when (bin ^ flip) >= (bound ^ flip), signed. */
static inline __m512i step(__m512i i, __m512i nd, __m512i row, const uint32_t *bins)
{
    const __m512i featm = _mm512_set1_epi32(MS_QNODE_FEAT << LOG_ROWS);
    const __m512i flip = _mm512_set1_epi32((int)MS_QNODE_FLIP);
    const __m512i keep = _mm512_set1_epi32((int)(MS_QNODE_FLIP | 0xffffu));
    const __m512i one = _mm512_set1_epi32(1);
    __m512i at =
        _mm512_add_epi32(_mm512_and_si512(_mm512_srli_epi32(nd, 16 - LOG_ROWS), featm), row);
    __m512i bin = _mm512_i32gather_epi32(at, (const int *)bins, 4);
    /* 0x78: bin ^ (nd & flip) */
    __m512i lhs = _mm512_ternarylogic_epi32(bin, nd, flip, 0x78);
    __mmask16 right = _mm512_cmpge_epi32_mask(lhs, _mm512_and_si512(nd, keep));
    __m512i i2 = _mm512_add_epi32(i, i);
    return _mm512_mask_add_epi32(i2, right, i2, one);
}

/* Levels 0 .. top-1 for the 16 rows from row0: every lane of a level is at
 * one of few nodes whose features are known here, so each node's bins are
 * one contiguous load and a lane's way is picked from the nodes' masks. */
static inline __m512i top_levels(const uint32_t *w, size_t row0, const uint32_t *bins)
{
    const __m512i one = _mm512_set1_epi32(1);
    __mmask16 at[1 << TOP], right = 0; /* at[j]: the lanes at heap node j */
    __m512i i = one;
    at[1] = 0xffff;
    /* nodes 1 .. 2^TOP - 1 in heap order, level by level */
#pragma GCC unroll 16
    for (uint32_t j = 1; j < 1u << TOP; j++) {
        uint32_t nd = w[j];
        __m512i flip = _mm512_set1_epi32((int)(nd & MS_QNODE_FLIP));
        __m512i bound = _mm512_set1_epi32((int)(nd & (MS_QNODE_FLIP | 0xffffu)));
        const uint32_t *fb = bins + ((size_t)(nd >> 16 & MS_QNODE_FEAT) << LOG_ROWS) + row0;
        __m512i bin = _mm512_xor_si512(_mm512_loadu_si512(fb), flip);
        __mmask16 r = _mm512_mask_cmpge_epi32_mask(at[j], bin, bound);
        right |= r;
        if (j < 1u << (TOP - 1)) {
            at[2 * j] = at[j] & (__mmask16)~r;
            at[2 * j + 1] = r;
        }
        if (((j + 1) & j) == 0) { /* the last node of its level */
            __m512i i2 = _mm512_add_epi32(i, i);
            i = _mm512_mask_add_epi32(i2, right, i2, one);
            right = 0;
        }
    }
    return i;
}

/* Small tree t (bitvector form) for VECS vectors of rows from row v0:
 * every split clears the leaves a row cannot reach, the lowest bit left is
 * the row's leaf; idx receives its position. */
static inline void small_tree(const ms_tree_quant *q, size_t t, const uint32_t *bins, size_t v0,
                              __m512i *idx)
{
    const ms_quant_split *s = q->split + q->split_off[t];
    __m512i bv[VECS];
    for (int b = 0; b < VECS; b++)
        bv[b] = _mm512_set1_epi32(-1);
    for (uint32_t j = 0; j < q->n_split[t]; j++) {
        const uint32_t *fb = bins + ((size_t)s[j].feat << LOG_ROWS) + v0;
        __m512i flip = _mm512_set1_epi32((int)s[j].flip);
        __m512i bound = _mm512_set1_epi32((int)s[j].bound_flip);
        __m512i keep = _mm512_set1_epi32((int)s[j].keep);
#pragma GCC unroll 8
        for (int b = 0; b < VECS; b++) {
            __m512i bin = _mm512_xor_si512(_mm512_loadu_si512(fb + b * LANES), flip);
            __mmask16 right = _mm512_cmpge_epi32_mask(bin, bound);
            bv[b] = _mm512_mask_and_epi32(bv[b], right, bv[b], keep);
        }
    }
    /* the lowest set bit alone is a power of two, exact as a float: its
     * exponent is the position */
    const __m512i bias = _mm512_set1_epi32(127);
#pragma GCC unroll 8
    for (int b = 0; b < VECS; b++) {
        __m512i low = _mm512_and_si512(bv[b], _mm512_sub_epi32(_mm512_setzero_si512(), bv[b]));
        __m512i e = _mm512_srli_epi32(_mm512_castps_si512(_mm512_cvtepu32_ps(low)), 23);
        idx[b] = _mm512_sub_epi32(e, bias);
    }
}

/* Walk tree t for VECS vectors of rows from row v0 of the block; idx
 * receives each lane's leaf position (0 .. 2^depth - 1). */
static inline void walk(const ms_tree_quant *q, size_t t, const uint32_t *bins, size_t v0,
                        const __m512i *row, __m512i *idx)
{
    const uint32_t *w = q->node + q->node_off[t];
    /* a walked tree has more than MS_QUANT_SMALL_LEAVES leaves, so more
     * than TOP levels */
    uint32_t depth = q->depth[t], d = TOP;
#pragma GCC unroll 8
    for (int b = 0; b < VECS; b++)
        idx[b] = top_levels(w, v0 + (size_t)b * LANES, bins);
    if (d < 4) {
        /* heap indices 1..15: levels 0-3 (vpermd reads the low 4 bits) */
        __m512i n0 = _mm512_loadu_si512(w);
        for (; d < 4; d++) {
#pragma GCC unroll 8
            for (int b = 0; b < VECS; b++)
                idx[b] = step(idx[b], _mm512_permutexvar_epi32(idx[b], n0), row[b], bins);
        }
    }
    if (d == 4 && d < depth) { /* level 4: 16..31 */
        __m512i n1 = _mm512_loadu_si512(w + 16);
#pragma GCC unroll 8
        for (int b = 0; b < VECS; b++)
            idx[b] = step(idx[b], _mm512_permutexvar_epi32(idx[b], n1), row[b], bins);
        d++;
    }
    if (d == 5 && d < depth) { /* level 5: 32..63, two registers */
        __m512i a = _mm512_loadu_si512(w + 32), c = _mm512_loadu_si512(w + 48);
#pragma GCC unroll 8
        for (int b = 0; b < VECS; b++)
            idx[b] = step(idx[b], _mm512_permutex2var_epi32(a, idx[b], c), row[b], bins);
        d++;
    }
    if (d == 6 && d < depth) { /* level 6: 64..127, four registers; bit 5 picks the pair */
        __m512i a0 = _mm512_loadu_si512(w + 64), a1 = _mm512_loadu_si512(w + 80);
        __m512i a2 = _mm512_loadu_si512(w + 96), a3 = _mm512_loadu_si512(w + 112);
        const __m512i bit5 = _mm512_set1_epi32(32);
#pragma GCC unroll 8
        for (int b = 0; b < VECS; b++) {
            __m512i lo = _mm512_permutex2var_epi32(a0, idx[b], a1);
            __m512i hi = _mm512_permutex2var_epi32(a2, idx[b], a3);
            __m512i nd = _mm512_mask_blend_epi32(_mm512_test_epi32_mask(idx[b], bit5), lo, hi);
            idx[b] = step(idx[b], nd, row[b], bins);
        }
        d++;
    }
    for (; d < depth; d++)
#pragma GCC unroll 8
        for (int b = 0; b < VECS; b++)
            idx[b] = step(idx[b], _mm512_i32gather_epi32(idx[b], (const int *)w, 4), row[b], bins);
    const __m512i first = _mm512_set1_epi32((int)(1u << depth));
#pragma GCC unroll 8
    for (int b = 0; b < VECS; b++)
        idx[b] = _mm512_sub_epi32(idx[b], first);
}

/* Tree ti's leaves for the VECS vectors of rows from v0, added to acc32
 * or acc64 (ms_tree_quant_run). */
static void add_tree(const ms_tree_quant *q, size_t ti, const uint32_t *bins, size_t v0,
                     float *acc32, double *acc64)
{
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512i row[VECS], idx[VECS];
    if (q->n_split[ti] != MS_QUANT_WALK) {
        small_tree(q, ti, bins, v0, idx);
    } else {
        for (int b = 0; b < VECS; b++)
            row[b] = _mm512_add_epi32(_mm512_set1_epi32((int)(v0 + (size_t)b * LANES)), lane);
        walk(q, ti, bins, v0, row, idx);
    }
#pragma GCC unroll 8
    for (int b = 0; b < VECS; b++) {
        size_t slot = v0 + (size_t)b * LANES;
        if (q->leaf_f32) {
            __m512 v = _mm512_i32gather_ps(idx[b], q->leaf_f32 + q->leaf_off[ti], 4);
            _mm512_storeu_ps(acc32 + slot, _mm512_add_ps(_mm512_loadu_ps(acc32 + slot), v));
        } else {
            const double *lf = q->leaf_f64 + q->leaf_off[ti];
            __m512d lo = _mm512_i32gather_pd(_mm512_castsi512_si256(idx[b]), lf, 8);
            __m512d hi = _mm512_i32gather_pd(_mm512_extracti64x4_epi64(idx[b], 1), lf, 8);
            _mm512_storeu_pd(acc64 + slot, _mm512_add_pd(_mm512_loadu_pd(acc64 + slot), lo));
            _mm512_storeu_pd(acc64 + slot + 8,
                             _mm512_add_pd(_mm512_loadu_pd(acc64 + slot + 8), hi));
        }
    }
}

void ms_trees_quant_avx512(const ms_model *m, const float *x, size_t n_rows, float *raw)
{
    ms_tree_quant_run(m, x, n_rows, raw, LANES * VECS, add_tree);
}
