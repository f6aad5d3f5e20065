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
    /* n_rows x m->n_outputs values, row-major, in double: a float64 model's
     * own, a float32 model's float values widened. A bad row's are
     * unspecified (its bad flag says so). */
    const double *out;
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
/* Precision of the written values (--precision): CSV text (shortest
 * round-trip text of a float or a double), HDF5 dtype. Default: the model's. */
void ms_scorer_set_precision(ms_scorer *sc, ms_precision prec);

/* For a batch some other decoder fills (the endpoint's JSON decoder): a
 * scorer without a loader. Fill ms_scorer_batch(sc) (ms_batch_reset, then
 * per row ms_batch_add_row and ms_batch_put_text / ms_batch_put_num for
 * every input column, m->inputs in order, ms_batch_mark_bad for a refused
 * cell), or a batch of your own initialised with m->n_inputs and m->inputs,
 * then ms_scorer_score_batch. The batch's missing rule is yours: set
 * b->refuse_missing = !ms_model_allows_missing(m) as the readers do. */
ms_status ms_scorer_create_batch(const ms_model *m, ms_isa isa, ms_out_format fmt, ms_scorer **out,
                                 ms_error *err);
ms_batch *ms_scorer_batch(ms_scorer *sc);
/* Score the rows of b: XGBoost's missing sentinel, the tiles, the kernel,
 * then the formatted rows (fmt) and res->out. b's cells may be modified
 * (the missing sentinel becomes NaN). res->seq is 0. Pointers in res stay
 * valid until the scorer's next call. */
ms_status ms_scorer_score_batch(ms_scorer *sc, ms_batch *b, ms_scored *res, ms_error *err);

const ms_scorer_stats *ms_scorer_get_stats(const ms_scorer *sc);
ms_loader *ms_scorer_loader(ms_scorer *sc);
void ms_scorer_destroy(ms_scorer *sc);

/* Monotonic seconds, for the stats. */
double ms_now(void);

#endif
