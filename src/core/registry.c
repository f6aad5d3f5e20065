/*
 * registry.c — named, versioned models under $MPISCORE_HOME/models
 * (registry.h states the layout and its invariants).
 *
 * Owns every write into the registry. The two rules that make it safe with
 * many concurrent writers and readers and no lock file:
 *  - a version number is taken by mkdir of its folder, which either creates
 *    it or fails with EEXIST, atomically, on every local and NFSv3+ file system;
 *  - files appear in a version folder only by rename of a fsync'd temporary,
 *    model.h5 first and meta.json last, so meta.json's presence means the
 *    version is complete and its model.h5 is whole.
 */
#include "mpiscore/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mpiscore/fsutil.h"
#include "mpiscore/model.h"
#include "mpiscore/sha256.h"

#define COPY_CHUNK (1 << 16)
#define ROOT_HEADROOM 128

ms_status ms_registry_models_dir(char *out, size_t sz, ms_error *err)
{
    const char *home = getenv("MPISCORE_HOME");
    const char *sub = "/models";
    if (!home || !*home) {
        home = getenv("HOME");
        if (!home || !*home) {
            struct passwd *pw = getpwuid(getuid());
            home = pw ? pw->pw_dir : NULL;
        }
        if (!home || !*home)
            return ms_error_set(err, MS_EUSAGE, "no registry folder: set MPISCORE_HOME (or HOME)");
        sub = "/.mpiscore/models";
    }
    /* The bound leaves room for "/NAME/N/.meta.json.tmp" so no path built
     * below the root can be cut short (see pathf). */
    size_t n = strlen(home) + strlen(sub);
    if (n >= sz || n + ROOT_HEADROOM > MS_REGISTRY_PATH_MAX)
        return ms_error_set(err, MS_EUSAGE, "registry folder %s%s: path too long", home, sub);
    snprintf(out, sz, "%s%s", home, sub);
    return MS_OK;
}

/* Paths under the models folder. The root is at most MS_REGISTRY_PATH_MAX -
 * ROOT_HEADROOM long, names at most 64 and versions 9 digits, so these never
 * truncate; a plain vsnprintf wrapper keeps -Wformat-truncation quiet. */
static void pathf(char *out, size_t sz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pathf(char *out, size_t sz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, sz, fmt, ap);
    va_end(ap);
}

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int ms_registry_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > MS_REGISTRY_NAME_MAX || !is_alnum(name[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_alnum(name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
            return 0;
    return 1;
}

/* A version folder name: 1-9 digits, no leading zero, so "3" and "03" can
 * never both name version 3. Returns the number or -1. */
static int folder_version(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 9 || s[0] == '0')
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Version numbers under namedir, ascending; complete_only keeps those with a
 * meta.json. A missing namedir is an empty list, not an error. */
static ms_status scan_versions(const char *namedir, int complete_only, int **out, size_t *n,
                               ms_error *err)
{
    ms_status st = MS_OK;
    int *v = NULL;
    size_t len = 0, cap = 0;
    DIR *d = opendir(namedir);
    *out = NULL;
    *n = 0;
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR)
            return MS_OK;
        return ms_error_set(err, MS_EIO, "%s: %s", namedir, strerror(errno));
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        int ver = folder_version(de->d_name);
        if (ver < 0)
            continue;
        if (complete_only) {
            char meta[MS_REGISTRY_PATH_MAX];
            struct stat sb;
            pathf(meta, sizeof meta, "%s/%s/meta.json", namedir, de->d_name);
            if (stat(meta, &sb) != 0 || !S_ISREG(sb.st_mode))
                continue;
        }
        if (len == cap) {
            size_t nc = cap ? 2 * cap : 16;
            int *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                st = ms_error_set(err, MS_EINTERNAL, "out of memory");
                goto done;
            }
            v = nv;
            cap = nc;
        }
        v[len++] = ver;
    }
    if (len) /* qsort(NULL, 0) is undefined */
        qsort(v, len, sizeof *v, cmp_int);
    *out = v;
    *n = len;
    v = NULL;
done:
    free(v);
    closedir(d);
    return st;
}

/* Hash src while copying it to dst (created, must not exist) and fsync dst:
 * the digest is of the bytes actually stored, not of a second read. */
static ms_status copy_hashed(const char *src, const char *dst, char *hex, ms_error *err)
{
    ms_status st = MS_OK;
    int in = -1, out = -1;
    char *buf = malloc(COPY_CHUNK);
    ms_sha256 c;
    unsigned char d[MS_SHA256_LEN];
    if (!buf)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
        st = ms_error_set(err, MS_EIO, "%s: %s", src, strerror(errno));
        goto done;
    }
    if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
        st = ms_error_set(err, MS_EIO, "%s: %s", dst, strerror(errno));
        goto done;
    }
    ms_sha256_init(&c);
    for (;;) {
        ssize_t r = read(in, buf, COPY_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = ms_error_set(err, MS_EIO, "%s: %s", src, strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        ms_sha256_update(&c, buf, (size_t)r);
        if (ms_write_all(out, buf, (size_t)r) != 0) {
            st = ms_error_set(err, MS_EIO, "%s: %s", dst, strerror(errno));
            goto done;
        }
    }
    ms_sha256_final(&c, d);
    ms_sha256_hex(d, hex);
    if (fsync(out) != 0) {
        st = ms_error_set(err, MS_EIO, "%s: %s", dst, strerror(errno));
        goto done;
    }
done:
    if (out >= 0 && close(out) != 0 && st == MS_OK)
        st = ms_error_set(err, MS_EIO, "%s: %s", dst, strerror(errno));
    if (in >= 0)
        close(in);
    free(buf);
    return st;
}

static ms_status hash_file(const char *path, char *hex, ms_error *err)
{
    ms_status st = MS_OK;
    char *buf = malloc(COPY_CHUNK);
    ms_sha256 c;
    unsigned char d[MS_SHA256_LEN];
    int fd = -1;
    if (!buf)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        st = ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    ms_sha256_init(&c);
    for (;;) {
        ssize_t r = read(fd, buf, COPY_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        ms_sha256_update(&c, buf, (size_t)r);
    }
    ms_sha256_final(&c, d);
    ms_sha256_hex(d, hex);
done:
    if (fd >= 0)
        close(fd);
    free(buf);
    return st;
}

static ms_status write_file_synced(const char *path, const char *data, ms_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    if (ms_write_all(fd, data, strlen(data)) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(e));
    }
    if (close(fd) != 0)
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    return MS_OK;
}

static ms_status make_meta(const char *name, int version, const ms_model *m, const char *sha,
                           const char *notes, const char *file, char **out, ms_error *err)
{
    char created[32], orig[PATH_MAX];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!realpath(file, orig))
        snprintf(orig, sizeof orig, "%s", file);

    json_t *o = json_object();
    if (!o)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    /* Non-UTF-8 text cannot go into JSON: a source or path that is not UTF-8
     * is recorded as null rather than refusing an otherwise good model. */
    json_t *src = m->source ? json_string(m->source) : NULL;
    json_t *op = json_string(orig);
    int rc = 0;
    rc |= json_object_set_new(o, "name", json_string(name));
    rc |= json_object_set_new(o, "version", json_integer(version));
    rc |= json_object_set_new(o, "created", json_string(created));
    rc |= json_object_set_new(o, "sha256", json_string(sha));
    rc |= json_object_set_new(o, "source", src ? src : json_null());
    rc |= json_object_set_new(o, "kind", json_string(ms_kind_name(m->kind)));
    rc |= json_object_set_new(o, "link", json_string(ms_link_name(m->link)));
    rc |= json_object_set_new(o, "n_features", json_integer((json_int_t)m->n_features));
    rc |= json_object_set_new(o, "notes", json_string(notes ? notes : ""));
    rc |= json_object_set_new(o, "original_path", op ? op : json_null());
    char *text = rc ? NULL : json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (!text)
        return ms_error_set(err, MS_EINTERNAL, "%s:%d: cannot encode meta.json", name, version);
    size_t n = strlen(text);
    *out = malloc(n + 2);
    if (!*out) {
        free(text);
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    }
    memcpy(*out, text, n);
    memcpy(*out + n, "\n", 2);
    free(text);
    return MS_OK;
}

ms_status ms_registry_register(const char *file, const char *name, const char *notes, char *ref_out,
                               size_t ref_sz, ms_error *err)
{
    ms_status st = MS_OK;
    ms_model *m = NULL;
    char *meta = NULL;
    char root[MS_REGISTRY_PATH_MAX], namedir[MS_REGISTRY_PATH_MAX], vdir[MS_REGISTRY_PATH_MAX];
    char tmp_model[MS_REGISTRY_PATH_MAX], final_model[MS_REGISTRY_PATH_MAX];
    char tmp_meta[MS_REGISTRY_PATH_MAX], final_meta[MS_REGISTRY_PATH_MAX];
    char sha[MS_SHA256_HEX_LEN + 1];
    int *vers = NULL, made = 0, complete = 0;
    size_t nvers = 0;

    if (!ms_registry_name_ok(name))
        return ms_error_set(err, MS_EUSAGE,
                            "model name \"%s\": use letters, digits, '.', '_' and '-'%s", name,
                            strlen(name) > MS_REGISTRY_NAME_MAX ? " (at most 64 characters)" : "");
    if (notes && strlen(notes) > MS_REGISTRY_NOTES_MAX)
        return ms_error_set(err, MS_EUSAGE, "notes: %zu bytes, at most %d", strlen(notes),
                            MS_REGISTRY_NOTES_MAX);
    if (notes) {
        json_t *probe = json_string(notes);
        if (!probe)
            return ms_error_set(err, MS_EUSAGE, "notes: not valid UTF-8 text");
        json_decref(probe);
    }
    /* "NAME:" plus up to 9 digits: checked now so a registered version is
     * never reported as a failure for want of room. */
    if (ref_sz < strlen(name) + 11)
        return ms_error_set(err, MS_EINTERNAL, "register: reference buffer too small");

    MS_CHECK(ms_model_load(file, &m, err));
    MS_CHECK(ms_registry_models_dir(root, sizeof root, err));
    pathf(namedir, sizeof namedir, "%s/%s", root, name);
    MS_CHECK(ms_make_dirs(namedir, 0755, err));

    /* Start above every folder, complete or not: a number once taken is
     * never handed out again, even if its register crashed half-way. */
    MS_CHECK(scan_versions(namedir, 0, &vers, &nvers, err));
    int v = nvers ? vers[nvers - 1] + 1 : 1;
    for (;; v++) {
        if (v > 999999999) {
            st = ms_error_set(err, MS_EIO, "%s: no version numbers left", namedir);
            goto done;
        }
        pathf(vdir, sizeof vdir, "%s/%d", namedir, v);
        if (mkdir(vdir, 0755) == 0)
            break;
        if (errno != EEXIST) {
            st = ms_error_set(err, MS_EIO, "%s: %s", vdir, strerror(errno));
            goto done;
        }
        /* EEXIST: another register took v between our scan and mkdir. */
    }
    made = 1;
    pathf(tmp_model, sizeof tmp_model, "%s/.model.h5.tmp", vdir);
    pathf(final_model, sizeof final_model, "%s/model.h5", vdir);
    pathf(tmp_meta, sizeof tmp_meta, "%s/.meta.json.tmp", vdir);
    pathf(final_meta, sizeof final_meta, "%s/meta.json", vdir);

    MS_CHECK(copy_hashed(file, tmp_model, sha, err));
    if (rename(tmp_model, final_model) != 0) {
        st = ms_error_set(err, MS_EIO, "%s: %s", final_model, strerror(errno));
        goto done;
    }
    MS_CHECK(make_meta(name, v, m, sha, notes, file, &meta, err));
    MS_CHECK(write_file_synced(tmp_meta, meta, err));
    /* The model's rename must be durable before meta.json can claim it. */
    ms_fsync_dir(vdir);
    if (rename(tmp_meta, final_meta) != 0) {
        st = ms_error_set(err, MS_EIO, "%s: %s", final_meta, strerror(errno));
        goto done;
    }
    complete = 1;
    ms_fsync_dir(vdir);
    ms_fsync_dir(namedir);
    snprintf(ref_out, ref_sz, "%s:%d", name, v);
done:
    if (made && !complete) {
        /* Leave no half-written folder behind. Nobody was told NAME:v, so
         * if the number is handed out again nothing can confuse the two. */
        unlink(tmp_model);
        unlink(final_model);
        unlink(tmp_meta);
        rmdir(vdir);
    }
    free(vers);
    free(meta);
    ms_model_free(m);
    return st;
}

static void copy_str(char *dst, size_t sz, const json_t *v)
{
    snprintf(dst, sz, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* Read NAME/V/meta.json into e; the name and version it records must be the
 * folder's own, or the file was moved or edited by hand. On refusal, why (if
 * not NULL) gets the reason alone ("meta.json: line 1 column 2: ..."), for
 * the list, which names the entry itself. */
static ms_status read_meta(const char *namedir, const char *name, int v, ms_registry_entry *e,
                           char *why, size_t why_sz, ms_error *err)
{
    char path[MS_REGISTRY_PATH_MAX], reason[400];
    json_error_t je;
    ms_status st = MS_OK;
    pathf(path, sizeof path, "%s/%d/meta.json", namedir, v);
    json_t *o = json_load_file(path, 0, &je);
    if (!o) {
        if (je.line > 0)
            snprintf(reason, sizeof reason, "meta.json: line %d column %d: %s", je.line, je.column,
                     je.text);
        else
            snprintf(reason, sizeof reason, "meta.json: %s", je.text);
        goto refused;
    }
    json_t *jname = json_object_get(o, "name"), *jver = json_object_get(o, "version");
    json_t *jsha = json_object_get(o, "sha256");
    if (!json_is_object(o) || !json_is_string(jname) || strcmp(json_string_value(jname), name) ||
        !json_is_integer(jver) || json_integer_value(jver) != v || !json_is_string(jsha) ||
        strlen(json_string_value(jsha)) != MS_SHA256_HEX_LEN) {
        snprintf(reason, sizeof reason,
                 "meta.json: not a valid registry record (name, version or sha256)");
        goto refused;
    }
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->version = v;
    copy_str(e->created, sizeof e->created, json_object_get(o, "created"));
    copy_str(e->sha256, sizeof e->sha256, jsha);
    copy_str(e->source, sizeof e->source, json_object_get(o, "source"));
    copy_str(e->kind, sizeof e->kind, json_object_get(o, "kind"));
    copy_str(e->link, sizeof e->link, json_object_get(o, "link"));
    json_t *nf = json_object_get(o, "n_features");
    e->n_features = json_is_integer(nf) ? (long)json_integer_value(nf) : 0;
    copy_str(e->notes, sizeof e->notes, json_object_get(o, "notes"));
    copy_str(e->original_path, sizeof e->original_path, json_object_get(o, "original_path"));
    pathf(e->path, sizeof e->path, "%s/%d/model.h5", namedir, v);
    goto done;
refused:
    if (why)
        snprintf(why, why_sz, "%s", reason);
    /* the reason already starts with "meta.json": name the folder it is in */
    st = ms_error_set(err, MS_EMODEL, "%s:%d: %s/%d/%s", name, v, namedir, v, reason);
done:
    json_decref(o);
    return st;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

ms_status ms_registry_lookup(const char *ref, ms_registry_entry *out, ms_error *err)
{
    ms_status st = MS_OK;
    char root[MS_REGISTRY_PATH_MAX], namedir[MS_REGISTRY_PATH_MAX];
    char name[MS_REGISTRY_NAME_MAX + 1], sha[MS_SHA256_HEX_LEN + 1];
    int *vers = NULL;
    size_t nvers = 0;
    struct stat sb;

    memset(out, 0, sizeof *out);
    /* A file on disk always wins, so existing `--model path` uses keep
     * working whatever the registry holds. */
    if (stat(ref, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
        if ((size_t)snprintf(out->path, sizeof out->path, "%s", ref) >= sizeof out->path)
            return ms_error_set(err, MS_EIO, "%s: path too long", ref);
        return MS_OK;
    }
    int file_errno = errno;
    if (stat(ref, &sb) == 0)
        file_errno = EISDIR;

    const char *colon = strchr(ref, ':');
    size_t nlen = colon ? (size_t)(colon - ref) : strlen(ref);
    int name_fits = nlen <= MS_REGISTRY_NAME_MAX;
    if (name_fits) {
        memcpy(name, ref, nlen);
        name[nlen] = '\0';
    }
    /* Something that can only be a path (a '/', a container extension, not
     * a model name) gets the file's own error too, and an I/O status: the
     * user meant a file, and a missing file is an I/O error (DESIGN §1). */
    if (strchr(ref, '/') || !name_fits || !ms_registry_name_ok(name) ||
        (!colon && (ends_with(ref, ".h5") || ends_with(ref, ".hdf5")))) {
        if (ms_registry_models_dir(root, sizeof root, NULL) != MS_OK)
            return ms_error_set(err, MS_EIO, "%s: %s", ref, strerror(file_errno));
        return ms_error_set(err, MS_EIO, "no model \"%s\" in the registry (%s) and no file %s: %s",
                            ref, root, ref, strerror(file_errno));
    }

    int want = -1; /* -1: latest */
    if (colon && strcmp(colon + 1, "latest") != 0) {
        const char *s = colon + 1;
        size_t n = strlen(s);
        if (n == 0 || n > 9 || strspn(s, "0123456789") != n)
            return ms_error_set(err, MS_EUSAGE,
                                "%s: version \"%s\": expected a number or \"latest\"", ref, s);
        want = atoi(s);
    }

    MS_CHECK(ms_registry_models_dir(root, sizeof root, err));
    pathf(namedir, sizeof namedir, "%s/%s", root, name);
    MS_CHECK(scan_versions(namedir, 1, &vers, &nvers, err));
    if (nvers == 0) {
        st = ms_error_set(err, MS_EMODEL, "no model \"%s\" in the registry (%s)", name, root);
        goto done;
    }
    int v = vers[nvers - 1];
    if (want >= 0) {
        if (!bsearch(&want, vers, nvers, sizeof *vers, cmp_int)) {
            st = ms_error_set(err, MS_EMODEL, "%s:%d: no such version (latest is %d)", name, want,
                              v);
            goto done;
        }
        v = want;
    }
    MS_CHECK(read_meta(namedir, name, v, out, NULL, 0, err));
    MS_CHECK(hash_file(out->path, sha, err));
    if (strcmp(sha, out->sha256) != 0) {
        st = ms_error_set(err, MS_EMODEL,
                          "%s:%d: model file does not match its registered sha256 "
                          "(tampered or corrupt)",
                          name, v);
        goto done;
    }
done:
    free(vers);
    return st;
}

ms_status ms_registry_resolve(const char *ref, char *path_out, size_t sz, ms_error *err)
{
    ms_registry_entry *e = malloc(sizeof *e);
    if (!e)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    ms_status st = ms_registry_lookup(ref, e, err);
    if (st == MS_OK && (size_t)snprintf(path_out, sz, "%s", e->path) >= sz)
        st = ms_error_set(err, MS_EINTERNAL, "%s: resolved path too long", ref);
    free(e);
    return st;
}

typedef struct {
    ms_registry_entry *v;
    size_t n, cap;
    size_t n_damaged; /* entries whose meta.json could not be read */
} entry_list;

/* Append every complete version of name (metadata only: list does not hash). */
static ms_status collect(const char *root, const char *name, entry_list *l, ms_error *err)
{
    ms_status st = MS_OK;
    char namedir[MS_REGISTRY_PATH_MAX];
    int *vers = NULL;
    size_t nvers = 0;
    pathf(namedir, sizeof namedir, "%s/%s", root, name);
    MS_CHECK(scan_versions(namedir, 1, &vers, &nvers, err));
    for (size_t i = 0; i < nvers; i++) {
        if (l->n == l->cap) {
            size_t nc = l->cap ? 2 * l->cap : 8;
            ms_registry_entry *nv = realloc(l->v, nc * sizeof *nv);
            if (!nv) {
                st = ms_error_set(err, MS_EINTERNAL, "out of memory");
                goto done;
            }
            l->v = nv;
            l->cap = nc;
        }
        /* A damaged record must not hide the others: keep it, flagged. */
        ms_registry_entry *e = &l->v[l->n++];
        char why[400];
        if (read_meta(namedir, name, vers[i], e, why, sizeof why, NULL) != MS_OK) {
            memset(e, 0, sizeof *e);
            snprintf(e->name, sizeof e->name, "%s", name);
            e->version = vers[i];
            snprintf(e->damaged, sizeof e->damaged, "%s", why);
            l->n_damaged++;
        }
    }
done:
    free(vers);
    return st;
}

static int cmp_entry(const void *a, const void *b)
{
    const ms_registry_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->version > y->version) - (x->version < y->version);
}

/* Notes are free text: keep each table row on one line. */
static void put_one_line(const char *s, FILE *out)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, out);
}

ms_status ms_registry_list(const char *name_or_null, FILE *out, ms_error *err)
{
    ms_status st = MS_OK;
    char root[MS_REGISTRY_PATH_MAX];
    entry_list l = {0};
    DIR *d = NULL;

    MS_CHECK(ms_registry_models_dir(root, sizeof root, err));
    if (name_or_null) {
        if (!ms_registry_name_ok(name_or_null)) {
            st = ms_error_set(err, MS_EUSAGE,
                              "model name \"%s\": use letters, digits, '.', '_' and '-'",
                              name_or_null);
            goto done;
        }
        MS_CHECK(collect(root, name_or_null, &l, err));
        if (l.n == 0) {
            st = ms_error_set(err, MS_EMODEL, "no model \"%s\" in the registry (%s)", name_or_null,
                              root);
            goto done;
        }
    } else if ((d = opendir(root))) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (ms_registry_name_ok(de->d_name))
                MS_CHECK(collect(root, de->d_name, &l, err));
    } else if (errno != ENOENT) {
        st = ms_error_set(err, MS_EIO, "%s: %s", root, strerror(errno));
        goto done;
    }
    if (l.n) /* qsort(NULL, 0) is undefined */
        qsort(l.v, l.n, sizeof *l.v, cmp_entry);

    int w = 4;
    for (size_t i = 0; i < l.n; i++)
        if ((int)strlen(l.v[i].name) > w)
            w = (int)strlen(l.v[i].name);
    fprintf(out, "%-*s  %7s  %-20s  %-13s  %-12s  %s\n", w, "NAME", "VERSION", "CREATED", "KIND",
            "SHA256", "NOTES");
    for (size_t i = 0; i < l.n; i++) {
        const ms_registry_entry *e = &l.v[i];
        if (e->damaged[0]) {
            fprintf(out, "%-*s  %7d  DAMAGED: ", w, e->name, e->version);
            put_one_line(e->damaged, out);
            fputc('\n', out);
            continue;
        }
        fprintf(out, "%-*s  %7d  %-20s  %-13s  %.12s", w, e->name, e->version, e->created, e->kind,
                e->sha256);
        if (e->notes[0]) {
            fputs("  ", out);
            put_one_line(e->notes, out);
        }
        fputc('\n', out);
    }
    /* Everything readable is listed; the status still tells a script that
     * the registry needs repair. */
    if (l.n_damaged)
        st = ms_error_set(err, MS_EMODEL,
                          "%zu registry entr%s damaged (marked DAMAGED above): `model info "
                          "NAME:N` says why",
                          l.n_damaged, l.n_damaged == 1 ? "y is" : "ies are");
done:
    if (d)
        closedir(d);
    free(l.v);
    return st;
}
