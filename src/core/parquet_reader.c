/*
 * parquet_reader.c — open a Parquet file (footer, schema, row groups) and
 * read one column chunk, or a row range of it, into typed values.
 *
 * What it owns: the file handle, the validated metadata (every offset and
 * size checked against the file before use), and scratch buffers reused
 * from read to read. A read preads the column chunk's byte range once, walks
 * its page headers, skips pages before the range by their headers, and for
 * each page it needs: decompresses, decodes definition levels (only up to
 * the rows it needs), decodes values (skipping the ones before the range),
 * and converts them into the caller's kind. Allocations are bounded by the
 * file's size, a page's size limited by ms_pq_max_expansion(), or the rows
 * the caller asked for; never by a count the file states on its own.
 */
#include "mpiscore/parquet.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parquet_internal.h"

/* A read's strings (MS_PQ_AS_STR bytes, or DELTA_BYTE_ARRAY values) stop at
 * this many bytes: a caller reads row ranges, not gigabytes of text. */
#define PQ_MAX_STRING_BYTES ((size_t)1 << 30)
/* Bounds on DELTA_BINARY_PACKED headers (the format suggests 128 and 4). */
#define PQ_DBP_MAX_BLOCK (1u << 20)

enum { PG_DATA = 0, PG_INDEX = 1, PG_DICT = 2, PG_DATA_V2 = 3 };
enum {
    ENC_PLAIN = 0,
    ENC_PLAIN_DICT = 2,
    ENC_RLE = 3,
    ENC_BIT_PACKED = 4,
    ENC_DBP = 5,
    ENC_DLBA = 6,
    ENC_DBA = 7,
    ENC_RLE_DICT = 8,
    ENC_BSS = 9
};

typedef struct pq_chunk {
    int codec;
    int64_t num_values;
    int64_t start, size; /* byte range: dictionary page (if any) and data pages */
} pq_chunk;

typedef struct pq_rg {
    int64_t rows, first_row;
    pq_chunk *chunks;
} pq_rg;

typedef struct pq_str {
    const uint8_t *p;
    uint32_t n;
} pq_str;

struct ms_pq_file {
    char *path;
    int fd;
    uint64_t size;
    int64_t num_rows;
    size_t ncols;
    ms_pq_column *cols;
    char **names;
    size_t nrg;
    pq_rg *rgs;
    size_t nkv;
    char **kv_key, **kv_val;
    char *created_by;

    /* scratch, reused across reads */
    uint8_t *chunk;
    size_t chunk_cap;
    uint8_t *page;
    size_t page_cap;
    uint8_t *dict_raw; /* the decompressed dictionary page */
    size_t dict_raw_cap;
    pq_str *dict_str;
    size_t dict_str_cap;
    size_t dict_n;
    int dict_loaded;
    uint8_t *lev; /* definition levels of the rows taken from a page */
    size_t lev_cap;
    void *sc;      /* values taken from a page, by physical type */
    size_t sc_cap; /* bytes */
    pq_str *sc_str;
    size_t sc_str_cap;
    uint32_t *sc_idx;
    size_t sc_idx_cap;
    uint8_t *strbuf; /* DELTA_BYTE_ARRAY values */
    size_t strbuf_cap;
    uint8_t *prev;
    size_t prev_cap;
};

/* ---- small helpers ---- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static char *dupn(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static ms_status oom(ms_error *err, const char *path)
{
    return ms_error_set(err, MS_EIO, "%s: out of memory", path);
}

/* ---- footer ---- */

typedef struct schema_el {
    int type, type_length, repetition, num_children, converted, scale, precision;
    int has_type, has_children;
    const uint8_t *name;
    size_t name_len;
    int logical; /* LogicalType union field id, 0 = none */
    int int_bw, int_signed, dec_scale, dec_prec, unit;
} schema_el;

static void parse_unit(ms_tr *r, int *unit)
{
    ms_tr_struct_begin(r);
    int id, t;
    while ((t = ms_tr_field(r, &id)) != MS_TC_STOP) {
        if (t == MS_TC_STRUCT && id >= 1 && id <= 3)
            *unit = id - 1;
        ms_tr_skip(r, t);
    }
    ms_tr_struct_end(r);
}

static void parse_logical(ms_tr *r, schema_el *e)
{
    ms_tr_struct_begin(r);
    int id, t;
    while ((t = ms_tr_field(r, &id)) != MS_TC_STOP) {
        if (t != MS_TC_STRUCT) {
            ms_tr_skip(r, t);
            continue;
        }
        e->logical = id;
        ms_tr_struct_begin(r);
        int id2, t2;
        while ((t2 = ms_tr_field(r, &id2)) != MS_TC_STOP) {
            if (id == 5 && id2 == 1)
                e->dec_scale = ms_tr_i32(r, t2);
            else if (id == 5 && id2 == 2)
                e->dec_prec = ms_tr_i32(r, t2);
            else if ((id == 7 || id == 8) && id2 == 2 && t2 == MS_TC_STRUCT)
                parse_unit(r, &e->unit);
            else if (id == 10 && id2 == 1)
                e->int_bw = ms_tr_i32(r, t2);
            else if (id == 10 && id2 == 2)
                e->int_signed = ms_tr_bool(r, t2);
            else
                ms_tr_skip(r, t2);
        }
        ms_tr_struct_end(r);
    }
    ms_tr_struct_end(r);
}

static void parse_schema_el(ms_tr *r, schema_el *e)
{
    memset(e, 0, sizeof *e);
    e->converted = -1;
    e->unit = -1;
    ms_tr_struct_begin(r);
    int id, t;
    while ((t = ms_tr_field(r, &id)) != MS_TC_STOP) {
        switch (id) {
        case 1:
            e->type = ms_tr_i32(r, t);
            e->has_type = 1;
            break;
        case 2:
            e->type_length = ms_tr_i32(r, t);
            break;
        case 3:
            e->repetition = ms_tr_i32(r, t);
            break;
        case 4:
            e->name = ms_tr_binary(r, t, &e->name_len);
            break;
        case 5:
            e->num_children = ms_tr_i32(r, t);
            e->has_children = 1;
            break;
        case 6:
            e->converted = ms_tr_i32(r, t);
            break;
        case 7:
            e->scale = ms_tr_i32(r, t);
            break;
        case 8:
            e->precision = ms_tr_i32(r, t);
            break;
        case 10:
            if (t == MS_TC_STRUCT)
                parse_logical(r, e);
            else
                ms_tr_skip(r, t);
            break;
        default:
            ms_tr_skip(r, t);
        }
    }
    ms_tr_struct_end(r);
}

/* Map a schema element to what the reader exposes; returns NULL or why it
 * cannot be read. */
static const char *column_from_schema(const schema_el *e, ms_pq_column *c)
{
    memset(c, 0, sizeof *c);
    if (!e->has_type)
        return "nested columns are not supported";
    if (e->repetition == 2)
        return "repeated columns are not supported";
    if (e->repetition != 0 && e->repetition != 1)
        return "unknown repetition type";
    if (e->type < 0 || e->type > 7)
        return "unknown physical type";
    c->physical = (ms_pq_physical)e->type;
    c->nullable = e->repetition == 1;
    c->type_length = e->type_length;
    if (c->physical == MS_PQ_FIXED_LEN_BYTE_ARRAY &&
        (e->type_length <= 0 || e->type_length > (1 << 24)))
        return "FIXED_LEN_BYTE_ARRAY without a valid length";
    int unit = e->unit;
    switch (e->logical) {
    case 0:
        break;
    case 1:  /* STRING */
    case 4:  /* ENUM */
    case 12: /* JSON */
    case 14: /* UUID */
        c->logical = MS_PQ_LOG_STRING;
        break;
    case 5:
        c->logical = MS_PQ_LOG_DECIMAL;
        c->scale = e->dec_scale;
        c->precision = e->dec_prec;
        break;
    case 6:
        c->logical = MS_PQ_LOG_DATE;
        break;
    case 7:
        c->logical = MS_PQ_LOG_TIME;
        c->unit = unit < 0 ? MS_PQ_MILLIS : (ms_pq_unit)unit;
        break;
    case 8:
        c->logical = MS_PQ_LOG_TIMESTAMP;
        c->unit = unit < 0 ? MS_PQ_MILLIS : (ms_pq_unit)unit;
        break;
    case 10:
        c->logical = MS_PQ_LOG_INT;
        c->bit_width = e->int_bw;
        c->is_signed = e->int_signed;
        break;
    case 2:
    case 3:
        return "nested columns are not supported";
    default:
        break; /* UNKNOWN (always null), BSON, FLOAT16...: by physical type */
    }
    if (e->logical == 0) {
        switch (e->converted) {
        case 0:
        case 4:
        case 19:
            c->logical = MS_PQ_LOG_STRING;
            break;
        case 1:
        case 2:
        case 3:
            return "nested columns are not supported";
        case 5:
            c->logical = MS_PQ_LOG_DECIMAL;
            c->scale = e->scale;
            c->precision = e->precision;
            break;
        case 6:
            c->logical = MS_PQ_LOG_DATE;
            break;
        case 7:
        case 8:
            c->logical = MS_PQ_LOG_TIME;
            c->unit = e->converted == 7 ? MS_PQ_MILLIS : MS_PQ_MICROS;
            break;
        case 9:
        case 10:
            c->logical = MS_PQ_LOG_TIMESTAMP;
            c->unit = e->converted == 9 ? MS_PQ_MILLIS : MS_PQ_MICROS;
            break;
        case 11:
        case 12:
        case 13:
        case 14:
            c->logical = MS_PQ_LOG_INT;
            c->is_signed = 0;
            c->bit_width = 8 << (e->converted - 11);
            break;
        case 15:
        case 16:
        case 17:
        case 18:
            c->logical = MS_PQ_LOG_INT;
            c->is_signed = 1;
            c->bit_width = 8 << (e->converted - 15);
            break;
        default:
            break;
        }
    }
    if (c->logical == MS_PQ_LOG_INT) {
        if (c->physical != MS_PQ_INT32 && c->physical != MS_PQ_INT64)
            return "INT logical type on a non-integer column";
        if (c->bit_width != 8 && c->bit_width != 16 && c->bit_width != 32 && c->bit_width != 64)
            return "INT logical type with a bad bit width";
        if (c->bit_width == 64 && c->physical != MS_PQ_INT64)
            return "INT(64) stored in INT32";
    }
    if (c->logical == MS_PQ_LOG_DECIMAL) {
        if (c->precision <= 0 || c->precision > 38 || c->scale < 0 || c->scale > c->precision)
            return "DECIMAL with a bad precision or scale";
        if (c->physical != MS_PQ_INT32 && c->physical != MS_PQ_INT64 &&
            c->physical != MS_PQ_BYTE_ARRAY && c->physical != MS_PQ_FIXED_LEN_BYTE_ARRAY)
            return "DECIMAL on a non-integer column";
        if (c->physical == MS_PQ_FIXED_LEN_BYTE_ARRAY && c->type_length > 16)
            return "DECIMAL wider than 16 bytes";
    }
    if ((c->logical == MS_PQ_LOG_DATE) && c->physical != MS_PQ_INT32)
        return "DATE not stored in INT32";
    if ((c->logical == MS_PQ_LOG_TIMESTAMP) && c->physical != MS_PQ_INT64)
        return "TIMESTAMP not stored in INT64";
    if ((c->logical == MS_PQ_LOG_TIME) && c->physical != MS_PQ_INT32 && c->physical != MS_PQ_INT64)
        return "TIME not stored in an integer";
    if (c->logical == MS_PQ_LOG_STRING && c->physical != MS_PQ_BYTE_ARRAY &&
        c->physical != MS_PQ_FIXED_LEN_BYTE_ARRAY)
        return "STRING not stored in bytes";
    return NULL;
}

typedef struct chunk_meta {
    int has_meta, type, codec, crypto, has_path, path_n;
    int64_t num_values, total_comp, data_off, dict_off;
    const uint8_t *path0;
    size_t path0_len;
    const uint8_t *file_path;
} chunk_meta;

static void parse_col_meta(ms_tr *r, chunk_meta *m)
{
    ms_tr_struct_begin(r);
    int id, t, elem;
    m->has_meta = 1;
    m->dict_off = -1;
    m->codec = -1;
    m->type = -1;
    while ((t = ms_tr_field(r, &id)) != MS_TC_STOP) {
        switch (id) {
        case 1:
            m->type = ms_tr_i32(r, t);
            break;
        case 3: {
            size_t n = ms_tr_list(r, t, &elem);
            m->has_path = 1;
            m->path_n = (int)(n > 1000 ? 1000 : n);
            for (size_t i = 0; i < n && !r->bad; i++) {
                if (elem != MS_TC_BINARY) {
                    ms_tr_skip(r, elem);
                    continue;
                }
                size_t len;
                const uint8_t *p = ms_tr_binary(r, elem, &len);
                if (i == 0) {
                    m->path0 = p;
                    m->path0_len = len;
                }
            }
            break;
        }
        case 4:
            m->codec = ms_tr_i32(r, t);
            break;
        case 5:
            m->num_values = ms_tr_i64(r, t);
            break;
        case 7:
            m->total_comp = ms_tr_i64(r, t);
            break;
        case 9:
            m->data_off = ms_tr_i64(r, t);
            break;
        case 11:
            m->dict_off = ms_tr_i64(r, t);
            break;
        default:
            ms_tr_skip(r, t);
        }
    }
    ms_tr_struct_end(r);
}

static void parse_chunk(ms_tr *r, chunk_meta *m)
{
    memset(m, 0, sizeof *m);
    ms_tr_struct_begin(r);
    int id, t;
    while ((t = ms_tr_field(r, &id)) != MS_TC_STOP) {
        if (id == 1 && t == MS_TC_BINARY) {
            size_t n;
            m->file_path = ms_tr_binary(r, t, &n);
        } else if (id == 3 && t == MS_TC_STRUCT)
            parse_col_meta(r, m);
        else if (id == 8 || id == 9) {
            m->crypto = 1;
            ms_tr_skip(r, t);
        } else
            ms_tr_skip(r, t);
    }
    ms_tr_struct_end(r);
}

void ms_pq_close(ms_pq_file *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    for (size_t i = 0; f->names && i < f->ncols; i++)
        free(f->names[i]);
    for (size_t i = 0; i < f->nrg; i++)
        free(f->rgs[i].chunks);
    for (size_t i = 0; i < f->nkv; i++) {
        free(f->kv_key[i]);
        free(f->kv_val[i]);
    }
    free(f->kv_key);
    free(f->kv_val);
    free(f->created_by);
    free(f->names);
    free(f->cols);
    free(f->rgs);
    free(f->chunk);
    free(f->page);
    free(f->dict_raw);
    free(f->dict_str);
    free(f->lev);
    free(f->sc);
    free(f->sc_str);
    free(f->sc_idx);
    free(f->strbuf);
    free(f->prev);
    free(f->path);
    free(f);
}

static ms_status pread_all(ms_pq_file *f, void *buf, size_t n, uint64_t off, ms_error *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(f->fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return ms_error_set(err, MS_EIO, "%s: read failed: %s", f->path, strerror(errno));
        if (k == 0)
            return ms_error_set(err, MS_EINPUT,
                                "%s: file shorter than its metadata says (truncated?)", f->path);
        got += (size_t)k;
    }
    return MS_OK;
}

/* Row group g of the footer: its column chunks, each checked against the
 * schema and the file (the footer starts at footer_off). */
static ms_status parse_row_group(ms_pq_file *f, ms_tr *rp, size_t g, const schema_el *els,
                                 uint64_t footer_off, ms_error *err)
{
    ms_status st = MS_OK;
    const char *p = f->path;
    int elem;
    pq_rg *rg = &f->rgs[g];
    f->nrg = g + 1;
    rg->rows = -1;
    size_t nchunks = 0;
    ms_tr_struct_begin(rp);
    int id2, t2;
    while ((t2 = ms_tr_field(rp, &id2)) != MS_TC_STOP) {
        if (id2 == 1 && !rg->chunks) {
            nchunks = ms_tr_list(rp, t2, &elem);
            if (rp->bad || elem != MS_TC_STRUCT || nchunks != f->ncols) {
                if (!rp->bad && nchunks != f->ncols) {
                    st = ms_error_set(err, MS_EINPUT,
                                      "%s: row group %zu: %zu column chunks for %zu columns", p, g,
                                      nchunks, f->ncols);
                    goto done;
                }
                break;
            }
            rg->chunks = calloc(nchunks ? nchunks : 1, sizeof *rg->chunks);
            if (!rg->chunks) {
                st = oom(err, p);
                goto done;
            }
            for (size_t c = 0; c < nchunks && !rp->bad; c++) {
                chunk_meta m;
                parse_chunk(rp, &m);
                if (rp->bad)
                    break;
                const char *cn = (const char *)els[c + 1].name;
                int cl = (int)els[c + 1].name_len;
                if (m.crypto) {
                    st = ms_error_set(err, MS_EINPUT,
                                      "%s: row group %zu, column \"%.*s\": encrypted columns "
                                      "are not supported",
                                      p, g, cl, cn);
                    goto done;
                }
                if (m.file_path) {
                    st = ms_error_set(err, MS_EINPUT,
                                      "%s: row group %zu, column \"%.*s\": column chunk in "
                                      "another file is not supported",
                                      p, g, cl, cn);
                    goto done;
                }
                const char *why = NULL;
                if (!m.has_meta)
                    why = "no column metadata";
                else if (m.type != els[c + 1].type)
                    why = "physical type differs from the schema";
                else if (m.has_path && (m.path_n != 1 || m.path0_len != els[c + 1].name_len ||
                                        memcmp(m.path0, cn, m.path0_len)))
                    why = "path differs from the schema";
                else if (m.num_values < 0)
                    why = "negative value count";
                else if (m.total_comp <= 0 || (uint64_t)m.total_comp > footer_off)
                    why = "compressed size outside the file";
                int64_t start = m.data_off;
                if (!why && m.dict_off > 0 && m.dict_off < m.data_off)
                    start = m.dict_off;
                if (!why && (start < 4 || (uint64_t)start > footer_off ||
                             (uint64_t)m.total_comp > footer_off - (uint64_t)start))
                    why = "byte range outside the file";
                if (why) {
                    st = ms_error_set(err, MS_EINPUT,
                                      "%s: row group %zu, column \"%.*s\": corrupt column "
                                      "chunk metadata: %s",
                                      p, g, cl, cn, why);
                    goto done;
                }
                rg->chunks[c].codec = m.codec;
                rg->chunks[c].num_values = m.num_values;
                rg->chunks[c].start = start;
                rg->chunks[c].size = m.total_comp;
            }
        } else if (id2 == 3)
            rg->rows = ms_tr_i64(rp, t2);
        else
            ms_tr_skip(rp, t2);
    }
    ms_tr_struct_end(rp);
    if (rp->bad)
        return MS_OK; /* the caller reports the Thrift failure */
    if (!rg->chunks && f->ncols > 0) {
        st = ms_error_set(err, MS_EINPUT, "%s: row group %zu: no column chunks", p, g);
        goto done;
    }
    if (rg->rows < 0) {
        st = ms_error_set(err, MS_EINPUT, "%s: row group %zu: no or negative row count", p, g);
        goto done;
    }
done:
    return st;
}

static ms_status parse_footer(ms_pq_file *f, const uint8_t *b, size_t n, uint64_t footer_off,
                              ms_error *err)
{
    ms_status st = MS_OK;
    ms_tr r;
    ms_tr_init(&r, b, n);
    schema_el *els = NULL;
    size_t nels = 0;
    int have_rows = 0, have_schema = 0, have_rgs = 0;
    int id, t, elem;
    const char *p = f->path;

    ms_tr_struct_begin(&r);
    while ((t = ms_tr_field(&r, &id)) != MS_TC_STOP) {
        if (id == 2 && !have_schema) {
            nels = ms_tr_list(&r, t, &elem);
            if (r.bad || elem != MS_TC_STRUCT || nels == 0) {
                st = ms_error_set(err, MS_EINPUT, "%s: corrupt footer: bad schema list", p);
                goto done;
            }
            els = calloc(nels, sizeof *els);
            if (!els) {
                st = oom(err, p);
                goto done;
            }
            for (size_t i = 0; i < nels && !r.bad; i++)
                parse_schema_el(&r, &els[i]);
            have_schema = 1;
            /* flat, before anything is sized by the column count: a nested
             * column is refused by its name */
            for (size_t i = 1; i < nels && !r.bad; i++)
                if ((els[i].has_children && els[i].num_children > 0) || !els[i].has_type) {
                    st = ms_error_set(err, MS_EINPUT,
                                      "%s: column \"%.*s\": nested columns are not supported", p,
                                      (int)els[i].name_len, (const char *)els[i].name);
                    goto done;
                }
        } else if (id == 3) {
            f->num_rows = ms_tr_i64(&r, t);
            have_rows = 1;
        } else if (id == 4 && !have_rgs) {
            size_t nrg = ms_tr_list(&r, t, &elem);
            if (r.bad || (nrg && elem != MS_TC_STRUCT)) {
                st = ms_error_set(err, MS_EINPUT, "%s: corrupt footer: bad row group list", p);
                goto done;
            }
            if (!have_schema) {
                st = ms_error_set(err, MS_EINPUT,
                                  "%s: corrupt footer: row groups before the schema", p);
                goto done;
            }
            have_rgs = 1;
            /* the schema is known: columns first, then chunks per row group */
            f->ncols = nels - 1;
            f->rgs = calloc(nrg ? nrg : 1, sizeof *f->rgs);
            if (!f->rgs) {
                st = oom(err, p);
                goto done;
            }
            for (size_t g = 0; g < nrg && !r.bad; g++)
                MS_CHECK(parse_row_group(f, &r, g, els, footer_off, err));
        } else if (id == 5 && !f->kv_key) { /* a repeated field: the first counts */
            size_t nkv = ms_tr_list(&r, t, &elem);
            if (r.bad || (nkv && elem != MS_TC_STRUCT))
                break;
            f->kv_key = calloc(nkv ? nkv : 1, sizeof(char *));
            f->kv_val = calloc(nkv ? nkv : 1, sizeof(char *));
            if (!f->kv_key || !f->kv_val) {
                st = oom(err, p);
                goto done;
            }
            for (size_t i = 0; i < nkv && !r.bad; i++) {
                const uint8_t *k = NULL, *v = NULL;
                size_t kl = 0, vl = 0;
                ms_tr_struct_begin(&r);
                int id2, t2;
                while ((t2 = ms_tr_field(&r, &id2)) != MS_TC_STOP) {
                    if (id2 == 1)
                        k = ms_tr_binary(&r, t2, &kl);
                    else if (id2 == 2)
                        v = ms_tr_binary(&r, t2, &vl);
                    else
                        ms_tr_skip(&r, t2);
                }
                ms_tr_struct_end(&r);
                if (r.bad)
                    break;
                f->kv_key[f->nkv] = dupn(k ? k : (const uint8_t *)"", kl);
                f->kv_val[f->nkv] = v ? dupn(v, vl) : NULL;
                f->nkv++;
                if (!f->kv_key[f->nkv - 1] || (v && !f->kv_val[f->nkv - 1])) {
                    st = oom(err, p);
                    goto done;
                }
            }
        } else if (id == 6 && t == MS_TC_BINARY) {
            size_t l;
            const uint8_t *s = ms_tr_binary(&r, t, &l);
            if (s && !f->created_by)
                f->created_by = dupn(s, l);
        } else if (id == 8) {
            st = ms_error_set(err, MS_EINPUT, "%s: encrypted files are not supported", p);
            goto done;
        } else
            ms_tr_skip(&r, t);
    }
    if (r.bad) {
        st = ms_error_set(err, MS_EINPUT, "%s: corrupt footer (Thrift): %s at byte %zu of %zu", p,
                          r.bad, r.bad_at, n);
        goto done;
    }
    if (!have_schema || !have_rows || !have_rgs) {
        st = ms_error_set(err, MS_EINPUT, "%s: corrupt footer: no %s", p,
                          !have_schema ? "schema"
                          : !have_rows ? "row count"
                                       : "row groups");
        goto done;
    }
    /* flat: a root with every other element a leaf child of it */
    if ((size_t)els[0].num_children != nels - 1 || els[0].has_type) {
        for (size_t i = 1; i < nels; i++)
            if (els[i].has_children && els[i].num_children > 0) {
                st = ms_error_set(err, MS_EINPUT,
                                  "%s: column \"%.*s\": nested columns are not supported", p,
                                  (int)els[i].name_len, (const char *)els[i].name);
                goto done;
            }
        st = ms_error_set(err, MS_EINPUT,
                          "%s: corrupt footer: schema root has %d children, %zu leaves", p,
                          els[0].num_children, nels - 1);
        goto done;
    }
    f->cols = calloc(f->ncols ? f->ncols : 1, sizeof *f->cols);
    f->names = calloc(f->ncols ? f->ncols : 1, sizeof *f->names);
    if (!f->cols || !f->names) {
        st = oom(err, p);
        goto done;
    }
    for (size_t i = 0; i < f->ncols; i++) {
        const schema_el *e = &els[i + 1];
        if (e->has_children && e->num_children > 0) {
            st = ms_error_set(err, MS_EINPUT,
                              "%s: column \"%.*s\": nested columns are not supported", p,
                              (int)e->name_len, (const char *)e->name);
            goto done;
        }
        f->names[i] = dupn(e->name ? e->name : (const uint8_t *)"", e->name_len);
        if (!f->names[i]) {
            st = oom(err, p);
            goto done;
        }
        const char *why = column_from_schema(e, &f->cols[i]);
        if (why) {
            st = ms_error_set(err, MS_EINPUT, "%s: column \"%s\": %s", p, f->names[i], why);
            goto done;
        }
        f->cols[i].name = f->names[i];
    }
    int64_t total = 0;
    for (size_t g = 0; g < f->nrg; g++) {
        pq_rg *rg = &f->rgs[g];
        rg->first_row = total;
        if (rg->rows > INT64_MAX - total) {
            st = ms_error_set(err, MS_EINPUT, "%s: row group %zu: row counts overflow", p, g);
            goto done;
        }
        total += rg->rows;
        for (size_t c = 0; c < f->ncols; c++)
            if (rg->chunks[c].num_values != rg->rows) {
                st = ms_error_set(
                    err, MS_EINPUT, "%s: row group %zu, column \"%s\": %lld values for %lld rows",
                    p, g, f->names[c], (long long)rg->chunks[c].num_values, (long long)rg->rows);
                goto done;
            }
    }
    if (total != f->num_rows) {
        st = ms_error_set(err, MS_EINPUT, "%s: footer says %lld rows, its row groups hold %lld", p,
                          (long long)f->num_rows, (long long)total);
        goto done;
    }
done:
    free(els);
    return st;
}

ms_status ms_pq_open(const char *path, ms_pq_file **out, ms_error *err)
{
    ms_status st = MS_OK;
    uint8_t *footer = NULL;
    *out = NULL;
    ms_pq_file *f = calloc(1, sizeof *f);
    if (!f)
        return oom(err, path);
    f->fd = -1;
    f->path = strdup(path);
    if (!f->path) {
        st = oom(err, path);
        goto done;
    }
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        st = ms_error_set(err, MS_EINPUT, "%s: cannot open: %s", path, strerror(errno));
        goto done;
    }
    struct stat sb;
    if (fstat(f->fd, &sb) != 0) {
        st = ms_error_set(err, MS_EIO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    f->size = (uint64_t)sb.st_size;
    if (f->size < 12) {
        st = ms_error_set(err, MS_EINPUT, "%s: not a Parquet file (%llu bytes, too short)", path,
                          (unsigned long long)f->size);
        goto done;
    }
    uint8_t head[4], tail[8];
    MS_CHECK(pread_all(f, head, 4, 0, err));
    MS_CHECK(pread_all(f, tail, 8, f->size - 8, err));
    if (!memcmp(tail + 4, "PARE", 4)) {
        st = ms_error_set(err, MS_EINPUT, "%s: encrypted files are not supported", path);
        goto done;
    }
    if (memcmp(head, "PAR1", 4) || memcmp(tail + 4, "PAR1", 4)) {
        st = ms_error_set(err, MS_EINPUT, "%s: not a Parquet file (bad magic %s)", path,
                          memcmp(head, "PAR1", 4) ? "at the start" : "at the end: truncated?");
        goto done;
    }
    uint32_t flen = le32(tail);
    if (flen == 0 || (uint64_t)flen > f->size - 12) {
        st = ms_error_set(err, MS_EINPUT, "%s: footer length %u past the file (%llu bytes)", path,
                          flen, (unsigned long long)f->size);
        goto done;
    }
    footer = malloc(flen);
    if (!footer) {
        st = oom(err, path);
        goto done;
    }
    uint64_t foff = f->size - 8 - flen;
    MS_CHECK(pread_all(f, footer, flen, foff, err));
    MS_CHECK(parse_footer(f, footer, flen, foff, err));
    *out = f;
    f = NULL;
done:
    free(footer);
    ms_pq_close(f);
    return st;
}

const char *ms_pq_path(const ms_pq_file *f)
{
    return f->path;
}
int64_t ms_pq_num_rows(const ms_pq_file *f)
{
    return f->num_rows;
}
size_t ms_pq_num_columns(const ms_pq_file *f)
{
    return f->ncols;
}
const ms_pq_column *ms_pq_column_info(const ms_pq_file *f, size_t col)
{
    return col < f->ncols ? &f->cols[col] : NULL;
}
long ms_pq_find_column(const ms_pq_file *f, const char *name)
{
    for (size_t i = 0; i < f->ncols; i++)
        if (!strcmp(f->names[i], name))
            return (long)i;
    return -1;
}
size_t ms_pq_num_row_groups(const ms_pq_file *f)
{
    return f->nrg;
}
int64_t ms_pq_row_group_rows(const ms_pq_file *f, size_t rg)
{
    return rg < f->nrg ? f->rgs[rg].rows : 0;
}
int64_t ms_pq_row_group_first_row(const ms_pq_file *f, size_t rg)
{
    return rg < f->nrg ? f->rgs[rg].first_row : 0;
}
void ms_pq_chunk_range(const ms_pq_file *f, size_t rg, size_t col, uint64_t *offset,
                       uint64_t *length)
{
    *offset = *length = 0;
    if (rg < f->nrg && col < f->ncols) {
        *offset = (uint64_t)f->rgs[rg].chunks[col].start;
        *length = (uint64_t)f->rgs[rg].chunks[col].size;
    }
}
ms_pq_codec ms_pq_chunk_codec(const ms_pq_file *f, size_t rg, size_t col)
{
    return (ms_pq_codec)f->rgs[rg].chunks[col].codec;
}
size_t ms_pq_num_kv(const ms_pq_file *f)
{
    return f->nkv;
}
void ms_pq_kv(const ms_pq_file *f, size_t i, const char **key, const char **value)
{
    *key = i < f->nkv ? f->kv_key[i] : NULL;
    *value = i < f->nkv ? f->kv_val[i] : NULL;
}
const char *ms_pq_created_by(const ms_pq_file *f)
{
    return f->created_by;
}

void ms_pq_values_free(ms_pq_values *v)
{
    if (!v)
        return;
    free(v->valid);
    free(v->f32);
    free(v->f64);
    free(v->i64);
    free(v->offsets);
    free(v->bytes);
    free(v->codes);
    free(v->dict_offsets);
    free(v->dict_bytes);
    memset(v, 0, sizeof *v);
}

/* ---- reading column chunks ---- */

/* One read in progress: where errors are. */
typedef struct rd {
    ms_pq_file *f;
    size_t rg, col;
    const ms_pq_column *c;
    ms_error *err;
    uint64_t page_off; /* file offset of the page being read */
} rd;

static ms_status rd_fail(const rd *R, int64_t row, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ms_status rd_fail(const rd *R, int64_t row, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (row >= 0)
        return ms_error_set(R->err, MS_EINPUT, "%s: row group %zu, column \"%s\", row %lld: %s",
                            R->f->path, R->rg, R->c->name,
                            (long long)(R->f->rgs[R->rg].first_row + row + 1), msg);
    return ms_error_set(R->err, MS_EINPUT,
                        "%s: row group %zu, column \"%s\": page at byte %llu: %s", R->f->path,
                        R->rg, R->c->name, (unsigned long long)R->page_off, msg);
}

/* Bits [bitpos, bitpos + bw) of base[0..nbytes), little-endian (the host's:
 * x86 and arm64 alike), for a value known to lie inside the buffer. */
static inline uint64_t bits_at(const uint8_t *base, size_t nbytes, uint64_t bitpos, int bw)
{
    if (bw == 0)
        return 0;
    size_t byte = (size_t)(bitpos >> 3);
    int sh = (int)(bitpos & 7);
    uint64_t w = 0;
    size_t k = nbytes - byte;
    memcpy(&w, base + byte, k > 8 ? 8 : k);
    uint64_t v = w >> sh;
    if (sh + bw > 64)
        v |= (uint64_t)base[byte + 8] << (64 - sh);
    return bw == 64 ? v : v & ((UINT64_C(1) << bw) - 1);
}

static int read_uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return 0;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            *pp = p;
            return 1;
        }
    }
    return 0;
}

/* RLE / bit-packed hybrid (levels, dictionary indices, RLE booleans). */
typedef struct rle {
    const uint8_t *p, *end;
    int bw;
    uint64_t rle_left;
    uint32_t rle_val;
    const uint8_t *bp;
    size_t bp_bytes;
    uint64_t bp_left, bp_pos;
    int bad;
} rle;

static void rle_init(rle *d, const uint8_t *p, size_t n, int bw)
{
    memset(d, 0, sizeof *d);
    d->p = p;
    d->end = p + n;
    d->bw = bw;
}

static int rle_refill(rle *d)
{
    while (!d->rle_left && !d->bp_left) {
        uint64_t h;
        if (d->p >= d->end || !read_uvarint(&d->p, d->end, &h))
            return 0;
        if (h & 1) {
            uint64_t groups = h >> 1;
            if (groups > (uint64_t)(d->end - d->p) + 1) /* bw >= 1: each group is bw bytes */
                groups = (uint64_t)(d->end - d->p) + 1;
            size_t avail = (size_t)(d->end - d->p);
            size_t bytes = (size_t)groups * (size_t)d->bw;
            if (bytes > avail)
                bytes = avail; /* a short last run: read what is there */
            d->bp = d->p;
            d->bp_bytes = bytes;
            d->bp_pos = 0;
            d->bp_left = d->bw ? (uint64_t)bytes * 8 / (uint64_t)d->bw : groups * 8;
            if (d->bp_left > groups * 8)
                d->bp_left = groups * 8;
            d->p += bytes;
        } else {
            int nb = (d->bw + 7) / 8;
            if (d->end - d->p < nb) {
                d->bad = 1;
                return 0;
            }
            uint32_t v = 0;
            for (int i = 0; i < nb; i++)
                v |= (uint32_t)d->p[i] << (8 * i);
            d->p += nb;
            if (d->bw < 32 && v >> d->bw) {
                d->bad = 1;
                return 0;
            }
            d->rle_val = v;
            d->rle_left = h >> 1;
        }
    }
    return 1;
}

/* Up to n values into out (NULL: skip them); returns how many. */
static size_t rle_get(rle *d, uint32_t *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (!rle_refill(d))
            break;
        if (d->rle_left) {
            size_t k = n - got < d->rle_left ? n - got : (size_t)d->rle_left;
            if (out)
                for (size_t i = 0; i < k; i++)
                    out[got + i] = d->rle_val;
            got += k;
            d->rle_left -= k;
        } else {
            size_t k = n - got < d->bp_left ? n - got : (size_t)d->bp_left;
            if (out)
                for (size_t i = 0; i < k; i++)
                    out[got + i] = (uint32_t)bits_at(d->bp, d->bp_bytes,
                                                     (d->bp_pos + i) * (uint64_t)d->bw, d->bw);
            d->bp_pos += k;
            got += k;
            d->bp_left -= k;
        }
    }
    return got;
}

/* DELTA_BINARY_PACKED. */
typedef struct dbp {
    const uint8_t *p, *end;
    uint64_t block, nmini, per_mini, total, left;
    uint64_t last, min_delta;
    int first, is32, bw;
    const uint8_t *widths;
    uint64_t mini, in_mini;
    const uint8_t *mp;
    size_t mbytes;
    int started_block;
    const char *bad;
} dbp;

static int dbp_init(dbp *d, const uint8_t *p, const uint8_t *end, int is32)
{
    memset(d, 0, sizeof *d);
    d->end = end;
    d->is32 = is32;
    uint64_t first;
    if (!read_uvarint(&p, end, &d->block) || !read_uvarint(&p, end, &d->nmini) ||
        !read_uvarint(&p, end, &d->total) || !read_uvarint(&p, end, &first)) {
        d->bad = "truncated DELTA_BINARY_PACKED header";
        return 0;
    }
    if (d->block == 0 || d->block % 128 || d->block > PQ_DBP_MAX_BLOCK || d->nmini == 0 ||
        d->block % d->nmini || (d->block / d->nmini) % 32) {
        d->bad = "bad DELTA_BINARY_PACKED block sizes";
        return 0;
    }
    d->per_mini = d->block / d->nmini;
    d->p = p;
    d->left = d->total;
    d->first = 1;
    d->last = (uint64_t)((int64_t)(first >> 1) ^ -(int64_t)(first & 1));
    d->mini = d->nmini; /* no block yet */
    d->in_mini = d->per_mini;
    return 1;
}

/* Where the encoded values end, without decoding them. */
static const uint8_t *dbp_end(const dbp *d0)
{
    const uint8_t *q = d0->p, *end = d0->end;
    uint64_t remaining = d0->total ? d0->total - 1 : 0;
    while (remaining) {
        uint64_t md;
        if (!read_uvarint(&q, end, &md) || (uint64_t)(end - q) < d0->nmini)
            return NULL;
        const uint8_t *w = q;
        q += d0->nmini;
        for (uint64_t m = 0; m < d0->nmini && remaining; m++) {
            if (w[m] > 64)
                return NULL;
            uint64_t bytes = (uint64_t)w[m] * d0->per_mini / 8;
            if (bytes > (uint64_t)(end - q))
                return NULL;
            q += bytes;
            remaining -= remaining < d0->per_mini ? remaining : d0->per_mini;
        }
    }
    return q;
}

static int dbp_next(dbp *d, int64_t *v)
{
    if (d->bad || d->left == 0) {
        if (!d->bad)
            d->bad = "fewer DELTA_BINARY_PACKED values than needed";
        return 0;
    }
    d->left--;
    if (d->first) {
        d->first = 0;
        *v = d->is32 ? (int64_t)(int32_t)(uint32_t)d->last : (int64_t)d->last;
        return 1;
    }
    if (d->in_mini == d->per_mini) {
        if (++d->mini >= d->nmini) {
            uint64_t md;
            if (!read_uvarint(&d->p, d->end, &md) || (uint64_t)(d->end - d->p) < d->nmini) {
                d->bad = "truncated DELTA_BINARY_PACKED block";
                return 0;
            }
            d->min_delta = (uint64_t)((int64_t)(md >> 1) ^ -(int64_t)(md & 1));
            d->widths = d->p;
            d->p += d->nmini;
            d->mini = 0;
        }
        d->bw = d->widths[d->mini];
        if (d->bw > (d->is32 ? 32 : 64)) {
            d->bad = "DELTA_BINARY_PACKED bit width too large";
            return 0;
        }
        d->mbytes = (size_t)((uint64_t)d->bw * d->per_mini / 8);
        if (d->mbytes > (size_t)(d->end - d->p)) {
            d->bad = "truncated DELTA_BINARY_PACKED miniblock";
            return 0;
        }
        d->mp = d->p;
        d->p += d->mbytes;
        d->in_mini = 0;
    }
    uint64_t delta = bits_at(d->mp, d->mbytes, d->in_mini * (uint64_t)d->bw, d->bw);
    d->in_mini++;
    d->last = d->last + d->min_delta + delta;
    *v = d->is32 ? (int64_t)(int32_t)(uint32_t)d->last : (int64_t)d->last;
    return 1;
}

static size_t phys_width(const ms_pq_column *c)
{
    switch (c->physical) {
    case MS_PQ_INT32:
    case MS_PQ_FLOAT:
        return 4;
    case MS_PQ_INT64:
    case MS_PQ_DOUBLE:
        return 8;
    case MS_PQ_FIXED_LEN_BYTE_ARRAY:
        return (size_t)c->type_length;
    default:
        return 0;
    }
}

/* Decode the dictionary page (PLAIN values) into f->dict_*. */
static ms_status load_dict(const rd *R, const uint8_t *p, size_t n, int64_t nvals)
{
    ms_pq_file *f = R->f;
    const ms_pq_column *c = R->c;
    if (nvals < 0)
        return rd_fail(R, -1, "negative dictionary size");
    if (c->physical == MS_PQ_BOOLEAN)
        return rd_fail(R, -1, "dictionary page for a BOOLEAN column");
    if (!ms_pq_grow((void **)&f->dict_raw, &f->dict_raw_cap, n ? n : 1, 1))
        return oom(R->err, f->path);
    memcpy(f->dict_raw, p, n);
    size_t w = phys_width(c);
    if (c->physical == MS_PQ_BYTE_ARRAY) {
        if ((uint64_t)nvals > n / 4)
            return rd_fail(R, -1, "dictionary page holds fewer than %lld strings",
                           (long long)nvals);
        if (!ms_pq_grow((void **)&f->dict_str, &f->dict_str_cap, (size_t)nvals + 1, sizeof(pq_str)))
            return oom(R->err, f->path);
        size_t pos = 0;
        for (int64_t i = 0; i < nvals; i++) {
            if (n - pos < 4)
                return rd_fail(R, -1, "dictionary page truncated at entry %lld", (long long)i);
            uint32_t len = le32(f->dict_raw + pos);
            pos += 4;
            if (len > n - pos)
                return rd_fail(R, -1, "dictionary entry %lld longer than its page", (long long)i);
            f->dict_str[i].p = f->dict_raw + pos;
            f->dict_str[i].n = len;
            pos += len;
        }
    } else {
        if ((uint64_t)nvals > n / w)
            return rd_fail(R, -1, "dictionary page holds fewer than %lld values", (long long)nvals);
        if (c->physical == MS_PQ_FIXED_LEN_BYTE_ARRAY) {
            if (!ms_pq_grow((void **)&f->dict_str, &f->dict_str_cap, (size_t)nvals + 1,
                            sizeof(pq_str)))
                return oom(R->err, f->path);
            for (int64_t i = 0; i < nvals; i++) {
                f->dict_str[i].p = f->dict_raw + (size_t)i * w;
                f->dict_str[i].n = (uint32_t)w;
            }
        }
    }
    f->dict_n = (size_t)nvals;
    f->dict_loaded = 1;
    return MS_OK;
}

/* Row (within the row group) of the j-th value taken from a page. */
static int64_t row_of_value(const uint8_t *lev, size_t take, int64_t row0, size_t j)
{
    if (!lev)
        return row0 + (int64_t)j;
    for (size_t i = 0; i < take; i++)
        if (lev[i] && j-- == 0)
            return row0 + (int64_t)i;
    return row0;
}

/* Decode values vskip .. vskip+vtake of a page's value section into the
 * scratch arrays (f->sc by physical type, f->sc_str for bytes, f->sc_idx for
 * dictionary indices; *is_dict says which). */
static ms_status decode_values(const rd *R, int enc, const uint8_t *p, size_t n, size_t vskip,
                               size_t vtake, const uint8_t *lev, size_t take, int64_t row0,
                               int *is_dict)
{
    ms_pq_file *f = R->f;
    const ms_pq_column *c = R->c;
    const uint8_t *end = p + n;
    size_t w = phys_width(c);
    size_t need = vskip + vtake;
    int phys = c->physical;
    *is_dict = 0;
    size_t esz = phys == MS_PQ_BOOLEAN ? 1 : phys == MS_PQ_INT32 || phys == MS_PQ_FLOAT ? 4 : 8;
    if (phys == MS_PQ_BYTE_ARRAY || phys == MS_PQ_FIXED_LEN_BYTE_ARRAY) {
        if (!ms_pq_grow((void **)&f->sc_str, &f->sc_str_cap, vtake + 1, sizeof(pq_str)))
            return oom(R->err, f->path);
    } else if (!ms_pq_grow(&f->sc, &f->sc_cap, (vtake + 1) * esz, 1)) /* capacity in bytes */
        return oom(R->err, f->path);

    switch (enc) {
    case ENC_PLAIN:
        if (phys == MS_PQ_BOOLEAN) {
            if (need > n * 8)
                return rd_fail(R, -1, "page ends before its %zu values", need);
            uint8_t *o = f->sc;
            for (size_t i = 0; i < vtake; i++)
                o[i] = (p[(vskip + i) >> 3] >> ((vskip + i) & 7)) & 1;
        } else if (phys == MS_PQ_BYTE_ARRAY) {
            const uint8_t *q = p;
            for (size_t i = 0; i < need; i++) {
                if (end - q < 4)
                    return rd_fail(R, -1, "page ends before its %zu values", need);
                uint32_t len = le32(q);
                q += 4;
                if (len > (size_t)(end - q))
                    return rd_fail(R, row_of_value(lev, take, row0, i >= vskip ? i - vskip : 0),
                                   "string longer than its page");
                if (i >= vskip) {
                    f->sc_str[i - vskip].p = q;
                    f->sc_str[i - vskip].n = len;
                }
                q += len;
            }
        } else {
            if (need > n / w)
                return rd_fail(R, -1, "page ends before its %zu values", need);
            if (phys == MS_PQ_FIXED_LEN_BYTE_ARRAY)
                for (size_t i = 0; i < vtake; i++) {
                    f->sc_str[i].p = p + (vskip + i) * w;
                    f->sc_str[i].n = (uint32_t)w;
                }
            /* fixed-width numbers are read in place (read_data_page) */
        }
        return MS_OK;
    case ENC_PLAIN_DICT:
    case ENC_RLE_DICT: {
        if (!f->dict_loaded)
            return rd_fail(R, -1, "dictionary-encoded page without a dictionary page");
        if (n < 1)
            return rd_fail(R, -1, "empty dictionary-encoded page");
        int bw = p[0];
        if (bw > 32)
            return rd_fail(R, -1, "dictionary index bit width %d", bw);
        if (!ms_pq_grow((void **)&f->sc_idx, &f->sc_idx_cap, vtake + 1, sizeof(uint32_t)))
            return oom(R->err, f->path);
        rle d;
        rle_init(&d, p + 1, n - 1, bw);
        if (rle_get(&d, NULL, vskip) != vskip || rle_get(&d, f->sc_idx, vtake) != vtake)
            return rd_fail(R, -1, "page ends before its %zu values", need);
        for (size_t i = 0; i < vtake; i++)
            if (f->sc_idx[i] >= f->dict_n)
                return rd_fail(R, row_of_value(lev, take, row0, i),
                               "dictionary index %u out of range (dictionary has %zu entries)",
                               f->sc_idx[i], f->dict_n);
        *is_dict = 1;
        return MS_OK;
    }
    case ENC_RLE: {
        if (phys != MS_PQ_BOOLEAN)
            return rd_fail(R, -1, "RLE encoding for a non-BOOLEAN column");
        if (n < 4 || le32(p) > n - 4)
            return rd_fail(R, -1, "RLE boolean length past the page");
        rle d;
        rle_init(&d, p + 4, le32(p), 1);
        uint32_t tmp[256];
        /* every value up to vskip + vtake must be there, skipped or not */
        int whole = rle_get(&d, NULL, vskip) == vskip;
        uint8_t *o = f->sc;
        for (size_t i = 0; whole && i < vtake;) {
            size_t k = vtake - i < 256 ? vtake - i : 256;
            size_t g = rle_get(&d, tmp, k);
            for (size_t j = 0; j < g; j++)
                o[i + j] = (uint8_t)tmp[j];
            i += g;
            whole = g == k;
        }
        if (!whole)
            return rd_fail(R, -1, "page ends before its %zu values", need);
        return MS_OK;
    }
    case ENC_DBP: {
        if (phys != MS_PQ_INT32 && phys != MS_PQ_INT64)
            return rd_fail(R, -1, "DELTA_BINARY_PACKED for a non-integer column");
        dbp d;
        if (!dbp_init(&d, p, end, phys == MS_PQ_INT32))
            return rd_fail(R, -1, "%s", d.bad);
        int64_t v;
        for (size_t i = 0; i < need; i++) {
            if (!dbp_next(&d, &v))
                return rd_fail(R, -1, "%s", d.bad);
            if (i < vskip)
                continue;
            if (phys == MS_PQ_INT32)
                ((int32_t *)f->sc)[i - vskip] = (int32_t)v;
            else
                ((int64_t *)f->sc)[i - vskip] = v;
        }
        return MS_OK;
    }
    case ENC_DLBA: {
        if (phys != MS_PQ_BYTE_ARRAY)
            return rd_fail(R, -1, "DELTA_LENGTH_BYTE_ARRAY for a non-BYTE_ARRAY column");
        dbp d;
        if (!dbp_init(&d, p, end, 1))
            return rd_fail(R, -1, "%s", d.bad);
        const uint8_t *q = dbp_end(&d);
        if (!q)
            return rd_fail(R, -1, "corrupt DELTA_LENGTH_BYTE_ARRAY lengths");
        int64_t len;
        for (size_t i = 0; i < need; i++) {
            if (!dbp_next(&d, &len))
                return rd_fail(R, -1, "%s", d.bad);
            if (len < 0 || (uint64_t)len > (uint64_t)(end - q))
                return rd_fail(R, row_of_value(lev, take, row0, i >= vskip ? i - vskip : 0),
                               "string length %lld past the page", (long long)len);
            if (i >= vskip) {
                f->sc_str[i - vskip].p = q;
                f->sc_str[i - vskip].n = (uint32_t)len;
            }
            q += len;
        }
        return MS_OK;
    }
    case ENC_DBA: {
        if (phys != MS_PQ_BYTE_ARRAY && phys != MS_PQ_FIXED_LEN_BYTE_ARRAY)
            return rd_fail(R, -1, "DELTA_BYTE_ARRAY for a non-bytes column");
        dbp pre, suf;
        if (!dbp_init(&pre, p, end, 1))
            return rd_fail(R, -1, "%s", pre.bad);
        const uint8_t *q = dbp_end(&pre);
        if (!q || !dbp_init(&suf, q, end, 1))
            return rd_fail(R, -1, "corrupt DELTA_BYTE_ARRAY prefix lengths");
        q = dbp_end(&suf);
        if (!q)
            return rd_fail(R, -1, "corrupt DELTA_BYTE_ARRAY suffix lengths");
        /* a value is at most every suffix byte of the page */
        if (!ms_pq_grow((void **)&f->prev, &f->prev_cap, n + 1, 1))
            return oom(R->err, f->path);
        size_t prev_n = 0, out_n = 0;
        uint64_t *offs = NULL;
        size_t offs_cap = 0;
        ms_status st = MS_OK;
        if (!ms_pq_grow((void **)&offs, &offs_cap, vtake + 1, sizeof *offs))
            return oom(R->err, f->path);
        for (size_t i = 0; i < need; i++) {
            int64_t pl, sl;
            if (!dbp_next(&pre, &pl) || !dbp_next(&suf, &sl)) {
                st = rd_fail(R, -1, "%s", pre.bad ? pre.bad : suf.bad);
                goto dba_done;
            }
            int64_t row = row_of_value(lev, take, row0, i >= vskip ? i - vskip : 0);
            if (pl < 0 || (uint64_t)pl > prev_n || sl < 0 || (uint64_t)sl > (uint64_t)(end - q)) {
                st = rd_fail(R, row, "DELTA_BYTE_ARRAY prefix or suffix length out of range");
                goto dba_done;
            }
            /* prev = prev[0..pl) + suffix: the prefix stays in place */
            memcpy(f->prev + pl, q, (size_t)sl);
            prev_n = (size_t)(pl + sl);
            q += sl;
            if (phys == MS_PQ_FIXED_LEN_BYTE_ARRAY && prev_n != w) {
                st = rd_fail(R, row, "DELTA_BYTE_ARRAY value of %zu bytes in a %zu-byte column",
                             prev_n, w);
                goto dba_done;
            }
            if (i < vskip)
                continue;
            if (out_n + prev_n > PQ_MAX_STRING_BYTES) {
                st = rd_fail(R, row, "strings of one read exceed %zu bytes", PQ_MAX_STRING_BYTES);
                goto dba_done;
            }
            if (!ms_pq_grow((void **)&f->strbuf, &f->strbuf_cap, out_n + prev_n + 1, 1)) {
                st = oom(R->err, f->path);
                goto dba_done;
            }
            memcpy(f->strbuf + out_n, f->prev, prev_n);
            offs[i - vskip] = out_n;
            f->sc_str[i - vskip].n = (uint32_t)prev_n;
            out_n += prev_n;
        }
        for (size_t i = 0; i < vtake; i++)
            f->sc_str[i].p = f->strbuf + offs[i];
    dba_done:
        free(offs);
        return st;
    }
    case ENC_BSS: {
        if (w == 0)
            return rd_fail(R, -1, "BYTE_STREAM_SPLIT for a variable-width column");
        if (n % w)
            return rd_fail(R, -1, "BYTE_STREAM_SPLIT page of %zu bytes for %zu-byte values", n, w);
        size_t total = n / w;
        if (need > total)
            return rd_fail(R, -1, "page ends before its %zu values", need);
        uint8_t *o;
        if (phys == MS_PQ_FIXED_LEN_BYTE_ARRAY) {
            if (!ms_pq_grow((void **)&f->strbuf, &f->strbuf_cap, vtake * w + 1, 1))
                return oom(R->err, f->path);
            o = f->strbuf;
        } else
            o = f->sc;
        for (size_t i = 0; i < vtake; i++)
            for (size_t k = 0; k < w; k++)
                o[i * w + k] = p[k * total + vskip + i];
        if (phys == MS_PQ_FIXED_LEN_BYTE_ARRAY)
            for (size_t i = 0; i < vtake; i++) {
                f->sc_str[i].p = f->strbuf + i * w;
                f->sc_str[i].n = (uint32_t)w;
            }
        return MS_OK;
    }
    case ENC_BIT_PACKED:
        return rd_fail(R, -1, "BIT_PACKED values are not supported");
    default:
        return rd_fail(R, -1, "unknown encoding %d", enc);
    }
}

/* ---- converting values into the caller's kind ---- */

static const double pow10_tab[39] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,
                                     1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
                                     1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29,
                                     1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38};

/* A big-endian two's-complement unscaled decimal of up to 16 bytes. */
static int dec_bytes(const uint8_t *p, uint32_t n, __int128 *v)
{
    if (n > 16)
        return 0;
    unsigned __int128 u = 0;
    for (uint32_t i = 0; i < n; i++)
        u = u << 8 | p[i];
    if (n > 0 && n < 16 && (p[0] & 0x80))
        u |= ~(unsigned __int128)0 << (8 * n);
    *v = (__int128)u;
    return 1;
}

/* As DuckDB converts a hugeint to double: the two 64-bit halves. */
static double i128_to_double(__int128 v)
{
    int neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    double d = (double)(uint64_t)(u >> 64) * 18446744073709551616.0 + (double)(uint64_t)u;
    return neg ? -d : d;
}

static __int128 ipow10(int s)
{
    __int128 p = 1;
    while (s-- > 0)
        p *= 10;
    return p;
}

/* A decimal as DuckDB casts it (the oracle): integer and fraction parts
 * converted apart, then added, in the target type. */
static double dec_f64(__int128 v, int scale)
{
    __int128 p = ipow10(scale);
    return i128_to_double(v / p) + i128_to_double(v % p) / pow10_tab[scale];
}

static float dec_f32(__int128 v, int scale)
{
    __int128 p = ipow10(scale);
    return (float)i128_to_double(v / p) + (float)i128_to_double(v % p) / (float)pow10_tab[scale];
}

typedef struct conv {
    int phys, logical, is_signed, scale;
} conv;

/* Value k of the page as a double (and whether it is representable). */
static inline double val_f64(const conv *cv, const uint8_t *vals, const pq_str *ss, size_t k,
                             int *bad)
{
    switch (cv->phys) {
    case MS_PQ_BOOLEAN:
        return vals[k];
    case MS_PQ_INT32: {
        int32_t x;
        memcpy(&x, vals + 4 * k, 4);
        if (cv->logical == MS_PQ_LOG_DECIMAL)
            return dec_f64(x, cv->scale);
        return cv->logical == MS_PQ_LOG_INT && !cv->is_signed ? (double)(uint32_t)x : (double)x;
    }
    case MS_PQ_INT64: {
        int64_t x;
        memcpy(&x, vals + 8 * k, 8);
        if (cv->logical == MS_PQ_LOG_DECIMAL)
            return dec_f64(x, cv->scale);
        return cv->logical == MS_PQ_LOG_INT && !cv->is_signed ? (double)(uint64_t)x : (double)x;
    }
    case MS_PQ_FLOAT: {
        float x;
        memcpy(&x, vals + 4 * k, 4);
        return x;
    }
    case MS_PQ_DOUBLE: {
        double x;
        memcpy(&x, vals + 8 * k, 8);
        return x;
    }
    default: { /* decimal bytes */
        __int128 v;
        if (!dec_bytes(ss[k].p, ss[k].n, &v)) {
            *bad = 1;
            return 0;
        }
        return dec_f64(v, cv->scale);
    }
    }
}

static inline float val_f32(const conv *cv, const uint8_t *vals, const pq_str *ss, size_t k,
                            int *bad)
{
    switch (cv->phys) {
    case MS_PQ_FLOAT: {
        float x;
        memcpy(&x, vals + 4 * k, 4);
        return x;
    }
    case MS_PQ_INT32: {
        int32_t x;
        memcpy(&x, vals + 4 * k, 4);
        if (cv->logical == MS_PQ_LOG_DECIMAL)
            return dec_f32(x, cv->scale);
        return cv->logical == MS_PQ_LOG_INT && !cv->is_signed ? (float)(uint32_t)x : (float)x;
    } break;
    case MS_PQ_INT64: {
        int64_t x;
        memcpy(&x, vals + 8 * k, 8);
        if (cv->logical == MS_PQ_LOG_DECIMAL)
            return dec_f32(x, cv->scale);
        return cv->logical == MS_PQ_LOG_INT && !cv->is_signed ? (float)(uint64_t)x : (float)x;
    } break;
    case MS_PQ_BYTE_ARRAY:
    case MS_PQ_FIXED_LEN_BYTE_ARRAY: {
        /* as DuckDB casts a wide DECIMAL to FLOAT: in float, after the integer */
        __int128 v;
        if (!dec_bytes(ss[k].p, ss[k].n, &v)) {
            *bad = 1;
            return 0;
        }
        return dec_f32(v, cv->scale);
    }
    default:
        break;
    }
    return (float)val_f64(cv, vals, ss, k, bad);
}

static ms_status emit(const rd *R, ms_pq_as as, ms_pq_values *out, size_t dst, size_t take,
                      const uint8_t *lev, const uint8_t *vals, const pq_str *ss, int is_dict,
                      int64_t row0)
{
    ms_pq_file *f = R->f;
    conv cv = {R->c->physical, R->c->logical, R->c->is_signed, R->c->scale};
    size_t k = 0;
    int bad = 0;
    uint8_t *valid = out->valid + dst;
    if (lev) {
        for (size_t i = 0; i < take; i++)
            valid[i] = lev[i];
        for (size_t i = 0; i < take; i++)
            out->n_null += !lev[i];
    } else
        memset(valid, 1, take);
    switch (as) {
    case MS_PQ_AS_F32: {
        float *o = out->f32 + dst;
        if (!lev && cv.phys == MS_PQ_FLOAT) {
            memcpy(o, vals, take * 4);
            break;
        }
        for (size_t i = 0; i < take; i++)
            o[i] = valid[i] ? val_f32(&cv, vals, ss, k++, &bad) : NAN;
        break;
    }
    case MS_PQ_AS_F64: {
        double *o = out->f64 + dst;
        if (!lev && cv.phys == MS_PQ_DOUBLE) {
            memcpy(o, vals, take * 8);
            break;
        }
        for (size_t i = 0; i < take; i++)
            o[i] = valid[i] ? val_f64(&cv, vals, ss, k++, &bad) : NAN;
        break;
    }
    case MS_PQ_AS_I64: {
        int64_t *o = out->i64 + dst;
        for (size_t i = 0; i < take; i++) {
            if (!valid[i]) {
                o[i] = 0;
                continue;
            }
            int64_t x = 0;
            if (cv.phys == MS_PQ_BOOLEAN)
                x = vals[k];
            else if (cv.phys == MS_PQ_INT32) {
                int32_t y;
                memcpy(&y, vals + 4 * k, 4);
                x = cv.logical == MS_PQ_LOG_INT && !cv.is_signed ? (int64_t)(uint32_t)y : y;
            } else {
                memcpy(&x, vals + 8 * k, 8);
                if (cv.logical == MS_PQ_LOG_INT && !cv.is_signed && x < 0)
                    return rd_fail(R, row0 + (int64_t)i, "UINT64 value %llu does not fit in int64",
                                   (unsigned long long)(uint64_t)x);
            }
            o[i] = x;
            k++;
        }
        break;
    }
    case MS_PQ_AS_STR: {
        uint64_t base = out->offsets[dst];
        size_t need = 0;
        for (size_t j = 0; j < take; j++)
            need += valid[j];
        size_t total = 0;
        for (size_t j = 0; j < need; j++)
            total += ss[j].n;
        if (base + total > PQ_MAX_STRING_BYTES)
            return rd_fail(R, row0, "strings of one read exceed %zu bytes", PQ_MAX_STRING_BYTES);
        if (!ms_pq_grow((void **)&out->bytes, &out->cap_bytes, base + total + 1, 1))
            return oom(R->err, f->path);
        uint64_t o = base;
        for (size_t i = 0; i < take; i++) {
            if (valid[i]) {
                memcpy(out->bytes + o, ss[k].p, ss[k].n);
                o += ss[k].n;
                k++;
            }
            out->offsets[dst + i + 1] = o;
        }
        break;
    }
    case MS_PQ_AS_DICT: {
        int32_t *o = out->codes + dst;
        if (is_dict) {
            for (size_t i = 0; i < take; i++)
                o[i] = valid[i] ? (int32_t)f->sc_idx[k++] : -1;
            break;
        }
        /* a page without the dictionary: its values become further entries */
        size_t need = 0, total = 0;
        for (size_t j = 0; j < take; j++)
            need += valid[j];
        for (size_t j = 0; j < need; j++)
            total += ss[j].n;
        uint64_t base = out->dict_offsets[out->dict_n];
        if (out->dict_n + need > INT32_MAX || base + total > PQ_MAX_STRING_BYTES)
            return rd_fail(R, row0, "strings of one read exceed %zu bytes", PQ_MAX_STRING_BYTES);
        if (!ms_pq_grow((void **)&out->dict_offsets, &out->cap_dict, out->dict_n + need + 1,
                        sizeof(uint64_t)) ||
            !ms_pq_grow((void **)&out->dict_bytes, &out->cap_dict_bytes, base + total + 1, 1))
            return oom(R->err, f->path);
        for (size_t i = 0; i < take; i++) {
            if (!valid[i]) {
                o[i] = -1;
                continue;
            }
            memcpy(out->dict_bytes + base, ss[k].p, ss[k].n);
            base += ss[k].n;
            k++;
            o[i] = (int32_t)out->dict_n;
            out->dict_offsets[++out->dict_n] = base;
        }
        break;
    }
    }
    if (bad)
        return rd_fail(R, row0, "DECIMAL value wider than 16 bytes");
    return MS_OK;
}

/* ---- pages ---- */

/* The values a data page holds for rows [skip, skip + take) of the page. */
static ms_status read_data_page(const rd *R, const ms_pq_page_hdr *h, const uint8_t *data,
                                int codec, int64_t row0, size_t skip, size_t take, ms_pq_as as,
                                ms_pq_values *out, size_t dst)
{
    ms_pq_file *f = R->f;
    const int nullable = R->c->nullable;
    const uint8_t *vp, *lp = NULL;
    size_t vn, ln = 0;
    const char *why;
    if (h->type == PG_DATA) {
        const uint8_t *pg = data;
        size_t n = (size_t)h->uncomp;
        if (codec != MS_PQ_UNCOMPRESSED) {
            if (n > ms_pq_max_expansion((ms_pq_codec)codec, (size_t)h->comp))
                return rd_fail(R, -1, "page claims %d bytes from %d compressed", h->uncomp,
                               h->comp);
            if (!ms_pq_grow((void **)&f->page, &f->page_cap, n + 1, 1))
                return oom(R->err, f->path);
            if (!ms_pq_decompress((ms_pq_codec)codec, data, (size_t)h->comp, f->page, n, &why))
                return rd_fail(R, -1, "%s", why);
            pg = f->page;
        } else if (h->uncomp != h->comp)
            return rd_fail(R, -1, "uncompressed page of %d bytes says %d", h->comp, h->uncomp);
        vp = pg;
        vn = n;
        if (nullable) {
            if (h->def_enc != ENC_RLE)
                return rd_fail(R, -1, "definition levels encoded %d (only RLE is supported)",
                               h->def_enc);
            if (n < 4 || le32(pg) > n - 4)
                return rd_fail(R, -1, "definition levels past the page");
            lp = pg + 4;
            ln = le32(pg);
            vp = lp + ln;
            vn = n - 4 - ln;
        }
    } else {
        if (h->def_len < 0 || h->rep_len < 0 || (int64_t)h->def_len + h->rep_len > h->comp ||
            (int64_t)h->def_len + h->rep_len > h->uncomp)
            return rd_fail(R, -1, "level lengths past the page");
        if (h->nvals != h->nrows)
            return rd_fail(R, -1, "%d values in %d rows in a flat column", h->nvals, h->nrows);
        lp = data + h->rep_len;
        ln = (size_t)h->def_len;
        size_t cn = (size_t)h->comp - (size_t)h->def_len - (size_t)h->rep_len;
        size_t un = (size_t)h->uncomp - (size_t)h->def_len - (size_t)h->rep_len;
        vp = lp + ln;
        vn = cn;
        if (h->is_compressed && codec != MS_PQ_UNCOMPRESSED) {
            if (un > ms_pq_max_expansion((ms_pq_codec)codec, cn))
                return rd_fail(R, -1, "page claims %zu bytes from %zu compressed", un, cn);
            if (!ms_pq_grow((void **)&f->page, &f->page_cap, un + 1, 1))
                return oom(R->err, f->path);
            if (!ms_pq_decompress((ms_pq_codec)codec, vp, cn, f->page, un, &why))
                return rd_fail(R, -1, "%s", why);
            vp = f->page;
            vn = un;
        } else if (cn != un)
            return rd_fail(R, -1, "uncompressed page of %zu bytes says %zu", cn, un);
        if (!nullable)
            lp = NULL;
    }
    size_t vskip = skip, vtake = take;
    const uint8_t *lev = NULL;
    if (nullable) {
        rle d;
        rle_init(&d, lp, ln, 1);
        uint32_t tmp[512];
        vskip = 0;
        for (size_t done = 0; done < skip;) {
            size_t k = skip - done < 512 ? skip - done : 512;
            if (rle_get(&d, tmp, k) != k)
                return rd_fail(R, -1, "fewer definition levels than the page's %d values",
                               h->nvals);
            for (size_t i = 0; i < k; i++) {
                if (tmp[i] > 1)
                    return rd_fail(R, row0 + (int64_t)(done + i),
                                   "definition level %u in a flat column", tmp[i]);
                vskip += tmp[i];
            }
            done += k;
        }
        if (!ms_pq_grow((void **)&f->lev, &f->lev_cap, take + 1, 1))
            return oom(R->err, f->path);
        vtake = 0;
        for (size_t done = 0; done < take;) {
            size_t k = take - done < 512 ? take - done : 512;
            if (rle_get(&d, tmp, k) != k)
                return rd_fail(R, -1, "fewer definition levels than the page's %d values",
                               h->nvals);
            for (size_t i = 0; i < k; i++) {
                if (tmp[i] > 1)
                    return rd_fail(R, row0 + (int64_t)(skip + done + i),
                                   "definition level %u in a flat column", tmp[i]);
                f->lev[done + i] = (uint8_t)tmp[i];
                vtake += tmp[i];
            }
            done += k;
        }
        lev = f->lev;
    }
    int is_dict = 0;
    ms_status st =
        decode_values(R, h->enc, vp, vn, vskip, vtake, lev, take, row0 + (int64_t)skip, &is_dict);
    if (st != MS_OK)
        return st;
    const uint8_t *vals = f->sc;
    const pq_str *ss = f->sc_str;
    int phys = R->c->physical;
    int bytes_col = phys == MS_PQ_BYTE_ARRAY || phys == MS_PQ_FIXED_LEN_BYTE_ARRAY;
    if (h->enc == ENC_PLAIN && !bytes_col && phys != MS_PQ_BOOLEAN)
        vals = vp + vskip * phys_width(R->c); /* read in place: no copy */
    if (is_dict && !(as == MS_PQ_AS_DICT)) {
        /* resolve indices against the dictionary */
        if (bytes_col)
            for (size_t i = 0; i < vtake; i++)
                f->sc_str[i] = f->dict_str[f->sc_idx[i]];
        else {
            size_t w = phys_width(R->c);
            for (size_t i = 0; i < vtake; i++)
                memcpy((uint8_t *)f->sc + i * w, f->dict_raw + (size_t)f->sc_idx[i] * w, w);
            vals = f->sc;
        }
        is_dict = 0;
    }
    return emit(R, as, out, dst, take, lev, vals, ss, is_dict, row0 + (int64_t)skip);
}

static const char *as_name(ms_pq_as as)
{
    switch (as) {
    case MS_PQ_AS_F32:
        return "float";
    case MS_PQ_AS_F64:
        return "double";
    case MS_PQ_AS_I64:
        return "int64";
    case MS_PQ_AS_STR:
        return "strings";
    default:
        return "dictionary strings";
    }
}

/* Whether column col of row group rg can be read as `as` (codec, type). */
static ms_status check_kind(const ms_pq_file *f, size_t rgi, size_t col, ms_pq_as as, ms_error *err)
{
    const ms_pq_column *c = &f->cols[col];
    const pq_chunk *ch = &f->rgs[rgi].chunks[col];
    int bytes_col = c->physical == MS_PQ_BYTE_ARRAY || c->physical == MS_PQ_FIXED_LEN_BYTE_ARRAY;
    int dec_bytes_col = bytes_col && c->logical == MS_PQ_LOG_DECIMAL;
    const char *refuse = NULL;
    if (c->physical == MS_PQ_INT96)
        refuse = "INT96 columns are not supported";
    else if (!ms_pq_codec_supported(ch->codec))
        refuse = "unsupported compression codec";
    else if ((as == MS_PQ_AS_STR || as == MS_PQ_AS_DICT) && (!bytes_col || dec_bytes_col))
        refuse = "not a string column";
    else if ((as == MS_PQ_AS_F32 || as == MS_PQ_AS_F64) && bytes_col && !dec_bytes_col)
        refuse = "a string column, not a number";
    else if (as == MS_PQ_AS_I64 &&
             (bytes_col || c->physical == MS_PQ_FLOAT || c->physical == MS_PQ_DOUBLE ||
              (c->logical == MS_PQ_LOG_DECIMAL && c->scale != 0)))
        refuse = "no exact int64 for this type";
    if (refuse) {
        if (!ms_pq_codec_supported(ch->codec))
            return ms_error_set(
                err, MS_EINPUT,
                "%s: row group %zu, column \"%s\": unsupported compression codec %s (%d)", f->path,
                rgi, c->name, ms_pq_codec_name((ms_pq_codec)ch->codec), ch->codec);
        return ms_error_set(err, MS_EINPUT,
                            "%s: row group %zu, column \"%s\": cannot read as %s: %s", f->path, rgi,
                            c->name, as_name(as), refuse);
    }
    return MS_OK;
}

ms_status ms_pq_check_column(const ms_pq_file *f, size_t col, ms_pq_as as, ms_error *err)
{
    if (col >= f->ncols)
        return ms_error_set(err, MS_EUSAGE, "%s: no column %zu", f->path, col);
    for (size_t g = 0; g < f->nrg; g++) {
        ms_status st = check_kind(f, g, col, as, err);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}

ms_status ms_pq_read(ms_pq_file *f, size_t rgi, size_t col, int64_t row_begin, int64_t row_count,
                     ms_pq_as as, ms_pq_values *out, ms_error *err)
{
    if (rgi >= f->nrg || col >= f->ncols)
        return ms_error_set(err, MS_EUSAGE, "%s: no row group %zu or column %zu", f->path, rgi,
                            col);
    rd R = {f, rgi, col, &f->cols[col], err, 0};
    const pq_rg *rg = &f->rgs[rgi];
    const pq_chunk *ch = &rg->chunks[col];
    if (row_begin < 0 || row_begin > rg->rows)
        return ms_error_set(err, MS_EUSAGE, "%s: row group %zu: row %lld out of range", f->path,
                            rgi, (long long)row_begin);
    int64_t e =
        row_count < 0 || row_count > rg->rows - row_begin ? rg->rows : row_begin + row_count;
    size_t total = (size_t)(e - row_begin);
    ms_status cst = check_kind(f, rgi, col, as, err);
    if (cst != MS_OK)
        return cst;

    /* the output: total rows of the kind asked for */
    out->as = as;
    out->n = total;
    out->n_null = 0;
    out->dict_n = 0;
    size_t rows = total + 1;
    if (rows > out->cap_rows) {
        /* regrow: typed arrays are reallocated below, at the new capacity */
        free(out->valid);
        free(out->f32);
        free(out->f64);
        free(out->i64);
        free(out->offsets);
        free(out->codes);
        out->f32 = NULL;
        out->f64 = NULL;
        out->i64 = NULL;
        out->offsets = NULL;
        out->codes = NULL;
        out->cap_rows = 0;
        if (!(out->valid = malloc(rows)))
            return oom(err, f->path);
        out->cap_rows = rows;
    }
    /* each typed array is allocated at cap_rows when first used */
    size_t cap = out->cap_rows;
    if ((as == MS_PQ_AS_F32 && !out->f32 && !(out->f32 = malloc(cap * sizeof(float)))) ||
        (as == MS_PQ_AS_F64 && !out->f64 && !(out->f64 = malloc(cap * sizeof(double)))) ||
        (as == MS_PQ_AS_I64 && !out->i64 && !(out->i64 = malloc(cap * sizeof(int64_t)))) ||
        (as == MS_PQ_AS_STR && !out->offsets && !(out->offsets = malloc(cap * sizeof(uint64_t)))) ||
        (as == MS_PQ_AS_DICT && !out->codes && !(out->codes = malloc(cap * sizeof(int32_t)))))
        return oom(err, f->path);
    if (as == MS_PQ_AS_STR)
        out->offsets[0] = 0;
    if (as == MS_PQ_AS_DICT) {
        if (!ms_pq_grow((void **)&out->dict_offsets, &out->cap_dict, 1, sizeof(uint64_t)))
            return oom(err, f->path);
        out->dict_offsets[0] = 0;
    }
    if (total == 0)
        return MS_OK;

    ms_status st = MS_OK;
    if (!ms_pq_grow((void **)&f->chunk, &f->chunk_cap, (size_t)ch->size, 1))
        return oom(err, f->path);
    MS_CHECK(pread_all(f, f->chunk, (size_t)ch->size, (uint64_t)ch->start, err));
    f->dict_loaded = 0;
    f->dict_n = 0;
    size_t pos = 0, size = (size_t)ch->size;
    int64_t seen = 0;
    /* read to the end of the range; when it is the row group's end, walk the
     * remaining headers too, so a page of extra values is caught */
    while (seen < e || (e == rg->rows && pos < size)) {
        R.page_off = (uint64_t)ch->start + pos;
        if (pos >= size) {
            st = rd_fail(&R, -1, "column chunk ends after %lld of its %lld values", (long long)seen,
                         (long long)rg->rows);
            goto done;
        }
        ms_pq_page_hdr h;
        size_t hlen = 0;
        const char *why = ms_pq_parse_page_header(f->chunk + pos, size - pos, &h, &hlen);
        if (why) {
            st = rd_fail(&R, -1, "corrupt page header (Thrift): %s", why);
            goto done;
        }
        if ((size_t)h.comp > size - pos - hlen) {
            st = rd_fail(&R, -1, "page of %d bytes past the column chunk's end", h.comp);
            goto done;
        }
        const uint8_t *data = f->chunk + pos + hlen;
        pos += hlen + (size_t)h.comp;
        if (h.type == PG_DICT) {
            if (f->dict_loaded || seen > 0) {
                st = rd_fail(&R, -1, "a dictionary page after the first page");
                goto done;
            }
            if (!h.has_sub) {
                st = rd_fail(&R, -1, "dictionary page without its header");
                goto done;
            }
            if (h.enc != ENC_PLAIN && h.enc != ENC_PLAIN_DICT) {
                st = rd_fail(&R, -1, "dictionary page encoded %d", h.enc);
                goto done;
            }
            const uint8_t *dp = data;
            size_t dn = (size_t)h.uncomp;
            if (ch->codec != MS_PQ_UNCOMPRESSED) {
                if (dn > ms_pq_max_expansion((ms_pq_codec)ch->codec, (size_t)h.comp)) {
                    st = rd_fail(&R, -1, "page claims %d bytes from %d compressed", h.uncomp,
                                 h.comp);
                    goto done;
                }
                if (!ms_pq_grow((void **)&f->page, &f->page_cap, dn + 1, 1)) {
                    st = oom(err, f->path);
                    goto done;
                }
                if (!ms_pq_decompress((ms_pq_codec)ch->codec, data, (size_t)h.comp, f->page, dn,
                                      &why)) {
                    st = rd_fail(&R, -1, "%s", why);
                    goto done;
                }
                dp = f->page;
            } else if (h.uncomp != h.comp) {
                st = rd_fail(&R, -1, "uncompressed page of %d bytes says %d", h.comp, h.uncomp);
                goto done;
            }
            MS_CHECK(load_dict(&R, dp, dn, h.nvals));
            if (as == MS_PQ_AS_DICT) {
                size_t tot = 0;
                for (size_t i = 0; i < f->dict_n; i++)
                    tot += f->dict_str[i].n;
                if (!ms_pq_grow((void **)&out->dict_offsets, &out->cap_dict, f->dict_n + 1,
                                sizeof(uint64_t)) ||
                    !ms_pq_grow((void **)&out->dict_bytes, &out->cap_dict_bytes, tot + 1, 1)) {
                    st = oom(err, f->path);
                    goto done;
                }
                uint64_t o = 0;
                for (size_t i = 0; i < f->dict_n; i++) {
                    memcpy(out->dict_bytes + o, f->dict_str[i].p, f->dict_str[i].n);
                    o += f->dict_str[i].n;
                    out->dict_offsets[i + 1] = o;
                }
                out->dict_n = f->dict_n;
            }
            continue;
        }
        if (h.type == PG_INDEX)
            continue;
        if (h.type != PG_DATA && h.type != PG_DATA_V2) {
            st = rd_fail(&R, -1, "unknown page type %d", h.type);
            goto done;
        }
        if (!h.has_sub) {
            st = rd_fail(&R, -1, "data page without its header");
            goto done;
        }
        if (h.nvals < 0 || h.nvals > rg->rows - seen) {
            st = rd_fail(&R, seen, "page of %d values: more values than the row group's %lld rows",
                         h.nvals, (long long)rg->rows);
            goto done;
        }
        int64_t p0 = seen, p1 = seen + h.nvals;
        seen = p1;
        if (p1 <= row_begin || p0 >= e)
            continue; /* outside the range: skipped by its header */
        size_t skip = (size_t)(row_begin > p0 ? row_begin - p0 : 0);
        size_t take = (size_t)((p1 < e ? p1 : e) - p0) - skip;
        size_t dst = (size_t)(p0 + (int64_t)skip - row_begin);
        MS_CHECK(read_data_page(&R, &h, data, ch->codec, p0, skip, take, as, out, dst));
    }
done:
    return st;
}
