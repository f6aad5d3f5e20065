/*
 * trees_avx2.c — tree ensembles with AVX2: trees_avx512.c's scheme with 8
 * lanes (8 rows walk a tree together, VECS walks in flight, rows in blocks
 * and trees in cache-sized groups). AVX2 has no mask registers, so masks
 * are vectors of all-ones / all-zeros lanes. Bit-identical to
 * trees_scalar.c.
 */
#include <immintrin.h>
#include <stdlib.h>

#include "mpiscore/kernels.h"
#include "trees_layout.h"

#define LANES 8
#define VECS 4
#define ROWS 256 /* multiple of LANES * VECS */

/* Walk tree t for VECS vectors of rows; idx receives each lane's leaf. */
static inline void walk(const ms_tree_layout *l, size_t t, const float *x, const __m256i *rowoff,
                        __m256i *idx)
{
    const __m256i fmask = _mm256_set1_epi32((int)MS_FEAT_MASK), minus1 = _mm256_set1_epi32(-1);
    for (int b = 0; b < VECS; b++)
        idx[b] = _mm256_set1_epi32((int)l->root[t]);
    for (uint32_t d = 0; d < l->depth[t]; d++) {
        for (int b = 0; b < VECS; b++) {
            __m256i id = idx[b];
            __m256i ch = _mm256_i32gather_epi32((const int *)l->child, id, 4);
            __m256i fe = _mm256_i32gather_epi32((const int *)l->feat, id, 4);
            __m256 th = _mm256_i32gather_ps(l->thr, id, 4);
            __m256 xv =
                _mm256_i32gather_ps(x, _mm256_add_epi32(rowoff[b], _mm256_and_si256(fe, fmask)), 4);
            __m256i inner = _mm256_cmpgt_epi32(ch, minus1);
            /* the missing-left bit (the sign) picks NaN-true or NaN-false */
            __m256 lt = _mm256_cmp_ps(xv, th, _CMP_LT_OQ);
            __m256 nge = _mm256_cmp_ps(xv, th, _CMP_NGE_UQ);
            __m256i left = _mm256_castps_si256(_mm256_blendv_ps(lt, nge, _mm256_castsi256_ps(fe)));
            /* left lanes are -1: child + 1 + left is the left or right child */
            __m256i next = _mm256_add_epi32(_mm256_sub_epi32(ch, minus1), left);
            idx[b] = _mm256_blendv_epi8(id, next, inner);
        }
    }
}

/* One step on the packed layout for 8 lanes at nodes id, whose thresholds
 * and metadata words are th and meta (trees_layout.h). */
static inline __m256i step_packed(__m256i id, __m256 th, __m256i meta, __m256i rowoff,
                                  const float *x)
{
    const __m256i minus1 = _mm256_set1_epi32(-1), low16 = _mm256_set1_epi32(0xffff);
    const __m256i rel15 = _mm256_set1_epi32(0x7fff);
    __m256 xv = _mm256_i32gather_ps(x, _mm256_add_epi32(rowoff, _mm256_and_si256(meta, low16)), 4);
    __m256 lt = _mm256_cmp_ps(xv, th, _CMP_LT_OQ);
    __m256 nge = _mm256_cmp_ps(xv, th, _CMP_NGE_UQ);
    __m256i left = _mm256_castps_si256(_mm256_blendv_ps(lt, nge, _mm256_castsi256_ps(meta)));
    __m256i rel = _mm256_and_si256(_mm256_srli_epi32(meta, 16), rel15);
    /* left lanes are -1: node + rel + 1 + left */
    return _mm256_add_epi32(_mm256_add_epi32(id, rel), _mm256_sub_epi32(left, minus1));
}

/* walk() on the packed layout. Levels 0..2 of a tree are its first 7 nodes
 * (breadth-first order), found in one register of thresholds and one of
 * metadata by a permute; deeper, two 4-lane 64-bit gathers fetch 8 whole
 * nodes. Leaves stay put by construction. */
static inline void walk_packed(const ms_tree_layout *l, size_t t, const float *x,
                               const __m256i *rowoff, __m256i *idx)
{
    const __m256i split = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const long long *nodes = (const long long *)l->packed;
    uint32_t depth = l->depth[t], r = l->root[t];
    __m256i root = _mm256_set1_epi32((int)r);
    __m256 t0 = _mm256_loadu_ps(l->packed_thr + r);
    __m256i m0 = _mm256_loadu_si256((const __m256i *)(l->packed_meta + r));
    uint32_t top = depth < 3 ? depth : 3;
    for (int b = 0; b < VECS; b++)
        idx[b] = root;
    for (uint32_t d = 0; d < top; d++) {
        for (int b = 0; b < VECS; b++) {
            __m256i rel = _mm256_sub_epi32(idx[b], root);
            idx[b] = step_packed(idx[b], _mm256_permutevar8x32_ps(t0, rel),
                                 _mm256_permutevar8x32_epi32(m0, rel), rowoff[b], x);
        }
    }
    for (uint32_t d = top; d < depth; d++) {
        for (int b = 0; b < VECS; b++) {
            __m256i id = idx[b];
            __m256i lo = _mm256_i32gather_epi64(nodes, _mm256_castsi256_si128(id), 8);
            __m256i hi = _mm256_i32gather_epi64(nodes, _mm256_extracti128_si256(id, 1), 8);
            lo = _mm256_permutevar8x32_epi32(lo, split); /* thr 0-3 | meta 0-3 */
            hi = _mm256_permutevar8x32_epi32(hi, split); /* thr 4-7 | meta 4-7 */
            __m256 th = _mm256_castsi256_ps(_mm256_permute2x128_si256(lo, hi, 0x20));
            __m256i meta = _mm256_permute2x128_si256(lo, hi, 0x31);
            idx[b] = step_packed(id, th, meta, rowoff[b], x);
        }
    }
}

void ms_trees_avx2(const ms_model *m, const float *x, size_t n_rows, float *raw)
{
    const ms_tree_layout *l = m->trees.compiled;
    const ms_trees *t = &m->trees;
    size_t kr = m->n_raw, nf = m->n_features, w = l->leaf_width;
    if (!l->simd_ok) {
        ms_trees_scalar(m, x, n_rows, raw);
        return;
    }
    if (l->quant) {
        ms_trees_quant_avx2(m, x, n_rows, raw);
        return;
    }
    double *acc64 = malloc(kr * ROWS * sizeof *acc64);
    float *acc32 = malloc(kr * ROWS * sizeof *acc32);
    if (!acc64 || !acc32) {
        free(acc64);
        free(acc32);
        ms_trees_scalar(m, x, n_rows, raw);
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
                __m256i rowoff[VECS], idx[VECS];
                for (int b = 0; b < VECS; b++) {
                    int32_t off[LANES];
                    for (int i = 0; i < LANES; i++) {
                        size_t r = v0 + (size_t)b * LANES + (size_t)i;
                        off[i] = (int32_t)((r < nr ? r : nr - 1) * nf);
                    }
                    rowoff[b] = _mm256_loadu_si256((const __m256i *)off);
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
                                __m256 v = _mm256_i32gather_ps(l->leaf_f32, idx[b], 4);
                                _mm256_storeu_ps(acc32 + slot,
                                                 _mm256_add_ps(_mm256_loadu_ps(acc32 + slot), v));
                            } else {
                                __m256d lo = _mm256_i32gather_pd(l->leaf_f64,
                                                                 _mm256_castsi256_si128(idx[b]), 8);
                                __m256d hi = _mm256_i32gather_pd(
                                    l->leaf_f64, _mm256_extracti128_si256(idx[b], 1), 8);
                                _mm256_storeu_pd(acc64 + slot,
                                                 _mm256_add_pd(_mm256_loadu_pd(acc64 + slot), lo));
                                _mm256_storeu_pd(
                                    acc64 + slot + 4,
                                    _mm256_add_pd(_mm256_loadu_pd(acc64 + slot + 4), hi));
                            }
                        }
                    } else {
                        for (int b = 0; b < VECS; b++) {
                            int32_t leaf[LANES];
                            _mm256_storeu_si256((__m256i *)leaf, idx[b]);
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
