/*
 * serve_batch.c — leader/follower micro-batching (serve_batch.h).
 *
 * Invariants (under mu): a model's open batch is q->open (NULL when none);
 * a batch is closed (no longer q->open) before its leader scores it, so
 * late requests open the next one; members are freed by the leader only
 * after every member released.
 */
#include "serve/serve_batch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/serve_metrics.h"

#define MAX_MEMBERS 256
#define MAX_QUEUES 64

typedef struct batch batch;

struct ms_mb_ticket {
    batch *b;
    int leader;
};

struct batch {
    const ms_model *m;
    size_t n, rows;
    const ms_rtable *t[MAX_MEMBERS];
    ms_scored_rows out[MAX_MEMBERS];
    ms_req_err e[MAX_MEMBERS];
    int rc[MAX_MEMBERS];
    ms_mb_ticket tickets[MAX_MEMBERS];
    int done, released;
    pthread_cond_t cv; /* done, a release, or the batch filled */
};

typedef struct queue {
    const ms_model *m;
    batch *open;
} queue;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static queue queues[MAX_QUEUES];

static queue *queue_of(const ms_model *m)
{
    queue *idle = NULL;
    for (size_t i = 0; i < MAX_QUEUES; i++) {
        if (queues[i].m == m)
            return &queues[i];
        if (!idle && !queues[i].open)
            idle = &queues[i];
    }
    /* a freed model's queue is idle: its slot is reused */
    if (idle)
        idle->m = m;
    return idle;
}

int ms_mb_score(ms_serve_scorer *mine, const ms_model *m, ms_isa isa, const ms_rtable *t,
                size_t max_rows, long max_delay_us, ms_scored_rows *out, ms_req_err *e,
                ms_mb_ticket **ticket)
{
    *ticket = NULL;
    if (max_delay_us <= 0) {
        int rc = ms_serve_score(mine, m, isa, t, out, e);
        ms_metrics_batch(t->n_rows);
        return rc;
    }
    pthread_mutex_lock(&mu);
    queue *q = queue_of(m);
    batch *b = q ? q->open : NULL;
    if (q && b && b->n < MAX_MEMBERS) {
        /* follow: wait for the leader's results */
        size_t i = b->n++;
        b->t[i] = t;
        b->rows += t->n_rows;
        b->tickets[i] = (ms_mb_ticket){b, 0};
        if (b->rows >= max_rows || b->n == MAX_MEMBERS) {
            q->open = NULL;
            pthread_cond_broadcast(&b->cv);
        }
        while (!b->done)
            pthread_cond_wait(&b->cv, &mu);
        pthread_mutex_unlock(&mu);
        *out = b->out[i];
        *e = b->e[i];
        *ticket = &b->tickets[i];
        return b->rc[i];
    }
    b = calloc(1, sizeof *b);
    if (!q || !b) {
        pthread_mutex_unlock(&mu);
        free(b);
        int rc = ms_serve_score(mine, m, isa, t, out, e);
        ms_metrics_batch(t->n_rows);
        return rc;
    }
    /* lead: hold the batch open until it fills or its time is up */
    pthread_cond_init(&b->cv, NULL);
    b->m = m;
    b->n = 1;
    b->t[0] = t;
    b->rows = t->n_rows;
    b->tickets[0] = (ms_mb_ticket){b, 1};
    if (b->rows < max_rows) {
        q->open = b;
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += max_delay_us * 1000;
        dl.tv_sec += dl.tv_nsec / 1000000000;
        dl.tv_nsec %= 1000000000;
        while (q->open == b && pthread_cond_timedwait(&b->cv, &mu, &dl) == 0)
            ;
        if (q->open == b)
            q->open = NULL;
    }
    size_t n = b->n;
    pthread_mutex_unlock(&mu);
    ms_serve_score_many(mine, m, isa, n, b->t, b->out, b->e, b->rc);
    ms_metrics_batch(ms_serve_scorer_rows(mine));
    pthread_mutex_lock(&mu);
    b->done = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&mu);
    *out = b->out[0];
    *e = b->e[0];
    *ticket = &b->tickets[0];
    return b->rc[0];
}

void ms_mb_release(ms_mb_ticket *tk)
{
    if (!tk)
        return;
    batch *b = tk->b;
    pthread_mutex_lock(&mu);
    b->released++;
    if (!tk->leader) {
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&mu);
        return;
    }
    /* the results live in this thread's scorer: wait until every member is done with them */
    while (b->released < (int)b->n)
        pthread_cond_wait(&b->cv, &mu);
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&b->cv);
    free(b);
}
