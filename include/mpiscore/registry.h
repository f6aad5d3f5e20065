/*
 * registry.h — named, versioned models on the local file system.
 *
 * Layout: $MPISCORE_HOME (default $HOME/.mpiscore) /models/NAME/N/
 *   model.h5    a byte copy of the registered container
 *   meta.json   {"name","version","created","sha256","source","kind","link",
 *                "n_features","notes","original_path"}
 *
 * Invariants:
 *  - A version folder exists from the moment its number is taken (mkdir is the
 *    atomic allocation, so concurrent registers from any number of processes
 *    never share a number); it is complete only once meta.json exists, and
 *    meta.json is renamed in last. Incomplete folders are ignored by list and
 *    resolve, and their numbers are never reused.
 *  - Stored files are never rewritten; resolve re-hashes model.h5 and refuses
 *    it when it no longer matches meta.json's sha256.
 *
 * References: a path to an existing file (used as is), NAME, NAME:latest
 * (highest complete version) or NAME:N. NAME matches [A-Za-z0-9][A-Za-z0-9._-]{0,63}.
 */
#ifndef MPISCORE_REGISTRY_H
#define MPISCORE_REGISTRY_H

#include <stddef.h>
#include <stdio.h>

#include "mpiscore/status.h"

#define MS_REGISTRY_NAME_MAX 64
#define MS_REGISTRY_NOTES_MAX 1024
#define MS_REGISTRY_PATH_MAX 4096

/* What a reference resolved to. version == 0 means a plain file: only path
 * is set. */
typedef struct ms_registry_entry {
    char name[MS_REGISTRY_NAME_MAX + 1];
    int version;
    char created[32]; /* ISO-8601 UTC, e.g. 2024-05-01T12:00:00Z */
    char sha256[65];  /* lower-case hex */
    char source[256]; /* the container's source attribute; "" if none */
    char kind[32];
    char link[32];
    long n_features;
    char notes[MS_REGISTRY_NOTES_MAX + 1];
    char original_path[MS_REGISTRY_PATH_MAX];
    char path[MS_REGISTRY_PATH_MAX]; /* the file to load */
    char damaged[400];               /* list only: why meta.json is unreadable ("" if it is fine) */
} ms_registry_entry;

/* The models folder ($MPISCORE_HOME/models) into out. MS_EUSAGE when neither
 * MPISCORE_HOME nor a home directory is known. */
ms_status ms_registry_models_dir(char *out, size_t sz, ms_error *err);

/* 1 if name is a valid model name. */
int ms_registry_name_ok(const char *name);

/* Validate file with ms_model_load (its message on refusal), take the next
 * version of name, store a copy and its meta.json; "NAME:N" into ref_out.
 * notes may be NULL; at most MS_REGISTRY_NOTES_MAX bytes. */
ms_status ms_registry_register(const char *file, const char *name, const char *notes, char *ref_out,
                               size_t ref_sz, ms_error *err);

/* Resolve ref to the file to load (see the top of this header), verifying a
 * registered file against its sha256. Errors: MS_EMODEL ("no model \"x\" in
 * the registry (DIR)", "x:7: no such version (latest is 3)", "x:2: model file
 * does not match its registered sha256 (tampered or corrupt)"), MS_EIO for a
 * path-like ref that names no file, MS_EUSAGE for a malformed version. */
ms_status ms_registry_resolve(const char *ref, char *path_out, size_t sz, ms_error *err);

/* ms_registry_resolve that also returns the version's metadata. */
ms_status ms_registry_lookup(const char *ref, ms_registry_entry *out, ms_error *err);

/* Table of complete versions (all names, or one) sorted by name then version:
 * NAME VERSION CREATED KIND SHA256 (first 12 hex) NOTES. A version whose
 * meta.json cannot be read is listed as "NAME  N  DAMAGED: meta.json: REASON"
 * and the others still are; then MS_EMODEL says how many are damaged. */
ms_status ms_registry_list(const char *name_or_null, FILE *out, ms_error *err);

#endif
