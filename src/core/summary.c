/*
 * summary.c — exact, order-free score summaries (summary.h).
 *
 * Sums: a fixed-point integer of NLIMB 32-bit digits (stored in int64 so
 * carries can wait) with unit 2^-1074, enough for any finite double and
 * 2^64 of them; adding is exact, hence associative. The floating results
 * (mean, std) are computed once, at the end, from the exact sums in
 * double-double, so they depend on the multiset of values only.
 * Quantiles: a DDSketch (bucket i holds |x| in (g^(i-1), g^i]), positive and
 * negative stores apart and zeros counted; the bucket's estimate
 * 2 g^i / (g + 1) is within (g - 1) / (g + 1) of every value in it. g is
 * built from a slightly smaller alpha than the one stated, so rounding in
 * log() can never push an error past the stated bound.
 */
#include "mpiscore/summary.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpiscore/batch.h"

#define NLIMB 72
#define LIMB_BITS 32
#define FIX_EXP (-1074)            /* value of the lowest bit */
#define NORMALIZE_EVERY (1u << 29) /* adds before a limb could overflow */
#define SUMMARY_MAGIC 0x6d73756d31ULL

typedef struct exact_sum {
    int64_t limb[NLIMB];
    uint32_t pending; /* adds since the last carry propagation */
} exact_sum;

typedef struct store {
    int32_t lo; /* index of c[0] */
    size_t n;   /* buckets in use: [lo, lo + n) */
    size_t cap;
    uint64_t *c;
} store;

typedef struct column {
    uint64_t count, nan, pos_inf, neg_inf, zeros;
    float min, max;
    exact_sum sum, sq;
    uint64_t hist[MS_SUMMARY_HIST_BINS]; /* probability columns only */
    store pos, neg;
} column;

struct ms_summary {
    size_t n_cols, n_classes;
    char *const *names;
    char *const *labels;
    int probability;
    uint64_t rows_ok, rows_failed;
    uint64_t *label_count;
    column *col;
    double inv_log_gamma, log_gamma, gamma;
};

/* ---- exact sums ----------------------------------------------------------- */

static void es_normalize(exact_sum *a)
{
    for (int i = 0; i < NLIMB - 1; i++) {
        int64_t carry = a->limb[i] >> LIMB_BITS; /* arithmetic: floor */
        a->limb[i] -= carry * ((int64_t)1 << LIMB_BITS);
        a->limb[i + 1] += carry;
    }
    a->pending = 0;
}

static void es_add(exact_sum *a, double v)
{
    if (v == 0)
        return;
    int e;
    double f = frexp(v, &e); /* v = f * 2^e, 0.5 <= |f| < 1 */
    int64_t m = (int64_t)ldexp(f, 53);
    int p = e - 53 - FIX_EXP;
    if (p < 0) {  /* only for doubles below 2^-1021: shift the mantissa down exactly */
        m >>= -p; /* the bits dropped are zero for any finite double */
        p = 0;
    }
    uint64_t mag = (uint64_t)(m < 0 ? -m : m);
    unsigned __int128 w = (unsigned __int128)mag << (p % LIMB_BITS);
    int i = p / LIMB_BITS;
    int64_t sign = m < 0 ? -1 : 1;
    for (int k = 0; k < 3 && i + k < NLIMB; k++) {
        a->limb[i + k] += sign * (int64_t)(uint32_t)w;
        w >>= LIMB_BITS;
    }
    if (++a->pending >= NORMALIZE_EVERY)
        es_normalize(a);
}

static void es_merge(exact_sum *a, const exact_sum *b)
{
    exact_sum t = *b;
    es_normalize(&t);
    es_normalize(a);
    for (int i = 0; i < NLIMB; i++)
        a->limb[i] += t.limb[i];
    es_normalize(a);
}

/* Nearest-ish double of a normalized sum: the top four digits of its
 * magnitude, summed from the smallest (a function of the exact value only). */
static double es_to_double(const exact_sum *a)
{
    exact_sum t = *a;
    double sign = 1;
    if (t.limb[NLIMB - 1] < 0) { /* digits of a negative sum are complements: negate */
        for (int i = 0; i < NLIMB; i++)
            t.limb[i] = -t.limb[i];
        es_normalize(&t);
        sign = -1;
    }
    int k = NLIMB - 1;
    while (k > 0 && t.limb[k] == 0)
        k--;
    double r = 0;
    for (int i = k - 3 < 0 ? 0 : k - 3; i <= k; i++)
        r += ldexp((double)t.limb[i], LIMB_BITS * i + FIX_EXP);
    return sign * r;
}

/* The exact sum as hi + lo (about 100 significant bits). */
static void es_to_dd(const exact_sum *a, double *hi, double *lo)
{
    exact_sum t = *a;
    es_normalize(&t);
    *hi = es_to_double(&t);
    es_add(&t, -*hi);
    es_normalize(&t);
    *lo = es_to_double(&t);
}

/* ---- double-double arithmetic, for mean and variance ------------------------ */

static void two_sum(double a, double b, double *s, double *e)
{
    *s = a + b;
    double bb = *s - a;
    *e = (a - (*s - bb)) + (b - bb);
}

static void dd_div_d(double hi, double lo, double d, double *qh, double *ql)
{
    double q1 = hi / d;
    double r = fma(-q1, d, hi) + lo;
    double q2 = r / d;
    two_sum(q1, q2, qh, ql);
}

static void dd_mul(double ah, double al, double bh, double bl, double *ph, double *pl)
{
    double p = ah * bh;
    double e = fma(ah, bh, -p) + (ah * bl + al * bh);
    two_sum(p, e, ph, pl);
}

/* ---- sketch stores -------------------------------------------------------- */

static ms_status store_inc(store *s, int32_t idx, uint64_t n, ms_error *err)
{
    if (s->n == 0) {
        s->lo = idx;
        if (s->cap == 0) {
            s->c = calloc(64, sizeof *s->c);
            if (!s->c)
                return ms_error_set(err, MS_EINTERNAL, "out of memory (summary sketch)");
            s->cap = 64;
        }
        memset(s->c, 0, s->cap * sizeof *s->c);
        s->n = 1;
    }
    if (idx < s->lo || idx >= s->lo + (int64_t)s->n) {
        int64_t lo = idx < s->lo ? idx : s->lo;
        int64_t hi = idx >= s->lo + (int64_t)s->n ? idx + 1 : s->lo + (int64_t)s->n;
        size_t need = (size_t)(hi - lo);
        if (need > s->cap) {
            size_t cap = s->cap;
            while (cap < need)
                cap *= 2;
            uint64_t *c = realloc(s->c, cap * sizeof *c);
            if (!c)
                return ms_error_set(err, MS_EINTERNAL, "out of memory (summary sketch)");
            memset(c + s->cap, 0, (cap - s->cap) * sizeof *c);
            s->c = c;
            s->cap = cap;
        }
        size_t shift = (size_t)(s->lo - lo);
        if (shift) {
            memmove(s->c + shift, s->c, s->n * sizeof *s->c);
            memset(s->c, 0, shift * sizeof *s->c);
        }
        s->lo = (int32_t)lo;
        s->n = need;
    }
    s->c[idx - s->lo] += n;
    return MS_OK;
}

static int32_t bucket_of(const ms_summary *s, double mag)
{
    return (int32_t)ceil(log(mag) * s->inv_log_gamma);
}

static double bucket_value(const ms_summary *s, int32_t i)
{
    return 2.0 * exp((double)i * s->log_gamma) / (s->gamma + 1.0);
}

/* ---- create, add, merge ---------------------------------------------------- */

ms_status ms_summary_create(size_t n_cols, char *const *names, int probability, size_t n_classes,
                            char *const *labels, ms_summary **out, ms_error *err)
{
    ms_summary *s = calloc(1, sizeof *s);
    if (!s)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    s->n_cols = n_cols;
    s->names = names;
    s->probability = probability;
    s->n_classes = n_classes;
    s->labels = labels;
    s->col = calloc(n_cols ? n_cols : 1, sizeof *s->col);
    s->label_count = calloc(n_classes ? n_classes : 1, sizeof *s->label_count);
    if (!s->col || !s->label_count) {
        ms_summary_destroy(s);
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    }
    double a = MS_SUMMARY_ALPHA * (1 - 1e-6); /* margin for rounding in log() */
    s->gamma = (1 + a) / (1 - a);
    s->log_gamma = log(s->gamma);
    s->inv_log_gamma = 1.0 / s->log_gamma;
    ms_summary_reset(s);
    *out = s;
    return MS_OK;
}

void ms_summary_reset(ms_summary *s)
{
    s->rows_ok = s->rows_failed = 0;
    memset(s->label_count, 0, (s->n_classes ? s->n_classes : 1) * sizeof *s->label_count);
    for (size_t j = 0; j < s->n_cols; j++) {
        column *c = &s->col[j];
        store pos = c->pos, neg = c->neg;
        memset(c, 0, sizeof *c);
        c->pos = pos;
        c->neg = neg;
        c->pos.n = c->neg.n = 0;
        c->min = INFINITY;
        c->max = -INFINITY;
    }
}

void ms_summary_destroy(ms_summary *s)
{
    if (!s)
        return;
    for (size_t j = 0; s->col && j < s->n_cols; j++) {
        free(s->col[j].pos.c);
        free(s->col[j].neg.c);
    }
    free(s->col);
    free(s->label_count);
    free(s);
}

static ms_status add_value(ms_summary *s, column *c, float v, ms_error *err)
{
    if (isnan(v)) {
        c->nan++;
        return MS_OK;
    }
    if (isinf(v)) {
        if (v > 0)
            c->pos_inf++;
        else
            c->neg_inf++;
        return MS_OK;
    }
    c->count++;
    if (v < c->min)
        c->min = v;
    if (v > c->max)
        c->max = v;
    double d = v;
    es_add(&c->sum, d);
    es_add(&c->sq, d * d); /* exact: a float32's square fits a double */
    if (s->probability) {
        int b = (int)floor(d * MS_SUMMARY_HIST_BINS);
        b = b < 0 ? 0 : b >= MS_SUMMARY_HIST_BINS ? MS_SUMMARY_HIST_BINS - 1 : b;
        c->hist[b]++;
    }
    if (d == 0) {
        c->zeros++;
        return MS_OK;
    }
    return store_inc(d > 0 ? &c->pos : &c->neg, bucket_of(s, fabs(d)), 1, err);
}

ms_status ms_summary_add_row(ms_summary *s, const float *values, size_t label, ms_error *err)
{
    ms_status st = MS_OK;
    s->rows_ok++;
    for (size_t j = 0; j < s->n_cols && st == MS_OK; j++)
        st = add_value(s, &s->col[j], values[j], err);
    if (s->n_classes && label < s->n_classes)
        s->label_count[label]++;
    return st;
}

void ms_summary_add_failed(ms_summary *s, uint64_t n)
{
    s->rows_failed += n;
}

static ms_status store_merge(store *dst, const store *src, ms_error *err)
{
    ms_status st = MS_OK;
    for (size_t i = 0; i < src->n && st == MS_OK; i++)
        if (src->c[i])
            st = store_inc(dst, src->lo + (int32_t)i, src->c[i], err);
    return st;
}

static ms_status merge_column(column *d, const column *c, ms_error *err)
{
    ms_status st;
    d->count += c->count;
    d->nan += c->nan;
    d->pos_inf += c->pos_inf;
    d->neg_inf += c->neg_inf;
    d->zeros += c->zeros;
    if (c->min < d->min)
        d->min = c->min;
    if (c->max > d->max)
        d->max = c->max;
    es_merge(&d->sum, &c->sum);
    es_merge(&d->sq, &c->sq);
    for (int b = 0; b < MS_SUMMARY_HIST_BINS; b++)
        d->hist[b] += c->hist[b];
    MS_CHECK(store_merge(&d->pos, &c->pos, err));
    MS_CHECK(store_merge(&d->neg, &c->neg, err));
done:
    return st;
}

ms_status ms_summary_merge(ms_summary *dst, const ms_summary *src, ms_error *err)
{
    ms_status st = MS_OK;
    if (dst->n_cols != src->n_cols || dst->n_classes != src->n_classes)
        return ms_error_set(err, MS_EINTERNAL, "summaries of different shapes");
    dst->rows_ok += src->rows_ok;
    dst->rows_failed += src->rows_failed;
    for (size_t k = 0; k < dst->n_classes; k++)
        dst->label_count[k] += src->label_count[k];
    for (size_t j = 0; j < dst->n_cols && st == MS_OK; j++)
        st = merge_column(&dst->col[j], &src->col[j], err);
    return st;
}

/* ---- bytes ------------------------------------------------------------------ */

static ms_status put(char **buf, size_t *len, size_t *cap, const void *p, size_t n, ms_error *err)
{
    ms_status st = ms_buf_reserve(buf, cap, *len + n, err);
    if (st == MS_OK) {
        memcpy(*buf + *len, p, n);
        *len += n;
    }
    return st;
}

static ms_status put_u64(char **buf, size_t *len, size_t *cap, uint64_t v, ms_error *err)
{
    return put(buf, len, cap, &v, sizeof v, err);
}

static ms_status put_store(const store *s, char **buf, size_t *len, size_t *cap, ms_error *err)
{
    ms_status st;
    uint64_t nnz = 0;
    for (size_t i = 0; i < s->n; i++)
        nnz += s->c[i] != 0;
    MS_CHECK(put_u64(buf, len, cap, nnz, err));
    for (size_t i = 0; i < s->n; i++) {
        if (!s->c[i])
            continue;
        int32_t idx = s->lo + (int32_t)i;
        MS_CHECK(put(buf, len, cap, &idx, sizeof idx, err));
        MS_CHECK(put_u64(buf, len, cap, s->c[i], err));
    }
done:
    return st;
}

ms_status ms_summary_serialize(const ms_summary *s, char **buf, size_t *len, size_t *cap,
                               ms_error *err)
{
    ms_status st;
    MS_CHECK(put_u64(buf, len, cap, SUMMARY_MAGIC, err));
    MS_CHECK(put_u64(buf, len, cap, s->n_cols, err));
    MS_CHECK(put_u64(buf, len, cap, s->n_classes, err));
    MS_CHECK(put_u64(buf, len, cap, s->rows_ok, err));
    MS_CHECK(put_u64(buf, len, cap, s->rows_failed, err));
    MS_CHECK(put(buf, len, cap, s->label_count, s->n_classes * sizeof *s->label_count, err));
    for (size_t j = 0; j < s->n_cols; j++) {
        const column *c = &s->col[j];
        uint64_t n[5] = {c->count, c->nan, c->pos_inf, c->neg_inf, c->zeros};
        float mm[2] = {c->min, c->max};
        exact_sum sum = c->sum, sq = c->sq;
        es_normalize(&sum);
        es_normalize(&sq);
        MS_CHECK(put(buf, len, cap, n, sizeof n, err));
        MS_CHECK(put(buf, len, cap, mm, sizeof mm, err));
        MS_CHECK(put(buf, len, cap, sum.limb, sizeof sum.limb, err));
        MS_CHECK(put(buf, len, cap, sq.limb, sizeof sq.limb, err));
        MS_CHECK(put(buf, len, cap, c->hist, sizeof c->hist, err));
        MS_CHECK(put_store(&c->pos, buf, len, cap, err));
        MS_CHECK(put_store(&c->neg, buf, len, cap, err));
    }
done:
    return st;
}

typedef struct reader {
    const char *p;
    size_t left;
} reader;

static int get(reader *r, void *out, size_t n)
{
    if (r->left < n)
        return -1;
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return 0;
}

static int get_u64(reader *r, uint64_t *v)
{
    return get(r, v, sizeof *v);
}

static ms_status get_store(reader *r, store *s, ms_error *err)
{
    uint64_t nnz;
    if (get_u64(r, &nnz) != 0 || nnz > r->left / 12)
        return ms_error_set(err, MS_EINTERNAL, "malformed summary bytes");
    for (uint64_t i = 0; i < nnz; i++) {
        int32_t idx;
        uint64_t n;
        if (get(r, &idx, sizeof idx) != 0 || get_u64(r, &n) != 0)
            return ms_error_set(err, MS_EINTERNAL, "malformed summary bytes");
        ms_status st = store_inc(s, idx, n, err);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}

ms_status ms_summary_merge_bytes(ms_summary *s, const char *buf, size_t len, ms_error *err)
{
    ms_status st = MS_OK;
    reader r = {buf, len};
    uint64_t magic, n_cols, n_classes, ok, failed;
    if (get_u64(&r, &magic) || get_u64(&r, &n_cols) || get_u64(&r, &n_classes) ||
        get_u64(&r, &ok) || get_u64(&r, &failed) || magic != SUMMARY_MAGIC || n_cols != s->n_cols ||
        n_classes != s->n_classes)
        return ms_error_set(err, MS_EINTERNAL, "malformed summary bytes");
    s->rows_ok += ok;
    s->rows_failed += failed;
    for (size_t k = 0; k < s->n_classes; k++) {
        uint64_t n;
        if (get_u64(&r, &n))
            return ms_error_set(err, MS_EINTERNAL, "malformed summary bytes");
        s->label_count[k] += n;
    }
    for (size_t j = 0; j < s->n_cols; j++) {
        column c;
        memset(&c, 0, sizeof c);
        uint64_t n[5];
        float mm[2];
        if (get(&r, n, sizeof n) || get(&r, mm, sizeof mm) ||
            get(&r, c.sum.limb, sizeof c.sum.limb) || get(&r, c.sq.limb, sizeof c.sq.limb) ||
            get(&r, c.hist, sizeof c.hist))
            return ms_error_set(err, MS_EINTERNAL, "malformed summary bytes");
        c.count = n[0];
        c.nan = n[1];
        c.pos_inf = n[2];
        c.neg_inf = n[3];
        c.zeros = n[4];
        c.min = mm[0];
        c.max = mm[1];
        column *d = &s->col[j];
        /* the stores go straight into d; the rest through merge_column */
        if ((st = get_store(&r, &d->pos, err)) != MS_OK ||
            (st = get_store(&r, &d->neg, err)) != MS_OK)
            return st;
        if ((st = merge_column(d, &c, err)) != MS_OK)
            return st;
    }
    if (r.left != 0)
        return ms_error_set(err, MS_EINTERNAL, "malformed summary bytes");
    return st;
}

/* ---- state files, for --resume ------------------------------------------------- */

ms_status ms_summary_save_state(const ms_summary *s, const char *path, ms_error *err)
{
    ms_status st;
    char *buf = NULL, *tmp = NULL;
    size_t len = 0, cap = 0, n = strlen(path) + sizeof ".partial";
    FILE *f = NULL;
    MS_CHECK(ms_summary_serialize(s, &buf, &len, &cap, err));
    if (!(tmp = malloc(n))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    snprintf(tmp, n, "%s.partial", path);
    f = fopen(tmp, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        st = ms_error_set(err, MS_EIO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        f = NULL;
        st = ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    f = NULL;
done:
    if (f)
        fclose(f);
    if (st != MS_OK && tmp)
        unlink(tmp);
    free(tmp);
    free(buf);
    return st;
}

ms_status ms_summary_load_state(ms_summary *s, const char *path, ms_error *err)
{
    ms_status st = MS_OK;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ms_error_set(err, MS_EINPUT, "%s: %s (the interrupted run kept no summary state)",
                            path, strerror(errno));
    for (;;) {
        MS_CHECK(ms_buf_reserve(&buf, &cap, len + 65536, err));
        size_t got = fread(buf + len, 1, 65536, f);
        len += got;
        if (got < 65536)
            break;
    }
    if (ferror(f)) {
        st = ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (ms_summary_merge_bytes(s, buf, len, err) != MS_OK)
        st = ms_error_set(err, MS_EINPUT, "%s: not a summary state of this model", path);
done:
    fclose(f);
    free(buf);
    return st;
}

/* ---- JSON ------------------------------------------------------------------- */

/* The value at 0-based rank k of the sorted finite values (k < count). */
static double quantile_at(const ms_summary *s, const column *c, uint64_t k)
{
    uint64_t cum = 0;
    double v = 0;
    int found = 0;
    for (size_t i = c->neg.n; i-- > 0 && !found;) { /* most negative first */
        cum += c->neg.c[i];
        if (cum > k) {
            v = -bucket_value(s, c->neg.lo + (int32_t)i);
            found = 1;
        }
    }
    if (!found) {
        cum += c->zeros;
        if (cum > k) {
            v = 0;
            found = 1;
        }
    }
    for (size_t i = 0; i < c->pos.n && !found; i++) {
        cum += c->pos.c[i];
        if (cum > k) {
            v = bucket_value(s, c->pos.lo + (int32_t)i);
            found = 1;
        }
    }
    /* clamping moves the estimate toward the true value: the bound holds */
    if (v < c->min)
        v = c->min;
    if (v > c->max)
        v = c->max;
    return v;
}

static int hist_bin(double v, double lo, double hi)
{
    int b = hi > lo ? (int)floor((v - lo) / (hi - lo) * MS_SUMMARY_HIST_BINS) : 0;
    return b < 0 ? 0 : b >= MS_SUMMARY_HIST_BINS ? MS_SUMMARY_HIST_BINS - 1 : b;
}

static json_t *histogram_json(const ms_summary *s, const column *c)
{
    uint64_t h[MS_SUMMARY_HIST_BINS];
    double lo = 0, hi = 1;
    if (s->probability) {
        memcpy(h, c->hist, sizeof h);
    } else {
        /* bins over [min, max] of everything merged; each sketch bucket goes
         * whole to the bin of its estimate */
        memset(h, 0, sizeof h);
        lo = c->count ? c->min : 0;
        hi = c->count ? c->max : 0;
        for (size_t i = 0; i < c->neg.n; i++) {
            double v = -bucket_value(s, c->neg.lo + (int32_t)i);
            h[hist_bin(v < lo ? lo : v > hi ? hi : v, lo, hi)] += c->neg.c[i];
        }
        h[hist_bin(0 < lo ? lo : 0 > hi ? hi : 0, lo, hi)] += c->zeros;
        for (size_t i = 0; i < c->pos.n; i++) {
            double v = bucket_value(s, c->pos.lo + (int32_t)i);
            h[hist_bin(v < lo ? lo : v > hi ? hi : v, lo, hi)] += c->pos.c[i];
        }
    }
    json_t *counts = json_array();
    for (int b = 0; b < MS_SUMMARY_HIST_BINS; b++)
        json_array_append_new(counts, json_integer((json_int_t)h[b]));
    return json_pack("{s:s, s:f, s:f, s:i, s:o}", "bins_from", s->probability ? "fixed" : "sketch",
                     "lo", lo, "hi", hi, "bins", MS_SUMMARY_HIST_BINS, "counts", counts);
}

static json_t *column_json(const ms_summary *s, const column *c, const char *name)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "count", json_integer((json_int_t)c->count));
    json_object_set_new(o, "nan", json_integer((json_int_t)c->nan));
    json_object_set_new(o, "pos_inf", json_integer((json_int_t)c->pos_inf));
    json_object_set_new(o, "neg_inf", json_integer((json_int_t)c->neg_inf));
    if (!c->count) {
        json_object_set_new(o, "mean", json_null());
        json_object_set_new(o, "std", json_null());
        json_object_set_new(o, "min", json_null());
        json_object_set_new(o, "max", json_null());
        json_object_set_new(o, "quantiles", json_null());
        json_object_set_new(o, "histogram", histogram_json(s, c));
        return o;
    }
    double n = (double)c->count; /* exact below 2^53 rows */
    double sh, sl, qh, ql, mh, ml, m2h, m2l, eh, el;
    es_to_dd(&c->sum, &sh, &sl);
    es_to_dd(&c->sq, &qh, &ql);
    dd_div_d(sh, sl, n, &mh, &ml);
    dd_mul(mh, ml, mh, ml, &m2h, &m2l);
    dd_div_d(qh, ql, n, &eh, &el);
    double var = (eh - m2h) + (el - m2l);
    json_object_set_new(o, "mean", json_real(mh + ml));
    json_object_set_new(o, "std", json_real(var > 0 ? sqrt(var) : 0));
    json_object_set_new(o, "min", json_real(c->min));
    json_object_set_new(o, "max", json_real(c->max));
    static const int pct[] = {1, 5, 25, 50, 75, 95, 99};
    json_t *q = json_object();
    for (size_t i = 0; i < sizeof pct / sizeof *pct; i++) {
        char key[8];
        snprintf(key, sizeof key, "p%d", pct[i]);
        /* numpy's method="lower": rank floor(q (n - 1)), in exact integers */
        uint64_t k = (uint64_t)(((unsigned __int128)(c->count - 1) * (unsigned)pct[i]) / 100);
        json_object_set_new(q, key, json_real(quantile_at(s, c, k)));
    }
    json_object_set_new(o, "quantiles", q);
    json_object_set_new(o, "histogram", histogram_json(s, c));
    return o;
}

void *ms_summary_to_json(const ms_summary *s)
{
    json_t *root = json_object();
    if (!root)
        return NULL;
    json_object_set_new(root, "format", json_string("mpiscore-summary"));
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "rows", json_integer((json_int_t)(s->rows_ok + s->rows_failed)));
    json_object_set_new(root, "rows_ok", json_integer((json_int_t)s->rows_ok));
    json_object_set_new(root, "rows_failed", json_integer((json_int_t)s->rows_failed));
    json_object_set_new(root, "quantile_relative_error", json_real(MS_SUMMARY_ALPHA));
    json_object_set_new(root, "quantile_method", json_string("lower"));
    json_t *cols = json_array();
    for (size_t j = 0; j < s->n_cols; j++)
        json_array_append_new(cols, column_json(s, &s->col[j], s->names[j]));
    json_object_set_new(root, "columns", cols);
    if (s->n_classes) {
        json_t *labels = json_array();
        for (size_t k = 0; k < s->n_classes; k++)
            json_array_append_new(labels, json_pack("{s:s, s:I}", "label", s->labels[k], "count",
                                                    (json_int_t)s->label_count[k]));
        json_object_set_new(root, "label_counts", labels);
    }
    return root;
}

ms_status ms_summary_write_json(const ms_summary *s, const char *path, ms_error *err)
{
    ms_status st = MS_OK;
    json_t *root = ms_summary_to_json(s);
    size_t n = strlen(path) + sizeof ".partial";
    char *tmp = malloc(n);
    if (!root || !tmp) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    snprintf(tmp, n, "%s.partial", path);
    if (json_dump_file(root, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) !=
        0) {
        st = ms_error_set(err, MS_EIO, "%s: cannot write: %s", tmp, strerror(errno));
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        st = ms_error_set(err, MS_EIO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
    }
done:
    json_decref(root);
    free(tmp);
    return st;
}
