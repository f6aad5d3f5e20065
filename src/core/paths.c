/*
 * paths.c — files compared by identity (paths.h).
 */
#include "mpiscore/paths.h"

#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct path_id {
    int known;  /* 0: the folder cannot be looked at; never equal */
    int exists; /* dev/ino are the file's own; else its folder's + base */
    dev_t dev;
    ino_t ino;
    char base[256];
} path_id;

static void identify(const char *path, path_id *id)
{
    struct stat sb;
    memset(id, 0, sizeof *id);
    if (stat(path, &sb) == 0) {
        id->known = id->exists = 1;
        id->dev = sb.st_dev;
        id->ino = sb.st_ino;
        return;
    }
    char *d = strdup(path), *b = strdup(path);
    if (d && b && stat(dirname(d), &sb) == 0) {
        id->known = 1;
        id->dev = sb.st_dev;
        id->ino = sb.st_ino;
        snprintf(id->base, sizeof id->base, "%s", basename(b));
    }
    free(d);
    free(b);
}

static int same(const path_id *a, const path_id *b)
{
    return a->known && b->known && a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
           (a->exists || strcmp(a->base, b->base) == 0);
}

ms_status ms_paths_check_distinct(const ms_path_ref *writes, size_t n_writes,
                                  const ms_path_ref *reads, size_t n_reads, ms_error *err)
{
    ms_status st = MS_OK;
    path_id *w = calloc(n_writes ? n_writes : 1, sizeof *w);
    if (!w)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    for (size_t i = 0; i < n_writes; i++)
        identify(writes[i].path, &w[i]);
    for (size_t i = 0; i < n_writes && st == MS_OK; i++)
        for (size_t j = i + 1; j < n_writes && st == MS_OK; j++)
            if (same(&w[i], &w[j]))
                st = ms_error_set(err, MS_EUSAGE, "%s %s and %s %s are the same file",
                                  writes[j].what, writes[j].path, writes[i].what, writes[i].path);
    for (size_t k = 0; k < n_reads && st == MS_OK; k++) {
        path_id r;
        identify(reads[k].path, &r);
        for (size_t i = 0; i < n_writes && st == MS_OK; i++)
            if (same(&w[i], &r))
                st = ms_error_set(err, MS_EUSAGE,
                                  "%s %s is %s %s: the run would overwrite what it reads",
                                  writes[i].what, writes[i].path, reads[k].what, reads[k].path);
    }
    free(w);
    return st;
}
