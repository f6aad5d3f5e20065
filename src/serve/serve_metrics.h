/*
 * serve_metrics.h — the server's counters, as GET /metrics prints them
 * (Prometheus text format 0.0.4) and `endpoint show` reads them.
 *
 * One lock guards everything; a request takes it once when it ends. Label
 * sets are bounded: at most MS_METRICS_DEPS deployment names (later ones
 * count as "other") and the status codes the server can answer.
 */
#ifndef MPISCORE_SERVE_METRICS_H
#define MPISCORE_SERVE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "serve/serve_table.h"

#define MS_METRICS_DEPS 32

void ms_metrics_request(const char *deployment, int code, double seconds, size_t rows);
/* One kernel call over `rows` rows (a request, or a micro-batch of them). */
void ms_metrics_batch(size_t rows);
void ms_metrics_mirror(const char *deployment, int code, size_t rows);
void ms_metrics_model_load(int ok, int n);
void ms_metrics_reload(int ok, long generation);
void ms_metrics_gauge_inflight(int delta);
void ms_metrics_gauge_connections(int delta);
int ms_metrics_connections(void);
int ms_metrics_inflight(void);

/* Prometheus text into out. */
void ms_metrics_render(ms_sbuf *out);
/* A JSON snapshot for `endpoint show`: per deployment requests, errors,
 * rate over the last interval and p50/p99 latency (histogram estimates). */
void ms_metrics_snapshot_json(ms_sbuf *out, double interval_s);

#endif
