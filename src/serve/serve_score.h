/*
 * serve_score.h — the one step from decoded request rows to model outputs.
 *
 * This is the only serve file that knows the batch layout and the kernel
 * API: it maps a request table's columns to the model's inputs by name,
 * parses cells as `run` parses CSV fields (a text cell goes through the same
 * float parser; a JSON number is jansson's double rounded to the model's
 * precision), scores them with the same kernels and hands back double
 * outputs and class indices. A scorer belongs to one thread and reuses its
 * buffers request after request.
 */
#ifndef MPISCORE_SERVE_SCORE_H
#define MPISCORE_SERVE_SCORE_H

#include "mpiscore/kernels.h"
#include "mpiscore/model.h"
#include "serve/serve_table.h"

typedef struct ms_serve_scorer ms_serve_scorer;

ms_serve_scorer *ms_serve_scorer_create(void);
void ms_serve_scorer_destroy(ms_serve_scorer *s);

/* Score t with m. On a request problem (a missing feature column, a value
 * that is not a number, a missing value the model cannot take) returns the
 * HTTP status (400) with the reason in e, naming row and column; 0 on
 * success with *out valid until the next call. */
int ms_serve_score(ms_serve_scorer *s, const ms_model *m, ms_isa isa, const ms_rtable *t,
                   ms_scored_rows *out, ms_req_err *e);

/* Micro-batching: score several requests' tables in one kernel call. Each
 * table succeeds or fails on its own (rc[i], e[i]); out[i] stays valid
 * until the scorer's next call. */
void ms_serve_score_many(ms_serve_scorer *s, const ms_model *m, ms_isa isa, size_t n,
                         const ms_rtable *const *t, ms_scored_rows *out, ms_req_err *e, int *rc);
/* Rows in the scorer's last batch (the batch-size metric). */
size_t ms_serve_scorer_rows(const ms_serve_scorer *s);

#endif
