/*
 * summary.h — the distribution summary of a run's scores (--summary):
 * row counts, per output column count, mean, std, min, max, quantiles from a
 * DDSketch, a histogram, and label counts for classifiers.
 *
 * Invariant: the state is a multiset function of the values added, so the
 * result (and its JSON, byte for byte) never depends on how rows were cut
 * into batches, which rank scored them, or the order summaries are merged:
 *  - sums and sums of squares are exact fixed-point integers (every float32
 *    and its square is an integer multiple of 2^-1074, so adding is exact);
 *  - the sketch's buckets are counts, merged by adding;
 *  - min, max, histogram and label counts are order free by nature.
 * Non-finite outputs are counted apart and take no part in the statistics.
 */
#ifndef MPISCORE_SUMMARY_H
#define MPISCORE_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "mpiscore/status.h"

/* The relative error bound of every quantile, stated in the JSON. */
#define MS_SUMMARY_ALPHA 0.001
#define MS_SUMMARY_HIST_BINS 20

typedef struct ms_summary ms_summary;

/* n_cols output columns named names[]; probability != 0 when every value
 * lies in [0, 1] (histogram: fixed bins over [0, 1]); n_classes > 0 adds
 * label counts for labels[]. The strings must outlive the summary. */
ms_status ms_summary_create(size_t n_cols, char *const *names, int probability, size_t n_classes,
                            char *const *labels, ms_summary **out, ms_error *err);
void ms_summary_destroy(ms_summary *s);
/* Forget every value, keep the buffers (a scorer reuses one per batch). */
void ms_summary_reset(ms_summary *s);

/* One scored row: n_cols values and its label (ignored without classes). */
ms_status ms_summary_add_row(ms_summary *s, const float *values, size_t label, ms_error *err);
/* Rows that failed (--on-error continue): counted, never values. */
void ms_summary_add_failed(ms_summary *s, uint64_t n);

/* dst += src (same columns and classes). */
ms_status ms_summary_merge(ms_summary *dst, const ms_summary *src, ms_error *err);

/* Append the state to buf (compact, for MPI and the journal) and merge such
 * bytes back into s; a malformed buffer is MS_EINTERNAL. */
ms_status ms_summary_serialize(const ms_summary *s, char **buf, size_t *len, size_t *cap,
                               ms_error *err);
ms_status ms_summary_merge_bytes(ms_summary *s, const char *buf, size_t len, ms_error *err);

/* Persist the state for --resume: written to path.partial, fsync'd and
 * renamed, so path is whole or absent. Load merges a saved state into s;
 * MS_EINPUT names the file when it is missing or not a summary state. */
ms_status ms_summary_save_state(const ms_summary *s, const char *path, ms_error *err);
ms_status ms_summary_load_state(ms_summary *s, const char *path, ms_error *err);

/* The JSON document (docs/formats.md, "Summary"); NULL when out of memory.
 * Returns a jansson json_t *, declared void * to keep jansson out of here. */
void *ms_summary_to_json(const ms_summary *s);
/* Write the JSON to path atomically (path.partial, then rename). */
ms_status ms_summary_write_json(const ms_summary *s, const char *path, ms_error *err);

#endif
