/*
 * csv_seps_avx2.c — AVX2 structural scan (csv_seps.h): two 32-byte loads
 * per block, three byte compares each, one movemask. Compiled with -mavx2
 * (CMakeLists.txt); called only when the CPU has AVX2.
 */
#include <immintrin.h>

#include "csv_seps.h"

static inline uint32_t seps32(const char *p, __m256i d, __m256i lf, __m256i cr)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i m = _mm256_or_si256(_mm256_cmpeq_epi8(v, d), _mm256_or_si256(_mm256_cmpeq_epi8(v, lf),
                                                                         _mm256_cmpeq_epi8(v, cr)));
    return (uint32_t)_mm256_movemask_epi8(m);
}

void ms_csv_seps_avx2(const char *p, size_t n_blocks, unsigned char delim, uint64_t *masks)
{
    const __m256i d = _mm256_set1_epi8((char)delim);
    const __m256i lf = _mm256_set1_epi8('\n');
    const __m256i cr = _mm256_set1_epi8('\r');
    for (size_t k = 0; k < n_blocks; k++, p += 64)
        masks[k] = seps32(p, d, lf, cr) | (uint64_t)seps32(p + 32, d, lf, cr) << 32;
}
