/*
 * dict.c — category dictionaries (columns.h): open addressing over the
 * categories' hashes, sized to at most half full, so a lookup is one hash
 * and, almost always, one compare. Built once per model; lookups allocate
 * nothing and never modify the table, so ranks and threads share it.
 */
#include "mpiscore/columns.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ms_dict {
    int is_num;
    size_t n;
    char **str;     /* n, NUL-terminated copies (string dictionaries) */
    size_t *len;    /* n */
    double *num;    /* n (numeric dictionaries) */
    int32_t *slot;  /* mask + 1 entries: code or -1 */
    uint64_t *hash; /* n: each category's hash */
    size_t mask;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static uint64_t hash_num(double v)
{
    if (v == 0)
        v = 0; /* -0 and 0 are one category */
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return hash_bytes((const char *)&b, sizeof b);
}

static int same(const ms_dict *d, size_t k, const char *s, size_t n, double v)
{
    if (d->is_num)
        return d->num[k] == v;
    return d->len[k] == n && memcmp(d->str[k], s, n) == 0;
}

static int32_t find(const ms_dict *d, uint64_t h, const char *s, size_t n, double v)
{
    for (size_t i = h & d->mask;; i = (i + 1) & d->mask) {
        int32_t c = d->slot[i];
        if (c < 0)
            return MS_CODE_UNKNOWN;
        if (d->hash[c] == h && same(d, (size_t)c, s, n, v))
            return c;
    }
}

static ms_status build(ms_dict *d, ms_error *err)
{
    size_t cap = 16;
    while (cap < 2 * d->n)
        cap *= 2;
    d->mask = cap - 1;
    d->slot = malloc(cap * sizeof *d->slot);
    d->hash = malloc((d->n ? d->n : 1) * sizeof *d->hash);
    if (!d->slot || !d->hash)
        return ms_error_set(err, MS_EINTERNAL, "out of memory (dictionary of %zu)", d->n);
    memset(d->slot, 0xff, cap * sizeof *d->slot);
    for (size_t k = 0; k < d->n; k++) {
        const char *s = d->is_num ? NULL : d->str[k];
        size_t n = d->is_num ? 0 : d->len[k];
        double v = d->is_num ? d->num[k] : 0;
        uint64_t h = d->is_num ? hash_num(v) : hash_bytes(s, n);
        if (find(d, h, s, n, v) != MS_CODE_UNKNOWN) {
            if (d->is_num)
                return ms_error_set(err, MS_EMODEL, "category %.17g is listed twice", v);
            return ms_error_set(err, MS_EMODEL, "category \"%.*s\" is listed twice",
                                (int)(n > 60 ? 60 : n), s);
        }
        d->hash[k] = h;
        size_t i = h & d->mask;
        while (d->slot[i] >= 0)
            i = (i + 1) & d->mask;
        d->slot[i] = (int32_t)k;
    }
    return MS_OK;
}

static ms_status create(size_t n, int is_num, ms_dict **out, ms_error *err)
{
    *out = NULL;
    if (n > INT32_MAX)
        return ms_error_set(err, MS_EMODEL, "%zu categories (at most %d)", n, INT32_MAX);
    ms_dict *d = calloc(1, sizeof *d);
    if (!d)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    d->is_num = is_num;
    d->n = n;
    *out = d;
    return MS_OK;
}

ms_status ms_dict_create_str(const char *const *cats, size_t n, ms_dict **out, ms_error *err)
{
    ms_dict *d;
    ms_status st = create(n, 0, &d, err);
    if (st != MS_OK)
        return st;
    d->str = calloc(n ? n : 1, sizeof *d->str);
    d->len = calloc(n ? n : 1, sizeof *d->len);
    if (!d->str || !d->len) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < n; k++) {
        d->len[k] = strlen(cats[k]);
        d->str[k] = malloc(d->len[k] + 1);
        if (!d->str[k]) {
            st = ms_error_set(err, MS_EINTERNAL, "out of memory");
            goto done;
        }
        memcpy(d->str[k], cats[k], d->len[k] + 1);
    }
    st = build(d, err);
done:
    if (st != MS_OK)
        ms_dict_free(d);
    else
        *out = d;
    return st;
}

ms_status ms_dict_create_num(const double *cats, size_t n, ms_dict **out, ms_error *err)
{
    ms_dict *d;
    ms_status st = create(n, 1, &d, err);
    if (st != MS_OK)
        return st;
    d->num = malloc((n ? n : 1) * sizeof *d->num);
    if (!d->num) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < n; k++) {
        if (!isfinite(cats[k])) {
            st = ms_error_set(err, MS_EMODEL, "category %zu is not a finite number", k);
            goto done;
        }
        d->num[k] = cats[k];
    }
    st = build(d, err);
done:
    if (st != MS_OK)
        ms_dict_free(d);
    else
        *out = d;
    return st;
}

void ms_dict_free(ms_dict *d)
{
    if (!d)
        return;
    if (d->str)
        for (size_t k = 0; k < d->n; k++)
            free(d->str[k]);
    free(d->str);
    free(d->len);
    free(d->num);
    free(d->slot);
    free(d->hash);
    free(d);
}

size_t ms_dict_size(const ms_dict *d)
{
    return d->n;
}

int ms_dict_is_num(const ms_dict *d)
{
    return d->is_num;
}

const char *ms_dict_str(const ms_dict *d, size_t k)
{
    return d->is_num ? NULL : d->str[k];
}

double ms_dict_num(const ms_dict *d, size_t k)
{
    return d->is_num ? d->num[k] : NAN;
}

int32_t ms_dict_find_str(const ms_dict *d, const char *s, size_t n)
{
    if (d->is_num)
        return MS_CODE_UNKNOWN;
    return find(d, hash_bytes(s, n), s, n, 0);
}

int32_t ms_dict_find_num(const ms_dict *d, double v)
{
    if (!d->is_num || !isfinite(v))
        return MS_CODE_UNKNOWN;
    return find(d, hash_num(v), NULL, 0, v);
}
