/*
 * worker.c — a scoring rank: take descriptors, score, send results back.
 *
 * The worker keeps every descriptor the coordinator sent in a local queue
 * (at most MS_PREFETCH: the coordinator never sends more than the worker's
 * credits) and sends results with MPI_Isend from two alternating buffers,
 * so it computes the next batch while the previous result travels.
 * It never blocks inside MPI: while it waits for a send to complete it keeps
 * taking in work messages, so a coordinator blocked sending it a large
 * batch (bytes transport) and a worker waiting for the coordinator to take
 * its result can never wait for each other.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/protocol.h"
#include "cluster/run.h"

#define QCAP (MS_PREFETCH + 1)

typedef struct work_item {
    ms_desc d;
    int has_bytes; /* the coordinator shipped the batch's bytes, in buf */
    char *buf;     /* owned by the queue slot and reused: no allocation per batch */
    size_t cap;
} work_item;

typedef struct send_slot {
    char *buf;
    size_t cap;
    MPI_Request req;
} send_slot;

typedef struct worker {
    ms_run *r;
    work_item queue[QCAP];
    size_t q_head, q_len;
    send_slot slots[2];
    int next_slot;
    int stopped, aborted, failed;
    char *rbuf;
    size_t rcap;
    unsigned idle;
    double wait_s;
    int crash_sig; /* MPISCORE_FAULT=crash-worker (tests only), else 0 */
    unsigned scored;
} worker;

/* Take in every work message that has arrived. */
static ms_status take_messages(worker *w)
{
    for (;;) {
        int flag = 0, count = 0;
        MPI_Status ms;
        MPI_Iprobe(0, MS_TAG_WORK, w->r->comm, &flag, &ms);
        if (!flag)
            return MS_OK;
        MPI_Get_count(&ms, MPI_BYTE, &count);
        ms_work_msg wm;
        if ((size_t)count < sizeof wm ||
            ms_buf_reserve(&w->rbuf, &w->rcap, (size_t)count, NULL) != MS_OK)
            return MS_EINTERNAL;
        MPI_Recv(w->rbuf, count, MPI_BYTE, 0, MS_TAG_WORK, w->r->comm, MPI_STATUS_IGNORE);
        memcpy(&wm, w->rbuf, sizeof wm);
        if (wm.type == MS_MSG_STOP) {
            w->stopped = 1;
            w->aborted = wm.abort;
            continue;
        }
        if (w->q_len == QCAP) /* more than the credits allow: a protocol bug */
            return MS_EINTERNAL;
        work_item *it = &w->queue[(w->q_head + w->q_len) % QCAP];
        it->d = wm.d;
        it->has_bytes = wm.has_bytes != 0;
        if (it->has_bytes) {
            if ((size_t)count < sizeof wm + wm.d.length ||
                ms_buf_reserve(&it->buf, &it->cap, wm.d.length + 1, NULL) != MS_OK)
                return MS_EINTERNAL;
            memcpy(it->buf, w->rbuf + sizeof wm, wm.d.length);
        }
        w->q_len++;
    }
}

/* Wait for a send to complete, taking in work meanwhile. */
static ms_status wait_send(worker *w, send_slot *slot)
{
    unsigned idle = 0;
    while (slot->req != MPI_REQUEST_NULL) {
        int done = 0;
        MPI_Test(&slot->req, &done, MPI_STATUS_IGNORE);
        if (done)
            break;
        ms_status st = take_messages(w);
        if (st != MS_OK)
            return st;
        double t0 = ms_now();
        ms_idle_wait(&idle);
        w->wait_s += ms_now() - t0;
    }
    return MS_OK;
}

static ms_status send_message(worker *w, const ms_result_hdr *h, const char *data,
                              const char *errors, const char *msg, const char *summary)
{
    send_slot *slot = &w->slots[w->next_slot];
    w->next_slot ^= 1;
    ms_status st = wait_send(w, slot);
    if (st != MS_OK)
        return st;
    size_t total = sizeof *h + h->data_len + h->errors_len + h->msg_len + h->summary_len;
    if (ms_buf_reserve(&slot->buf, &slot->cap, total, NULL) != MS_OK)
        return MS_EINTERNAL;
    char *p = slot->buf;
    memcpy(p, h, sizeof *h);
    p += sizeof *h;
    if (h->data_len)
        memcpy(p, data, h->data_len);
    p += h->data_len;
    if (h->errors_len)
        memcpy(p, errors, h->errors_len);
    p += h->errors_len;
    if (h->msg_len)
        memcpy(p, msg, h->msg_len);
    p += h->msg_len;
    if (h->summary_len)
        memcpy(p, summary, h->summary_len);
    if (MPI_Isend(slot->buf, (int)total, MPI_BYTE, 0, MS_TAG_RESULT, w->r->comm, &slot->req) !=
        MPI_SUCCESS)
        return MS_EINTERNAL;
    return MS_OK;
}

/* Fault injection for the crash test: MPISCORE_FAULT=crash-worker[:SIG]
 * (SIG one of segv bus fpe ill abrt; segv by default) makes the last rank
 * die of that signal after it scored 20 batches, mid-run. segv is a real
 * invalid write, the others are raised. Returns the signal, or 0. */
static int crash_fault(const ms_run *r)
{
    const char *f = getenv("MPISCORE_FAULT");
    if (!f || strncmp(f, "crash-worker", 12) != 0 || r->rank == 0 || r->rank != r->size - 1)
        return 0;
    static const struct {
        const char *name;
        int sig;
    } sigs[] = {
        {"segv", SIGSEGV}, {"bus", SIGBUS}, {"fpe", SIGFPE}, {"ill", SIGILL}, {"abrt", SIGABRT}};
    if (f[12] == '\0')
        return SIGSEGV;
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        if (f[12] == ':' && !strcmp(f + 13, sigs[i].name))
            return sigs[i].sig;
    return 0;
}

static int *volatile wild_pointer = (int *)(uintptr_t)16; /* page 0 is never mapped */

static void maybe_crash(worker *w)
{
    if (w->crash_sig <= 0 || ++w->scored < 20)
        return;
    if (w->crash_sig == SIGSEGV)
        *wild_pointer = 1;
    raise(w->crash_sig);
}

/* Score the next queued batch and send its result (or the fatal error).
 * The slot's bytes stay untouched while they are scored: nothing is taken
 * in until send_message, and by then the scorer is done with them. */
static ms_status score_next(worker *w)
{
    work_item it = w->queue[w->q_head];
    w->q_head = (w->q_head + 1) % QCAP;
    w->q_len--;
    ms_scored res;
    ms_error err;
    ms_error_clear(&err);
    ms_result_hdr h;
    memset(&h, 0, sizeof h);
    ms_status rs = ms_scorer_run(w->r->scorer, &it.d, it.has_bytes ? it.buf : NULL, &res, &err);
    if (rs != MS_OK) {
        h.type = MS_MSG_FATAL;
        h.status = rs;
        h.seq = it.d.seq;
        h.msg_len = strlen(err.msg) + 1;
        w->failed = 1;
        return send_message(w, &h, NULL, NULL, err.msg, NULL);
    }
    h.type = MS_MSG_RESULT;
    h.seq = res.seq;
    h.n_rows = res.n_rows;
    h.n_bad = res.n_bad;
    h.data_len = res.data_len;
    h.errors_len = res.errors_len;
    h.msg_len = res.n_bad ? strlen(res.first_error) + 1 : 0;
    h.summary_len = res.summary_len;
    maybe_crash(w);
    return send_message(w, &h, res.data, res.errors, res.first_error, res.summary);
}

ms_status ms_worker(ms_run *r)
{
    worker w;
    memset(&w, 0, sizeof w);
    w.r = r;
    w.slots[0].req = w.slots[1].req = MPI_REQUEST_NULL;
    w.crash_sig = crash_fault(r);
    double t_begin = ms_now();
    ms_status st = MS_OK;

    /* Score until STOP; after an abort STOP or a fatal error only wait for
     * STOP, so the coordinator's count of FINAL messages stays exact. */
    while (!w.stopped || (w.q_len > 0 && !w.aborted && !w.failed)) {
        if ((st = take_messages(&w)) != MS_OK)
            goto done;
        if (w.q_len == 0 || w.aborted || w.failed) {
            if (w.stopped)
                break;
            double t0 = ms_now();
            ms_idle_wait(&w.idle);
            w.wait_s += ms_now() - t0;
            continue;
        }
        w.idle = 0;
        if ((st = score_next(&w)) != MS_OK)
            goto done;
    }
    for (int i = 0; i < 2 && st == MS_OK; i++)
        st = wait_send(&w, &w.slots[i]);
    if (st == MS_OK) {
        ms_result_hdr h;
        ms_final_from_stats(&h, r->scorer, w.wait_s, ms_now() - t_begin);
        h.msg_len = strlen(r->where) + 1;
        st = send_message(&w, &h, NULL, NULL, r->where, NULL);
        for (int i = 0; i < 2 && st == MS_OK; i++)
            st = wait_send(&w, &w.slots[i]);
    }
done:
    if (st != MS_OK) {
        /* the protocol is broken beyond repair: no clean exit is possible */
        fprintf(stderr, "mpiscore: rank %d: internal error in the worker loop\n", r->rank);
        MPI_Abort(r->comm, MS_EINTERNAL);
    }
    for (int i = 0; i < QCAP; i++) /* queued work the coordinator no longer wants, too */
        free(w.queue[i].buf);
    free(w.rbuf);
    for (int i = 0; i < 2; i++)
        free(w.slots[i].buf);
    return st;
}
