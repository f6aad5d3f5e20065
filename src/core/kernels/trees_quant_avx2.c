/*
 * trees_quant_avx2.c — tree ensembles with AVX2 on the quantized layout:
 * trees_quant_avx512.c's scheme with 8 lanes (bins feature-major per block
 * of rows; small trees in bitvector form from contiguous bin loads; other
 * trees walked with their top TOP levels from contiguous loads, the rest
 * by gathering node words and bins). AVX2 has no mask registers and no
 * unsigned compare: masks are vectors of all-ones / all-zeros lanes and
 * the split rule (trees_layout.h) is already a signed comparison.
 * Bit-identical to trees_scalar.c.
 */
#include <immintrin.h>

#include "mpiscore/kernels.h"
#include "trees_layout.h"

#define LANES 8
#define VECS 4
#define LOG_ROWS MS_QUANT_LOG_ROWS /* rows per block, a multiple of LANES * VECS */
#define TOP 3                      /* levels decided from contiguous loads */

/* -1 in the lanes that go left at nodes nd for bins bin: bound ^ flip >
 * bin ^ flip, signed. */
static inline __m256i goes_left(__m256i bin, __m256i nd)
{
    const __m256i flip = _mm256_set1_epi32((int)MS_QNODE_FLIP);
    const __m256i keep = _mm256_set1_epi32((int)(MS_QNODE_FLIP | 0xffffu));
    __m256i lhs = _mm256_xor_si256(bin, _mm256_and_si256(nd, flip));
    return _mm256_cmpgt_epi32(_mm256_and_si256(nd, keep), lhs);
}

/* One step for 8 lanes at heap indices i whose node words are nd. */
static inline __m256i step(__m256i i, __m256i nd, __m256i row, const uint32_t *bins)
{
    const __m256i featm = _mm256_set1_epi32(MS_QNODE_FEAT << LOG_ROWS), one = _mm256_set1_epi32(1);
    __m256i at =
        _mm256_add_epi32(_mm256_and_si256(_mm256_srli_epi32(nd, 16 - LOG_ROWS), featm), row);
    __m256i bin = _mm256_i32gather_epi32((const int *)bins, at, 4);
    /* left lanes are -1: 2i + 1 + left */
    return _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(i, i), one), goes_left(bin, nd));
}

/* Levels 0 .. top-1 for the 8 rows from row0 (trees_quant_avx512.c). */
static inline __m256i top_levels(const uint32_t *w, size_t row0, const uint32_t *bins)
{
    const __m256i one = _mm256_set1_epi32(1);
    __m256i at[1 << TOP]; /* at[j]: -1 in the lanes at heap node j */
    __m256i i = one, left = _mm256_setzero_si256();
    at[1] = _mm256_set1_epi32(-1);
    /* nodes 1 .. 2^TOP - 1 in heap order, level by level */
#pragma GCC unroll 16
    for (uint32_t j = 1; j < 1u << TOP; j++) {
        const uint32_t *fb = bins + ((size_t)(w[j] >> 16 & MS_QNODE_FEAT) << LOG_ROWS) + row0;
        __m256i bin = _mm256_loadu_si256((const __m256i *)fb);
        __m256i l = _mm256_and_si256(goes_left(bin, _mm256_set1_epi32((int)w[j])), at[j]);
        left = _mm256_or_si256(left, l);
        if (j < 1u << (TOP - 1)) {
            at[2 * j] = l;
            at[2 * j + 1] = _mm256_andnot_si256(l, at[j]);
        }
        if (((j + 1) & j) == 0) { /* the last node of its level */
            i = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(i, i), one), left);
            left = _mm256_setzero_si256();
        }
    }
    return i;
}

/* Small tree t (bitvector form) for VECS vectors of rows from row v0. */
static inline void small_tree(const ms_tree_quant *q, size_t t, const uint32_t *bins, size_t v0,
                              __m256i *idx)
{
    const ms_quant_split *s = q->split + q->split_off[t];
    __m256i bv[VECS];
    for (int b = 0; b < VECS; b++)
        bv[b] = _mm256_set1_epi32(-1);
    for (uint32_t j = 0; j < q->n_split[t]; j++) {
        const uint32_t *fb = bins + ((size_t)s[j].feat << LOG_ROWS) + v0;
        __m256i flip = _mm256_set1_epi32((int)s[j].flip);
        __m256i bound = _mm256_set1_epi32((int)s[j].bound_flip);
        __m256i keep = _mm256_set1_epi32((int)s[j].keep);
#pragma GCC unroll 8
        for (int b = 0; b < VECS; b++) {
            __m256i bin = _mm256_loadu_si256((const __m256i *)(fb + b * LANES));
            __m256i left = _mm256_cmpgt_epi32(bound, _mm256_xor_si256(bin, flip));
            /* a lane going left keeps every bit */
            bv[b] = _mm256_and_si256(bv[b], _mm256_or_si256(keep, left));
        }
    }
    /* the lowest set bit as an int32 is a power of two (or INT32_MIN for
     * bit 31), exact as a float: its exponent is the position */
    const __m256i bias = _mm256_set1_epi32(127), expm = _mm256_set1_epi32(0xff);
#pragma GCC unroll 8
    for (int b = 0; b < VECS; b++) {
        __m256i low = _mm256_and_si256(bv[b], _mm256_sub_epi32(_mm256_setzero_si256(), bv[b]));
        __m256i e = _mm256_srli_epi32(_mm256_castps_si256(_mm256_cvtepi32_ps(low)), 23);
        idx[b] = _mm256_sub_epi32(_mm256_and_si256(e, expm), bias);
    }
}

/* Walk tree t for VECS vectors of rows from row v0 of the block; idx
 * receives each lane's leaf position (0 .. 2^depth - 1). */
static inline void walk(const ms_tree_quant *q, size_t t, const uint32_t *bins, size_t v0,
                        const __m256i *row, __m256i *idx)
{
    const uint32_t *w = q->node + q->node_off[t];
    /* a walked tree has more than MS_QUANT_SMALL_LEAVES leaves, so more
     * than TOP levels */
    uint32_t depth = q->depth[t], d = TOP;
#pragma GCC unroll 8
    for (int b = 0; b < VECS; b++)
        idx[b] = top_levels(w, v0 + (size_t)b * LANES, bins);
    if (d == 3) { /* level 3: heap indices 8..15, one register */
        __m256i n = _mm256_loadu_si256((const __m256i *)(w + 8));
#pragma GCC unroll 8
        for (int b = 0; b < VECS; b++)
            idx[b] = step(idx[b], _mm256_permutevar8x32_epi32(n, idx[b]), row[b], bins);
        d++;
    }
    for (; d < depth; d++) {
#pragma GCC unroll 8
        for (int b = 0; b < VECS; b++)
            idx[b] = step(idx[b], _mm256_i32gather_epi32((const int *)w, idx[b], 4), row[b], bins);
    }
    const __m256i first = _mm256_set1_epi32((int)(1u << depth));
    for (int b = 0; b < VECS; b++)
        idx[b] = _mm256_sub_epi32(idx[b], first);
}

/* Tree ti's leaves for the VECS vectors of rows from v0, added to acc32
 * or acc64 (ms_tree_quant_run). */
static void add_tree(const ms_tree_quant *q, size_t ti, const uint32_t *bins, size_t v0,
                     float *acc32, double *acc64)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i row[VECS], idx[VECS];
    if (q->n_split[ti] != MS_QUANT_WALK) {
        small_tree(q, ti, bins, v0, idx);
    } else {
        for (int b = 0; b < VECS; b++)
            row[b] = _mm256_add_epi32(_mm256_set1_epi32((int)(v0 + (size_t)b * LANES)), lane);
        walk(q, ti, bins, v0, row, idx);
    }
    for (int b = 0; b < VECS; b++) {
        size_t slot = v0 + (size_t)b * LANES;
        if (q->leaf_f32) {
            __m256 v = _mm256_i32gather_ps(q->leaf_f32 + q->leaf_off[ti], idx[b], 4);
            _mm256_storeu_ps(acc32 + slot, _mm256_add_ps(_mm256_loadu_ps(acc32 + slot), v));
        } else {
            const double *lf = q->leaf_f64 + q->leaf_off[ti];
            __m256d lo = _mm256_i32gather_pd(lf, _mm256_castsi256_si128(idx[b]), 8);
            __m256d hi = _mm256_i32gather_pd(lf, _mm256_extracti128_si256(idx[b], 1), 8);
            _mm256_storeu_pd(acc64 + slot, _mm256_add_pd(_mm256_loadu_pd(acc64 + slot), lo));
            _mm256_storeu_pd(acc64 + slot + 4,
                             _mm256_add_pd(_mm256_loadu_pd(acc64 + slot + 4), hi));
        }
    }
}

void ms_trees_quant_avx2(const ms_model *m, const float *x, size_t n_rows, float *raw)
{
    ms_tree_quant_run(m, x, n_rows, raw, LANES * VECS, add_tree);
}
