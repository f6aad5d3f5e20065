/*
 * serve_deploy.c — generations of deployments and routing (serve_deploy.h).
 */
#include "serve/serve_deploy.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static ms_srv_gen *current;

uint64_t ms_splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void model_unref(ms_srv_model *sm)
{
    /* under lock */
    if (sm && --sm->refs == 0) {
        ms_model_free(sm->m);
        free(sm);
    }
}

/* Load NAME:N, check it is still the version the endpoint names, and run it
 * once so its pages are touched before the first request. */
static ms_status load_model(const ms_ep_deployment *d, ms_isa isa, ms_srv_model **out,
                            ms_error *err)
{
    ms_status st;
    ms_registry_entry e;
    ms_srv_model *sm = calloc(1, sizeof *sm);
    float *x = NULL, *o = NULL, *scratch = NULL;
    if (!sm)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    MS_CHECK(ms_registry_lookup(d->model, &e, err));
    if (strcmp(e.sha256, d->sha256) != 0) {
        st = ms_error_set(err, MS_EMODEL,
                          "deployment %s: %s has sha256 %.12s..., the endpoint expects %.12s...",
                          d->name, d->model, e.sha256, d->sha256);
        goto done;
    }
    MS_CHECK(ms_model_load(e.path, &sm->m, err));
    snprintf(sm->ref, sizeof sm->ref, "%s", d->model);
    snprintf(sm->sha256, sizeof sm->sha256, "%s", d->sha256);
    snprintf(sm->name, sizeof sm->name, "%s", e.name);
    snprintf(sm->version, sizeof sm->version, "%d", e.version);
    x = calloc(sm->m->n_features ? sm->m->n_features : 1, sizeof *x);
    o = calloc(sm->m->n_outputs ? sm->m->n_outputs : 1, sizeof *o);
    scratch = calloc(ms_predict_scratch_floats(sm->m, 1) + 1, sizeof *scratch);
    if (!x || !o || !scratch) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    ms_predict(sm->m, isa, x, 1, o, scratch);
    sm->refs = 0;
    *out = sm;
    sm = NULL;
done:
    if (sm) {
        ms_model_free(sm->m);
        free(sm);
    }
    free(x);
    free(o);
    free(scratch);
    return st;
}

ms_status ms_gen_build(const ms_endpoint *ep, ms_srv_gen *prev, ms_isa isa, ms_srv_gen **out,
                       int *n_loaded, ms_error *err)
{
    ms_status st = MS_OK;
    ms_srv_gen *g = calloc(1, sizeof *g);
    if (!g)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    *n_loaded = 0;
    g->generation = ep->generation;
    memcpy(g->key_hash, ep->key_hash, sizeof g->key_hash);
    for (size_t i = 0; i < ep->n_dep; i++) {
        const ms_ep_deployment *d = &ep->dep[i];
        ms_srv_dep *o = &g->dep[g->n_dep];
        snprintf(o->name, sizeof o->name, "%s", d->name);
        o->traffic = d->traffic;
        o->mirror = d->mirror;
        for (size_t j = 0; prev && j < prev->n_dep && !o->model; j++)
            if (!strcmp(prev->dep[j].model->ref, d->model) &&
                !strcmp(prev->dep[j].model->sha256, d->sha256))
                o->model = prev->dep[j].model;
        for (size_t j = 0; j < g->n_dep && !o->model; j++)
            if (!strcmp(g->dep[j].model->ref, d->model))
                o->model = g->dep[j].model;
        if (!o->model) {
            ms_error e2;
            if ((st = load_model(d, isa, &o->model, &e2)) != MS_OK) {
                st = ms_error_set(err, st, "deployment %s (%s): %s", d->name, d->model, e2.msg);
                break;
            }
            (*n_loaded)++;
        }
        pthread_mutex_lock(&lock);
        o->model->refs++;
        pthread_mutex_unlock(&lock);
        g->n_dep++;
    }
    if (st != MS_OK) {
        g->refs = 1;
        ms_gen_release(g);
        return st;
    }
    g->refs = 1; /* the builder's, handed to ms_gen_publish */
    *out = g;
    return MS_OK;
}

static void gen_unref_locked(ms_srv_gen *g)
{
    if (g && --g->refs == 0) {
        for (size_t i = 0; i < g->n_dep; i++)
            model_unref(g->dep[i].model);
        free(g);
    }
}

void ms_gen_publish(ms_srv_gen *g)
{
    pthread_mutex_lock(&lock);
    ms_srv_gen *old = current;
    current = g;
    gen_unref_locked(old);
    pthread_mutex_unlock(&lock);
}

ms_srv_gen *ms_gen_acquire(void)
{
    pthread_mutex_lock(&lock);
    ms_srv_gen *g = current;
    if (g)
        g->refs++;
    pthread_mutex_unlock(&lock);
    return g;
}

void ms_gen_release(ms_srv_gen *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&lock);
    gen_unref_locked(g);
    pthread_mutex_unlock(&lock);
}

/* The deployment whose share (traffic or mirror percent) covers draw % 100. */
static const ms_srv_dep *weighted(const ms_srv_gen *g, uint64_t draw, int mirror)
{
    int u = (int)(draw % 100), acc = 0;
    for (size_t i = 0; i < g->n_dep; i++) {
        acc += mirror ? g->dep[i].mirror : g->dep[i].traffic;
        if (u < acc)
            return &g->dep[i];
    }
    return NULL;
}

const ms_srv_dep *ms_gen_route(const ms_srv_gen *g, uint64_t draw)
{
    return weighted(g, draw, 0);
}

const ms_srv_dep *ms_gen_mirror(const ms_srv_gen *g, uint64_t draw)
{
    return weighted(g, draw, 1);
}

const ms_srv_dep *ms_gen_find(const ms_srv_gen *g, const char *name)
{
    for (size_t i = 0; i < g->n_dep; i++)
        if (!strcmp(g->dep[i].name, name))
            return &g->dep[i];
    return NULL;
}
