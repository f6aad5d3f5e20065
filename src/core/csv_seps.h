/*
 * csv_seps.h — the CSV splitter's structural scan (csv_reader.c's fast
 * path): which bytes of a block are a delimiter, LF or CR, as one bit per
 * byte, 64 bytes at a time. A scalar reference (csv_seps.c) and an AVX2
 * variant (csv_seps_avx2.c) that must give the same masks; the caller picks
 * one with ms_csv_seps_pick (the kernels' ISA choice, MPISCORE_ISA).
 */
#ifndef MPISCORE_CSV_SEPS_H
#define MPISCORE_CSV_SEPS_H

#include <stddef.h>
#include <stdint.h>

#include "mpiscore/kernels.h"

/* For each of the n_blocks 64-byte blocks of p: bit i of masks[k] is set
 * when p[64 k + i] is delim, '\n' or '\r'. Reads exactly 64 n_blocks bytes. */
typedef void (*ms_csv_seps_fn)(const char *p, size_t n_blocks, unsigned char delim,
                               uint64_t *masks);

void ms_csv_seps_scalar(const char *p, size_t n_blocks, unsigned char delim, uint64_t *masks);
void ms_csv_seps_avx2(const char *p, size_t n_blocks, unsigned char delim, uint64_t *masks);

/* The variant for isa (AVX-512 machines take the AVX2 one). */
ms_csv_seps_fn ms_csv_seps_pick(ms_isa isa);

#endif
