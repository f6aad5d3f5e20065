/*
 * ubjson.c — UBJSON -> jansson (ubjson.h). Big-endian integers and IEEE
 * floats, markers Z N T F i U I l L d D C S H [ {, and the optimized
 * containers ($TYPE and #COUNT). Every length is checked against the bytes
 * left before anything is allocated, so a hostile count cannot ask for
 * more memory than the file is long.
 */
#include "ubjson.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 256

typedef struct rd {
    const unsigned char *p;
    size_t len, pos;
    const char *name;
    ms_error *err;
} rd;

static ms_status bad(rd *r, const char *why)
{
    return ms_error_set(r->err, MS_EMODEL, "%s: UBJSON at byte %zu: %s", r->name, r->pos, why);
}

static ms_status take(rd *r, size_t n, const unsigned char **out)
{
    if (n > r->len - r->pos)
        return bad(r, "the file ends inside a value");
    *out = r->p + r->pos;
    r->pos += n;
    return MS_OK;
}

static uint64_t be(const unsigned char *b, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | b[i];
    return v;
}

/* An integer of marker m. */
static ms_status read_int(rd *r, int m, int64_t *out)
{
    const unsigned char *b = NULL;
    ms_status st;
    switch (m) {
    case 'i':
        if ((st = take(r, 1, &b)) == MS_OK)
            *out = (int8_t)b[0];
        return st;
    case 'U':
        if ((st = take(r, 1, &b)) == MS_OK)
            *out = b[0];
        return st;
    case 'I':
        if ((st = take(r, 2, &b)) == MS_OK)
            *out = (int16_t)be(b, 2);
        return st;
    case 'l':
        if ((st = take(r, 4, &b)) == MS_OK)
            *out = (int32_t)be(b, 4);
        return st;
    case 'L':
        if ((st = take(r, 8, &b)) == MS_OK)
            *out = (int64_t)be(b, 8);
        return st;
    default:
        r->pos--; /* point at the marker */
        return bad(r, "expected an integer marker (i U I l L)");
    }
}

static ms_status read_marker(rd *r, int *m)
{
    const unsigned char *b = NULL;
    ms_status st;
    do {
        if ((st = take(r, 1, &b)) != MS_OK)
            return st;
    } while (b[0] == 'N'); /* no-op */
    *m = b[0];
    return MS_OK;
}

/* A length (string, count): an integer that fits what is left to read. */
static ms_status read_length(rd *r, size_t *out)
{
    int m;
    int64_t v;
    ms_status st;
    if ((st = read_marker(r, &m)) != MS_OK || (st = read_int(r, m, &v)) != MS_OK)
        return st;
    if (v < 0)
        return bad(r, "negative length");
    if ((uint64_t)v > r->len - r->pos)
        return bad(r, "a length larger than the rest of the file");
    *out = (size_t)v;
    return MS_OK;
}

static json_t *real_or_mark(double d)
{
    if (isnan(d))
        return json_string("N");
    if (isinf(d))
        return json_string(d > 0 ? "+Inf" : "-Inf");
    return json_real(d);
}

static ms_status value(rd *r, int m, int depth, json_t **out);

/* The body of a container after its marker: [$T][#N] then items. */
static ms_status container(rd *r, int obj, int depth, json_t **out)
{
    ms_status st = MS_OK;
    int type = 0, m;
    size_t count = 0;
    int counted = 0;
    if (depth > MAX_DEPTH)
        return bad(r, "nested deeper than 256");
    if (r->pos < r->len && r->p[r->pos] == '$') {
        r->pos++;
        if ((st = read_marker(r, &type)) != MS_OK)
            return st;
        if (strchr("ZNTF", type) || type == 0)
            return bad(r, "a typed container of a type without a payload");
        if (r->pos >= r->len || r->p[r->pos] != '#')
            return bad(r, "a typed container without a count");
    }
    if (r->pos < r->len && r->p[r->pos] == '#') {
        r->pos++;
        if ((st = read_length(r, &count)) != MS_OK)
            return st;
        counted = 1;
    }
    json_t *c = obj ? json_object() : json_array();
    if (!c)
        return ms_error_set(r->err, MS_EINTERNAL, "out of memory");
    for (size_t i = 0; !counted || i < count; i++) {
        if (!counted) {
            if ((st = read_marker(r, &m)) != MS_OK)
                break;
            if (m == (obj ? '}' : ']'))
                break;
            r->pos--; /* the marker belongs to the item */
        }
        char *key = NULL;
        if (obj) {
            size_t n;
            const unsigned char *kb = NULL;
            if ((st = read_length(r, &n)) != MS_OK || (st = take(r, n, &kb)) != MS_OK)
                break;
            if (memchr(kb, 0, n)) {
                st = bad(r, "a key holds a NUL byte");
                break;
            }
            if (!(key = malloc(n + 1))) {
                st = ms_error_set(r->err, MS_EINTERNAL, "out of memory");
                break;
            }
            memcpy(key, kb, n);
            key[n] = '\0';
            if (json_object_get(c, key)) {
                free(key);
                st = bad(r, "a key is given twice");
                break;
            }
        }
        if (type)
            m = type;
        else if ((st = read_marker(r, &m)) != MS_OK) {
            free(key);
            break;
        }
        json_t *v = NULL;
        st = value(r, m, depth + 1, &v);
        if (st == MS_OK &&
            (obj ? json_object_set_new_nocheck(c, key, v) : json_array_append_new(c, v)) != 0)
            st = ms_error_set(r->err, MS_EINTERNAL, "out of memory");
        free(key);
        if (st != MS_OK)
            break;
    }
    if (st != MS_OK) {
        json_decref(c);
        return st;
    }
    *out = c;
    return MS_OK;
}

static ms_status value(rd *r, int m, int depth, json_t **out)
{
    ms_status st;
    const unsigned char *b = NULL;
    int64_t iv;
    size_t n;
    json_t *v = NULL;
    switch (m) {
    case 'Z':
        v = json_null();
        break;
    case 'T':
        v = json_true();
        break;
    case 'F':
        v = json_false();
        break;
    case 'i':
    case 'U':
    case 'I':
    case 'l':
    case 'L':
        if ((st = read_int(r, m, &iv)) != MS_OK)
            return st;
        v = json_integer((json_int_t)iv);
        break;
    case 'd': {
        if ((st = take(r, 4, &b)) != MS_OK)
            return st;
        uint32_t u = (uint32_t)be(b, 4);
        float f;
        memcpy(&f, &u, sizeof f);
        v = real_or_mark((double)f);
        break;
    }
    case 'D': {
        if ((st = take(r, 8, &b)) != MS_OK)
            return st;
        uint64_t u = be(b, 8);
        double d;
        memcpy(&d, &u, sizeof d);
        v = real_or_mark(d);
        break;
    }
    case 'C':
        if ((st = take(r, 1, &b)) != MS_OK)
            return st;
        v = json_stringn((const char *)b, 1);
        if (!v)
            return bad(r, "a char that is not UTF-8");
        break;
    case 'S':
    case 'H':
        if ((st = read_length(r, &n)) != MS_OK || (st = take(r, n, &b)) != MS_OK)
            return st;
        if (m == 'S') {
            v = json_stringn((const char *)b, n);
            if (!v)
                return bad(r, "a string that is not UTF-8");
        } else { /* high-precision number: its decimal text */
            char buf[64];
            char *end;
            if (n == 0 || n >= sizeof buf)
                return bad(r, "a high-precision number longer than 63 digits");
            memcpy(buf, b, n);
            buf[n] = '\0';
            double d = strtod(buf, &end);
            if (*end)
                return bad(r, "a high-precision number that is not a number");
            v = real_or_mark(d);
        }
        break;
    case '[':
    case '{':
        return container(r, m == '{', depth, out);
    default: {
        char why[48];
        r->pos--; /* point at the marker */
        snprintf(why, sizeof why, "unknown marker 0x%02x", (unsigned)m & 0xffu);
        return bad(r, why);
    }
    }
    if (!v)
        return ms_error_set(r->err, MS_EINTERNAL, "out of memory");
    *out = v;
    return MS_OK;
}

int ms_ubjson_sniff(const char *buf, size_t len)
{
    return len >= 2 && (buf[0] == '{' || buf[0] == '[') && buf[1] && strchr("iUIlL$#", buf[1]);
}

ms_status ms_ubjson_decode(const char *buf, size_t len, const char *name, json_t **out,
                           ms_error *err)
{
    rd r = {(const unsigned char *)buf, len, 0, name, err};
    int m;
    json_t *v = NULL;
    *out = NULL;
    ms_status st = read_marker(&r, &m);
    if (st == MS_OK)
        st = value(&r, m, 0, &v);
    while (st == MS_OK && r.pos < len && r.p[r.pos] == 'N')
        r.pos++;
    if (st == MS_OK && r.pos != len) {
        json_decref(v);
        return bad(&r, "bytes after the document");
    }
    if (st != MS_OK)
        return st;
    *out = v;
    return MS_OK;
}
