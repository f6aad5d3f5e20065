/*
 * serve_deploy.h — the deployments a server is serving right now, as one
 * immutable generation, and the request router over it.
 *
 * Invariants:
 *  - a generation never changes once published; a reload builds a new one
 *    (loading and warming only the models it does not share with the old),
 *    then swaps the current pointer under the lock;
 *  - a request holds a reference on the generation it started with until it
 *    ends, so a model is freed only after the last request using it ended;
 *  - models are shared by generations that serve the same NAME:N + sha256,
 *    with their own reference count.
 */
#ifndef MPISCORE_SERVE_DEPLOY_H
#define MPISCORE_SERVE_DEPLOY_H

#include <stdint.h>

#include "mpiscore/kernels.h"
#include "mpiscore/model.h"
#include "serve/endpoint.h"

typedef struct ms_srv_model {
    ms_model *m;
    char ref[MS_REGISTRY_NAME_MAX + 16]; /* NAME:N */
    char sha256[65];
    char name[MS_REGISTRY_NAME_MAX + 1];
    char version[16];
    int refs; /* generations holding it; under the deploy lock */
} ms_srv_model;

typedef struct ms_srv_dep {
    char name[MS_REGISTRY_NAME_MAX + 1];
    ms_srv_model *model;
    int traffic, mirror;
} ms_srv_dep;

typedef struct ms_srv_gen {
    long generation;
    char key_hash[2][65];
    size_t n_dep;
    ms_srv_dep dep[MS_EP_MAX_DEPLOYMENTS];
    int refs; /* the current pointer + requests; under the deploy lock */
} ms_srv_gen;

/* Build a generation for ep, sharing prev's models where they match (prev
 * may be NULL); each new model is loaded and scored once before return. */
ms_status ms_gen_build(const ms_endpoint *ep, ms_srv_gen *prev, ms_isa isa, ms_srv_gen **out,
                       int *n_loaded, ms_error *err);
/* Publish g as current (the old current is released). */
void ms_gen_publish(ms_srv_gen *g);
/* The current generation with a reference, or NULL before the first publish. */
ms_srv_gen *ms_gen_acquire(void);
void ms_gen_release(ms_srv_gen *g);

/* Route by traffic weights (the n-th request of a seeded stream) or by name;
 * returns the deployment or NULL (name unknown / no traffic). */
const ms_srv_dep *ms_gen_route(const ms_srv_gen *g, uint64_t draw);
const ms_srv_dep *ms_gen_find(const ms_srv_gen *g, const char *name);
/* The mirror deployment for this request, or NULL. */
const ms_srv_dep *ms_gen_mirror(const ms_srv_gen *g, uint64_t draw);

/* splitmix64: the deterministic stream the router draws from. */
uint64_t ms_splitmix64(uint64_t x);

#endif
