/*
 * serve_jobs.h — the batch door: POST /v1/jobs starts a `mpiscore submit`
 * job (local or Slurm backend) for one of the endpoint's deployments and
 * answers 202 with its id; GET /v1/jobs/ID is `mpiscore status ID --json`;
 * DELETE /v1/jobs/ID is `mpiscore cancel ID`.
 *
 * Invariants: a job only ever reads and writes paths inside the server's
 * --data-root folders, checked on the real paths (symlinks resolved; an
 * existing output that is a symlink is refused), so a request cannot make
 * the server's user touch a file it could not name; only the jobs this
 * endpoint started are visible through it (endpoints/NAME/jobs.txt).
 */
#ifndef MPISCORE_SERVE_JOBS_H
#define MPISCORE_SERVE_JOBS_H

#include <stddef.h>

#include "serve/serve_deploy.h"
#include "serve/serve_table.h"

#define MS_JOBS_MAX_ROOTS 16

typedef struct ms_jobs_cfg {
    const char *roots[MS_JOBS_MAX_ROOTS]; /* as given; resolved by ms_jobs_init */
    size_t n_roots;
    const char *backend; /* local | slurm */
    int ranks;
    const char *ep_dir; /* endpoints/NAME */
} ms_jobs_cfg;

/* Resolve the data roots (each must be an existing folder): 0, or -1 with
 * a message in why. */
int ms_jobs_init(ms_jobs_cfg *c, char *why, size_t wsz);

/* The three routes: the HTTP status, the JSON answer in out. dep is the
 * deployment chosen for a new job (NULL: the request must name one that
 * exists in g). */
int ms_jobs_post(const ms_jobs_cfg *c, const ms_srv_gen *g, const char *pin, const char *body,
                 size_t len, ms_sbuf *out);
int ms_jobs_get(const ms_jobs_cfg *c, const char *id, ms_sbuf *out);
int ms_jobs_delete(const ms_jobs_cfg *c, const char *id, ms_sbuf *out);

#endif
