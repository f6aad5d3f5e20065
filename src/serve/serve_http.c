/*
 * serve_http.c — the HTTP side of `mpiscore serve` (serve.h): libmicrohttpd
 * daemon, routes, bearer keys, limits, the state-file watcher, SIGTERM
 * drain, and the supervisor of --instances processes.
 *
 * Every answer, error or not, is JSON ({"error": "..."} for errors; CSV
 * only for a text/csv /score), and no request problem ends the process.
 * A request's life: first call (limits on connections, in-flight requests
 * and Content-Length), body calls (size and time limits), last call
 * (auth, route, decode, score, encode); the completion callback logs it and
 * counts it. Request state is per connection (MHD's con_cls); the scoring
 * buffers are per worker thread.
 */
#include "serve/serve.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster/bind_core.h"
#include "mpiscore/scorer.h"
#include "mpiscore/sha256.h"
#include "serve/serve_batch.h"
#include "serve/serve_deploy.h"
#include "serve/serve_jobs.h"
#include "serve/serve_metrics.h"
#include "serve/serve_score.h"

#include "mpiscore_version.h"

void ms_serve_opts_default(ms_serve_opts *o)
{
    memset(o, 0, sizeof *o);
    o->port = 8080;
    o->bind = "127.0.0.1";
    o->request_timeout = 60;
    o->idle_timeout = 30;
    o->max_body = 64u << 20;
    o->max_buffered = (size_t)1 << 30;
    o->max_rows = 100000;
    o->max_connections = 1000;
    o->max_inflight = 256;
    o->threads = 0;
    o->instances = 1;
    o->seed = 42;
    o->max_batch_rows = 1024;
    o->jobs_backend = "local";
    o->jobs_ranks = 1;
    o->max_batch_delay_us = 0;
}

/* ---- server state ---------------------------------------------------------- */

static const ms_serve_opts *opt;
static char ep_path[MS_REGISTRY_PATH_MAX];
static char ep_dir[MS_REGISTRY_PATH_MAX];
static ms_isa isa;
static volatile int draining;
static volatile sig_atomic_t reload_asked;
static uint64_t req_seq;
static size_t buffered; /* bytes of request bodies held, all requests */
static pthread_key_t scorer_key;
static FILE *access_log;
static ms_jobs_cfg jobs;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct req {
    double t0, t_answer;
    char *body;
    size_t len, cap, discarded;
    int too_big, timed_out, answered, busy;
    int status;
    int counted;
    char dep[MS_REGISTRY_NAME_MAX + 1];
    size_t rows;
    size_t bytes_out;
    char method[16];
    char path[256];
} req;

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mpiscore serve[%ld]: ", (long)getpid());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static ms_serve_scorer *thread_scorer(void)
{
    ms_serve_scorer *s = pthread_getspecific(scorer_key);
    if (!s) {
        s = ms_serve_scorer_create();
        pthread_setspecific(scorer_key, s);
    }
    return s;
}

static void scorer_free(void *p)
{
    ms_serve_scorer_destroy(p);
}

/* ---- answers ------------------------------------------------------------------ */

static enum MHD_Result answer(struct MHD_Connection *c, req *r, int status, ms_sbuf *body,
                              const char *ctype, const ms_srv_dep *dep)
{
    if (body->oom) {
        free(body->p);
        memset(body, 0, sizeof *body);
        status = 500;
        ms_encode_error("out of memory", body);
        ctype = "application/json";
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(body->len, body->p ? body->p : (char *)"",
                                        body->p ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body->p);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (dep) {
        MHD_add_response_header(resp, "azureml-model-deployment", dep->name);
        MHD_add_response_header(resp, "mpiscore-deployment", dep->name);
        snprintf(r->dep, sizeof r->dep, "%s", dep->name);
    }
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (status == 429 || status == 503)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (draining || status == 408 || status == 413)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (rc == MHD_YES) {
        r->status = status;
        r->answered = 1;
        r->t_answer = ms_now();
        r->bytes_out = body->len;
    }
    return rc;
}

static enum MHD_Result answer_json(struct MHD_Connection *c, req *r, int status, ms_sbuf *body,
                                   const ms_srv_dep *dep)
{
    return answer(c, r, status, body, "application/json", dep);
}

static enum MHD_Result answer_error(struct MHD_Connection *c, req *r, int status, const char *fmt,
                                    ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result answer_error(struct MHD_Connection *c, req *r, int status, const char *fmt,
                                    ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ms_sbuf b = {0};
    ms_encode_error(msg, &b);
    return answer_json(c, r, status, &b, NULL);
}

/* ---- auth ------------------------------------------------------------------------ */

/* Both stored hashes are always compared, byte by byte without an early
 * exit, so the time taken says nothing about which key or how much matched. */
static int key_ok(const ms_srv_gen *g, const char *auth)
{
    static const char pre[] = "Bearer ";
    if (!auth || strncasecmp(auth, pre, sizeof pre - 1) != 0)
        return 0;
    const char *key = auth + sizeof pre - 1;
    while (*key == ' ')
        key++;
    char h[65];
    ms_sha256_buf_hex(key, strlen(key), h);
    unsigned d0 = 0, d1 = 0;
    for (size_t i = 0; i < 64; i++) {
        d0 |= (unsigned char)(h[i] ^ g->key_hash[0][i]);
        d1 |= (unsigned char)(h[i] ^ g->key_hash[1][i]);
    }
    return (d0 == 0) | (d1 == 0);
}

/* ---- routes ------------------------------------------------------------------------ */

static void model_metadata(const ms_srv_dep *d, const char *name, ms_sbuf *b)
{
    const ms_model *m = d->model->m;
    ms_sbuf_puts(b, "{\"name\":");
    ms_sbuf_json_str(b, name, strlen(name));
    ms_sbuf_puts(b, ",\"versions\":[");
    ms_sbuf_json_str(b, d->model->version, strlen(d->model->version));
    ms_sbuf_puts(b, "],\"platform\":\"mpiscore\",\"deployment\":");
    ms_sbuf_json_str(b, d->name, strlen(d->name));
    ms_sbuf_puts(b, ",\"model\":");
    ms_sbuf_json_str(b, d->model->ref, strlen(d->model->ref));
    ms_sbuf_printf(b, ",\"kind\":\"%s\",\"inputs\":[", ms_kind_name(m->kind));
    for (size_t f = 0; f < m->n_features; f++) {
        ms_sbuf_puts(b, f ? ",{\"name\":" : "{\"name\":");
        ms_sbuf_json_str(b, m->feature_names[f], strlen(m->feature_names[f]));
        ms_sbuf_puts(b, ",\"datatype\":\"FP32\",\"shape\":[-1]}");
    }
    ms_sbuf_puts(b, "],\"outputs\":[");
    for (size_t k = 0; k < m->n_outputs; k++) {
        ms_sbuf_puts(b, k ? ",{\"name\":" : "{\"name\":");
        ms_sbuf_json_str(b, m->output_names[k], strlen(m->output_names[k]));
        ms_sbuf_puts(b, ",\"datatype\":\"FP32\",\"shape\":[-1]}");
    }
    if (m->n_classes)
        ms_sbuf_puts(b, ",{\"name\":\"label\",\"datatype\":\"BYTES\",\"shape\":[-1]}");
    ms_sbuf_puts(b, "]}");
}

/* The deployment a scoring request goes to: a pinning header, else the
 * model name in the URL (a deployment's name pins it; the endpoint's name
 * routes by traffic). *status is 404 when nothing matches. */
static const ms_srv_dep *pick(struct MHD_Connection *c, const ms_srv_gen *g, const char *model,
                              int *status, char *why, size_t wsz)
{
    const char *pin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "azureml-model-deployment");
    if (!pin)
        pin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "mpiscore-deployment");
    const ms_srv_dep *d = NULL;
    if (model && strcmp(model, opt->endpoint) != 0) {
        d = ms_gen_find(g, model);
        if (!d) {
            *status = 404;
            snprintf(why, wsz,
                     "unknown model \"%.200s\" (this endpoint serves \"%s\" and its "
                     "deployments)",
                     model, opt->endpoint);
            return NULL;
        }
        if (pin && strcmp(pin, d->name) != 0) {
            *status = 400;
            snprintf(why, wsz, "the URL names deployment \"%.100s\" but the header pins \"%.100s\"",
                     d->name, pin);
            return NULL;
        }
        return d;
    }
    if (pin) {
        d = ms_gen_find(g, pin);
        if (!d) {
            *status = 404;
            snprintf(why, wsz, "no deployment \"%.200s\" in endpoint \"%s\"", pin, opt->endpoint);
        }
        return d;
    }
    d = ms_gen_route(g,
                     ms_splitmix64(opt->seed + __atomic_fetch_add(&req_seq, 1, __ATOMIC_RELAXED)));
    if (!d) {
        *status = 503;
        snprintf(why, wsz, "endpoint \"%s\" has no deployment taking traffic", opt->endpoint);
    }
    return d;
}

static int is_csv(struct MHD_Connection *c)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    return ct && (!strncasecmp(ct, "text/csv", 8) || !strncasecmp(ct, "application/csv", 15));
}

/* Decode, score and encode one request with deployment d. */
static int score_with(struct MHD_Connection *c, const ms_srv_dep *d, int infer, req *r,
                      ms_sbuf *out, const char **ctype, ms_req_err *e)
{
    const ms_model *m = d->model->m;
    ms_decode_spec sp = {.features = (const char *const *)m->feature_names,
                         .n_features = m->n_features,
                         .max_rows = opt->max_rows,
                         .id_column = opt->id_column};
    ms_rtable t;
    ms_rtable_init(&t);
    int csv = !infer && is_csv(c);
    int rc = infer ? ms_decode_infer(r->body ? r->body : "", r->len, &sp, &t, e)
                   : ms_decode_score(r->body ? r->body : "", r->len, csv, &sp, &t, e);
    ms_scored_rows res;
    ms_mb_ticket *tk = NULL;
    if (!rc)
        rc = ms_mb_score(thread_scorer(), m, isa, &t, opt->max_batch_rows, opt->max_batch_delay_us,
                         &res, e, &tk);
    if (!rc) {
        if (infer)
            ms_encode_infer(&t, &res, d->model->name, d->model->version, out);
        else
            ms_encode_score(&t, &res, out);
        *ctype = csv ? "text/csv" : "application/json";
        r->rows = t.n_rows;
    }
    ms_mb_release(tk);
    ms_rtable_free(&t);
    return rc;
}

static enum MHD_Result route_score(struct MHD_Connection *c, req *r, const ms_srv_gen *g,
                                   const char *model, int infer)
{
    int status = 0;
    char why[512];
    const ms_srv_dep *d = pick(c, g, model, &status, why, sizeof why);
    if (!d)
        return answer_error(c, r, status, "%s", why);
    ms_sbuf out = {0};
    ms_req_err e = {0};
    const char *ctype = "application/json";
    int rc = score_with(c, d, infer, r, &out, &ctype, &e);
    if (rc) {
        free(out.p);
        memset(&out, 0, sizeof out);
        ms_encode_error(e.msg, &out);
        enum MHD_Result q = answer_json(c, r, rc, &out, d);
        return q;
    }
    enum MHD_Result q = answer(c, r, 200, &out, ctype, d);
    /* the mirror scores a copy after the answer is queued; its result only counts */
    const ms_srv_dep *mir =
        ms_gen_mirror(g, ms_splitmix64((opt->seed ^ 0x6d6972726f72ULL) +
                                       __atomic_fetch_add(&req_seq, 1, __ATOMIC_RELAXED)));
    if (mir && mir != d) {
        ms_sbuf mout = {0};
        ms_req_err me = {0};
        req mr = *r;
        const char *mct;
        int mrc = score_with(c, mir, infer, &mr, &mout, &mct, &me);
        ms_metrics_mirror(mir->name, mrc ? mrc : 200, mr.rows);
        free(mout.p);
    }
    return q;
}

static enum MHD_Result route(struct MHD_Connection *c, req *r, const char *url, const char *method)
{
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    if (!strcmp(url, "/v2/health/live")) {
        if (!get)
            return answer_error(c, r, 405, "%s /v2/health/live: use GET", method);
        ms_sbuf b = {0};
        ms_sbuf_puts(&b, "{\"live\":true}");
        return answer_json(c, r, 200, &b, NULL);
    }
    ms_srv_gen *g = ms_gen_acquire();
    enum MHD_Result rc;
    if (!strcmp(url, "/v2/health/ready")) {
        ms_sbuf b = {0};
        int ready = g && !draining && g->n_dep > 0;
        ms_sbuf_printf(&b, "{\"ready\":%s}", ready ? "true" : "false");
        rc = get ? answer_json(c, r, ready ? 200 : 503, &b, NULL)
                 : answer_error(c, r, 405, "%s /v2/health/ready: use GET", method);
        if (!get)
            free(b.p);
        goto done;
    }
    if (!g) {
        rc = answer_error(c, r, 503, "not ready");
        goto done;
    }
    if (!key_ok(g,
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION))) {
        const char *a =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        rc = answer_error(c, r, 401,
                          a ? "invalid key" : "missing key: send Authorization: Bearer KEY");
        goto done;
    }
    if (!strcmp(url, "/metrics")) {
        ms_sbuf b = {0};
        ms_metrics_render(&b);
        rc = get ? answer(c, r, 200, &b, "text/plain; version=0.0.4", NULL)
                 : answer_error(c, r, 405, "%s /metrics: use GET", method);
        if (!get)
            free(b.p);
        goto done;
    }
    if (!strcmp(url, "/v2")) {
        ms_sbuf b = {0};
        ms_sbuf_printf(&b, "{\"name\":\"mpiscore\",\"version\":\"%s\",\"extensions\":[]}",
                       MPISCORE_VERSION);
        rc = get ? answer_json(c, r, 200, &b, NULL)
                 : answer_error(c, r, 405, "%s /v2: use GET", method);
        if (!get)
            free(b.p);
        goto done;
    }
    if (!strcmp(url, "/score")) {
        rc = post ? route_score(c, r, g, NULL, 0)
                  : answer_error(c, r, 405, "%s /score: use POST", method);
        goto done;
    }
    if (!strcmp(url, "/v1/jobs") || !strncmp(url, "/v1/jobs/", 9)) {
        const char *id = url[8] == '/' ? url + 9 : NULL;
        ms_sbuf b = {0};
        int code;
        if (!id && post) {
            const char *pin =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, "azureml-model-deployment");
            if (!pin)
                pin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "mpiscore-deployment");
            code = ms_jobs_post(&jobs, g, pin, r->body ? r->body : "", r->len, &b);
        } else if (id && get) {
            code = ms_jobs_get(&jobs, id, &b);
        } else if (id && !strcmp(method, "DELETE")) {
            code = ms_jobs_delete(&jobs, id, &b);
        } else {
            code = 405;
            ms_encode_error(id ? "use GET or DELETE on /v1/jobs/ID" : "use POST on /v1/jobs", &b);
        }
        rc = answer_json(c, r, code, &b, NULL);
        goto done;
    }
    if (!strncmp(url, "/v2/models/", 11)) {
        char name[256];
        const char *p = url + 11, *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        const char *rest = slash ? slash : "";
        if (n == 0 || n >= sizeof name) {
            rc = answer_error(c, r, 404, "no route %s", url);
            goto done;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        /* /v2/models/NAME/versions/V/... is the same model: one version per deployment */
        if (!strncmp(rest, "/versions/", 10)) {
            const char *s2 = strchr(rest + 10, '/');
            rest = s2 ? s2 : "";
        }
        if (!strcmp(rest, "/infer")) {
            rc = post ? route_score(c, r, g, name, 1)
                      : answer_error(c, r, 405, "%s %s: use POST", method, url);
            goto done;
        }
        if (strcmp(rest, "") && strcmp(rest, "/ready")) {
            rc = answer_error(c, r, 404, "no route %s", url);
            goto done;
        }
        if (!get) {
            rc = answer_error(c, r, 405, "%s %s: use GET", method, url);
            goto done;
        }
        const ms_srv_dep *d = NULL;
        if (!strcmp(name, opt->endpoint)) {
            for (size_t i = 0; i < g->n_dep; i++)
                if (!d || g->dep[i].traffic > d->traffic)
                    d = &g->dep[i];
        } else {
            d = ms_gen_find(g, name);
        }
        if (!d) {
            rc = answer_error(c, r, 404, "unknown model \"%s\"", name);
            goto done;
        }
        ms_sbuf b = {0};
        if (!strcmp(rest, "/ready")) {
            ms_sbuf_puts(&b, "{\"name\":");
            ms_sbuf_json_str(&b, name, strlen(name));
            ms_sbuf_printf(&b, ",\"ready\":%s}", draining ? "false" : "true");
        } else {
            model_metadata(d, name, &b);
        }
        rc = answer_json(c, r, 200, &b, d);
        goto done;
    }
    rc = answer_error(c, r, 404, "no route %s %s", method, url);
done:
    ms_gen_release(g);
    return rc;
}

/* ---- libmicrohttpd callbacks -------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        r->t0 = ms_now();
        r->counted = 1;
        ms_metrics_gauge_inflight(1);
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%s", url);
        if (ms_metrics_connections() > (int)opt->max_connections)
            return answer_error(c, r, 503, "too many open connections (at most %u)",
                                opt->max_connections);
        if (ms_metrics_inflight() > (int)opt->max_inflight)
            return answer_error(c, r, 429, "too many requests in flight (at most %u)",
                                opt->max_inflight);
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > opt->max_body)
            return answer_error(c, r, 413, "request body of %s bytes (at most %zu: --max-body)", cl,
                                opt->max_body);
        return MHD_YES;
    }
    if (r->answered) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        /* libmicrohttpd takes no answer while a body is arriving: a request
         * past its time, or too big, is read to its end without being kept
         * and answered then (408, 413); one still arriving at twice its
         * time, or at twice the size limit, is cut */
        double age = ms_now() - r->t0;
        if (r->timed_out || age > opt->request_timeout) {
            r->timed_out = 1;
            return age > 2 * opt->request_timeout ? MHD_NO : MHD_YES;
        }
        if (r->too_big || r->len + n > opt->max_body) {
            r->too_big = 1;
            r->discarded += n;
            return r->discarded > opt->max_body ? MHD_NO : MHD_YES;
        }
        if (r->busy) {
            r->discarded += n;
            return r->discarded > opt->max_body ? MHD_NO : MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->len + n + 1)
                cap *= 2;
            /* bodies held by all requests together stay under --max-buffered */
            size_t now = __atomic_add_fetch(&buffered, cap - r->cap, __ATOMIC_RELAXED);
            char *p = now <= opt->max_buffered ? realloc(r->body, cap) : NULL;
            if (!p) {
                __atomic_sub_fetch(&buffered, cap - r->cap, __ATOMIC_RELAXED);
                r->busy = 1;
                r->discarded += n;
                return MHD_YES;
            }
            r->body = p;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload, n);
        r->len += n;
        return MHD_YES;
    }
    if (r->too_big)
        return answer_error(c, r, 413, "request body over %zu bytes (--max-body)", opt->max_body);
    if (r->busy)
        return answer_error(c, r, 503,
                            "the server holds %zu bytes of request bodies already "
                            "(--max-buffered); retry",
                            opt->max_buffered);
    if (r->timed_out || ms_now() - r->t0 > opt->request_timeout)
        return answer_error(c, r, 408, "request not received within %g s (--request-timeout)",
                            opt->request_timeout);
    return route(c, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    req *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    int status = r->answered                                                     ? r->status
                 : r->timed_out || toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? 408
                 : r->too_big                                                    ? 413
                                                                                 : 0;
    double lat = (r->answered ? r->t_answer : ms_now()) - r->t0;
    if (status)
        ms_metrics_request(r->dep, status, lat, r->rows);
    if (access_log) {
        char ip[INET6_ADDRSTRLEN] = "";
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
        }
        time_t now = time(NULL);
        struct tm tm;
        char ts[32];
        gmtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        ms_sbuf b = {0};
        ms_sbuf_printf(&b, "{\"time\":\"%s\",\"remote\":\"%s\",\"method\":", ts, ip);
        ms_sbuf_json_str(&b, r->method, strlen(r->method));
        ms_sbuf_puts(&b, ",\"path\":");
        ms_sbuf_json_str(&b, r->path, strlen(r->path));
        ms_sbuf_printf(&b,
                       ",\"status\":%d,\"deployment\":\"%s\",\"rows\":%zu,\"bytes_in\":%zu,"
                       "\"bytes_out\":%zu,\"latency_ms\":%.3f%s}\n",
                       status, r->dep, r->rows, r->len, r->bytes_out, 1e3 * lat,
                       r->answered ? "" : ",\"closed\":true");
        pthread_mutex_lock(&log_mu);
        if (b.p)
            fwrite(b.p, 1, b.len, access_log);
        fflush(access_log);
        pthread_mutex_unlock(&log_mu);
        free(b.p);
    }
    if (r->counted)
        ms_metrics_gauge_inflight(-1);
    __atomic_sub_fetch(&buffered, r->cap, __ATOMIC_RELAXED);
    free(r->body);
    free(r);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)c;
    (void)socket_context;
    ms_metrics_gauge_connections(toe == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (getenv("MPISCORE_SERVE_DEBUG")) {
        fprintf(stderr, "mpiscore serve[%ld]: libmicrohttpd: ", (long)getpid());
        vfprintf(stderr, fmt, ap);
    }
}

/* ---- reloads ------------------------------------------------------------------------- */

typedef struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id;

static int file_id_get(file_id *f)
{
    struct stat sb;
    memset(f, 0, sizeof *f);
    if (stat(ep_path, &sb) != 0)
        return -1;
    f->dev = sb.st_dev;
    f->ino = sb.st_ino;
    f->size = sb.st_size;
    f->mtime = sb.st_mtim;
    return 0;
}

static int file_id_eq(const file_id *a, const file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Build and publish the generation the state file describes now. The old
 * one keeps serving if anything fails. */
static ms_status reload(int first, ms_error *err)
{
    ms_endpoint ep;
    ms_status st = ms_endpoint_load_file(ep_path, &ep, err);
    if (st != MS_OK)
        return st;
    /* a SIGHUP and the watcher may both see one change: the same state is no reload */
    static ms_endpoint last;
    if (!first && !memcmp(&ep, &last, sizeof ep))
        return MS_OK;
    if (first && ep.n_dep == 0)
        return ms_error_set(err, MS_EUSAGE,
                            "endpoint \"%s\" has no deployments (mpiscore endpoint update %s "
                            "--deployment NAME=MODEL)",
                            ep.name, ep.name);
    ms_srv_gen *prev = ms_gen_acquire(), *g = NULL;
    int loaded = 0;
    st = ms_gen_build(&ep, prev, isa, &g, &loaded, err);
    ms_gen_release(prev);
    ms_metrics_model_load(st == MS_OK, st == MS_OK ? loaded : 1);
    if (st != MS_OK)
        return st;
    ms_gen_publish(g);
    last = ep;
    ms_metrics_reload(1, ep.generation);
    char desc[1024] = "";
    size_t o = 0;
    for (size_t i = 0; i < g->n_dep && o < sizeof desc - 200; i++)
        o += (size_t)snprintf(desc + o, sizeof desc - o, "%s%s=%s (%d%%%s)", i ? ", " : "",
                              g->dep[i].name, g->dep[i].model->ref, g->dep[i].traffic,
                              g->dep[i].mirror ? ", mirror" : "");
    log_line("endpoint %s generation %ld: %s; %d model%s loaded", ep.name, ep.generation, desc,
             loaded, loaded == 1 ? "" : "s");
    return MS_OK;
}

static void write_live(double interval)
{
    char path[MS_REGISTRY_PATH_MAX + 64], tmp[MS_REGISTRY_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/live.%ld.json", ep_dir, (long)getpid());
    snprintf(tmp, sizeof tmp, "%s/.live.%ld.json.tmp", ep_dir, (long)getpid());
    ms_sbuf b = {0};
    ms_sbuf_printf(&b, "{\"pid\":%ld,\"time\":%.3f,\"snapshot\":", (long)getpid(),
                   (double)time(NULL));
    ms_metrics_snapshot_json(&b, interval);
    ms_sbuf_puts(&b, "}\n");
    FILE *f = b.p ? fopen(tmp, "w") : NULL;
    if (f) {
        fwrite(b.p, 1, b.len, f);
        if (fclose(f) == 0)
            rename(tmp, path);
    }
    free(b.p);
}

static void *watcher(void *arg)
{
    (void)arg;
    file_id seen;
    file_id_get(&seen);
    double last_live = ms_now();
    while (!draining) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        file_id now;
        int have = file_id_get(&now) == 0;
        int asked = reload_asked;
        if (asked || (have && !file_id_eq(&now, &seen))) {
            reload_asked = 0;
            ms_error err;
            ms_error_clear(&err);
            if (reload(0, &err) != MS_OK) {
                ms_metrics_reload(0, 0);
                log_line("reload failed, still serving the previous deployments: %s", err.msg);
            }
            seen = now;
        }
        double t = ms_now();
        if (t - last_live >= 1.0) {
            write_live(t - last_live);
            last_live = t;
        }
    }
    return NULL;
}

/* The signals the server takes with sigwait: TERM/INT drain, HUP reloads,
 * CHLD (the supervisor) an instance ended. */
static void serve_signals(sigset_t *set, int chld)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    if (chld)
        sigaddset(set, SIGCHLD);
}

/* ---- one instance ---------------------------------------------------------------------- */

static char *read_file(const char *path, ms_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 8192;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                ms_error_set(err, MS_EINTERNAL, "out of memory");
                return NULL;
            }
            buf = p;
        }
        size_t n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n < 4096)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        return AF_INET;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return AF_INET6;
    }
    return -1;
}

static int serve_instance(int port, int reuse, int index)
{
    ms_error err;
    ms_error_clear(&err);
    int rc = MS_OK;
    char *cert = NULL, *key = NULL;
    struct MHD_Daemon *d = NULL;
    pthread_t wt;
    int watching = 0;
    (void)index;
    if (reload(1, &err) != MS_OK) {
        fprintf(stderr, "mpiscore: error: %s\n", err.msg);
        return err.code;
    }
    struct sockaddr_storage ss;
    int fam = parse_addr(opt->bind, port, &ss);
    if (fam < 0) {
        fprintf(stderr, "mpiscore serve: --bind-address \"%s\" is not an IPv4 or IPv6 address\n",
                opt->bind);
        return MS_EUSAGE;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (fam == AF_INET6 ? MHD_USE_IPv6 : 0);
    if (opt->tls_cert) {
        if (!(cert = read_file(opt->tls_cert, &err)) || !(key = read_file(opt->tls_key, &err))) {
            fprintf(stderr, "mpiscore: error: %s\n", err.msg);
            rc = MS_EIO;
            goto done;
        }
        flags |= MHD_USE_TLS;
    }
    unsigned threads = opt->threads ? opt->threads : 2;
    struct MHD_OptionItem tls_opts[] = {
        {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
        {cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key},
        {MHD_OPTION_END, 0, NULL}};
    d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
        opt->max_connections + 64, MHD_OPTION_CONNECTION_TIMEOUT, opt->idle_timeout,
        /* a connection's header + read buffer; libmicrohttpd clears it per request */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)(reuse ? 1 : 0), MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, NULL, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "mpiscore: error: cannot listen on %s:%d%s (%s)\n", opt->bind, port,
                opt->tls_cert ? " with TLS (is the certificate/key pair valid?)" : "",
                strerror(errno));
        rc = MS_EIO;
        goto done;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int bound = di ? di->port : port;
    log_line("listening on %s://%s:%d", opt->tls_cert ? "https" : "http", opt->bind, bound);
    if (opt->port_file && index == 0) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", opt->port_file);
        FILE *f = fopen(tmp, "w");
        if (f) {
            fprintf(f, "%d\n", bound);
            fclose(f);
            rename(tmp, opt->port_file);
        }
    }
    if (pthread_create(&wt, NULL, watcher, NULL) == 0)
        watching = 1;

    /* signals: TERM/INT drain, HUP reloads now */
    sigset_t set;
    serve_signals(&set, 0);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload_asked = 1;
            continue;
        }
        break;
    }
    /* drain: stop accepting, answer what is in flight (with Connection: close) */
    draining = 1;
    MHD_socket ls = MHD_quiesce_daemon(d);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    double deadline = ms_now() + opt->request_timeout + 1;
    while (ms_metrics_inflight() > 0 && ms_now() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int left = ms_metrics_inflight();
    log_line("drained (%d request%s cut short), exiting", left, left == 1 ? "" : "s");
done:
    if (d)
        MHD_stop_daemon(d);
    if (watching)
        pthread_join(wt, NULL);
    char live[MS_REGISTRY_PATH_MAX + 64];
    snprintf(live, sizeof live, "%s/live.%ld.json", ep_dir, (long)getpid());
    unlink(live);
    free(cert);
    free(key);
    return rc;
}

/* ---- pid file and notify ----------------------------------------------------------- */

static void pid_path(const ms_endpoint *ep, char *out, size_t sz)
{
    char file[MS_REGISTRY_PATH_MAX];
    ms_error err;
    out[0] = '\0';
    if (ms_endpoint_file(ep->name, file, sizeof file, &err) != MS_OK)
        return;
    char *slash = strrchr(file, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, sz, "%s/serve.pid", file);
}

void ms_serve_notify(const ms_endpoint *ep)
{
    char path[MS_REGISTRY_PATH_MAX + 16];
    pid_path(ep, path, sizeof path);
    FILE *f = path[0] ? fopen(path, "r") : NULL;
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    /* a stale pid file may name an unrelated process by now: signal only an
     * `mpiscore serve` of this endpoint (SIGHUP would end most others) */
    char cl[512];
    snprintf(cl, sizeof cl, "/proc/%ld/cmdline", pid);
    f = pid > 0 ? fopen(cl, "r") : NULL;
    size_t n = f ? fread(cl, 1, sizeof cl - 1, f) : 0;
    if (f)
        fclose(f);
    int serve = 0, name = 0;
    for (size_t i = 0; i < n;) {
        const char *arg = cl + i;
        serve |= !strcmp(arg, "serve");
        name |= !strcmp(arg, ep->name);
        i += strnlen(arg, n - i) + 1;
    }
    if (serve && name)
        kill((pid_t)pid, SIGHUP);
}

void ms_serve_print_live(const ms_endpoint *ep, FILE *out)
{
    char file[MS_REGISTRY_PATH_MAX];
    ms_error err;
    if (ms_endpoint_file(ep->name, file, sizeof file, &err) != MS_OK)
        return;
    char *slash = strrchr(file, '/');
    if (slash)
        *slash = '\0';
    char cmd[MS_REGISTRY_PATH_MAX + 300];
    int any = 0;
    /* one live.PID.json per running instance */
    struct dirent **names = NULL;
    int n = scandir(file, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        long pid;
        char tail[16];
        if (sscanf(names[i]->d_name, "live.%ld.%15s", &pid, tail) == 2 && !strcmp(tail, "json") &&
            kill((pid_t)pid, 0) == 0) {
            snprintf(cmd, sizeof cmd, "%s/%s", file, names[i]->d_name);
            json_error_t je;
            json_t *root = json_load_file(cmd, 0, &je);
            json_t *snap = json_object_get(root, "snapshot");
            if (snap) {
                if (!any)
                    fprintf(out,
                            "live (mpiscore serve, per instance):\n  %-8s %-16s %9s %7s %9s "
                            "%8s %8s\n",
                            "PID", "DEPLOYMENT", "REQUESTS", "ERRORS", "REQ/S", "P50_MS", "P99_MS");
                any = 1;
                size_t k;
                json_t *d;
                json_array_foreach(json_object_get(snap, "deployments"), k, d)
                {
                    fprintf(out, "  %-8ld %-16s %9lld %7lld %9.1f %8.3g %8.3g\n", pid,
                            json_string_value(json_object_get(d, "name")),
                            (long long)json_integer_value(json_object_get(d, "requests")),
                            (long long)json_integer_value(json_object_get(d, "errors")),
                            json_number_value(json_object_get(d, "rate")),
                            json_number_value(json_object_get(d, "p50_ms")),
                            json_number_value(json_object_get(d, "p99_ms")));
                }
            }
            json_decref(root);
        }
        free(names[i]);
    }
    free(names);
    if (!any)
        fprintf(out, "live: not being served\n");
}

/* ---- the command ------------------------------------------------------------------------ */

/* A port for --instances with --port 0: bound (SO_REUSEPORT) by the
 * supervisor and kept, so the instances can all bind it. */
static int reserve_port(int *port, int *fd_out)
{
    struct sockaddr_storage ss;
    int fam = parse_addr(opt->bind, 0, &ss);
    int fd = fam < 0 ? -1 : socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    socklen_t len = fam == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(fam == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                  : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return 0;
}

static pid_t start_instance(int port, int index)
{
    pid_t pid = fork();
    if (pid == 0) {
        char where[512];
        ms_bind_index(index, MS_BIND_CORE, where, sizeof where);
        log_line("instance %d: %s", index, where);
        _exit(serve_instance(port, 1, index));
    }
    return pid;
}

/* --instances N: N processes on one port, restarted when one dies. */
static int supervise(void)
{
    int port = opt->port, hold = -1;
    if (port == 0 && reserve_port(&port, &hold) != 0) {
        fprintf(stderr, "mpiscore: error: cannot reserve a port on %s: %s\n", opt->bind,
                strerror(errno));
        return MS_EIO;
    }
    unsigned n = opt->instances;
    pid_t *pids = calloc(n, sizeof *pids);
    if (!pids)
        return MS_EINTERNAL;
    double started[256];
    int quick = 0;
    for (unsigned i = 0; i < n; i++) {
        pids[i] = start_instance(port, (int)i);
        started[i] = ms_now();
    }
    sigset_t set;
    serve_signals(&set, 1);
    int stopping = 0, rc = MS_OK;
    unsigned alive = n;
    while (alive > 0) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP || sig == SIGTERM || sig == SIGINT) {
            if (sig != SIGHUP)
                stopping = 1;
            for (unsigned i = 0; i < n; i++)
                if (pids[i] > 0)
                    kill(pids[i], sig == SIGHUP ? SIGHUP : SIGTERM);
            continue;
        }
        int status;
        pid_t dead;
        while ((dead = waitpid(-1, &status, WNOHANG)) > 0 && alive > 0) {
            for (unsigned i = 0; i < n; i++) {
                if (pids[i] != dead)
                    continue;
                if (stopping) {
                    if (rc == MS_OK && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
                        rc = MS_EINTR;
                    pids[i] = 0;
                    alive--;
                } else {
                    char live[MS_REGISTRY_PATH_MAX + 64];
                    snprintf(live, sizeof live, "%s/live.%ld.json", ep_dir, (long)dead);
                    unlink(live);
                    /* one that cannot even start (port taken, model gone) is not retried forever */
                    quick = ms_now() - started[i] < 2 ? quick + 1 : 0;
                    if (quick >= 5) {
                        log_line("instance %u died 5 times within 2 s of starting; stopping", i);
                        stopping = 1;
                        rc = MS_EIO;
                        pids[i] = 0;
                        alive--;
                        for (unsigned j = 0; j < n; j++)
                            if (pids[j] > 0)
                                kill(pids[j], SIGTERM);
                        continue;
                    }
                    log_line("instance %u (pid %ld) %s %d; restarting it", i, (long)dead,
                             WIFSIGNALED(status) ? "killed by signal" : "exited with",
                             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
                    struct timespec ts = {0, 100 * 1000 * 1000};
                    nanosleep(&ts, NULL);
                    pids[i] = start_instance(port, (int)i);
                    started[i] = ms_now();
                }
            }
        }
    }
    if (hold >= 0)
        close(hold);
    free(pids);
    return rc;
}

int ms_serve_run(const ms_serve_opts *o)
{
    opt = o;
    ms_error err;
    ms_error_clear(&err);
    ms_endpoint ep;
    ms_status st = ms_endpoint_load(o->endpoint, &ep, &err);
    if (st == MS_OK)
        st = ms_endpoint_file(o->endpoint, ep_path, sizeof ep_path, &err);
    if (st == MS_OK)
        st = ms_isa_select(&isa, &err);
    if (st != MS_OK) {
        fprintf(stderr, "mpiscore: error: %s\n", err.msg);
        return st;
    }
    struct sockaddr_storage ss;
    if (parse_addr(o->bind, 0, &ss) < 0) {
        fprintf(stderr, "mpiscore serve: --bind-address \"%s\" is not an IPv4 or IPv6 address\n",
                o->bind);
        return MS_EUSAGE;
    }
    const char *tls[2] = {o->tls_cert, o->tls_key};
    for (int i = 0; i < 2; i++)
        if (tls[i] && access(tls[i], R_OK) != 0) {
            fprintf(stderr, "mpiscore: error: %s: %s\n", tls[i], strerror(errno));
            return MS_EIO;
        }
    snprintf(ep_dir, sizeof ep_dir, "%s", ep_path);
    char *slash = strrchr(ep_dir, '/');
    if (slash)
        *slash = '\0';
    jobs.n_roots = o->n_data_roots;
    for (size_t i = 0; i < o->n_data_roots; i++)
        jobs.roots[i] = o->data_roots[i];
    jobs.backend = o->jobs_backend;
    jobs.ranks = o->jobs_ranks;
    jobs.ep_dir = ep_dir;
    char why[1024];
    if (ms_jobs_init(&jobs, why, sizeof why) != 0) {
        fprintf(stderr, "mpiscore serve: %s\n", why);
        return MS_EUSAGE;
    }
    if (o->access_log) {
        access_log = !strcmp(o->access_log, "-") ? stdout : fopen(o->access_log, "a");
        if (!access_log) {
            fprintf(stderr, "mpiscore: error: --access-log %s: %s\n", o->access_log,
                    strerror(errno));
            return MS_EIO;
        }
    }
    pthread_key_create(&scorer_key, scorer_free);
    /* every thread inherits this mask: the signals are taken by sigwait only */
    sigset_t set;
    serve_signals(&set, 1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    char pidf[MS_REGISTRY_PATH_MAX + 16];
    pid_path(&ep, pidf, sizeof pidf);
    FILE *f = fopen(pidf, "w");
    if (f) {
        fprintf(f, "%ld\n", (long)getpid());
        fclose(f);
    }
    int rc = o->instances > 1 ? supervise() : serve_instance(o->port, 0, 0);
    /* only the pid file this process wrote */
    f = fopen(pidf, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    if (pid == (long)getpid())
        unlink(pidf);
    if (access_log && access_log != stdout)
        fclose(access_log);
    return rc;
}
