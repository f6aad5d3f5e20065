/*
 * protocol.h — messages between the coordinator (rank 0) and workers.
 *
 * Coordinator -> worker, tag MS_TAG_WORK: ms_work_msg, then (has_bytes)
 * the batch's bytes in the same message. A worker starts with
 * MS_PREFETCH credits; every RESULT it sends gives one back, so it always
 * has work queued while it computes (dynamic self-scheduling: fast ranks
 * take more batches). STOP comes after every descriptor sent to that worker
 * (MPI keeps one sender's messages in order); with abort set the worker
 * drops what it still has queued.
 *
 * Worker -> coordinator, tag MS_TAG_RESULT: ms_result_hdr, then data_len
 * output bytes, errors_len errors-file bytes and msg_len bytes of message
 * (first row error, or the fatal error), then summary_len bytes of the
 * batch's summary (--summary). After STOP the worker answers once
 * with FINAL carrying its stats and binding, and sends nothing more.
 */
#ifndef MPISCORE_PROTOCOL_H
#define MPISCORE_PROTOCOL_H

#include <stdint.h>

#include <string.h>
#include <sys/resource.h>

#include "mpiscore/input.h"
#include "mpiscore/scorer.h"

#define MS_TAG_WORK 101
#define MS_TAG_RESULT 102
#define MS_PREFETCH 3

enum { MS_MSG_WORK = 1, MS_MSG_STOP = 2 };
enum { MS_MSG_RESULT = 1, MS_MSG_FATAL = 2, MS_MSG_FINAL = 3 };

typedef struct ms_work_msg {
    int32_t type;
    int32_t has_bytes;
    int32_t abort;
    int32_t reserved;
    ms_desc d;
} ms_work_msg;

typedef struct ms_result_hdr {
    int32_t type;
    int32_t status; /* ms_status of a FATAL */
    uint64_t seq;
    uint64_t n_rows, n_bad;
    uint64_t data_len, errors_len, msg_len;
    uint64_t summary_len; /* RESULT with --summary: the batch's summary bytes, after msg */
    /* FINAL: the worker's totals */
    uint64_t batches, bytes_in;
    double read_s, parse_s, score_s, format_s, wait_s, wall_s;
    uint64_t max_rss_kb; /* the rank's peak resident set (getrusage), for --metrics */
    uint64_t retries;    /* transient read failures retried (--max-retries) */
} ms_result_hdr;

/* A rank's FINAL totals: its scorer's stats plus its own wait and wall, and
 * its peak RSS so far (the bounded-memory promise is checked against it). */
static inline void ms_final_from_stats(ms_result_hdr *h, ms_scorer *sc, double wait_s,
                                       double wall_s)
{
    const ms_scorer_stats *s = ms_scorer_get_stats(sc);
    memset(h, 0, sizeof *h);
    h->type = MS_MSG_FINAL;
    h->n_rows = s->rows;
    h->n_bad = s->bad_rows;
    h->batches = s->batches;
    h->bytes_in = s->bytes_in;
    h->read_s = s->read_s;
    h->parse_s = s->parse_s;
    h->score_s = s->score_s;
    h->format_s = s->format_s;
    h->wait_s = wait_s;
    h->wall_s = wall_s;
    h->retries = ms_loader_retries(ms_scorer_loader(sc));
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        h->max_rss_kb = (uint64_t)ru.ru_maxrss; /* kilobytes on Linux */
}

#endif
