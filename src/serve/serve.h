/*
 * serve.h — `mpiscore serve NAME`: the endpoint's real-time HTTP server
 * (Open Inference Protocol v2 REST + /score), and the hooks `endpoint`
 * commands use to reach a running one.
 *
 * The server links core, never MPI. It reads the endpoint's state file at
 * start and again whenever it changes (or on SIGHUP): the new generation of
 * deployments is loaded and warmed before it takes traffic, and the old one
 * is freed when the last request holding it ends.
 */
#ifndef MPISCORE_SERVE_H
#define MPISCORE_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "serve/endpoint.h"

typedef struct ms_serve_opts {
    const char *endpoint;
    int port;             /* 0: any free port (printed, and written to port_file) */
    const char *bind;     /* address to listen on */
    const char *tls_cert; /* PEM files: HTTPS when both are given */
    const char *tls_key;
    double request_timeout;     /* seconds from the first byte of a request to its answer: 408 */
    unsigned idle_timeout;      /* seconds a connection may stay silent before it is closed */
    size_t max_body;            /* bytes: 413 beyond */
    size_t max_rows;            /* rows per request: 413 beyond */
    size_t max_buffered;        /* bytes of bodies held by all requests together: 503 beyond */
    unsigned max_connections;   /* open connections: 503 beyond */
    unsigned max_inflight;      /* requests being received or scored at once: 429 beyond */
    unsigned threads;           /* HTTP worker threads per instance */
    unsigned instances;         /* processes sharing the port (SO_REUSEPORT) */
    const char *access_log;     /* JSON lines, or NULL */
    const char *port_file;      /* the bound port is written here once listening */
    const char *id_column;      /* passed through to answers (default "id") */
    uint64_t seed;              /* traffic split RNG */
    const char *data_roots[16]; /* POST /v1/jobs paths must lie inside one (none: jobs off) */
    size_t n_data_roots;
    const char *jobs_backend; /* local | slurm */
    int jobs_ranks;
    size_t max_batch_rows;   /* micro-batch: closes at this many rows... */
    long max_batch_delay_us; /* ...or this long after it opened (0: no micro-batching) */
} ms_serve_opts;

void ms_serve_opts_default(ms_serve_opts *o);

/* Serve until SIGTERM/SIGINT (drain, then 0). Returns the exit code. */
int ms_serve_run(const ms_serve_opts *o);

/* After `endpoint update`/`keys`: SIGHUP the server serving ep, if any, so
 * it reloads at once (it would within its poll interval anyway). */
void ms_serve_notify(const ms_endpoint *ep);

/* `endpoint show`: the running server's live numbers, if one runs. */
void ms_serve_print_live(const ms_endpoint *ep, FILE *out);

#endif
