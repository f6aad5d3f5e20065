/*
 * endpoint.c — endpoint state files (endpoint.h).
 */
#include "serve/endpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mpiscore/fsutil.h"
#include "mpiscore/sha256.h"

ms_status ms_endpoint_root(char *out, size_t sz, ms_error *err)
{
    /* the registry decides where $MPISCORE_HOME is; endpoints sit beside models */
    char models[MS_REGISTRY_PATH_MAX];
    ms_status st = ms_registry_models_dir(models, sizeof models, err);
    if (st != MS_OK)
        return st;
    char *slash = strrchr(models, '/');
    if (slash)
        *slash = '\0';
    if ((size_t)snprintf(out, sz, "%s/endpoints", models) >= sz)
        return ms_error_set(err, MS_EUSAGE, "endpoints folder %s/endpoints: path too long", models);
    return MS_OK;
}

static ms_status ep_dir(const char *name, char *out, size_t sz, ms_error *err)
{
    if (!ms_registry_name_ok(name))
        return ms_error_set(err, MS_EUSAGE,
                            "invalid endpoint name \"%s\" (letters, digits, '.', '_', '-'; at "
                            "most 64, starting with a letter or digit)",
                            name);
    char root[MS_REGISTRY_PATH_MAX];
    ms_status st = ms_endpoint_root(root, sizeof root, err);
    if (st != MS_OK)
        return st;
    if ((size_t)snprintf(out, sz, "%s/%s", root, name) >= sz)
        return ms_error_set(err, MS_EUSAGE, "%s/%s: path too long", root, name);
    return MS_OK;
}

ms_status ms_endpoint_file(const char *name, char *out, size_t sz, ms_error *err)
{
    char dir[MS_REGISTRY_PATH_MAX];
    ms_status st = ep_dir(name, dir, sizeof dir, err);
    if (st != MS_OK)
        return st;
    if ((size_t)snprintf(out, sz, "%s/endpoint.json", dir) >= sz)
        return ms_error_set(err, MS_EUSAGE, "%s/endpoint.json: path too long", dir);
    return MS_OK;
}

ms_status ms_endpoint_new_key(char key[MS_EP_KEY_HEX + 1], ms_error *err)
{
    unsigned char b[MS_EP_KEY_HEX / 2];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ms_error_set(err, MS_EIO, "getrandom: %s", strerror(errno));
        }
        got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof b; i++) {
        key[2 * i] = hex[b[i] >> 4];
        key[2 * i + 1] = hex[b[i] & 15];
    }
    key[MS_EP_KEY_HEX] = '\0';
    return MS_OK;
}

void ms_endpoint_hash_key(const char *key, size_t n, char hex[65])
{
    ms_sha256_buf_hex(key, n, hex);
}

ms_ep_deployment *ms_endpoint_find(ms_endpoint *ep, const char *dep_name)
{
    for (size_t i = 0; i < ep->n_dep; i++)
        if (!strcmp(ep->dep[i].name, dep_name))
            return &ep->dep[i];
    return NULL;
}

ms_status ms_endpoint_validate(const ms_endpoint *ep, ms_error *err)
{
    int traffic = 0, mirror = 0;
    for (size_t i = 0; i < ep->n_dep; i++) {
        const ms_ep_deployment *d = &ep->dep[i];
        if (!ms_registry_name_ok(d->name))
            return ms_error_set(err, MS_EUSAGE, "invalid deployment name \"%s\"", d->name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(ep->dep[j].name, d->name))
                return ms_error_set(err, MS_EUSAGE, "deployment \"%s\" given twice", d->name);
        if (d->traffic < 0 || d->traffic > 100 || d->mirror < 0 || d->mirror > 50)
            return ms_error_set(err, MS_EUSAGE,
                                "deployment \"%s\": traffic %d / mirror %d out of range", d->name,
                                d->traffic, d->mirror);
        if (d->traffic > 0 && d->mirror > 0)
            return ms_error_set(err, MS_EUSAGE,
                                "deployment \"%s\" cannot take live and mirror traffic at once",
                                d->name);
        traffic += d->traffic;
        mirror += d->mirror;
    }
    if (ep->n_dep && traffic != 100)
        return ms_error_set(err, MS_EUSAGE, "traffic adds up to %d, not 100", traffic);
    if (mirror > 50)
        return ms_error_set(err, MS_EUSAGE, "mirror traffic adds up to %d (at most 50)", mirror);
    return MS_OK;
}

static void copy_str(char *dst, size_t sz, json_t *v)
{
    snprintf(dst, sz, "%s", json_is_string(v) ? json_string_value(v) : "");
}

ms_status ms_endpoint_load_file(const char *path, ms_endpoint *ep, ms_error *err)
{
    memset(ep, 0, sizeof *ep);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        if (access(path, F_OK) != 0)
            return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
        return ms_error_set(err, MS_EINPUT, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    }
    ms_status st = MS_OK;
    json_t *keys = json_object_get(root, "keys"), *deps = json_object_get(root, "deployments");
    if (!json_is_object(root) || !json_is_string(json_object_get(root, "name")) ||
        !json_is_object(keys) || !json_is_array(deps)) {
        st = ms_error_set(err, MS_EINPUT, "%s: not an endpoint state file", path);
        goto done;
    }
    copy_str(ep->name, sizeof ep->name, json_object_get(root, "name"));
    copy_str(ep->created, sizeof ep->created, json_object_get(root, "created"));
    ep->generation = (long)json_integer_value(json_object_get(root, "generation"));
    copy_str(ep->key_hash[0], sizeof ep->key_hash[0], json_object_get(keys, "primary"));
    copy_str(ep->key_hash[1], sizeof ep->key_hash[1], json_object_get(keys, "secondary"));
    if (json_array_size(deps) > MS_EP_MAX_DEPLOYMENTS) {
        st = ms_error_set(err, MS_EINPUT, "%s: more than %d deployments", path,
                          MS_EP_MAX_DEPLOYMENTS);
        goto done;
    }
    size_t i;
    json_t *d;
    json_array_foreach(deps, i, d)
    {
        ms_ep_deployment *o = &ep->dep[ep->n_dep++];
        copy_str(o->name, sizeof o->name, json_object_get(d, "name"));
        copy_str(o->model, sizeof o->model, json_object_get(d, "model"));
        copy_str(o->sha256, sizeof o->sha256, json_object_get(d, "sha256"));
        o->traffic = (int)json_integer_value(json_object_get(d, "traffic"));
        o->mirror = (int)json_integer_value(json_object_get(d, "mirror"));
    }
    if ((st = ms_endpoint_validate(ep, err)) != MS_OK) {
        char why[MS_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        st = ms_error_set(err, MS_EINPUT, "%s: %s", path, why);
    }
done:
    json_decref(root);
    return st;
}

ms_status ms_endpoint_load(const char *name, ms_endpoint *ep, ms_error *err)
{
    char path[MS_REGISTRY_PATH_MAX];
    ms_status st = ms_endpoint_file(name, path, sizeof path, err);
    if (st != MS_OK)
        return st;
    if (access(path, F_OK) != 0)
        return ms_error_set(err, MS_EUSAGE, "no endpoint \"%s\" (see mpiscore endpoint list)",
                            name);
    return ms_endpoint_load_file(path, ep, err);
}

/* Write ep to DIR/endpoint.json through a fsync'd temporary and a rename. */
static ms_status save(const char *dir, const ms_endpoint *ep, ms_error *err)
{
    ms_status st = MS_OK;
    char *text = NULL;
    int fd = -1;
    char tmp[MS_REGISTRY_PATH_MAX + 32], final[MS_REGISTRY_PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s/.endpoint.json.%ld.tmp", dir, (long)getpid());
    snprintf(final, sizeof final, "%s/endpoint.json", dir);
    json_t *deps = json_array();
    for (size_t i = 0; i < ep->n_dep; i++) {
        const ms_ep_deployment *d = &ep->dep[i];
        json_array_append_new(deps, json_pack("{s:s,s:s,s:s,s:i,s:i}", "name", d->name, "model",
                                              d->model, "sha256", d->sha256, "traffic", d->traffic,
                                              "mirror", d->mirror));
    }
    json_t *root =
        json_pack("{s:s,s:s,s:I,s:{s:s,s:s},s:o}", "name", ep->name, "created", ep->created,
                  "generation", (json_int_t)ep->generation, "keys", "primary", ep->key_hash[0],
                  "secondary", ep->key_hash[1], "deployments", deps);
    text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    if (!text) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ms_write_all(fd, text, strlen(text)) != 0 || ms_write_all(fd, "\n", 1) != 0 ||
        fsync(fd) != 0) {
        st = ms_error_set(err, MS_EIO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, final) != 0) {
        st = ms_error_set(err, MS_EIO, "%s: %s", final, strerror(errno));
        goto done;
    }
    ms_fsync_dir(dir);
done:
    if (fd >= 0)
        close(fd);
    if (st != MS_OK)
        unlink(tmp);
    free(text);
    json_decref(root);
    return st;
}

/* NAME's folder into dir, locked (flock) for a read-modify-write: the
 * lock's fd into *lk. */
static ms_status lock_endpoint(const char *name, char *dir, size_t sz, int *lk, ms_error *err)
{
    ms_status st = ep_dir(name, dir, sz, err);
    if (st != MS_OK)
        return st;
    *lk = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*lk >= 0 && flock(*lk, LOCK_EX) != 0) {
        close(*lk);
        *lk = -1;
    }
    if (*lk < 0)
        return ms_error_set(err, MS_EUSAGE, "no endpoint \"%s\" (see mpiscore endpoint list)",
                            name);
    return MS_OK;
}

ms_status ms_endpoint_create(const char *name, char keys[2][MS_EP_KEY_HEX + 1], ms_error *err)
{
    char dir[MS_REGISTRY_PATH_MAX], root[MS_REGISTRY_PATH_MAX];
    ms_status st = ep_dir(name, dir, sizeof dir, err);
    if (st == MS_OK)
        st = ms_endpoint_root(root, sizeof root, err);
    if (st == MS_OK)
        st = ms_make_dirs(root, 0700, err);
    if (st != MS_OK)
        return st;
    /* mkdir is the atomic claim on the name, as in the registry */
    if (mkdir(dir, 0700) != 0) {
        if (errno == EEXIST)
            return ms_error_set(err, MS_EUSAGE, "endpoint \"%s\" already exists", name);
        return ms_error_set(err, MS_EIO, "%s: %s", dir, strerror(errno));
    }
    ms_endpoint ep;
    memset(&ep, 0, sizeof ep);
    snprintf(ep.name, sizeof ep.name, "%s", name);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ep.created, sizeof ep.created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    ep.generation = 1;
    for (int k = 0; k < 2 && st == MS_OK; k++) {
        st = ms_endpoint_new_key(keys[k], err);
        ms_endpoint_hash_key(keys[k], MS_EP_KEY_HEX, ep.key_hash[k]);
    }
    if (st == MS_OK)
        st = save(dir, &ep, err);
    if (st != MS_OK)
        rmdir(dir);
    else
        ms_fsync_dir(root);
    return st;
}

ms_status ms_endpoint_modify(const char *name, ms_endpoint_edit_fn edit, void *arg, ms_error *err)
{
    char dir[MS_REGISTRY_PATH_MAX];
    int lk;
    ms_status st = lock_endpoint(name, dir, sizeof dir, &lk, err);
    if (st != MS_OK)
        return st;
    ms_endpoint ep;
    MS_CHECK(ms_endpoint_load(name, &ep, err));
    MS_CHECK(edit(&ep, arg, err));
    MS_CHECK(ms_endpoint_validate(&ep, err));
    ep.generation++;
    MS_CHECK(save(dir, &ep, err));
done:
    close(lk);
    return st;
}

ms_status ms_endpoint_delete(const char *name, ms_error *err)
{
    char dir[MS_REGISTRY_PATH_MAX], path[MS_REGISTRY_PATH_MAX + 300];
    int lk;
    ms_status st = lock_endpoint(name, dir, sizeof dir, &lk, err);
    if (st != MS_OK)
        return st;
    /* the state file goes first: a half-deleted folder is no endpoint */
    snprintf(path, sizeof path, "%s/endpoint.json", dir);
    if (unlink(path) != 0 && errno != ENOENT)
        st = ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    DIR *d = st == MS_OK ? opendir(dir) : NULL;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                unlink(path);
            }
        closedir(d);
    }
    if (st == MS_OK && rmdir(dir) != 0)
        st = ms_error_set(err, MS_EIO, "%s: %s", dir, strerror(errno));
    close(lk);
    return st;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

ms_status ms_endpoint_list(FILE *out, ms_error *err)
{
    char root[MS_REGISTRY_PATH_MAX], path[MS_REGISTRY_PATH_MAX + 300];
    ms_status st = ms_endpoint_root(root, sizeof root, err);
    if (st != MS_OK)
        return st;
    DIR *d = opendir(root);
    if (!d)
        return errno == ENOENT ? MS_OK : ms_error_set(err, MS_EIO, "%s: %s", root, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s/endpoint.json", root, e->d_name);
        if (e->d_name[0] == '.' || access(path, F_OK) != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                st = ms_error_set(err, MS_EINTERNAL, "out of memory");
                break;
            }
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (st == MS_OK)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        ms_endpoint ep;
        ms_error e2;
        if (st == MS_OK && names[i]) {
            if (ms_endpoint_load(names[i], &ep, &e2) == MS_OK) {
                fprintf(out, "%-20s %zu deployment%s", names[i], ep.n_dep,
                        ep.n_dep == 1 ? "" : "s");
                for (size_t k = 0; k < ep.n_dep; k++)
                    fprintf(out, "%s%s=%s(%d%%)", k ? ", " : "  ", ep.dep[k].name, ep.dep[k].model,
                            ep.dep[k].traffic);
                fputc('\n', out);
            } else {
                fprintf(out, "%-20s DAMAGED: %s\n", names[i], e2.msg);
            }
        }
        free(names[i]);
    }
    free(names);
    return st;
}
