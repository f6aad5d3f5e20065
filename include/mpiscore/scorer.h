/*
 * scorer.h — one batch from descriptor to output bytes: load (read + parse),
 * predict, format. The same code runs on every rank, the coordinator
 * included, so a batch's output bytes never depend on where it was scored.
 *
 * A scorer owns its per-batch buffers and reuses them; after warm-up it
 * allocates nothing per batch.
 */
#ifndef MPISCORE_SCORER_H
#define MPISCORE_SCORER_H

#include <stddef.h>
#include <stdint.h>

#include "mpiscore/batch.h"
#include "mpiscore/input.h"
#include "mpiscore/kernels.h"
#include "mpiscore/model.h"
#include "mpiscore/output.h"
#include "mpiscore/status.h"
#include "mpiscore/summary.h"

typedef struct ms_scorer_stats {
    uint64_t batches, rows, bad_rows, bytes_in;
    double read_s, parse_s, score_s, format_s;
} ms_scorer_stats;

/* What one scored batch hands to the writer. Pointers stay valid until the
 * scorer's next ms_scorer_run. */
typedef struct ms_scored {
    uint64_t seq;
    uint64_t n_rows, n_bad;
    const char *data; /* CSV lines or packed HDF5 rows */
    size_t data_len;
    const char *errors; /* errors-file records */
    size_t errors_len;
    const char *first_error; /* "" when n_bad == 0 */
    const char *summary;     /* the batch's serialized summary (summary.h), when enabled */
    size_t summary_len;
} ms_scored;

typedef struct ms_scorer ms_scorer;

ms_status ms_scorer_create(const ms_model *m, ms_isa isa, const ms_inputs *in, ms_out_format fmt,
                           ms_scorer **out, ms_error *err);
/* Score descriptor d (bytes: see ms_loader_load). Row-level problems end up
 * in the result; a failure here (I/O, out of memory) is fatal for the run. */
ms_status ms_scorer_run(ms_scorer *sc, const ms_desc *d, const char *bytes, ms_scored *res,
                        ms_error *err);
/* Summarize every batch from now on (--summary): each result carries the
 * batch's serialized summary, bad rows counted as failed. With only, rows are
 * no longer formatted (--summary-only): results carry no output bytes. */
ms_status ms_scorer_enable_summary(ms_scorer *sc, int only, ms_error *err);
/* A new, empty summary shaped like the scorer's batches (rank 0 merges into it). */
ms_status ms_scorer_new_summary(const ms_scorer *sc, ms_summary **out, ms_error *err);
const ms_scorer_stats *ms_scorer_get_stats(const ms_scorer *sc);
ms_loader *ms_scorer_loader(ms_scorer *sc);
void ms_scorer_destroy(ms_scorer *sc);

/* Monotonic seconds, for the stats. */
double ms_now(void);

#endif
