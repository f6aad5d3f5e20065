/*
 * trees_avx512.c — tree ensembles with AVX-512: 16 rows walk a tree
 * together, one row per lane, each step gathering the lanes' nodes and
 * feature values (layout in trees_layout.h).
 *
 * Speed comes from keeping several independent walks in flight: VECS
 * vectors of 16 rows step through the same tree level by level, so the
 * latency of one gather chain (node -> feature value -> compare -> child)
 * is covered by the others. Rows are taken in blocks of ROWS and trees in
 * the layout's cache-sized groups, so a group's nodes and the block's rows
 * both stay in cache while every row of the block walks every tree of the
 * group. Leaves are added per row in tree order, in float32 or double as
 * the container says, so the result is bit-identical to trees_scalar.c.
 */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "mpiscore/kernels.h"
#include "trees_layout.h"

#define LANES 16
#define VECS 4
#define ROWS 256 /* multiple of LANES * VECS */

/* Walk tree t for VECS vectors of rows; idx receives each lane's leaf. */
static inline void walk(const ms_tree_layout *l, size_t t, const float *x, const __m512i *rowoff,
                        __m512i *idx)
{
    const __m512i one = _mm512_set1_epi32(1), fmask = _mm512_set1_epi32((int)MS_FEAT_MASK);
    for (int b = 0; b < VECS; b++)
        idx[b] = _mm512_set1_epi32((int)l->root[t]);
    for (uint32_t d = 0; d < l->depth[t]; d++) {
        for (int b = 0; b < VECS; b++) {
            __m512i id = idx[b];
            __m512i ch = _mm512_i32gather_epi32(id, l->child, 4);
            __m512i fe = _mm512_i32gather_epi32(id, l->feat, 4);
            __m512 th = _mm512_i32gather_ps(id, l->thr, 4);
            __m512 xv =
                _mm512_i32gather_ps(_mm512_add_epi32(rowoff[b], _mm512_and_si512(fe, fmask)), x, 4);
            __mmask16 inner = _mm512_cmpge_epi32_mask(ch, _mm512_setzero_si512());
            __mmask16 dl = _mm512_movepi32_mask(fe);
            /* NaN compares false with LT_OQ and true with NGE_UQ: the
             * missing-left bit picks which of the two a lane obeys */
            __mmask16 lt = _mm512_cmp_ps_mask(xv, th, _CMP_LT_OQ);
            __mmask16 nge = _mm512_cmp_ps_mask(xv, th, _CMP_NGE_UQ);
            __mmask16 left = (__mmask16)((lt & ~dl) | (nge & dl));
            __m512i next = _mm512_mask_add_epi32(ch, (__mmask16)~left, ch, one);
            idx[b] = _mm512_mask_mov_epi32(id, inner, next);
        }
    }
}

/* One step on the packed layout for 16 lanes at nodes id, whose nodes'
 * thresholds and metadata words are th and meta (trees_layout.h). */
static inline __m512i step_packed(__m512i id, __m512 th, __m512i meta, __m512i rowoff,
                                  const float *x)
{
    const __m512i one = _mm512_set1_epi32(1), low16 = _mm512_set1_epi32(0xffff);
    const __m512i rel15 = _mm512_set1_epi32(0x7fff);
    __m512 xv = _mm512_i32gather_ps(_mm512_add_epi32(rowoff, _mm512_and_si512(meta, low16)), x, 4);
    __mmask16 dl = _mm512_movepi32_mask(meta);
    /* NaN compares false with LT_OQ and true with NGE_UQ */
    __mmask16 lt = _mm512_cmp_ps_mask(xv, th, _CMP_LT_OQ);
    __mmask16 nge = _mm512_cmp_ps_mask(xv, th, _CMP_NGE_UQ);
    __mmask16 left = (__mmask16)((lt & ~dl) | (nge & dl));
    __m512i next = _mm512_add_epi32(id, _mm512_and_si512(_mm512_srli_epi32(meta, 16), rel15));
    return _mm512_mask_add_epi32(next, (__mmask16)~left, next, one);
}

/* walk() on the packed layout. Levels 0..4 of a tree are its first 31
 * nodes (breadth-first order), so while the walk is that shallow every
 * lane's node is found in two registers of thresholds and two of metadata
 * by a permute; deeper, one 64-bit gather per 8 lanes fetches whole nodes.
 * Leaves stay put by construction, so there is no leaf mask. */
static inline void walk_packed(const ms_tree_layout *l, size_t t, const float *x,
                               const __m512i *rowoff, __m512i *idx)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const long long *nodes = (const long long *)l->packed;
    uint32_t depth = l->depth[t], r = l->root[t];
    __m512i root = _mm512_set1_epi32((int)r);
    __m512 t0 = _mm512_loadu_ps(l->packed_thr + r), t1 = _mm512_loadu_ps(l->packed_thr + r + 16);
    __m512i m0 = _mm512_loadu_si512(l->packed_meta + r);
    __m512i m1 = _mm512_loadu_si512(l->packed_meta + r + 16);
    uint32_t top = depth < 5 ? depth : 5;
    for (int b = 0; b < VECS; b++)
        idx[b] = root;
    for (uint32_t d = 0; d < top; d++) {
        for (int b = 0; b < VECS; b++) {
            __m512i rel = _mm512_sub_epi32(idx[b], root);
            idx[b] = step_packed(idx[b], _mm512_permutex2var_ps(t0, rel, t1),
                                 _mm512_permutex2var_epi32(m0, rel, m1), rowoff[b], x);
        }
    }
    for (uint32_t d = top; d < depth; d++) {
        for (int b = 0; b < VECS; b++) {
            __m512i id = idx[b];
            __m512i lo = _mm512_i32gather_epi64(_mm512_castsi512_si256(id), nodes, 8);
            __m512i hi = _mm512_i32gather_epi64(_mm512_extracti64x4_epi64(id, 1), nodes, 8);
            __m512 th = _mm512_castsi512_ps(_mm512_permutex2var_epi32(lo, even, hi));
            __m512i meta = _mm512_permutex2var_epi32(lo, odd, hi);
            idx[b] = step_packed(id, th, meta, rowoff[b], x);
        }
    }
}

void ms_trees_avx512(const ms_model *m, const float *x, size_t n_rows, float *raw)
{
    const ms_tree_layout *l = m->trees.compiled;
    const ms_trees *t = &m->trees;
    size_t kr = m->n_raw, nf = m->n_features, w = l->leaf_width;
    if (!l->simd_ok) {
        ms_trees_scalar(m, x, n_rows, raw);
        return;
    }
    if (l->quant) {
        ms_trees_quant_avx512(m, x, n_rows, raw);
        return;
    }
    /* per block: accumulators score-major, so 16 rows of one score are
     * contiguous (float32 sums use acc32, float64 sums acc64) */
    double *acc64 = malloc(kr * ROWS * sizeof *acc64);
    float *acc32 = malloc(kr * ROWS * sizeof *acc32);
    if (!acc64 || !acc32) {
        free(acc64);
        free(acc32);
        ms_trees_scalar(m, x, n_rows, raw); /* no memory for speed: still right */
        return;
    }
    for (size_t r0 = 0; r0 < n_rows; r0 += ROWS) {
        size_t nr = n_rows - r0 < ROWS ? n_rows - r0 : ROWS;
        for (size_t k = 0; k < kr; k++)
            for (size_t i = 0; i < ROWS; i++) {
                acc64[k * ROWS + i] = 0.0;
                acc32[k * ROWS + i] = (float)t->base_score[k];
            }
        for (size_t g = 0; g < l->n_groups; g++) {
            for (size_t v0 = 0; v0 < nr; v0 += LANES * VECS) {
                /* lanes past the last row re-read the last row; their sums
                 * land in accumulator slots nobody reads */
                __m512i rowoff[VECS], idx[VECS];
                for (int b = 0; b < VECS; b++) {
                    int32_t off[LANES];
                    for (int i = 0; i < LANES; i++) {
                        size_t r = v0 + (size_t)b * LANES + (size_t)i;
                        off[i] = (int32_t)((r < nr ? r : nr - 1) * nf);
                    }
                    rowoff[b] = _mm512_loadu_si512(off);
                }
                const float *xb = x + r0 * nf;
                for (size_t ti = l->group_start[g]; ti < l->group_start[g + 1]; ti++) {
                    if (l->packed)
                        walk_packed(l, ti, xb, rowoff, idx);
                    else
                        walk(l, ti, xb, rowoff, idx);
                    if (w == 1) {
                        size_t k = (size_t)l->out[ti];
                        for (int b = 0; b < VECS; b++) {
                            size_t slot = k * ROWS + v0 + (size_t)b * LANES;
                            if (t->float32_sum) {
                                __m512 v = _mm512_i32gather_ps(idx[b], l->leaf_f32, 4);
                                _mm512_storeu_ps(acc32 + slot,
                                                 _mm512_add_ps(_mm512_loadu_ps(acc32 + slot), v));
                            } else {
                                __m512d lo = _mm512_i32gather_pd(_mm512_castsi512_si256(idx[b]),
                                                                 l->leaf_f64, 8);
                                __m512d hi = _mm512_i32gather_pd(
                                    _mm512_extracti64x4_epi64(idx[b], 1), l->leaf_f64, 8);
                                _mm512_storeu_pd(acc64 + slot,
                                                 _mm512_add_pd(_mm512_loadu_pd(acc64 + slot), lo));
                                _mm512_storeu_pd(
                                    acc64 + slot + 8,
                                    _mm512_add_pd(_mm512_loadu_pd(acc64 + slot + 8), hi));
                            }
                        }
                    } else {
                        for (int b = 0; b < VECS; b++) {
                            int32_t leaf[LANES];
                            _mm512_storeu_si512(leaf, idx[b]);
                            for (int i = 0; i < LANES; i++) {
                                const double *v = l->leaf_f64 + (size_t)leaf[i] * w;
                                size_t row = v0 + (size_t)b * LANES + (size_t)i;
                                for (size_t k = 0; k < kr; k++) {
                                    acc64[k * ROWS + row] += v[k];
                                    acc32[k * ROWS + row] += (float)v[k];
                                }
                            }
                        }
                    }
                }
            }
        }
        for (size_t i = 0; i < nr; i++)
            for (size_t k = 0; k < kr; k++)
                raw[(r0 + i) * kr + k] =
                    t->float32_sum
                        ? acc32[k * ROWS + i]
                        : (float)(t->base_score[k] + acc64[k * ROWS + i] / l->divisor[k]);
    }
    free(acc64);
    free(acc32);
}
