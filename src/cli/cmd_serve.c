/*
 * cmd_serve.c — `mpiscore serve NAME [options]`: parse options, hand them
 * to the server (src/serve/serve_http.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "serve/serve.h"

static const char serve_usage[] =
    "usage: mpiscore serve NAME [options]\n"
    "\n"
    "Serve endpoint NAME (mpiscore endpoint create/update) over HTTP: the Open\n"
    "Inference Protocol v2 REST routes (/v2/health/live, /v2/health/ready, /v2,\n"
    "/v2/models/M, /v2/models/M/ready, POST /v2/models/M/infer), POST /score (pandas\n"
    "split JSON, a list of records, or text/csv) and GET /metrics (Prometheus).\n"
    "Every route but the health probes needs `Authorization: Bearer KEY`. Changes\n"
    "made by `mpiscore endpoint update/keys` apply without a restart. SIGTERM\n"
    "drains (in-flight requests are answered) and exits 0. docs/endpoints.md.\n"
    "\n"
    "  --port N                 TCP port (default 8080; 0: any free port, see --port-file)\n"
    "  --bind-address ADDR      address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
    "  --tls-cert FILE          PEM certificate: serve HTTPS (with --tls-key)\n"
    "  --tls-key FILE           PEM private key\n"
    "  --instances N            N processes sharing the port (SO_REUSEPORT), each pinned\n"
    "                           to a core; a supervisor restarts one that dies (default 1)\n"
    "  --threads N              HTTP worker threads per instance (default 2)\n"
    "  --request-timeout S      seconds to receive a whole request, else 408 (default 60)\n"
    "  --idle-timeout S         seconds a connection may stay silent before it is closed\n"
    "                           (default 30)\n"
    "  --max-body BYTES         largest request body, else 413 (default 64M; K/M/G suffixes)\n"
    "  --max-buffered BYTES     request bodies held at once, all requests together, else\n"
    "                           503 (default 1G)\n"
    "  --max-rows N             most rows in one request, else 413 (default 100000)\n"
    "  --max-connections N      open connections, else 503 (default 1000)\n"
    "  --max-inflight N         requests being received or scored at once, else 429\n"
    "                           (default 256)\n"
    "  --max-batch-delay-us N   micro-batching: concurrent requests for one model are\n"
    "                           scored in one kernel call, the batch closing N us after\n"
    "                           it opened (default 0: each request alone)\n"
    "  --max-batch-rows N       ...or once it holds N rows (default 1024)\n"
    "  --data-root DIR          POST /v1/jobs (batch jobs: mpiscore submit) may read and\n"
    "                           write only inside DIR (repeatable; none: jobs are off)\n"
    "  --jobs-backend local|slurm   how those jobs run (default local)\n"
    "  --jobs-ranks N           MPI ranks per job (default 1)\n"
    "  --id-column NAME         input column passed through to answers (default id)\n"
    "  --access-log FILE        one JSON line per request (- for stdout)\n"
    "  --port-file FILE         write the port once listening (for --port 0)\n"
    "  --seed N                 seed of the traffic split (default 42)\n";

static int bad(const char *fmt, const char *a)
{
    fprintf(stderr, "mpiscore serve: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, " (see mpiscore serve --help)\n");
    return MS_EUSAGE;
}

static int num(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    double mult = 1;
    if (end != v && *end && !end[1]) {
        if (*end == 'K' || *end == 'k')
            mult = 1024, end++;
        else if (*end == 'M' || *end == 'm')
            mult = 1024.0 * 1024, end++;
        else if (*end == 'G' || *end == 'g')
            mult = 1024.0 * 1024 * 1024, end++;
    }
    d *= mult;
    if (end == v || *end || errno || !(d >= lo && d <= hi)) {
        fprintf(stderr,
                "mpiscore serve: %s \"%s\": expected a number in [%g, %g] (see mpiscore "
                "serve --help)\n",
                opt, v, lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

int ms_cmd_serve(int argc, char **argv)
{
    ms_serve_opts o;
    ms_serve_opts_default(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(serve_usage, stdout);
            return MS_OK;
        }
        if (a[0] != '-') {
            if (o.endpoint)
                return bad("unexpected argument \"%s\"", a);
            o.endpoint = a;
            continue;
        }
        const char *v = NULL;
        char key[64];
        const char *eq = strchr(a, '=');
        if (eq && (size_t)(eq - a) < sizeof key) {
            memcpy(key, a, (size_t)(eq - a));
            key[eq - a] = '\0';
            v = eq + 1;
        } else {
            snprintf(key, sizeof key, "%s", a);
            if (i + 1 < argc)
                v = argv[++i];
            else
                return bad("%s needs a value", a);
        }
        double d;
        if (!strcmp(key, "--port")) {
            if (num(key, v, 0, 65535, &d))
                return MS_EUSAGE;
            o.port = (int)d;
        } else if (!strcmp(key, "--bind-address")) {
            o.bind = v;
        } else if (!strcmp(key, "--tls-cert")) {
            o.tls_cert = v;
        } else if (!strcmp(key, "--tls-key")) {
            o.tls_key = v;
        } else if (!strcmp(key, "--instances")) {
            if (num(key, v, 1, 256, &d))
                return MS_EUSAGE;
            o.instances = (unsigned)d;
        } else if (!strcmp(key, "--threads")) {
            if (num(key, v, 1, 256, &d))
                return MS_EUSAGE;
            o.threads = (unsigned)d;
        } else if (!strcmp(key, "--request-timeout")) {
            if (num(key, v, 0.001, 86400, &d))
                return MS_EUSAGE;
            o.request_timeout = d;
        } else if (!strcmp(key, "--idle-timeout")) {
            if (num(key, v, 1, 86400, &d))
                return MS_EUSAGE;
            o.idle_timeout = (unsigned)d;
        } else if (!strcmp(key, "--max-body")) {
            if (num(key, v, 1, 4.0 * 1024 * 1024 * 1024, &d))
                return MS_EUSAGE;
            o.max_body = (size_t)d;
        } else if (!strcmp(key, "--max-buffered")) {
            if (num(key, v, 4096, 1024.0 * 1024 * 1024 * 1024, &d))
                return MS_EUSAGE;
            o.max_buffered = (size_t)d;
        } else if (!strcmp(key, "--max-rows")) {
            if (num(key, v, 1, 1e9, &d))
                return MS_EUSAGE;
            o.max_rows = (size_t)d;
        } else if (!strcmp(key, "--max-connections")) {
            if (num(key, v, 1, 1e6, &d))
                return MS_EUSAGE;
            o.max_connections = (unsigned)d;
        } else if (!strcmp(key, "--max-inflight")) {
            if (num(key, v, 1, 1e6, &d))
                return MS_EUSAGE;
            o.max_inflight = (unsigned)d;
        } else if (!strcmp(key, "--max-batch-rows")) {
            if (num(key, v, 1, 1e7, &d))
                return MS_EUSAGE;
            o.max_batch_rows = (size_t)d;
        } else if (!strcmp(key, "--max-batch-delay-us")) {
            if (num(key, v, 0, 1e7, &d))
                return MS_EUSAGE;
            o.max_batch_delay_us = (long)d;
        } else if (!strcmp(key, "--data-root")) {
            if (o.n_data_roots == 16)
                return bad("at most 16 %s options", key);
            o.data_roots[o.n_data_roots++] = v;
        } else if (!strcmp(key, "--jobs-backend")) {
            if (strcmp(v, "local") && strcmp(v, "slurm"))
                return bad("--jobs-backend takes local or slurm, not \"%s\"", v);
            o.jobs_backend = v;
        } else if (!strcmp(key, "--jobs-ranks")) {
            if (num(key, v, 1, 4096, &d))
                return MS_EUSAGE;
            o.jobs_ranks = (int)d;
        } else if (!strcmp(key, "--id-column")) {
            o.id_column = v;
        } else if (!strcmp(key, "--access-log")) {
            o.access_log = v;
        } else if (!strcmp(key, "--port-file")) {
            o.port_file = v;
        } else if (!strcmp(key, "--seed")) {
            if (num(key, v, 0, 9007199254740992.0, &d))
                return MS_EUSAGE;
            o.seed = (uint64_t)d;
        } else {
            return bad("unknown option \"%s\"", a);
        }
    }
    if (!o.endpoint)
        return bad("expected the endpoint NAME%s", "");
    if (!o.tls_cert != !o.tls_key)
        return bad("--tls-cert and --tls-key go together%s", "");
    return ms_serve_run(&o);
}
