/*
 * coordinator.c — rank 0: cut the input into batches, hand them out, put
 * the results back in input order, write one output file.
 *
 * Invariants:
 *  - rows leave through the writer in input order: batch `seq` is appended
 *    only after every batch < seq (the reorder window holds the rest);
 *  - at most `window` batches are outstanding or waiting (assigned but not
 *    committed), so memory is bounded by window x batch size whatever the
 *    input size;
 *  - every worker gets exactly one STOP and answers with exactly one FINAL
 *    before the coordinator returns; nothing is left in flight.
 * Rank 0 scores batches itself whenever every worker has its queue full,
 * so with 2 ranks on 2 cores both cores score.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/protocol.h"
#include "cluster/run.h"
#include "mpiscore/journal.h"
#include "mpiscore/parquet.h"
#include "mpiscore/sha256.h"
#include "mpiscore_version.h"

typedef struct slot {
    int full;
    ms_result_hdr h;
    char *buf; /* the whole message: header, data, errors, message */
    size_t cap;
} slot;

typedef struct rank_stats {
    ms_result_hdr final;
    char where[512];
    int have;
} rank_stats;

typedef struct coord {
    ms_run *r;
    ms_source *src;
    ms_writer *w;
    FILE *errf;
    char *errf_partial;
    const char *errf_path;
    slot *win;
    size_t window;
    uint64_t next_seq, commit;
    int src_done;
    int *credits;
    int stop_sent, finals;
    ms_status fail;
    ms_error fail_err;
    int out_fault; /* the failure was writing the output, errors file or journal */
    int resuming;  /* a --resume is being set up: a failure now touches no file */
    uint64_t rows, bad, units_done;
    char first_bad[MS_ERROR_MSG_MAX];
    rank_stats *ranks;
    char *rbuf;
    size_t rcap;
    char *sbuf; /* descriptor + bytes for the bytes transport */
    size_t scap;
    double last_progress, last_status;
    uint64_t rows_resumed; /* rows committed by the interrupted run we resumed */
    int progress;
    double wait_s;
    uint64_t *units_of;       /* seq % window -> descriptor's progress units */
    ms_journal_rec *next_of;  /* seq % window -> where the batch after it starts */
    ms_journal *journal;      /* CSV and Parquet output */
    ms_journal_rec resume_pt; /* state after the last committed batch */
    /* Parquet output: only whole row groups are on disk, so a journal
     * record names the last batch boundary inside the written row groups
     * (pq_anchor, valid when have_anchor); a resume rescores from there and
     * the writer drops the rows the file already holds. */
    ms_journal_rec pq_anchor;
    int have_anchor;
    uint64_t pq_rows_seen; /* rows in written row groups at the last commit */
    double last_journal;
    uint64_t journaled_seq;           /* next_seq of the last journal record */
    uint64_t units_sched, rows_sched; /* handed out so far, for guided batch sizes */
    /* --batch-timeout: who holds each outstanding batch and since when, so a
     * late one can be handed to another rank and its first answer dropped.
     * Invariant: a result is stored only from owner_of[seq % window] and
     * only while that slot waits for exactly that seq. */
    ms_desc *desc_of;
    int *owner_of; /* rank scoring the batch; 0 = rank 0 itself */
    double *sent_at;
    int *timeouts, *excluded; /* per rank: batches it was late with; no more work */
    ms_out_spec spec;         /* the output's columns and Parquet options */
    const char *kv_keys[4], *kv_vals[4];
    char model_sha[2 * MS_SHA256_LEN + 1];
} coord;

static void fail(coord *c, ms_status st, const ms_error *err)
{
    if (c->fail != MS_OK)
        return;
    c->fail = st;
    c->fail_err = *err;
    c->fail_err.code = st;
}

static void failf(coord *c, ms_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void failf(coord *c, ms_status st, const char *fmt, ...)
{
    if (c->fail != MS_OK)
        return;
    va_list ap;
    va_start(ap, fmt);
    char msg[MS_ERROR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ms_error_set(&c->fail_err, st, "%s", msg);
    c->fail = st;
}

/* A failure writing the output side (output, errors file, journal). With a
 * journal its last record still points at bytes that reached the disk, so
 * such a run keeps its partial files for --resume once the cause (a full
 * disk, say) is fixed. */
static void fail_output(coord *c, const ms_error *err)
{
    if (c->fail != MS_OK)
        return;
    fail(c, err->code, err);
    c->out_fault = err->code == MS_EIO;
}

static void fail_output_errno(coord *c, const char *path)
{
    ms_error e;
    ms_error_set(&e, MS_EIO, "%s: %s", path, strerror(errno));
    fail_output(c, &e);
}

/* ---- committing results in order ----------------------------------------- */

static int over_pct(const coord *c, uint64_t rows)
{
    double pct = c->r->o->max_errors_pct;
    return pct >= 0 && (double)c->bad * 100.0 > pct * (double)rows;
}

static void commit_slot(coord *c, slot *s)
{
    const ms_run_opts *o = c->r->o;
    const char *data = s->buf + sizeof s->h;
    const char *errors = data + s->h.data_len;
    const char *msg = errors + s->h.errors_len;
    ms_error err;
    /* merged at commit, so the summary covers exactly the committed rows */
    if (c->r->summary && s->h.summary_len &&
        ms_summary_merge_bytes(c->r->summary, msg + s->h.msg_len, s->h.summary_len, &err) !=
            MS_OK) {
        fail(c, err.code, &err);
        return;
    }
    c->rows += s->h.n_rows;
    if (s->h.n_bad) {
        if (!c->bad)
            snprintf(c->first_bad, sizeof c->first_bad, "%s", msg);
        c->bad += s->h.n_bad;
        if (!o->on_error_continue) {
            failf(c, MS_EINPUT, "%s", msg);
            return;
        }
        if (c->errf && fwrite(errors, 1, s->h.errors_len, c->errf) != s->h.errors_len) {
            fail_output_errno(c, c->errf_partial);
            return;
        }
        if (c->bad > o->max_errors) {
            failf(c, MS_EROWS, "too many bad rows: %llu > --max-errors %llu (first: %s)",
                  (unsigned long long)c->bad, (unsigned long long)o->max_errors, c->first_bad);
            return;
        }
        /* A percentage needs a denominator: judge it early only once enough
         * rows have been seen, and exactly at the end. */
        if (c->rows >= 100000 && over_pct(c, c->rows)) {
            failf(c, MS_EROWS,
                  "too many bad rows: %llu of %llu exceed --max-errors %g%% (first: %s)",
                  (unsigned long long)c->bad, (unsigned long long)c->rows, o->max_errors_pct,
                  c->first_bad);
            return;
        }
    }
    if (c->w && ms_writer_append(c->w, data, s->h.data_len, s->h.n_rows, &err) != MS_OK)
        fail_output(c, &err);
}

static void commit_ready(coord *c)
{
    while (c->fail == MS_OK && c->commit < c->next_seq) {
        slot *s = &c->win[c->commit % c->window];
        if (!s->full)
            break;
        ms_journal_rec prev = c->resume_pt;
        commit_slot(c, s);
        c->units_done += c->units_of[c->commit % c->window];
        s->full = 0;
        if (c->fail == MS_OK) {
            ms_journal_rec *p = &c->resume_pt;
            *p = c->next_of[c->commit % c->window];
            p->next_seq = c->commit + 1;
            p->rows = c->rows;
            p->bad = c->bad;
            p->units = c->units_done;
            if (c->errf && c->r->fmt == MS_FMT_PARQUET)
                p->err_bytes = (uint64_t)ftell(c->errf);
            uint64_t g = c->w && c->r->fmt == MS_FMT_PARQUET ? ms_writer_pq_rows(c->w) : 0;
            if (g != c->pq_rows_seen) {
                /* a row group was written inside this batch (or at its end) */
                c->pq_anchor = g >= p->rows ? *p : prev;
                c->have_anchor = c->pq_anchor.next_seq > 0;
                c->pq_rows_seen = g;
            }
        }
        c->commit++;
    }
}

/* --summary with a journal: the merged summary of the first `seq` batches is
 * kept in OUTPUT.summary-state.SEQ, saved before the journal record that
 * names seq, so the journal's last record always has its state on disk. */
static void summary_state_path(const coord *c, uint64_t seq, char *buf, size_t sz)
{
    snprintf(buf, sz, "%s.summary-state.%llu", c->r->o->output, (unsigned long long)seq);
}

/* Record a durable resume point: output (and errors file) synced first, so
 * the journal never points past what is on disk. Without a journal (HDF5
 * output) the writer is still checked as often, so an output whose folder
 * was removed fails the run now rather than at the rename. */
static void journal_point(coord *c)
{
    ms_error e;
    if (!c->w)
        return;
    if (!c->journal) {
        if (ms_writer_sync(c->w, &e) != MS_OK)
            fail_output(c, &e);
        c->last_journal = ms_now();
        return;
    }
    int pq = c->r->fmt == MS_FMT_PARQUET;
    ms_journal_rec r = pq ? c->pq_anchor : c->resume_pt;
    if ((pq && !c->have_anchor) || r.next_seq == c->journaled_seq)
        return;
    if (pq && !ms_writer_pq_point(c->w, r.rows, &r.out_bytes))
        return;
    if (!pq)
        r.out_bytes = ms_writer_offset(c->w);
    if (c->errf) {
        if (fflush(c->errf) != 0 || fdatasync(fileno(c->errf)) != 0) {
            fail_output_errno(c, c->errf_partial);
            return;
        }
        if (!pq)
            r.err_bytes = (uint64_t)ftell(c->errf);
    }
    char state[4096 + 64], old_state[4096 + 64];
    summary_state_path(c, r.next_seq, state, sizeof state);
    summary_state_path(c, c->journaled_seq, old_state, sizeof old_state);
    ms_status st = ms_writer_sync(c->w, &e);
    if (st == MS_OK && c->r->summary)
        st = ms_summary_save_state(c->r->summary, state, &e);
    if (st == MS_OK)
        st = ms_journal_append(c->journal, &r, &e);
    if (st != MS_OK)
        fail_output(c, &e);
    else if (c->r->summary)
        unlink(old_state); /* the journal no longer points at it */
    c->journaled_seq = r.next_seq;
    c->last_journal = ms_now();
}

/* 1 if OUTPUT.partial is still there to resume from. */
static int partial_exists(const char *output)
{
    char path[4096 + sizeof ".partial"];
    struct stat sb;
    if ((size_t)snprintf(path, sizeof path, "%s.partial", output) >= sizeof path)
        return 0;
    return stat(path, &sb) == 0;
}

/* Put a finished message (header + payload in buf) into its window slot by
 * swapping buffers, so results are never copied on rank 0. */
static void store(coord *c, char **buf, size_t *cap)
{
    ms_result_hdr h;
    memcpy(&h, *buf, sizeof h);
    slot *s = &c->win[h.seq % c->window];
    char *tb = s->buf;
    size_t tc = s->cap;
    s->buf = *buf;
    s->cap = *cap;
    s->h = h;
    s->full = 1;
    *buf = tb;
    *cap = tc;
}

/* ---- messages ---------------------------------------------------------- */

static void receive(coord *c, int *progressed)
{
    for (;;) {
        int flag = 0;
        MPI_Status ms;
        MPI_Iprobe(MPI_ANY_SOURCE, MS_TAG_RESULT, c->r->comm, &flag, &ms);
        if (!flag)
            return;
        *progressed = 1;
        int count = 0, src = ms.MPI_SOURCE;
        MPI_Get_count(&ms, MPI_BYTE, &count);
        if (ms_buf_reserve(&c->rbuf, &c->rcap, (size_t)count + 1, NULL) != MS_OK) {
            failf(c, MS_EINTERNAL, "out of memory receiving a result of %d bytes", count);
            MPI_Recv(NULL, 0, MPI_BYTE, src, MS_TAG_RESULT, c->r->comm, MPI_STATUS_IGNORE);
            continue;
        }
        MPI_Recv(c->rbuf, count, MPI_BYTE, src, MS_TAG_RESULT, c->r->comm, MPI_STATUS_IGNORE);
        ms_result_hdr h;
        memcpy(&h, c->rbuf, sizeof h);
        if (h.type == MS_MSG_FINAL) {
            rank_stats *rs = &c->ranks[src];
            rs->final = h;
            snprintf(rs->where, sizeof rs->where, "%s", c->rbuf + sizeof h);
            rs->have = 1;
            c->finals++;
        } else if (h.type == MS_MSG_FATAL) {
            c->credits[src]++;
            char *msg = c->rbuf + sizeof h;
            msg[h.msg_len ? h.msg_len - 1 : 0] = '\0';
            failf(c, (ms_status)h.status, "%s", msg);
        } else {
            c->credits[src]++;
            /* a batch handed to another rank after --batch-timeout: the
             * first answer to arrive is kept, the late one dropped */
            size_t k = h.seq % c->window;
            int awaited = h.seq >= c->commit && h.seq < c->next_seq && !c->win[k].full &&
                          c->owner_of[k] == src;
            if (c->fail == MS_OK && !c->stop_sent && awaited)
                store(c, &c->rbuf, &c->rcap);
        }
    }
}

static int send_work(coord *c, int dest, const ms_desc *d)
{
    ms_work_msg wm;
    memset(&wm, 0, sizeof wm);
    wm.type = MS_MSG_WORK;
    wm.d = *d;
    size_t len = sizeof wm;
    if (c->r->send_bytes && d->length) {
        ms_error err;
        wm.has_bytes = 1;
        if (ms_buf_reserve(&c->sbuf, &c->scap, sizeof wm + d->length, &err) != MS_OK) {
            fail(c, err.code, &err);
            return -1;
        }
        char *dst = c->sbuf + sizeof wm;
        size_t cap = c->scap - sizeof wm;
        if (ms_loader_read_bytes(ms_scorer_loader(c->r->scorer), d, &dst, &cap, &err) != MS_OK) {
            fail(c, err.code, &err);
            return -1;
        }
        len += d->length;
    } else if (ms_buf_reserve(&c->sbuf, &c->scap, sizeof wm, NULL) != MS_OK) {
        return -1;
    }
    memcpy(c->sbuf, &wm, sizeof wm);
    MPI_Send(c->sbuf, (int)len, MPI_BYTE, dest, MS_TAG_WORK, c->r->comm);
    size_t k = d->seq % c->window;
    c->desc_of[k] = *d;
    c->owner_of[k] = dest;
    c->sent_at[k] = ms_now();
    return 0;
}

static void send_stop(coord *c)
{
    ms_work_msg wm;
    memset(&wm, 0, sizeof wm);
    wm.type = MS_MSG_STOP;
    for (int w = 1; w < c->r->size; w++) {
        /* a rank excluded for lateness drops its queue: others scored it */
        wm.abort = c->fail != MS_OK || c->excluded[w];
        MPI_Send(&wm, (int)sizeof wm, MPI_BYTE, w, MS_TAG_WORK, c->r->comm);
    }
    c->stop_sent = 1;
}

/* Guided self-scheduling for the tail: once what is left would make fewer
 * than two batches per rank, batches shrink to a share of the rest, so ranks
 * finish together instead of one rank scoring the last large batch alone.
 * Sizes depend only on the input and -n, and the output never depends on
 * batch boundaries. */
static void guide_batch_size(coord *c)
{
    const ms_run_opts *o = c->r->o;
    uint64_t total = c->r->in->total_units;
    if (c->rows_sched == 0 || c->units_sched >= total || c->r->size < 2)
        return;
    double units_per_row = (double)c->units_sched / (double)c->rows_sched;
    double rows_left = (double)(total - c->units_sched) / units_per_row;
    double share = rows_left / (2.0 * c->r->size);
    size_t rows = o->batch_rows;
    if (share < (double)rows)
        rows = share < 1024 ? 1024 : (size_t)share;
    if (rows > o->batch_rows)
        rows = o->batch_rows;
    ms_source_set_batch_rows(c->src, rows);
}

/* Next descriptor if the window has room; 0 when none can be had now. */
static int next_desc(coord *c, ms_desc *d)
{
    if (c->src_done || c->fail != MS_OK || c->next_seq - c->commit >= c->window)
        return 0;
    ms_error err;
    guide_batch_size(c);
    /* Fault injection for the I/O fault tests: cut batches slowly, so a
     * test can change the input while the run is surely still reading it. */
    static int slow = -1;
    if (slow < 0) {
        const char *fault = getenv("MPISCORE_FAULT");
        slow = fault && !strcmp(fault, "slow-input");
    }
    if (slow)
        usleep(2000);
    ms_status st = ms_source_next(c->src, d, &err);
    if (st == MS_EOF) {
        c->src_done = 1;
        return 0;
    }
    if (st != MS_OK) {
        fail(c, st, &err);
        return 0;
    }
    c->units_of[d->seq % c->window] = d->units;
    c->units_sched += d->units;
    c->rows_sched += d->n_rows;
    ms_journal_rec *nx = &c->next_of[d->seq % c->window];
    nx->file = d->file;
    nx->offset = d->next_offset;
    nx->line = d->next_line;
    c->next_seq = d->seq + 1;
    return 1;
}

static void score_locally(coord *c, const ms_desc *d)
{
    c->owner_of[d->seq % c->window] = 0;
    ms_scored res;
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_scorer_run(c->r->scorer, d, NULL, &res, &err);
    if (st != MS_OK) {
        fail(c, st, &err);
        return;
    }
    ms_result_hdr h;
    memset(&h, 0, sizeof h);
    h.type = MS_MSG_RESULT;
    h.seq = d->seq;
    h.n_rows = res.n_rows;
    h.n_bad = res.n_bad;
    h.data_len = res.data_len;
    h.errors_len = res.errors_len;
    h.msg_len = res.n_bad ? strlen(res.first_error) + 1 : 0;
    h.summary_len = res.summary_len;
    size_t total = sizeof h + h.data_len + h.errors_len + h.msg_len + h.summary_len;
    if (ms_buf_reserve(&c->rbuf, &c->rcap, total, &err) != MS_OK) {
        fail(c, err.code, &err);
        return;
    }
    char *p = c->rbuf;
    memcpy(p, &h, sizeof h);
    if (h.data_len) /* empty buffers may be NULL */
        memcpy(p + sizeof h, res.data, h.data_len);
    if (h.errors_len)
        memcpy(p + sizeof h + h.data_len, res.errors, h.errors_len);
    if (h.msg_len)
        memcpy(p + sizeof h + h.data_len + h.errors_len, res.first_error, h.msg_len);
    if (h.summary_len)
        memcpy(p + sizeof h + h.data_len + h.errors_len + h.msg_len, res.summary, h.summary_len);
    store(c, &c->rbuf, &c->rcap);
}

/* ---- progress and metrics ------------------------------------------------ */

/* Atomically replace `path` with `root` as JSON (temp file + rename), so a
 * reader never sees half a file. */
static int dump_json_atomic(json_t *root, const char *path)
{
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    if (!tmp)
        return -1;
    snprintf(tmp, len, "%s.partial", path);
    int rc = json_dump_file(root, tmp, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (rc == 0)
        rc = rename(tmp, path);
    else
        unlink(tmp);
    free(tmp);
    return rc;
}

/* The progress line on stderr (a terminal: redrawn every 0.5 s; otherwise,
 * with --progress, a line every 5 s) and --status-file for `mpiscore
 * status` (every second). `state` is NULL while running. */
static void show_progress(coord *c, const char *state)
{
    const ms_run_opts *o = c->r->o;
    double now = ms_now();
    int tty = isatty(2);
    int want_line = c->progress && (state || now - c->last_progress >= (tty ? 0.5 : 5.0));
    int want_status = o->status_file && (state || now - c->last_status >= 1.0);
    if (!want_line && !want_status)
        return;
    double el = now - c->r->t_start;
    double total = (double)c->r->in->total_units;
    double frac = total > 0 ? (double)c->units_done / total : 1.0;
    uint64_t rows_now = c->rows - c->rows_resumed;
    double rate = el > 0 ? (double)rows_now / el : 0;
    double left = frac > 0.001 && frac < 1 ? el * (1 - frac) / frac : 0;
    if (want_line) {
        c->last_progress = now;
        char eta[32] = "-";
        if (left > 0)
            snprintf(eta, sizeof eta, "%d:%02d", (int)left / 60, (int)left % 60);
        fprintf(stderr, "%s%5.1f%%  %llu rows  %.0f rows/s  %llu bad  ETA %s%s",
                tty ? "\r\033[K" : "", 100 * frac, (unsigned long long)c->rows, rate,
                (unsigned long long)c->bad, eta, tty && !state ? "" : "\n");
    }
    if (want_status) {
        c->last_status = now;
        json_t *st = json_pack("{s:s, s:I, s:I, s:f, s:f, s:f, s:f, s:i}", "state",
                               state ? state : "running", "rows", (json_int_t)c->rows, "bad_rows",
                               (json_int_t)c->bad, "progress", frac, "rows_per_s", rate, "eta_s",
                               left, "elapsed_s", el, "ranks", c->r->size);
        if (st && state && c->fail != MS_OK)
            json_object_set_new(st, "error", json_string(c->fail_err.msg));
        if (st)
            dump_json_atomic(st, o->status_file);
        json_decref(st);
    }
}

static void write_metrics(coord *c, ms_status st, double wall)
{
    const ms_run_opts *o = c->r->o;
    if (!o->metrics)
        return;
    json_t *root = json_object();
    json_t *per = json_array();
    uint64_t bytes = 0, max_rss = 0, retries = 0;
    for (int i = 0; i < c->r->size; i++) {
        rank_stats *rs = &c->ranks[i];
        if (!rs->have)
            continue;
        bytes += rs->final.bytes_in;
        if (rs->final.max_rss_kb > max_rss)
            max_rss = rs->final.max_rss_kb;
        json_t *one = json_pack(
            "{s:i, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:s}", "rank", i, "rows",
            (json_int_t)rs->final.n_rows, "batches", (json_int_t)rs->final.batches, "bytes",
            (json_int_t)rs->final.bytes_in, "read_s", rs->final.read_s, "parse_s",
            rs->final.parse_s, "score_s", rs->final.score_s, "format_s", rs->final.format_s,
            "wait_s", rs->final.wait_s, "wall_s", rs->final.wall_s, "max_rss_kb",
            (json_int_t)rs->final.max_rss_kb, "binding", rs->where);
        json_object_set_new(one, "retries", json_integer((json_int_t)rs->final.retries));
        json_object_set_new(one, "timeouts", json_integer(c->timeouts[i]));
        json_object_set_new(one, "excluded", json_boolean(c->excluded[i]));
        json_array_append_new(per, one);
        retries += rs->final.retries;
    }
    json_object_set_new(root, "status", json_string(st == MS_OK ? "ok" : "failed"));
    json_object_set_new(root, "exit_code", json_integer(st));
    if (st != MS_OK)
        json_object_set_new(root, "error", json_string(c->fail_err.msg));
    json_object_set_new(root, "output", json_string(o->output));
    json_object_set_new(root, "rows", json_integer((json_int_t)c->rows));
    json_object_set_new(root, "rows_ok", json_integer((json_int_t)(c->rows - c->bad)));
    json_object_set_new(root, "rows_failed", json_integer((json_int_t)c->bad));
    json_object_set_new(root, "batches", json_integer((json_int_t)c->commit));
    json_object_set_new(root, "bytes_in", json_integer((json_int_t)bytes));
    json_object_set_new(root, "wall_s", json_real(wall));
    json_object_set_new(root, "rows_per_s", json_real(wall > 0 ? (double)c->rows / wall : 0));
    json_object_set_new(root, "mb_per_s", json_real(wall > 0 ? (double)bytes / wall / 1e6 : 0));
    json_object_set_new(root, "ranks", json_integer(c->r->size));
    json_object_set_new(root, "isa", json_string(ms_isa_name(c->r->isa)));
    json_object_set_new(root, "transport", json_string(c->r->send_bytes ? "bytes" : "descriptors"));
    json_object_set_new(root, "mini_batch_rows", json_integer((json_int_t)o->batch_rows));
    json_object_set_new(root, "window", json_integer((json_int_t)c->window));
    json_object_set_new(root, "max_rss_kb", json_integer((json_int_t)max_rss));
    json_object_set_new(root, "retries", json_integer((json_int_t)retries));
    json_object_set_new(root, "per_rank", per);
    errno = 0;
    if (dump_json_atomic(root, o->metrics) != 0)
        fprintf(stderr, "mpiscore: warning: cannot write metrics to %s: %s\n", o->metrics,
                errno ? strerror(errno) : "JSON encoding failed");
    json_decref(root);
}

/* ---- output, errors file and journal -------------------------------------- */

/* Everything the output depends on, one "key details" line each, so a
 * resume against changed inputs is refused naming what changed (the display
 * names go beside, journal.h). Lines hold identities, not spellings: the
 * model by the sha256 of its bytes (another path or a registry reference to
 * the same container is the same model), inputs by device + inode, size and
 * mtime (./big.csv is big.csv), and their count first, so one more --input
 * is named as such. */
static ms_status fingerprint(coord *c, char **out, const char ***names_out, ms_error *err)
{
    const ms_run_opts *o = c->r->o;
    const ms_inputs *in = c->r->in;
    char *buf = NULL;
    size_t len = 0, cap = 0, n_lines = in->n_files + 3;
    char line[4096], sha[2 * MS_SHA256_LEN + 1];
    const char **names = calloc(n_lines, sizeof *names);
    if (!names)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    ms_status st = ms_file_sha256(o->model, sha, err);
    for (size_t i = 0; i < n_lines && st == MS_OK; i++) {
        if (i == 0) {
            snprintf(line, sizeof line, "inputs %zu\n", in->n_files);
        } else if (i == 1) {
            snprintf(line, sizeof line, "model sha256=%s\n", sha);
            names[i] = o->model;
        } else if (i < n_lines - 1) {
            const ms_input_file *f = &in->files[i - 2];
            struct stat sb;
            if (stat(f->path, &sb) != 0) {
                st = ms_error_set(err, MS_EINPUT, "%s: %s", f->path, strerror(errno));
                break;
            }
            snprintf(line, sizeof line, "input dev=%llu ino=%llu size=%lld mtime_ns=%lld\n",
                     (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino,
                     (long long)f->size, (long long)f->mtime_ns);
            names[i] = f->path;
        } else {
            snprintf(line, sizeof line,
                     "options --mini-batch-rows/--id-column/--delimiter/--dataset/--on-error "
                     "rows=%zu bytes=%zu id=%s delim=%d dataset=%s continue=%d\n",
                     o->batch_rows, o->batch_bytes, o->id_column ? o->id_column : "-",
                     (int)o->delim, in->dataset, o->on_error_continue);
            /* a resumed run must print the same precision; named only when it
             * is not the model's, so journals from before --precision match */
            if (c->r->out_prec != c->r->model->precision)
                snprintf(line + strlen(line) - 1, sizeof line - strlen(line) + 1,
                         " --precision=%s\n", ms_precision_name(c->r->out_prec));
            /* named only when used, so older journals still match */
            for (size_t k = 0; k < in->n_keep; k++)
                snprintf(line + strlen(line) - 1, sizeof line - strlen(line) + 1, "%s%s\n",
                         k ? "," : " --keep-columns=", in->keep_names[k]);
            if (c->r->fmt == MS_FMT_PARQUET)
                snprintf(line + strlen(line) - 1, sizeof line - strlen(line) + 1,
                         " --format=parquet --compression=%s --row-group-rows=%llu\n",
                         ms_pq_codec_name((ms_pq_codec)c->spec.pq_codec),
                         (unsigned long long)c->spec.pq_row_group_rows);
        }
        size_t n = strlen(line);
        if ((st = ms_buf_reserve(&buf, &cap, len + n + 1, err)) == MS_OK) {
            memcpy(buf + len, line, n + 1);
            len += n;
        }
    }
    if (st != MS_OK) {
        free(buf);
        free(names);
        return st;
    }
    *out = buf;
    *names_out = names;
    return MS_OK;
}

static ms_status open_errors_file(coord *c, uint64_t resume_bytes, ms_error *err)
{
    const ms_run_opts *o = c->r->o;
    c->errf_path = o->errors_file;
    size_t len = strlen(c->errf_path) + 16;
    c->errf_partial = malloc(len);
    if (!c->errf_partial)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    snprintf(c->errf_partial, len, "%s.partial", c->errf_path);
    if (resume_bytes) {
        c->errf = fopen(c->errf_partial, "r+");
        if (c->errf && (ftruncate(fileno(c->errf), (off_t)resume_bytes) != 0 ||
                        fseek(c->errf, (long)resume_bytes, SEEK_SET) != 0)) {
            fclose(c->errf);
            c->errf = NULL;
        }
    } else {
        c->errf = fopen(c->errf_partial, "w");
        if (c->errf)
            fputs("file,line,column,reason,record\n", c->errf);
    }
    if (!c->errf)
        return ms_error_set(err, MS_EIO, "%s: %s", c->errf_partial, strerror(errno));
    return MS_OK;
}

/* --summary-only: refuse an existing output without --overwrite, and find
 * out now, not after scoring everything, whether its folder takes files. */
static ms_status check_summary_target(const char *path, int overwrite, ms_error *err)
{
    struct stat sb;
    if (!overwrite && stat(path, &sb) == 0)
        return ms_error_set(err, MS_EIO, "%s: already exists (use --overwrite to replace it)",
                            path);
    char tmp[4096 + sizeof ".partial"];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.partial", path) >= sizeof tmp)
        return ms_error_set(err, MS_EUSAGE, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ms_error_set(err, MS_EIO, "%s: %s", tmp, strerror(errno));
    fclose(f);
    unlink(tmp);
    return MS_OK;
}

/* What the output holds beside the scores, and the Parquet footer's
 * key_value_metadata: the model as given and the container's sha256 and
 * source, and this program's version. */
static ms_status out_spec(coord *c, const char *id_name, ms_error *err)
{
    const ms_run_opts *o = c->r->o;
    const ms_inputs *in = c->r->in;
    ms_out_spec *sp = &c->spec;
    sp->id_name = id_name;
    sp->id_type = in->id_type;
    sp->n_keep = in->n_keep;
    sp->keep_names = in->keep_names;
    sp->keep_type = in->keep_type;
    sp->pq_codec = o->pq_codec >= 0 ? o->pq_codec : MS_PQ_SNAPPY;
    sp->pq_codec_set = 1;
    sp->pq_row_group_rows = o->row_group_rows ? o->row_group_rows : MS_PQ_ROW_GROUP_ROWS;
    if (c->r->fmt != MS_FMT_PARQUET)
        return MS_OK;
    ms_status st = ms_file_sha256(o->model, c->model_sha, err);
    if (st != MS_OK)
        return st;
    c->kv_keys[0] = "mpiscore.version";
    c->kv_vals[0] = MPISCORE_VERSION;
    c->kv_keys[1] = "mpiscore.model";
    c->kv_vals[1] = o->model_ref ? o->model_ref : o->model;
    c->kv_keys[2] = "mpiscore.model_sha256";
    c->kv_vals[2] = c->model_sha;
    c->kv_keys[3] = "mpiscore.model_source";
    c->kv_vals[3] = c->r->model->source ? c->r->model->source : "";
    sp->n_kv = 4;
    sp->kv_keys = c->kv_keys;
    sp->kv_values = c->kv_vals;
    return MS_OK;
}

/* Open the writer, errors file, source and journal; with --resume, pick up
 * where the journal says the interrupted run was. */
static ms_status start_output(coord *c, const char *id_name, ms_error *err)
{
    ms_status st;
    const ms_run_opts *o = c->r->o;
    ms_run *r = c->r;
    char *fp = NULL, *jpath = NULL;
    const char **fp_names = NULL;
    MS_CHECK(ms_source_open(r->in, o->batch_rows, o->batch_bytes, &c->src, err));
    MS_CHECK(out_spec(c, id_name, err));
    /* a Parquet run with --summary keeps no journal: the summary state it
     * would need is the one at a row group's batch, long merged past */
    int journaled = r->fmt == MS_FMT_CSV || (r->fmt == MS_FMT_PARQUET && !r->summary);
    if (o->summary_only) { /* no writer, no journal: the summary is the output */
        MS_CHECK(check_summary_target(o->output, o->overwrite, err));
        if (o->on_error_continue)
            MS_CHECK(open_errors_file(c, 0, err));
        goto done;
    }
    if (!journaled) {
        if (o->resume) {
            st = ms_error_set(err, MS_EUSAGE,
                              r->fmt == MS_FMT_HDF5
                                  ? "--resume needs CSV or Parquet output (HDF5 output cannot be "
                                    "cut back to a commit point)"
                                  : "--resume with --summary needs CSV output");
            goto done;
        }
        MS_CHECK(ms_writer_open_spec(o->output, r->fmt, r->model, r->out_prec, &c->spec,
                                     o->overwrite, &c->w, err));
        if (o->on_error_continue)
            MS_CHECK(open_errors_file(c, 0, err));
        goto done;
    }
    size_t jl = strlen(o->output) + 16;
    jpath = malloc(jl);
    if (!jpath) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    snprintf(jpath, jl, "%s.journal", o->output);
    MS_CHECK(fingerprint(c, &fp, &fp_names, err));
    ms_journal_rec last;
    memset(&last, 0, sizeof last);
    struct stat jsb, osb;
    if (o->resume && stat(jpath, &jsb) != 0 && errno == ENOENT && stat(o->output, &osb) == 0 &&
        !partial_exists(o->output)) {
        /* the journal goes only when the output is renamed: that run finished
         * (perhaps while a signal was on its way, mpirun then says 1) */
        st = ms_error_set(err, MS_EINPUT,
                          "%s: the run that wrote it completed: the output is complete, nothing "
                          "to resume",
                          o->output);
        goto done;
    }
    if (o->resume) {
        /* A refused resume leaves every file as it found it: the journal is
         * checked and the resume point found in the input before the
         * partial output or errors file is cut back. */
        c->resuming = 1;
        MS_CHECK(ms_journal_resume_named(jpath, fp, fp_names, &last, &c->journal, err));
    }
    if (last.next_seq > 0) {
        MS_CHECK(ms_source_seek(c->src, last.file, last.offset, last.line, last.next_seq, err));
        if (r->summary) {
            char state[4096 + 64];
            summary_state_path(c, last.next_seq, state, sizeof state);
            MS_CHECK(ms_summary_load_state(r->summary, state, err));
        }
        if (r->fmt == MS_FMT_PARQUET) {
            MS_CHECK(ms_writer_resume_pq(o->output, r->model, r->out_prec, &c->spec, last.out_bytes,
                                         last.rows, &c->w, err));
            c->pq_anchor = last;
            c->have_anchor = 1;
            c->pq_rows_seen = ms_writer_pq_rows(c->w);
        } else {
            MS_CHECK(ms_writer_resume(o->output, r->model, last.out_bytes, last.rows, &c->w, err));
        }
        if (o->on_error_continue)
            MS_CHECK(open_errors_file(c, last.err_bytes, err));
        c->commit = c->next_seq = last.next_seq;
        c->rows = last.rows;
        c->rows_resumed = last.rows;
        c->bad = last.bad;
        c->units_done = last.units;
        c->resume_pt = last;
        c->journaled_seq = last.next_seq;
        c->resuming = 0;
        ms_log(r, MS_LOG_WARN, "resuming after %llu rows (%llu batches) of an interrupted run",
               (unsigned long long)last.rows, (unsigned long long)last.next_seq);
    } else {
        /* nothing committed yet (or a fresh run): start from the top */
        ms_journal_close(c->journal, 0);
        c->journal = NULL;
        c->resuming = 0;
        MS_CHECK(ms_writer_open_spec(o->output, r->fmt, r->model, r->out_prec, &c->spec,
                                     o->overwrite || o->resume, &c->w, err));
        if (o->on_error_continue)
            MS_CHECK(open_errors_file(c, 0, err));
        MS_CHECK(ms_journal_create(jpath, fp, &c->journal, err));
    }
    c->last_journal = ms_now();
done:
    free(fp);
    free(fp_names);
    free(jpath);
    return st;
}

/* ---- batch timeouts -------------------------------------------------------- */

/* --batch-timeout: a batch a worker has held too long goes to another worker
 * with a free credit, or rank 0 scores it. Whichever answer comes first is
 * committed, so the output is that of a clean run. A rank late twice gets no
 * more work; it still answers STOP, after its queue (dropped: abort). */
static void check_timeouts(coord *c)
{
    double limit = c->r->o->batch_timeout, now = ms_now();
    if (limit <= 0 || c->fail != MS_OK || c->stop_sent)
        return;
    for (uint64_t seq = c->commit; seq < c->next_seq && c->fail == MS_OK; seq++) {
        size_t k = seq % c->window;
        int old = c->owner_of[k];
        if (c->win[k].full || old == 0 || now - c->sent_at[k] < limit)
            continue;
        if (++c->timeouts[old] == 2) {
            c->excluded[old] = 1;
            ms_log(c->r, MS_LOG_WARN,
                   "rank %d timed out twice (--batch-timeout %g s): no more work for it", old,
                   limit);
        }
        int to = 0;
        for (int w = 1; w < c->r->size && !to; w++)
            if (w != old && !c->excluded[w] && c->credits[w] > 0)
                to = w;
        ms_log(c->r, MS_LOG_INFO,
               "batch %llu (line %llu) not back from rank %d after %g s: handed to rank %d",
               (unsigned long long)seq + 1, (unsigned long long)c->desc_of[k].first_line, old,
               limit, to);
        ms_desc d = c->desc_of[k];
        if (to && send_work(c, to, &d) == 0)
            c->credits[to]--;
        else if (!to)
            score_locally(c, &d);
    }
}

/* ---- main loop ------------------------------------------------------------ */

ms_status ms_coordinator(ms_run *r, ms_error *err)
{
    const ms_run_opts *o = r->o;
    coord c;
    memset(&c, 0, sizeof c);
    c.r = r;
    c.window = o->window ? o->window : (size_t)(r->size * (MS_PREFETCH + 1) + 2);
    c.win = calloc(c.window, sizeof *c.win);
    c.units_of = calloc(c.window, sizeof *c.units_of);
    c.next_of = calloc(c.window, sizeof *c.next_of);
    c.credits = calloc((size_t)r->size, sizeof *c.credits);
    c.ranks = calloc((size_t)r->size, sizeof *c.ranks);
    c.desc_of = calloc(c.window, sizeof *c.desc_of);
    c.owner_of = calloc(c.window, sizeof *c.owner_of);
    c.sent_at = calloc(c.window, sizeof *c.sent_at);
    c.timeouts = calloc((size_t)r->size, sizeof *c.timeouts);
    c.excluded = calloc((size_t)r->size, sizeof *c.excluded);
    c.progress = o->progress > 0 || (o->progress == 0 && isatty(2));
    c.last_progress = ms_now();
    ms_status st = MS_OK;
    if (!c.win || !c.units_of || !c.next_of || !c.credits || !c.ranks || !c.desc_of ||
        !c.owner_of || !c.sent_at || !c.timeouts || !c.excluded) {
        fprintf(stderr, "mpiscore: out of memory\n");
        MPI_Abort(r->comm, MS_EINTERNAL);
    }
    for (int w = 1; w < r->size; w++)
        c.credits[w] = MS_PREFETCH;

    ms_error e;
    const char *id_name = NULL;
    if (o->id_column)
        id_name = o->id_column[0] == '/' ? o->id_column + 1 : o->id_column;
    if (start_output(&c, id_name, &e) != MS_OK)
        fail(&c, e.code, &e);

    unsigned idle = 0;
    for (;;) {
        int progressed = 0;
        receive(&c, &progressed);
        commit_ready(&c);
        if (c.fail == MS_OK && ms_now() - c.last_journal >= o->journal_every)
            journal_point(&c);
        if (ms_stop_signal && c.fail == MS_OK) {
            journal_point(&c);
            failf(&c, MS_EINTR, "interrupted by signal %d after %llu rows; %s", (int)ms_stop_signal,
                  (unsigned long long)c.rows,
                  c.journal ? "continue with --resume" : "nothing was written");
        }
        int all_done = c.src_done && c.commit == c.next_seq;
        if (!c.stop_sent && (c.fail != MS_OK || all_done))
            send_stop(&c);
        if (c.stop_sent && c.finals == r->size - 1)
            break;
        check_timeouts(&c);
        ms_desc d;
        for (int w = 1; w < r->size && !c.stop_sent; w++) {
            while (!c.excluded[w] && c.credits[w] > 0 && next_desc(&c, &d)) {
                if (send_work(&c, w, &d) != 0)
                    break;
                c.credits[w]--;
                progressed = 1;
            }
        }
        if (!c.stop_sent && next_desc(&c, &d)) {
            score_locally(&c, &d);
            progressed = 1;
        }
        show_progress(&c, NULL);
        if (progressed) {
            idle = 0;
        } else {
            double t0 = ms_now();
            ms_idle_wait(&idle);
            c.wait_s += ms_now() - t0;
        }
    }
    commit_ready(&c);
    if (c.fail == MS_OK && over_pct(&c, c.rows))
        failf(&c, MS_EROWS, "too many bad rows: %llu of %llu exceed --max-errors %g%% (first: %s)",
              (unsigned long long)c.bad, (unsigned long long)c.rows, o->max_errors_pct,
              c.first_bad);

    ms_final_from_stats(&c.ranks[0].final, r->scorer, c.wait_s, ms_now() - r->t_start);
    snprintf(c.ranks[0].where, sizeof c.ranks[0].where, "%s", r->where);
    c.ranks[0].have = 1;
    for (int w = 1; w < r->size; w++)
        if (c.excluded[w])
            ms_log(r, MS_LOG_WARN,
                   "rank %d (%s) was late with %d batches (--batch-timeout %g s) and given no "
                   "more work; the others scored them",
                   w, c.ranks[w].have ? c.ranks[w].where : "no report", c.timeouts[w],
                   o->batch_timeout);
    /* The errors file reaches the disk before the output is renamed: a run
     * whose errors file cannot be written must not leave a finished output. */
    if (c.fail == MS_OK && c.errf && (fflush(c.errf) != 0 || fdatasync(fileno(c.errf)) != 0))
        fail_output_errno(&c, c.errf_partial);
    /* Every side file is complete and in place before the output is
     * renamed, which comes last: a run that reports a failure never leaves
     * a finished output (which would make a retry fail with "exists"). */
    int errf_closed = 0;
    if (c.fail == MS_OK && c.errf) {
        errf_closed = 1;
        if (fclose(c.errf) != 0)
            fail_output_errno(&c, c.errf_partial);
        else if (rename(c.errf_partial, c.errf_path) != 0)
            failf(&c, MS_EIO, "%s: cannot rename to %s: %s", c.errf_partial, c.errf_path,
                  strerror(errno));
        else
            errf_closed = 2;
        c.errf = NULL;
    }
    int keep_partial =
        ((c.fail == MS_EINTR || (c.out_fault && partial_exists(o->output))) && c.journal) ||
        c.resuming;
    if (errf_closed == 1 && !keep_partial)
        unlink(c.errf_partial);
    if (keep_partial && c.out_fault && !c.resuming) {
        size_t n = strlen(c.fail_err.msg);
        snprintf(c.fail_err.msg + n, sizeof c.fail_err.msg - n,
                 "; partial output kept: continue with --resume once that is fixed");
    }
    /* Fault injection for the resume tests: die where a crash hurts most,
     * with everything scored but nothing renamed yet. */
    const char *fault = getenv("MPISCORE_FAULT");
    if (c.fail == MS_OK && fault && !strcmp(fault, "before-rename"))
        raise(SIGKILL);
    /* the summary is in place before the output is: a failed run leaves neither */
    int summary_written = 0;
    if (c.fail == MS_OK && r->summary) {
        if ((st = ms_summary_write_json(r->summary, o->summary, &e)) != MS_OK)
            fail_output(&c, &e);
        summary_written = st == MS_OK;
    }
    if (c.fail == MS_OK && c.w) {
        /* commit frees the writer whether or not it succeeds */
        if ((st = ms_writer_commit(c.w, &e)) != MS_OK) {
            fail(&c, st, &e);
            if (summary_written)
                unlink(o->summary);
        }
        c.w = NULL;
    }
    if (keep_partial)
        ms_writer_close_partial(c.w);
    else
        ms_writer_abort(c.w);
    if (c.journal && !keep_partial && r->summary) {
        char state[4096 + 64];
        summary_state_path(&c, c.journaled_seq, state, sizeof state);
        unlink(state);
    }
    ms_journal_close(c.journal, !keep_partial);
    if (c.errf) {
        /* The errors file is the diagnosis of a run that hit its limit: keep
         * it, but never a truncated one under its final name. */
        int keep = c.fail == MS_OK || c.fail == MS_EROWS;
        if (fclose(c.errf) != 0 && keep) {
            if (c.fail == MS_OK)
                failf(&c, MS_EIO, "%s: %s", c.errf_partial, strerror(errno));
            keep = 0;
        }
        if (keep && rename(c.errf_partial, c.errf_path) != 0) {
            if (c.fail == MS_OK)
                failf(&c, MS_EIO, "%s: cannot rename to %s: %s", c.errf_partial, c.errf_path,
                      strerror(errno));
            keep = 0;
        }
        if (!keep && !keep_partial)
            unlink(c.errf_partial);
    }
    show_progress(&c, c.fail == MS_OK ? "done" : c.fail == MS_EINTR ? "interrupted" : "failed");
    st = c.fail;
    write_metrics(&c, st, ms_now() - r->t_start);
    if (st == MS_OK && c.bad)
        fprintf(stderr, "mpiscore: %llu of %llu rows could not be scored; see %s\n",
                (unsigned long long)c.bad, (unsigned long long)c.rows, c.errf_path);
    if (st != MS_OK)
        *err = c.fail_err;
    ms_source_close(c.src);
    for (size_t i = 0; c.win && i < c.window; i++)
        free(c.win[i].buf);
    free(c.win);
    free(c.units_of);
    free(c.next_of);
    free(c.credits);
    free(c.ranks);
    free(c.desc_of);
    free(c.owner_of);
    free(c.sent_at);
    free(c.timeouts);
    free(c.excluded);
    free(c.rbuf);
    free(c.sbuf);
    free(c.errf_partial);
    return st;
}
