/*
 * serve_metrics.c — counters and their Prometheus rendering (serve_metrics.h).
 */
#include "serve/serve_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const int codes[] = {200, 400, 401, 403, 404, 405, 408, 413, 415, 429, 500, 503};
#define N_CODES (sizeof codes / sizeof *codes)
static const double lat_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
#define N_LAT (sizeof lat_bounds / sizeof *lat_bounds)
#define N_ROWB 17 /* 1, 2, 4, ... 65536 */

typedef struct dep_stats {
    char name[72];
    uint64_t by_code[N_CODES];
    uint64_t rows, mirror_requests, mirror_rows, mirror_errors;
    uint64_t lat[N_LAT + 1];
    double lat_sum;
    uint64_t last_requests; /* at the previous snapshot */
} dep_stats;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static dep_stats deps[MS_METRICS_DEPS + 2]; /* + "" (unrouted) + "other" */
static size_t n_deps;
static uint64_t batch_rows[N_ROWB + 1];
static uint64_t batches, model_loads, model_load_failures, reloads, reload_failures;
static long generation;
static int inflight, connections;

static dep_stats *dep_of(const char *name)
{
    if (!name)
        name = "";
    for (size_t i = 0; i < n_deps; i++)
        if (!strcmp(deps[i].name, name))
            return &deps[i];
    if (n_deps < MS_METRICS_DEPS + 1) {
        snprintf(deps[n_deps].name, sizeof deps[n_deps].name, "%s", name);
        return &deps[n_deps++];
    }
    return &deps[MS_METRICS_DEPS + 1];
}

static size_t code_ix(int code)
{
    for (size_t i = 0; i < N_CODES; i++)
        if (codes[i] == code)
            return i;
    return N_CODES - 2; /* 500 */
}

void ms_metrics_request(const char *deployment, int code, double seconds, size_t rows)
{
    pthread_mutex_lock(&mu);
    dep_stats *d = dep_of(deployment);
    d->by_code[code_ix(code)]++;
    size_t b = 0;
    while (b < N_LAT && seconds > lat_bounds[b])
        b++;
    d->lat[b]++;
    d->lat_sum += seconds;
    if (code == 200)
        d->rows += rows;
    pthread_mutex_unlock(&mu);
}

void ms_metrics_batch(size_t rows)
{
    size_t rb = 0;
    while (rb < N_ROWB && rows > ((size_t)1 << rb))
        rb++;
    pthread_mutex_lock(&mu);
    batch_rows[rb]++;
    batches++;
    pthread_mutex_unlock(&mu);
}

void ms_metrics_mirror(const char *deployment, int code, size_t rows)
{
    pthread_mutex_lock(&mu);
    dep_stats *d = dep_of(deployment);
    d->mirror_requests++;
    if (code == 200)
        d->mirror_rows += rows;
    else
        d->mirror_errors++;
    pthread_mutex_unlock(&mu);
}

void ms_metrics_model_load(int ok, int n)
{
    pthread_mutex_lock(&mu);
    if (ok)
        model_loads += (uint64_t)n;
    else
        model_load_failures++;
    pthread_mutex_unlock(&mu);
}

void ms_metrics_reload(int ok, long gen)
{
    pthread_mutex_lock(&mu);
    if (ok) {
        reloads++;
        generation = gen;
    } else {
        reload_failures++;
    }
    pthread_mutex_unlock(&mu);
}

void ms_metrics_gauge_inflight(int delta)
{
    __atomic_add_fetch(&inflight, delta, __ATOMIC_RELAXED);
}

void ms_metrics_gauge_connections(int delta)
{
    __atomic_add_fetch(&connections, delta, __ATOMIC_RELAXED);
}

int ms_metrics_connections(void)
{
    return __atomic_load_n(&connections, __ATOMIC_RELAXED);
}

int ms_metrics_inflight(void)
{
    return __atomic_load_n(&inflight, __ATOMIC_RELAXED);
}

void ms_metrics_render(ms_sbuf *o)
{
    pthread_mutex_lock(&mu);
    ms_sbuf_puts(o,
                 "# HELP mpiscore_requests_total Requests answered, by deployment and status "
                 "code (deployment=\"\": not routed).\n# TYPE mpiscore_requests_total counter\n");
    for (size_t i = 0; i < n_deps; i++)
        for (size_t c = 0; c < N_CODES; c++)
            if (deps[i].by_code[c])
                ms_sbuf_printf(o, "mpiscore_requests_total{deployment=\"%s\",code=\"%d\"} %llu\n",
                               deps[i].name, codes[c], (unsigned long long)deps[i].by_code[c]);
    ms_sbuf_puts(o, "# HELP mpiscore_request_duration_seconds Time from the request's first "
                    "byte to its answer.\n# TYPE mpiscore_request_duration_seconds histogram\n");
    for (size_t i = 0; i < n_deps; i++) {
        uint64_t cum = 0;
        for (size_t b = 0; b <= N_LAT; b++) {
            cum += deps[i].lat[b];
            if (b < N_LAT)
                ms_sbuf_printf(
                    o,
                    "mpiscore_request_duration_seconds_bucket{deployment=\"%s\",le=\"%g\"} "
                    "%llu\n",
                    deps[i].name, lat_bounds[b], (unsigned long long)cum);
            else
                ms_sbuf_printf(
                    o,
                    "mpiscore_request_duration_seconds_bucket{deployment=\"%s\",le=\"+Inf\"} "
                    "%llu\n",
                    deps[i].name, (unsigned long long)cum);
        }
        ms_sbuf_printf(o, "mpiscore_request_duration_seconds_sum{deployment=\"%s\"} %.9g\n",
                       deps[i].name, deps[i].lat_sum);
        ms_sbuf_printf(o, "mpiscore_request_duration_seconds_count{deployment=\"%s\"} %llu\n",
                       deps[i].name, (unsigned long long)cum);
    }
    ms_sbuf_puts(o,
                 "# HELP mpiscore_rows_total Rows scored.\n# TYPE mpiscore_rows_total counter\n");
    for (size_t i = 0; i < n_deps; i++)
        if (deps[i].name[0])
            ms_sbuf_printf(o, "mpiscore_rows_total{deployment=\"%s\"} %llu\n", deps[i].name,
                           (unsigned long long)deps[i].rows);
    ms_sbuf_puts(o, "# HELP mpiscore_mirror_requests_total Requests copied to a mirror "
                    "deployment (answers discarded).\n# TYPE mpiscore_mirror_requests_total "
                    "counter\n");
    for (size_t i = 0; i < n_deps; i++)
        if (deps[i].mirror_requests)
            ms_sbuf_printf(o,
                           "mpiscore_mirror_requests_total{deployment=\"%s\"} %llu\n"
                           "mpiscore_mirror_errors_total{deployment=\"%s\"} %llu\n"
                           "mpiscore_mirror_rows_total{deployment=\"%s\"} %llu\n",
                           deps[i].name, (unsigned long long)deps[i].mirror_requests, deps[i].name,
                           (unsigned long long)deps[i].mirror_errors, deps[i].name,
                           (unsigned long long)deps[i].mirror_rows);
    ms_sbuf_puts(
        o, "# HELP mpiscore_batch_rows Rows per kernel call (a micro-batch of requests).\n# TYPE "
           "mpiscore_batch_rows histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b <= N_ROWB; b++) {
        cum += batch_rows[b];
        if (b < N_ROWB)
            ms_sbuf_printf(o, "mpiscore_batch_rows_bucket{le=\"%zu\"} %llu\n", (size_t)1 << b,
                           (unsigned long long)cum);
        else
            ms_sbuf_printf(o, "mpiscore_batch_rows_bucket{le=\"+Inf\"} %llu\n",
                           (unsigned long long)cum);
    }
    ms_sbuf_printf(o, "mpiscore_batch_rows_count %llu\n", (unsigned long long)batches);
    ms_sbuf_printf(o,
                   "# TYPE mpiscore_model_loads_total counter\nmpiscore_model_loads_total %llu\n"
                   "# TYPE mpiscore_model_load_failures_total counter\n"
                   "mpiscore_model_load_failures_total %llu\n"
                   "# TYPE mpiscore_reloads_total counter\nmpiscore_reloads_total %llu\n"
                   "# TYPE mpiscore_reload_failures_total counter\n"
                   "mpiscore_reload_failures_total %llu\n"
                   "# TYPE mpiscore_generation gauge\nmpiscore_generation %ld\n"
                   "# HELP mpiscore_inflight_requests Requests being received or scored (the "
                   "queue).\n# TYPE mpiscore_inflight_requests gauge\n"
                   "mpiscore_inflight_requests %d\n"
                   "# TYPE mpiscore_open_connections gauge\nmpiscore_open_connections %d\n",
                   (unsigned long long)model_loads, (unsigned long long)model_load_failures,
                   (unsigned long long)reloads, (unsigned long long)reload_failures, generation,
                   ms_metrics_inflight(), ms_metrics_connections());
    pthread_mutex_unlock(&mu);
}

/* The latency at quantile q from a histogram (upper bound of its bucket). */
static double quantile(const dep_stats *d, double q)
{
    uint64_t total = 0, cum = 0;
    for (size_t b = 0; b <= N_LAT; b++)
        total += d->lat[b];
    if (!total)
        return 0;
    for (size_t b = 0; b <= N_LAT; b++) {
        cum += d->lat[b];
        if ((double)cum >= q * (double)total)
            return b < N_LAT ? lat_bounds[b] : lat_bounds[N_LAT - 1];
    }
    return lat_bounds[N_LAT - 1];
}

void ms_metrics_snapshot_json(ms_sbuf *o, double interval_s)
{
    pthread_mutex_lock(&mu);
    ms_sbuf_printf(o, "{\"generation\":%ld,\"inflight\":%d,\"connections\":%d,\"deployments\":[",
                   generation, ms_metrics_inflight(), ms_metrics_connections());
    int first = 1;
    for (size_t i = 0; i < n_deps; i++) {
        dep_stats *d = &deps[i];
        if (!d->name[0])
            continue;
        uint64_t req = 0, errs = 0;
        for (size_t c = 0; c < N_CODES; c++) {
            req += d->by_code[c];
            if (codes[c] != 200)
                errs += d->by_code[c];
        }
        double rate = interval_s > 0 ? (double)(req - d->last_requests) / interval_s : 0;
        d->last_requests = req;
        ms_sbuf_printf(o,
                       "%s{\"name\":\"%s\",\"requests\":%llu,\"errors\":%llu,\"rows\":%llu,"
                       "\"mirror_requests\":%llu,\"rate\":%.1f,\"p50_ms\":%.3g,\"p99_ms\":%.3g}",
                       first ? "" : ",", d->name, (unsigned long long)req, (unsigned long long)errs,
                       (unsigned long long)d->rows, (unsigned long long)d->mirror_requests, rate,
                       1e3 * quantile(d, 0.5), 1e3 * quantile(d, 0.99));
        first = 0;
    }
    ms_sbuf_puts(o, "]}\n");
    pthread_mutex_unlock(&mu);
}
