/*
 * run.h — `mpiscore run`: options, and the state shared by the set-up
 * (run.c), the coordinator (coordinator.c) and the workers (worker.c).
 *
 * Every rank parses the same argv, so options agree everywhere without a
 * broadcast. The coordinator alone validates inputs and the output path;
 * the plan it makes is broadcast, and every decision that could make ranks
 * diverge (set-up failed, transport) is taken on rank 0 and broadcast.
 */
#ifndef MPISCORE_RUN_H
#define MPISCORE_RUN_H

#include <mpi.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/binding.h"
#include "mpiscore/input.h"
#include "mpiscore/kernels.h"
#include "mpiscore/model.h"
#include "mpiscore/output.h"
#include "mpiscore/scorer.h"
#include "mpiscore/summary.h"

typedef enum { MS_TRANSPORT_AUTO = 0, MS_TRANSPORT_DESC, MS_TRANSPORT_BYTES } ms_transport;
typedef enum { MS_LOG_ERROR = 0, MS_LOG_WARN, MS_LOG_INFO, MS_LOG_DEBUG } ms_log_level;

typedef struct ms_run_opts {
    const char *model;
    const char *model_ref; /* --model as given (model is then the resolved path) */
    char **inputs;
    size_t n_inputs;
    const char *output;
    const char *format;
    const char *id_column;
    char delim;
    const char *dataset;
    char **features;
    size_t n_features;
    char **keep_columns; /* --keep-columns */
    size_t n_keep;
    size_t batch_rows;
    size_t batch_bytes;
    int on_error_continue;
    uint64_t max_errors;     /* absolute limit, UINT64_MAX = none */
    double max_errors_pct;   /* percent limit, < 0 = none */
    const char *errors_file; /* NULL: OUTPUT.errors.csv with --on-error continue */
    const char *metrics;
    const char *status_file; /* JSON progress for `mpiscore status`, or NULL */
    int progress;            /* 1 forced on, 0 auto (stderr is a terminal), -1 off */
    int overwrite;
    int resume;           /* continue an interrupted run from OUTPUT.journal */
    double journal_every; /* seconds between journal records */
    ms_bind_mode bind;
    int report_bindings;
    ms_transport transport;
    ms_log_level log_level;
    size_t window;        /* batches in the reorder window, 0 = automatic */
    int max_retries;      /* transient read failures retried per batch */
    double batch_timeout; /* seconds before a batch is handed to another rank; 0 = off */
    const char *summary;  /* JSON summary of the scores (summary.h), or NULL */
    int summary_only;     /* the summary is the output (o->summary == o->output) */
    int precision;        /* ms_precision of the written scores, -1 = the model's */

    /* Parquet output */
    int pq_codec;            /* --compression (ms_pq_codec), -1 = default (snappy) */
    uint64_t row_group_rows; /* --row-group-rows, 0 = MS_PQ_ROW_GROUP_ROWS */
} ms_run_opts;

/* Everything a rank holds during a run. */
typedef struct ms_run {
    const ms_run_opts *o;
    MPI_Comm comm;
    int rank, size;
    ms_model *model;
    ms_isa isa;
    ms_inputs *in;
    ms_out_format fmt;
    ms_precision out_prec; /* --precision, or the model's */
    int send_bytes;        /* coordinator ships batch bytes instead of descriptors */
    char where[512];
    ms_scorer *scorer;
    double t_start;
    ms_summary *summary; /* rank 0 with --summary: the run's merged summary */
} ms_run;

/* Set by SIGINT/SIGTERM; the coordinator stops at the next batch boundary. */
extern volatile sig_atomic_t ms_stop_signal;

/* TERM, INT and USR2 set ms_stop_signal: the run stops at a batch boundary
 * and exits MS_EINTR. Called before MPI_Init too, so a stop during start-up
 * is not a kill by the default action. */
void ms_catch_stop_signals(void);

/* SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT: one line naming the rank and
 * the signal on stderr, then death by the signal (never a hang in a crash
 * handler). Called after MPI_Init, which installs Open MPI's own. */
void ms_catch_fatal_signals(int rank);

/* Run on every rank of comm; returns the process exit status (same on all
 * ranks). Rank 0 prints the error line, if any. */
int ms_run_main(const ms_run_opts *o, MPI_Comm comm);

/* Rank 0 / other ranks. Return an ms_status; coordinator fills err. */
ms_status ms_coordinator(ms_run *r, ms_error *err);
ms_status ms_worker(ms_run *r);

/* Sleep a little while waiting for messages, backing off from 20 us to
 * 1 ms: Open MPI's blocking calls spin, which would steal the core of a
 * scoring rank when oversubscribed. `idle` counts consecutive idle rounds. */
void ms_idle_wait(unsigned *idle);

void ms_log(const ms_run *r, ms_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
