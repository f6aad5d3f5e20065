/*
 * test_summary.c — the summary module: merge order and batching do not
 * change a byte of the JSON, quantiles keep the stated bound against exact
 * sorted quantiles, counts are exact, malformed bytes are refused.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mpiscore/summary.h"

#define N 200003

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static char *names[] = {"p", "r"};
static char *labels[] = {"no", "yes"};

static char *dump(const ms_summary *s)
{
    json_t *j = ms_summary_to_json(s);
    char *t = json_dumps(j, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(j);
    return t;
}

static int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Summarize rows [0, N) cut at batch size bs, merged in the given order
 * (1: forward, -1: backward) through serialized bytes. */
static char *run(const float *v, size_t bs, int order)
{
    ms_error err;
    ms_summary *all, *b;
    CHECK_FATAL(ms_summary_create(2, names, 0, 2, labels, &all, &err) == MS_OK);
    CHECK_FATAL(ms_summary_create(2, names, 0, 2, labels, &b, &err) == MS_OK);
    size_t nb = (N + bs - 1) / bs;
    char *buf = NULL;
    size_t cap = 0;
    for (size_t k = 0; k < nb; k++) {
        size_t bi = order > 0 ? k : nb - 1 - k;
        ms_summary_reset(b);
        for (size_t i = bi * bs; i < (bi + 1) * bs && i < N; i++) {
            if (i % 1000 == 7) { /* a failed row */
                ms_summary_add_failed(b, 1);
                continue;
            }
            CHECK_FATAL(ms_summary_add_row(b, v + 2 * i, v[2 * i + 1] > 0, &err) == MS_OK);
        }
        size_t len = 0;
        CHECK_FATAL(ms_summary_serialize(b, &buf, &len, &cap, &err) == MS_OK);
        CHECK_FATAL(ms_summary_merge_bytes(all, buf, len, &err) == MS_OK);
        if (k == 0) { /* a cut message is refused (into a scratch summary) */
            ms_summary *t;
            CHECK_FATAL(ms_summary_create(2, names, 0, 2, labels, &t, &err) == MS_OK);
            CHECK(ms_summary_merge_bytes(t, buf, len - 1, &err) == MS_EINTERNAL);
            ms_summary_destroy(t);
        }
    }
    char *t = dump(all);
    free(buf);
    ms_summary_destroy(all);
    ms_summary_destroy(b);
    return t;
}

int main(void)
{
    float *v = malloc(2 * N * sizeof *v);
    CHECK_FATAL(v);
    for (size_t i = 0; i < N; i++) {
        v[2 * i] = (float)urand();                    /* a probability */
        double r = (urand() - 0.3) * 1e4 * urand();   /* negative and positive */
        v[2 * i + 1] = i % 97 == 0 ? 0.0f : (float)r; /* zeros */
        if (i % 501 == 3)
            v[2 * i + 1] = NAN;
        if (i % 777 == 5)
            v[2 * i + 1] = (float)(r * 1e-30); /* tiny magnitudes */
    }
    char *a = run(v, 1000, 1), *b = run(v, 1000, -1), *c = run(v, 65536, 1), *d = run(v, N, 1);
    CHECK_STREQ(a, b);
    CHECK_STREQ(a, c);
    CHECK_STREQ(a, d);

    /* exact reference from the same rows */
    json_error_t je;
    json_t *j = json_loads(a, 0, &je);
    CHECK_FATAL(j);
    uint64_t failed = 0, ok = 0, yes = 0;
    for (size_t i = 0; i < N; i++) {
        if (i % 1000 == 7)
            failed++;
        else {
            ok++;
            yes += v[2 * i + 1] > 0;
        }
    }
    CHECK(json_integer_value(json_object_get(j, "rows_ok")) == (json_int_t)ok);
    CHECK(json_integer_value(json_object_get(j, "rows_failed")) == (json_int_t)failed);
    CHECK(json_integer_value(json_object_get(j, "rows")) == N);
    double alpha = json_real_value(json_object_get(j, "quantile_relative_error"));
    CHECK(alpha == MS_SUMMARY_ALPHA);
    json_t *lc = json_object_get(j, "label_counts");
    CHECK(json_integer_value(json_object_get(json_array_get(lc, 1), "count")) == (json_int_t)yes);
    CHECK(json_integer_value(json_object_get(json_array_get(lc, 0), "count")) ==
          (json_int_t)(ok - yes));

    float *col = malloc(N * sizeof *col);
    static const int pct[] = {1, 5, 25, 50, 75, 95, 99};
    for (int cj = 0; cj < 2; cj++) {
        json_t *cjson = json_array_get(json_object_get(j, "columns"), (size_t)cj);
        size_t n = 0, nan = 0;
        long double sum = 0;
        for (size_t i = 0; i < N; i++) {
            if (i % 1000 == 7)
                continue;
            float x = v[2 * i + cj];
            if (isnan(x)) {
                nan++;
                continue;
            }
            col[n++] = x;
            sum += x;
        }
        qsort(col, n, sizeof *col, cmp_f);
        long double mean = sum / n, ss = 0;
        for (size_t i = 0; i < n; i++)
            ss += (col[i] - mean) * (col[i] - mean);
        double sd = sqrt((double)(ss / n));
        CHECK(json_integer_value(json_object_get(cjson, "count")) == (json_int_t)n);
        CHECK(json_integer_value(json_object_get(cjson, "nan")) == (json_int_t)nan);
        CHECK(json_real_value(json_object_get(cjson, "min")) == col[0]);
        CHECK(json_real_value(json_object_get(cjson, "max")) == col[n - 1]);
        double m = json_real_value(json_object_get(cjson, "mean"));
        double s = json_real_value(json_object_get(cjson, "std"));
        CHECK_MSG(fabs(m - (double)mean) <= 1e-12 * fabs((double)mean), "%.17g vs %.17g", m,
                  (double)mean);
        CHECK_MSG(fabs(s - sd) <= 1e-12 * sd, "%.17g vs %.17g", s, sd);
        json_t *q = json_object_get(cjson, "quantiles");
        for (int p = 0; p < 7; p++) {
            char key[8];
            snprintf(key, sizeof key, "p%d", pct[p]);
            double exact = col[(size_t)((n - 1) * (uint64_t)pct[p] / 100)];
            double got = json_real_value(json_object_get(q, key));
            CHECK_MSG(fabs(got - exact) <= alpha * fabs(exact), "col %d %s: %.17g vs %.17g", cj,
                      key, got, exact);
        }
        json_t *h = json_object_get(cjson, "histogram");
        json_t *counts = json_object_get(h, "counts");
        CHECK(json_array_size(counts) == MS_SUMMARY_HIST_BINS);
        uint64_t tot = 0;
        for (size_t b = 0; b < json_array_size(counts); b++)
            tot += (uint64_t)json_integer_value(json_array_get(counts, b));
        CHECK(tot == n);
    }
    json_decref(j);

    /* probability columns: exact fixed bins over [0, 1] */
    ms_error err;
    ms_summary *s;
    CHECK_FATAL(ms_summary_create(1, names, 1, 0, NULL, &s, &err) == MS_OK);
    uint64_t want[MS_SUMMARY_HIST_BINS] = {0};
    for (size_t i = 0; i < N; i++) {
        int bin = (int)floor((double)v[2 * i] * 20);
        want[bin > 19 ? 19 : bin]++;
        CHECK_FATAL(ms_summary_add_row(s, v + 2 * i, 0, &err) == MS_OK);
    }
    float one = 1.0f, zero = 0.0f;
    ms_summary_add_row(s, &one, 0, &err);
    ms_summary_add_row(s, &zero, 0, &err);
    want[19]++;
    want[0]++;
    json_t *pj = ms_summary_to_json(s);
    json_t *counts = json_object_get(
        json_object_get(json_array_get(json_object_get(pj, "columns"), 0), "histogram"), "counts");
    for (int b = 0; b < MS_SUMMARY_HIST_BINS; b++)
        CHECK(json_integer_value(json_array_get(counts, (size_t)b)) == (json_int_t)want[b]);
    CHECK(json_object_get(pj, "label_counts") == NULL);
    json_decref(pj);

    /* huge counts: 2^33 copies through merging keep exact counts and mean */
    ms_summary *big, *one_s;
    CHECK_FATAL(ms_summary_create(1, names, 0, 0, NULL, &big, &err) == MS_OK);
    CHECK_FATAL(ms_summary_create(1, names, 0, 0, NULL, &one_s, &err) == MS_OK);
    float x = 3.25f, y = -1e30f;
    ms_summary_add_row(one_s, &x, 0, &err);
    ms_summary_add_row(one_s, &y, 0, &err);
    ms_summary_add_row(big, &x, 0, &err);
    ms_summary_add_row(big, &y, 0, &err);
    for (int i = 0; i < 33; i++) /* doubling: big = 2^33 copies of each */
        CHECK_FATAL(ms_summary_merge(big, big, &err) == MS_OK);
    json_t *bj = ms_summary_to_json(big);
    json_t *bc = json_array_get(json_object_get(bj, "columns"), 0);
    CHECK(json_integer_value(json_object_get(bc, "count")) == (json_int_t)(2ULL << 33));
    CHECK(json_real_value(json_object_get(bc, "mean")) == ((double)x + (double)y) / 2);
    json_decref(bj);

    ms_summary_destroy(s);
    ms_summary_destroy(big);
    ms_summary_destroy(one_s);
    free(col);
    free(a);
    free(b);
    free(c);
    free(d);
    free(v);
    return ms_test_failures ? 1 : 0;
}
