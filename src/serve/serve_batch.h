/*
 * serve_batch.h — micro-batching: requests for the same model that arrive
 * together are scored in one kernel call (a batch closes at max_rows rows
 * or max_delay_us after it opened), so SIMD throughput comes from
 * concurrency while a lone request waits at most max_delay_us.
 *
 * No thread of its own: the first request of a batch leads it (waits for
 * the batch to close, scores every table with its thread's scorer), the
 * others wait for their results. The leader's buffers hold every result,
 * so it returns only after each member released its result (encoded its
 * answer).
 */
#ifndef MPISCORE_SERVE_BATCH_H
#define MPISCORE_SERVE_BATCH_H

#include "serve/serve_score.h"

typedef struct ms_mb_ticket ms_mb_ticket;

/* Score t with m through the batcher (max_delay_us 0: at once, alone).
 * Returns 0 with *out valid until ms_mb_release(*ticket), or the HTTP
 * status of a request problem (e filled; release the ticket too). */
int ms_mb_score(ms_serve_scorer *mine, const ms_model *m, ms_isa isa, const ms_rtable *t,
                size_t max_rows, long max_delay_us, ms_scored_rows *out, ms_req_err *e,
                ms_mb_ticket **ticket);
void ms_mb_release(ms_mb_ticket *ticket);

#endif
