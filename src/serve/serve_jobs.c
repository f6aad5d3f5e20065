/*
 * serve_jobs.c — batch jobs over REST (serve_jobs.h), through the
 * mpiscore binary's own submit/status/cancel, so REST jobs are the same
 * jobs the CLI sees.
 */
#include "serve/serve_jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char real_roots[MS_JOBS_MAX_ROOTS][PATH_MAX];
static pthread_mutex_t jobs_mu = PTHREAD_MUTEX_INITIALIZER;

int ms_jobs_init(ms_jobs_cfg *c, char *why, size_t wsz)
{
    for (size_t i = 0; i < c->n_roots; i++) {
        struct stat sb;
        if (!realpath(c->roots[i], real_roots[i]) || stat(real_roots[i], &sb) != 0 ||
            !S_ISDIR(sb.st_mode)) {
            snprintf(why, wsz, "--data-root %s: %s", c->roots[i],
                     errno ? strerror(errno) : "not a folder");
            return -1;
        }
    }
    return 0;
}

static void err_json(ms_sbuf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void err_json(ms_sbuf *out, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ms_encode_error(msg, out);
}

static int under_roots(const ms_jobs_cfg *c, const char *real)
{
    for (size_t i = 0; i < c->n_roots; i++) {
        size_t n = strlen(real_roots[i]);
        if (!strncmp(real, real_roots[i], n) &&
            (real[n] == '/' || real[n] == '\0' || (n == 1 && real_roots[i][0] == '/')))
            return 1;
    }
    return 0;
}

/* 0 when path may be read (input) or written (output) by a job; else the
 * status (400 not absolute, 403 outside, 404 no such input) with a message. */
static int check_path(const ms_jobs_cfg *c, const char *what, const char *path, int output,
                      ms_sbuf *out)
{
    char real[PATH_MAX];
    if (path[0] != '/') {
        err_json(out, "%s \"%.300s\": an absolute path is required", what, path);
        return 400;
    }
    if (!output) {
        if (!realpath(path, real)) {
            err_json(out, "%s %.300s: %s", what, path, strerror(errno));
            return under_roots(c, path) ? 404 : 403;
        }
    } else {
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
            err_json(out, "%s %.300s is a symbolic link: refused", what, path);
            return 403;
        }
        char *d = strdup(path), *b = strdup(path);
        char *dn = d ? dirname(d) : NULL, *bn = b ? basename(b) : NULL;
        int ok = dn && bn && realpath(dn, real) && strcmp(bn, "..") && strcmp(bn, ".");
        if (ok)
            snprintf(real + strlen(real), sizeof real - strlen(real), "/%s", bn);
        free(d);
        free(b);
        if (!ok) {
            err_json(out, "%s %.300s: its folder does not exist", what, path);
            return under_roots(c, path) ? 404 : 403;
        }
    }
    if (!under_roots(c, real)) {
        err_json(out, "%s %.300s is outside the server's --data-root folders", what, path);
        return 403;
    }
    return 0;
}

/* Run this binary with argv; its stdout (first 64 KiB) into buf. Returns
 * the exit code, -1 when it could not run. The child gets default signal
 * handling and an empty mask (the server blocks its signals for sigwait). */
static int run_self(char *const argv[], char *buf, size_t sz)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawnattr_init(&at);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    pid_t pid = -1;
    int rc = -1;
    if (n > 0) {
        self[n] = '\0';
        if (posix_spawn(&pid, self, &fa, &at, argv, environ) != 0)
            pid = -1;
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fds[0], buf + len, sz - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == sz - 1) {
            char sink[4096];
            while (read(fds[0], sink, sizeof sink) > 0)
                ;
            break;
        }
    }
    buf[len] = '\0';
    close(fds[0]);
    int status;
    if (pid > 0 && waitpid(pid, &status, 0) == pid)
        rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

static int known_job(const ms_jobs_cfg *c, const char *id)
{
    char path[PATH_MAX], line[64];
    snprintf(path, sizeof path, "%s/jobs.txt", c->ep_dir);
    pthread_mutex_lock(&jobs_mu);
    FILE *f = fopen(path, "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        trim(line);
        found = !strcmp(line, id);
    }
    if (f)
        fclose(f);
    pthread_mutex_unlock(&jobs_mu);
    return found;
}

static int id_ok(const char *id)
{
    if (!*id || strlen(id) > 18)
        return 0;
    for (const char *p = id; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

int ms_jobs_post(const ms_jobs_cfg *c, const ms_srv_gen *g, const char *pin, const char *body,
                 size_t len, ms_sbuf *out)
{
    if (!c->n_roots) {
        err_json(out, "batch jobs are off: the server was started without --data-root");
        return 403;
    }
    json_error_t je;
    json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    int status = 0;
    if (!req || !json_is_object(req)) {
        err_json(out, req ? "expected a JSON object" : "malformed JSON at line %d, column %d: %s",
                 je.line, je.column, je.text);
        json_decref(req);
        return 400;
    }
    static const char *allowed[] = {"deployment",      "input",    "output",     "id_column",
                                    "mini_batch_rows", "on_error", "max_errors", "overwrite",
                                    "format",          "ranks"};
    const char *k;
    json_t *v;
    json_object_foreach(req, k, v)
    {
        size_t i = 0;
        while (i < sizeof allowed / sizeof *allowed && strcmp(k, allowed[i]))
            i++;
        if (i == sizeof allowed / sizeof *allowed) {
            err_json(out,
                     "unknown job option \"%.100s\" (deployment, input, output, id_column, "
                     "mini_batch_rows, on_error, max_errors, overwrite, format, ranks)",
                     k);
            status = 400;
            goto done;
        }
        int want_str = strcmp(k, "mini_batch_rows") && strcmp(k, "overwrite") && strcmp(k, "ranks");
        if ((want_str && !json_is_string(v)) || (!strcmp(k, "overwrite") && !json_is_boolean(v)) ||
            ((!strcmp(k, "mini_batch_rows") || !strcmp(k, "ranks")) &&
             (!json_is_integer(v) || json_integer_value(v) < 1 ||
              json_integer_value(v) > 1 << 24))) {
            err_json(out, "job option \"%s\": wrong type or value", k);
            status = 400;
            goto done;
        }
    }
    const char *input = json_string_value(json_object_get(req, "input"));
    const char *output = json_string_value(json_object_get(req, "output"));
    if (!input || !output) {
        err_json(out, "a job needs \"input\" and \"output\" (absolute paths)");
        status = 400;
        goto done;
    }
    const char *dname = json_string_value(json_object_get(req, "deployment"));
    if (!dname)
        dname = pin;
    const ms_srv_dep *d = NULL;
    for (size_t i = 0; i < g->n_dep; i++)
        if (dname ? !strcmp(g->dep[i].name, dname) : (!d || g->dep[i].traffic > d->traffic))
            d = &g->dep[i];
    if (!d) {
        err_json(out, "no deployment \"%.100s\"", dname ? dname : "");
        status = 404;
        goto done;
    }
    if ((status = check_path(c, "input", input, 0, out)) ||
        (status = check_path(c, "output", output, 1, out)))
        goto done;
    char ranks[16];
    json_t *rj = json_object_get(req, "ranks");
    snprintf(ranks, sizeof ranks, "%lld",
             rj ? (long long)json_integer_value(rj) : (long long)c->ranks);
    char mbr[32] = "";
    const char *argv[40];
    int n = 0;
    argv[n++] = "mpiscore";
    argv[n++] = "submit";
    argv[n++] = "--backend";
    argv[n++] = c->backend;
    argv[n++] = "-n";
    argv[n++] = ranks;
    argv[n++] = "--";
    argv[n++] = "--model";
    argv[n++] = d->model->ref;
    argv[n++] = "--input";
    argv[n++] = input;
    argv[n++] = "--output";
    argv[n++] = output;
    static const char *str_opts[][2] = {{"id_column", "--id-column"},
                                        {"on_error", "--on-error"},
                                        {"max_errors", "--max-errors"},
                                        {"format", "--format"}};
    for (size_t i = 0; i < sizeof str_opts / sizeof *str_opts; i++) {
        const char *s = json_string_value(json_object_get(req, str_opts[i][0]));
        if (s) {
            /* --opt=VALUE: a value can never be taken for another option */
            static __thread char kv[4][600];
            snprintf(kv[i], sizeof kv[i], "%s=%s", str_opts[i][1], s);
            argv[n++] = kv[i];
        }
    }
    if (json_object_get(req, "mini_batch_rows")) {
        snprintf(mbr, sizeof mbr, "--mini-batch-rows=%lld",
                 (long long)json_integer_value(json_object_get(req, "mini_batch_rows")));
        argv[n++] = mbr;
    }
    if (json_is_true(json_object_get(req, "overwrite")))
        argv[n++] = "--overwrite";
    argv[n] = NULL;
    char res[65536];
    int rc = run_self((char *const *)argv, res, sizeof res);
    trim(res);
    if (rc != 0 || !id_ok(res)) {
        err_json(out, "submit failed (exit %d): %.800s", rc, res);
        status = rc == 1 || rc == 2 || rc == 3 ? 400 : 500;
        goto done;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/jobs.txt", c->ep_dir);
    pthread_mutex_lock(&jobs_mu);
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s\n", res);
        fclose(f);
    }
    pthread_mutex_unlock(&jobs_mu);
    ms_sbuf_printf(out, "{\"id\":\"%s\",\"deployment\":", res);
    ms_sbuf_json_str(out, d->name, strlen(d->name));
    ms_sbuf_puts(out, ",\"model\":");
    ms_sbuf_json_str(out, d->model->ref, strlen(d->model->ref));
    ms_sbuf_printf(out, ",\"status\":\"/v1/jobs/%s\"}", res);
    status = 202;
done:
    json_decref(req);
    return status;
}

int ms_jobs_get(const ms_jobs_cfg *c, const char *id, ms_sbuf *out)
{
    if (!id_ok(id) || !known_job(c, id)) {
        err_json(out, "no job \"%.40s\" started through this endpoint", id);
        return 404;
    }
    char *argv[] = {"mpiscore", "status", (char *)id, "--json", NULL};
    static __thread char res[65536];
    int rc = run_self(argv, res, sizeof res);
    json_t *j = rc == 0 ? json_loads(res, 0, NULL) : NULL;
    if (!j) {
        trim(res);
        err_json(out, "status failed (exit %d): %.800s", rc, res);
        return 500;
    }
    /* status --json lists jobs; the one asked for is the answer */
    json_t *one = json_is_array(j) ? json_array_get(j, 0) : j;
    char *s = json_dumps(one, JSON_COMPACT);
    if (s)
        ms_sbuf_puts(out, s);
    free(s);
    json_decref(j);
    return 200;
}

int ms_jobs_delete(const ms_jobs_cfg *c, const char *id, ms_sbuf *out)
{
    if (!id_ok(id) || !known_job(c, id)) {
        err_json(out, "no job \"%.40s\" started through this endpoint", id);
        return 404;
    }
    char *argv[] = {"mpiscore", "cancel", (char *)id, NULL};
    char res[8192];
    int rc = run_self(argv, res, sizeof res);
    trim(res);
    if (rc != 0) {
        err_json(out, "%.800s", res);
        return 409;
    }
    ms_sbuf_printf(out, "{\"id\":\"%s\",\"cancel\":", id);
    ms_sbuf_json_str(out, res, strlen(res));
    ms_sbuf_puts(out, "}");
    return 202;
}
