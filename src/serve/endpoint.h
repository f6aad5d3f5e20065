/*
 * endpoint.h — named endpoints under $MPISCORE_HOME/endpoints/NAME/: the
 * deployments (registry models) an endpoint serves, how traffic is split
 * between them, and its two access keys.
 *
 * Layout: endpoints/NAME/endpoint.json
 *   {"name", "created", "generation", "keys": {"primary": SHA256, "secondary": SHA256},
 *    "deployments": [{"name", "model", "sha256", "traffic", "mirror"}]}
 *
 * Invariants:
 *  - endpoint.json only ever changes by rename of a fsync'd temporary, so a
 *    reader (the running server watching it) sees the old state or the new,
 *    never a torn one; read-modify-write holds flock on the folder.
 *  - keys are stored as the sha256 of the key text; the key itself is
 *    printed once, when it is made.
 *  - a saved endpoint with deployments has traffic summing to 100 and mirror
 *    traffic summing to at most 50; every deployment names a registry
 *    version (NAME:N, resolved when it was set) and its sha256.
 */
#ifndef MPISCORE_ENDPOINT_H
#define MPISCORE_ENDPOINT_H

#include <stddef.h>

#include "mpiscore/registry.h"
#include "mpiscore/status.h"

#define MS_EP_MAX_DEPLOYMENTS 16
#define MS_EP_KEY_HEX 64 /* a key is 32 random bytes as hex */

typedef struct ms_ep_deployment {
    char name[MS_REGISTRY_NAME_MAX + 1];
    char model[MS_REGISTRY_NAME_MAX + 16]; /* NAME:N */
    char sha256[65];
    int traffic; /* percent of live requests */
    int mirror;  /* percent of live requests copied to it, answers discarded */
} ms_ep_deployment;

typedef struct ms_endpoint {
    char name[MS_REGISTRY_NAME_MAX + 1];
    char created[32];
    long generation;      /* +1 per saved change */
    char key_hash[2][65]; /* 0 primary, 1 secondary */
    size_t n_dep;
    ms_ep_deployment dep[MS_EP_MAX_DEPLOYMENTS];
} ms_endpoint;

/* $MPISCORE_HOME/endpoints (or ~/.mpiscore/endpoints). */
ms_status ms_endpoint_root(char *out, size_t sz, ms_error *err);
/* The endpoint's state file path. */
ms_status ms_endpoint_file(const char *name, char *out, size_t sz, ms_error *err);

/* Create endpoint NAME with two new keys (hex into keys[0], keys[1]).
 * MS_EUSAGE when it exists or the name is invalid. */
ms_status ms_endpoint_create(const char *name, char keys[2][MS_EP_KEY_HEX + 1], ms_error *err);
/* Read endpoint NAME (MS_EUSAGE "no endpoint \"x\"" when missing). */
ms_status ms_endpoint_load(const char *name, ms_endpoint *ep, ms_error *err);
/* Read a state file by path (the server re-reads it on change). */
ms_status ms_endpoint_load_file(const char *path, ms_endpoint *ep, ms_error *err);
/* Check the invariants above (traffic sums, names); MS_EUSAGE naming the rule. */
ms_status ms_endpoint_validate(const ms_endpoint *ep, ms_error *err);

/* Locked read-modify-write: load NAME, call edit, validate, bump the
 * generation and save atomically. edit returns a status (and fills err). */
typedef ms_status (*ms_endpoint_edit_fn)(ms_endpoint *ep, void *arg, ms_error *err);
ms_status ms_endpoint_modify(const char *name, ms_endpoint_edit_fn edit, void *arg, ms_error *err);

/* Remove NAME and its folder. */
ms_status ms_endpoint_delete(const char *name, ms_error *err);
/* Names of every endpoint, sorted, one per line into out. */
ms_status ms_endpoint_list(FILE *out, ms_error *err);

/* A new random key (getrandom) as hex, and the hash stored for a key. */
ms_status ms_endpoint_new_key(char key[MS_EP_KEY_HEX + 1], ms_error *err);
void ms_endpoint_hash_key(const char *key, size_t n, char hex[65]);

ms_ep_deployment *ms_endpoint_find(ms_endpoint *ep, const char *dep_name);

#endif
