/*
 * csv_seps.c — scalar structural scan (csv_seps.h) and the variant choice.
 * Portable C, one byte at a time without branches: the reference the AVX2
 * variant is tested against, and the splitter's path on CPUs without AVX2.
 */
#include "csv_seps.h"

void ms_csv_seps_scalar(const char *p, size_t n_blocks, unsigned char delim, uint64_t *masks)
{
    for (size_t k = 0; k < n_blocks; k++, p += 64) {
        uint64_t m = 0;
        for (unsigned i = 0; i < 64; i++) {
            unsigned char c = (unsigned char)p[i];
            m |= (uint64_t)(c == delim || c == '\n' || c == '\r') << i;
        }
        masks[k] = m;
    }
}

ms_csv_seps_fn ms_csv_seps_pick(ms_isa isa)
{
    return isa == MS_ISA_SCALAR ? ms_csv_seps_scalar : ms_csv_seps_avx2;
}
