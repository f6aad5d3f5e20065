/*
 * parquet_thrift.c — the Thrift compact protocol, as Parquet's footer and
 * page headers use it: a bounded decoder that never reads past its buffer
 * (ms_tr) and a small encoder (ms_tw). Field ids are delta-encoded against
 * the previous field of the same struct, so each struct level keeps its own
 * last id; nesting is capped at MS_TC_MAX_DEPTH.
 */
#include "parquet_internal.h"

#include <stdlib.h>
#include <string.h>

void ms_tr_init(ms_tr *r, const uint8_t *p, size_t n)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->start = p;
    r->end = p + n;
    r->depth = 0;
    r->last[0] = 0;
}

static void tr_fail(ms_tr *r, const char *why)
{
    if (!r->bad) {
        r->bad = why;
        r->bad_at = (size_t)(r->p - r->start);
    }
    r->p = r->end;
}

static uint64_t tr_varint(ms_tr *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            tr_fail(r, "truncated varint");
            return 0;
        }
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    tr_fail(r, "varint longer than 10 bytes");
    return 0;
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

void ms_tr_struct_begin(ms_tr *r)
{
    if (r->depth + 1 >= MS_TC_MAX_DEPTH) {
        tr_fail(r, "structures nested too deep");
        return;
    }
    r->last[++r->depth] = 0;
}

void ms_tr_struct_end(ms_tr *r)
{
    if (r->depth > 0)
        r->depth--;
}

int ms_tr_field(ms_tr *r, int *id)
{
    *id = 0;
    if (r->bad)
        return MS_TC_STOP;
    if (r->p >= r->end) {
        tr_fail(r, "truncated structure");
        return MS_TC_STOP;
    }
    uint8_t b = *r->p++;
    int type = b & 0x0f;
    if (type == MS_TC_STOP)
        return MS_TC_STOP;
    int delta = b >> 4;
    int fid;
    if (delta)
        fid = r->last[r->depth] + delta;
    else {
        int64_t v = unzigzag(tr_varint(r));
        if (v < INT16_MIN || v > INT16_MAX) {
            tr_fail(r, "field id out of range");
            return MS_TC_STOP;
        }
        fid = (int)v;
    }
    if (type > MS_TC_STRUCT) {
        tr_fail(r, "unknown field type");
        return MS_TC_STOP;
    }
    r->last[r->depth] = (int16_t)fid;
    *id = fid;
    return type;
}

int64_t ms_tr_i64(ms_tr *r, int type)
{
    switch (type) {
    case MS_TC_BYTE:
        if (r->p >= r->end) {
            tr_fail(r, "truncated byte");
            return 0;
        }
        return (int8_t)*r->p++;
    case MS_TC_I16:
    case MS_TC_I32:
    case MS_TC_I64:
        return unzigzag(tr_varint(r));
    default:
        tr_fail(r, "integer field of another type");
        return 0;
    }
}

int32_t ms_tr_i32(ms_tr *r, int type)
{
    int64_t v = ms_tr_i64(r, type);
    if (v < INT32_MIN || v > INT32_MAX) {
        tr_fail(r, "32-bit integer out of range");
        return 0;
    }
    return (int32_t)v;
}

int ms_tr_bool(ms_tr *r, int type)
{
    if (type == MS_TC_TRUE)
        return 1;
    if (type == MS_TC_FALSE)
        return 0;
    tr_fail(r, "boolean field of another type");
    return 0;
}

const uint8_t *ms_tr_binary(ms_tr *r, int type, size_t *len)
{
    *len = 0;
    if (type != MS_TC_BINARY) {
        tr_fail(r, "binary field of another type");
        return NULL;
    }
    uint64_t n = tr_varint(r);
    if (r->bad)
        return NULL;
    if (n > (uint64_t)(r->end - r->p)) {
        tr_fail(r, "binary length past the end");
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    *len = (size_t)n;
    return p;
}

size_t ms_tr_list(ms_tr *r, int type, int *elem)
{
    *elem = 0;
    if (type != MS_TC_LIST && type != MS_TC_SET) {
        tr_fail(r, "list field of another type");
        return 0;
    }
    if (r->p >= r->end) {
        tr_fail(r, "truncated list");
        return 0;
    }
    uint8_t b = *r->p++;
    uint64_t n = b >> 4;
    if (n == 15)
        n = tr_varint(r);
    *elem = b & 0x0f;
    if (*elem == MS_TC_STOP || *elem > MS_TC_STRUCT) {
        tr_fail(r, "unknown list element type");
        return 0;
    }
    /* every element takes at least one byte, so the bytes left bound n */
    if (n > (uint64_t)(r->end - r->p)) {
        tr_fail(r, "list longer than its bytes");
        return 0;
    }
    return (size_t)n;
}

static void tr_skip_elem(ms_tr *r, int type);

void ms_tr_skip(ms_tr *r, int type)
{
    if (r->bad)
        return;
    switch (type) {
    case MS_TC_TRUE:
    case MS_TC_FALSE:
        return;
    case MS_TC_BYTE:
    case MS_TC_I16:
    case MS_TC_I32:
    case MS_TC_I64:
        (void)ms_tr_i64(r, type);
        return;
    case MS_TC_DOUBLE:
        if (r->end - r->p < 8)
            tr_fail(r, "truncated double");
        else
            r->p += 8;
        return;
    case MS_TC_BINARY: {
        size_t n;
        (void)ms_tr_binary(r, type, &n);
        return;
    }
    case MS_TC_LIST:
    case MS_TC_SET: {
        int elem;
        size_t n = ms_tr_list(r, type, &elem);
        for (size_t i = 0; i < n && !r->bad; i++)
            tr_skip_elem(r, elem);
        return;
    }
    case MS_TC_MAP: {
        uint64_t n = tr_varint(r);
        if (n == 0 || r->bad)
            return;
        if (r->p >= r->end || n > (uint64_t)(r->end - r->p)) {
            tr_fail(r, "map longer than its bytes");
            return;
        }
        uint8_t kv = *r->p++;
        for (uint64_t i = 0; i < n && !r->bad; i++) {
            tr_skip_elem(r, kv >> 4);
            tr_skip_elem(r, kv & 0x0f);
        }
        return;
    }
    case MS_TC_STRUCT: {
        ms_tr_struct_begin(r);
        int id, t;
        while ((t = ms_tr_field(r, &id)) != MS_TC_STOP)
            ms_tr_skip(r, t);
        ms_tr_struct_end(r);
        return;
    }
    default:
        tr_fail(r, "unknown type");
    }
}

/* In lists and maps a bool is a whole byte. */
static void tr_skip_elem(ms_tr *r, int type)
{
    if (type == MS_TC_TRUE || type == MS_TC_FALSE) {
        if (r->p >= r->end)
            tr_fail(r, "truncated boolean");
        else
            r->p++;
        return;
    }
    if (type == MS_TC_STOP || type > MS_TC_STRUCT) {
        tr_fail(r, "unknown element type");
        return;
    }
    ms_tr_skip(r, type);
}

/* ---- encoder ---- */

void ms_tw_bytes(ms_tw *w, const void *p, size_t n)
{
    if (w->oom)
        return;
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->n + n)
            cap *= 2;
        uint8_t *b = realloc(w->b, cap);
        if (!b) {
            w->oom = 1;
            return;
        }
        w->b = b;
        w->cap = cap;
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

void ms_tw_varint(ms_tw *w, uint64_t v)
{
    uint8_t buf[10];
    int n = 0;
    while (v >= 0x80) {
        buf[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    buf[n++] = (uint8_t)v;
    ms_tw_bytes(w, buf, (size_t)n);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void ms_tw_struct_begin(ms_tw *w)
{
    if (w->depth + 1 < MS_TC_MAX_DEPTH)
        w->last[++w->depth] = 0;
}

void ms_tw_struct_end(ms_tw *w)
{
    uint8_t stop = 0;
    ms_tw_bytes(w, &stop, 1);
    if (w->depth > 0)
        w->depth--;
}

void ms_tw_field(ms_tw *w, int id, int type)
{
    int delta = id - w->last[w->depth];
    if (delta > 0 && delta <= 15) {
        uint8_t b = (uint8_t)(delta << 4 | type);
        ms_tw_bytes(w, &b, 1);
    } else {
        uint8_t b = (uint8_t)type;
        ms_tw_bytes(w, &b, 1);
        ms_tw_varint(w, zigzag(id));
    }
    w->last[w->depth] = (int16_t)id;
}

void ms_tw_i32(ms_tw *w, int id, int32_t v)
{
    ms_tw_field(w, id, MS_TC_I32);
    ms_tw_varint(w, zigzag(v));
}

void ms_tw_i64(ms_tw *w, int id, int64_t v)
{
    ms_tw_field(w, id, MS_TC_I64);
    ms_tw_varint(w, zigzag(v));
}

void ms_tw_bool(ms_tw *w, int id, int v)
{
    ms_tw_field(w, id, v ? MS_TC_TRUE : MS_TC_FALSE);
}

void ms_tw_binary(ms_tw *w, int id, const void *p, size_t n)
{
    ms_tw_field(w, id, MS_TC_BINARY);
    ms_tw_varint(w, n);
    ms_tw_bytes(w, p, n);
}

void ms_tw_list(ms_tw *w, int id, int elem, size_t n)
{
    ms_tw_field(w, id, MS_TC_LIST);
    if (n < 15) {
        uint8_t b = (uint8_t)(n << 4 | (size_t)elem);
        ms_tw_bytes(w, &b, 1);
    } else {
        uint8_t b = (uint8_t)(0xf0 | elem);
        ms_tw_bytes(w, &b, 1);
        ms_tw_varint(w, n);
    }
}

void ms_tw_free(ms_tw *w)
{
    free(w->b);
    memset(w, 0, sizeof *w);
}

/* ---- shared ---- */

int ms_pq_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c = c > SIZE_MAX / 2 ? need : c * 2;
    if (c > SIZE_MAX / elem)
        return 0;
    void *q = realloc(*p, c * elem);
    if (!q)
        return 0;
    *p = q;
    *cap = c;
    return 1;
}

static void parse_stats(ms_tr *r, ms_pq_page_hdr *h)
{
    h->has_stats = 1;
    ms_tr_struct_begin(r);
    int id, t;
    while ((t = ms_tr_field(r, &id)) != MS_TC_STOP) {
        if (id == 3)
            h->null_count = ms_tr_i64(r, t);
        else if (id == 5)
            h->max = ms_tr_binary(r, t, &h->max_n);
        else if (id == 6)
            h->min = ms_tr_binary(r, t, &h->min_n);
        else
            ms_tr_skip(r, t);
    }
    ms_tr_struct_end(r);
}

/* DataPageHeader (5), DictionaryPageHeader (7) or DataPageHeaderV2 (8). */
static void parse_sub_header(ms_tr *r, ms_pq_page_hdr *h, int which)
{
    ms_tr_struct_begin(r);
    int id, t;
    h->has_sub = 1;
    while ((t = ms_tr_field(r, &id)) != MS_TC_STOP) {
        if (id == 1)
            h->nvals = ms_tr_i32(r, t);
        else if (which != 8 && id == 2)
            h->enc = ms_tr_i32(r, t);
        else if (which == 5 && id == 3)
            h->def_enc = ms_tr_i32(r, t);
        else if (which == 5 && id == 5 && t == MS_TC_STRUCT)
            parse_stats(r, h);
        else if (which == 8 && id == 2)
            h->nulls = ms_tr_i32(r, t);
        else if (which == 8 && id == 3)
            h->nrows = ms_tr_i32(r, t);
        else if (which == 8 && id == 4)
            h->enc = ms_tr_i32(r, t);
        else if (which == 8 && id == 5)
            h->def_len = ms_tr_i32(r, t);
        else if (which == 8 && id == 6)
            h->rep_len = ms_tr_i32(r, t);
        else if (which == 8 && id == 7)
            h->is_compressed = ms_tr_bool(r, t);
        else if (which == 8 && id == 8 && t == MS_TC_STRUCT)
            parse_stats(r, h);
        else
            ms_tr_skip(r, t);
    }
    ms_tr_struct_end(r);
}

const char *ms_pq_parse_page_header(const uint8_t *p, size_t n, ms_pq_page_hdr *h, size_t *hlen)
{
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->uncomp = h->comp = -1;
    h->is_compressed = 1;
    h->def_enc = 3; /* RLE */
    ms_tr r;
    ms_tr_init(&r, p, n);
    ms_tr_struct_begin(&r);
    int id, t;
    while ((t = ms_tr_field(&r, &id)) != MS_TC_STOP) {
        if (id == 1)
            h->type = ms_tr_i32(&r, t);
        else if (id == 2)
            h->uncomp = ms_tr_i32(&r, t);
        else if (id == 3)
            h->comp = ms_tr_i32(&r, t);
        else if (id == 4) {
            h->crc = ms_tr_i32(&r, t);
            h->has_crc = 1;
        } else if ((id == 5 || id == 7 || id == 8) && t == MS_TC_STRUCT)
            parse_sub_header(&r, h, id);
        else
            ms_tr_skip(&r, t);
    }
    if (r.bad)
        return r.bad;
    if (h->uncomp < 0 || h->comp < 0 || h->nvals < 0)
        return "no or negative page sizes";
    *hlen = ms_tr_pos(&r, p);
    return NULL;
}
