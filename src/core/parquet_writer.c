/*
 * parquet_writer.c — write flat Parquet files: one row group per call, one
 * column chunk per column, each a data page v1 (PLAIN values, or for
 * strings a PLAIN dictionary page and RLE_DICTIONARY indices; RLE
 * definition levels when nullable), compressed with the file's codec.
 *
 * Resumability is the invariant that shapes it: every page header carries
 * the page's CRC and its statistics, so the column chunk metadata the footer
 * needs is a pure function of the page headers. ms_pq_writer_resume() walks
 * them from byte 4 to the committed offset, rebuilds exactly the metadata
 * ms_pq_writer_write() built, cuts the file there and continues; the footer
 * written at close is then the same bytes an uninterrupted writer writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpiscore/parquet.h"
#include "parquet_internal.h"

enum { ENC_PLAIN = 0, ENC_RLE = 3, ENC_RLE_DICT = 8 };
enum { PG_DATA = 0, PG_DICT = 2 };

/* What the footer says about one column chunk (rebuilt identically on resume). */
typedef struct chunk_out {
    int64_t dict_off; /* -1: none */
    int64_t data_off;
    int64_t comp, uncomp; /* headers included */
    int64_t num_values, null_count;
    int has_minmax;
    uint8_t *min, *max;
    size_t min_n, max_n;
} chunk_out;

struct ms_pq_writer {
    char *path;
    int fd;
    ms_pq_codec codec;
    size_t ncols;
    ms_pqw_column *cols;
    uint64_t off, rows, nrg;
    ms_tw rgs; /* the encoded RowGroup structs, back to back */
    size_t nkv;
    char **kv_key, **kv_val;
    /* scratch, per row group */
    ms_tw page, hdr;
    uint8_t *comp;
    size_t comp_cap;
    uint32_t *u32;
    size_t u32_cap;
    uint32_t *slots;
    size_t slots_cap;
    chunk_out *chunks;
};

static int physical_of(ms_pqw_type t)
{
    switch (t) {
    case MS_PQW_FLOAT:
        return MS_PQ_FLOAT;
    case MS_PQW_DOUBLE:
        return MS_PQ_DOUBLE;
    case MS_PQW_INT64:
        return MS_PQ_INT64;
    case MS_PQW_INT32:
        return MS_PQ_INT32;
    case MS_PQW_BOOLEAN:
        return MS_PQ_BOOLEAN;
    default:
        return MS_PQ_BYTE_ARRAY;
    }
}

static ms_status write_all(ms_pq_writer *w, const void *p, size_t n, ms_error *err)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = pwrite(w->fd, (const char *)p + done, n - done, (off_t)(w->off + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return ms_error_set(err, MS_EIO, "%s: write failed: %s", w->path,
                                k < 0 ? strerror(errno) : "no space");
        done += (size_t)k;
    }
    w->off += n;
    return MS_OK;
}

/* ---- encoders ---- */

/* RLE / bit-packed hybrid of n values of bw bits. */
static void rle_encode(ms_tw *t, const uint32_t *v, size_t n, int bw)
{
    size_t i = 0;
    int vb = (bw + 7) / 8;
    while (i < n) {
        size_t run = 1;
        while (i + run < n && v[i + run] == v[i])
            run++;
        if (run >= 8) {
            ms_tw_varint(t, (uint64_t)run << 1);
            uint8_t b[4] = {(uint8_t)v[i], (uint8_t)(v[i] >> 8), (uint8_t)(v[i] >> 16),
                            (uint8_t)(v[i] >> 24)};
            ms_tw_bytes(t, b, (size_t)vb);
            i += run;
            continue;
        }
        /* groups of 8 until a run of 8 starts on a group boundary (at most 63) */
        size_t j = i, groups = 0;
        do {
            j += 8;
            groups++;
            if (j >= n || groups == 63)
                break;
            size_t r = 1;
            while (j + r < n && r < 8 && v[j + r] == v[j])
                r++;
            if (r >= 8)
                break;
        } while (1);
        ms_tw_varint(t, (uint64_t)groups << 1 | 1);
        uint64_t acc = 0;
        int nbits = 0;
        for (size_t k = i; k < j; k++) {
            uint64_t x = k < n ? v[k] : 0;
            acc |= x << nbits;
            nbits += bw;
            while (nbits >= 8) {
                uint8_t b = (uint8_t)acc;
                ms_tw_bytes(t, &b, 1);
                acc >>= 8;
                nbits -= 8;
            }
        }
        i = j;
    }
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ULL;
    return h;
}

/* ---- statistics ---- */

static void set_stat(uint8_t **dst, size_t *dn, const void *p, size_t n)
{
    free(*dst);
    *dst = malloc(n ? n : 1);
    if (*dst)
        memcpy(*dst, p, n);
    *dn = n;
}

static int bytes_less(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c < 0 || (c == 0 && an < bn);
}

/* Whether value i of the column orders before value j (strings: bytes
 * unsigned, shorter first; booleans: false first). */
static int value_less(const ms_pqw_column *c, const ms_pqw_data *d, size_t i, size_t j)
{
    switch (c->type) {
    case MS_PQW_FLOAT:
        return ((const float *)d->values)[i] < ((const float *)d->values)[j];
    case MS_PQW_DOUBLE:
        return ((const double *)d->values)[i] < ((const double *)d->values)[j];
    case MS_PQW_INT64:
        return ((const int64_t *)d->values)[i] < ((const int64_t *)d->values)[j];
    case MS_PQW_INT32:
        return ((const int32_t *)d->values)[i] < ((const int32_t *)d->values)[j];
    case MS_PQW_BOOLEAN:
        return !((const uint8_t *)d->values)[i] && ((const uint8_t *)d->values)[j];
    default: {
        const uint64_t *of = d->offsets;
        return bytes_less(d->bytes + of[i], of[i + 1] - of[i], d->bytes + of[j], of[j + 1] - of[j]);
    }
    }
}

static int value_is_nan(const ms_pqw_column *c, const ms_pqw_data *d, size_t i)
{
    return (c->type == MS_PQW_FLOAT && isnan(((const float *)d->values)[i])) ||
           (c->type == MS_PQW_DOUBLE && isnan(((const double *)d->values)[i]));
}

/* min/max of the present values, as PLAIN bytes (NaN excluded; a zero
 * minimum is -0 and a zero maximum +0, as the format asks). */
static void chunk_stats(const ms_pqw_column *c, size_t n, const ms_pqw_data *d, chunk_out *o)
{
    o->has_minmax = 0;
    size_t lo = SIZE_MAX, hi = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if ((d->valid && !d->valid[i]) || value_is_nan(c, d, i))
            continue;
        if (lo == SIZE_MAX || value_less(c, d, i, lo))
            lo = i;
        if (hi == SIZE_MAX || value_less(c, d, hi, i))
            hi = i;
    }
    if (lo == SIZE_MAX)
        return;
    o->has_minmax = 1;
    switch (c->type) {
    case MS_PQW_FLOAT: {
        float a = ((const float *)d->values)[lo], b = ((const float *)d->values)[hi];
        if (a == 0)
            a = -0.0f;
        if (b == 0)
            b = 0.0f;
        set_stat(&o->min, &o->min_n, &a, 4);
        set_stat(&o->max, &o->max_n, &b, 4);
        break;
    }
    case MS_PQW_DOUBLE: {
        double a = ((const double *)d->values)[lo], b = ((const double *)d->values)[hi];
        if (a == 0)
            a = -0.0;
        if (b == 0)
            b = 0.0;
        set_stat(&o->min, &o->min_n, &a, 8);
        set_stat(&o->max, &o->max_n, &b, 8);
        break;
    }
    case MS_PQW_INT64:
        set_stat(&o->min, &o->min_n, (const int64_t *)d->values + lo, 8);
        set_stat(&o->max, &o->max_n, (const int64_t *)d->values + hi, 8);
        break;
    case MS_PQW_INT32:
        set_stat(&o->min, &o->min_n, (const int32_t *)d->values + lo, 4);
        set_stat(&o->max, &o->max_n, (const int32_t *)d->values + hi, 4);
        break;
    case MS_PQW_BOOLEAN: {
        uint8_t a = !!((const uint8_t *)d->values)[lo], b = !!((const uint8_t *)d->values)[hi];
        set_stat(&o->min, &o->min_n, &a, 1);
        set_stat(&o->max, &o->max_n, &b, 1);
        break;
    }
    case MS_PQW_STRING:
        set_stat(&o->min, &o->min_n, d->bytes + d->offsets[lo],
                 d->offsets[lo + 1] - d->offsets[lo]);
        set_stat(&o->max, &o->max_n, d->bytes + d->offsets[hi],
                 d->offsets[hi + 1] - d->offsets[hi]);
        break;
    }
}

static void put_stats(ms_tw *t, int id, const chunk_out *o)
{
    ms_tw_field(t, id, MS_TC_STRUCT);
    ms_tw_struct_begin(t);
    ms_tw_i64(t, 3, o->null_count);
    if (o->has_minmax) {
        ms_tw_binary(t, 5, o->max, o->max_n);
        ms_tw_binary(t, 6, o->min, o->min_n);
    }
    ms_tw_struct_end(t);
}

static void page_header(ms_tw *t, int type, size_t uncomp, size_t comp, uint32_t crc, int64_t nvals,
                        int enc, const chunk_out *stats)
{
    t->n = 0;
    t->depth = 0;
    ms_tw_struct_begin(t);
    ms_tw_i32(t, 1, type);
    ms_tw_i32(t, 2, (int32_t)uncomp);
    ms_tw_i32(t, 3, (int32_t)comp);
    ms_tw_i32(t, 4, (int32_t)crc);
    if (type == PG_DATA) {
        ms_tw_field(t, 5, MS_TC_STRUCT);
        ms_tw_struct_begin(t);
        ms_tw_i32(t, 1, (int32_t)nvals);
        ms_tw_i32(t, 2, enc);
        ms_tw_i32(t, 3, ENC_RLE);
        ms_tw_i32(t, 4, ENC_RLE);
        put_stats(t, 5, stats);
        ms_tw_struct_end(t);
    } else {
        ms_tw_field(t, 7, MS_TC_STRUCT);
        ms_tw_struct_begin(t);
        ms_tw_i32(t, 1, (int32_t)nvals);
        ms_tw_i32(t, 2, ENC_PLAIN);
        ms_tw_struct_end(t);
    }
    ms_tw_struct_end(t);
}

/* Compress w->page and write header + page; adds to the chunk's sizes. */
static ms_status emit_page(ms_pq_writer *w, int type, int64_t nvals, int enc, chunk_out *o,
                           ms_error *err)
{
    ms_status st = MS_OK;
    if (w->page.oom)
        return ms_error_set(err, MS_EIO, "%s: out of memory", w->path);
    if (w->page.n > INT32_MAX)
        return ms_error_set(err, MS_EIO,
                            "%s: a page of %zu bytes is too large (fewer rows per row group)",
                            w->path, w->page.n);
    size_t cn = ms_pq_compress(w->codec, w->page.b, w->page.n, &w->comp, &w->comp_cap);
    if (cn == (size_t)-1 || cn > INT32_MAX)
        return ms_error_set(err, MS_EIO, "%s: %s compression failed", w->path,
                            ms_pq_codec_name(w->codec));
    page_header(&w->hdr, type, w->page.n, cn, ms_pq_crc32(w->comp, cn), nvals, enc, o);
    if (w->hdr.oom)
        return ms_error_set(err, MS_EIO, "%s: out of memory", w->path);
    if (type == PG_DICT)
        o->dict_off = (int64_t)w->off;
    else
        o->data_off = (int64_t)w->off;
    o->comp += (int64_t)(w->hdr.n + cn);
    o->uncomp += (int64_t)(w->hdr.n + w->page.n);
    MS_CHECK(write_all(w, w->hdr.b, w->hdr.n, err));
    MS_CHECK(write_all(w, w->comp, cn, err));
done:
    return st;
}

static void encodings(ms_tw *t, const ms_pqw_column *c)
{
    if (c->type == MS_PQW_STRING) {
        ms_tw_list(t, 2, MS_TC_I32, 3);
        ms_tw_varint(t, 0);           /* PLAIN (zigzag 0) */
        ms_tw_varint(t, ENC_RLE * 2); /* zigzag */
        ms_tw_varint(t, ENC_RLE_DICT * 2);
    } else if (c->nullable) {
        ms_tw_list(t, 2, MS_TC_I32, 2);
        ms_tw_varint(t, 0);
        ms_tw_varint(t, ENC_RLE * 2);
    } else {
        ms_tw_list(t, 2, MS_TC_I32, 1);
        ms_tw_varint(t, 0);
    }
}

/* The RowGroup struct for the chunks just written (or rebuilt). */
static void encode_row_group(ms_pq_writer *w, int64_t rows)
{
    ms_tw *t = &w->rgs;
    t->depth = 0;
    int64_t comp = 0, uncomp = 0;
    for (size_t c = 0; c < w->ncols; c++) {
        comp += w->chunks[c].comp;
        uncomp += w->chunks[c].uncomp;
    }
    int64_t first = w->chunks[0].dict_off >= 0 ? w->chunks[0].dict_off : w->chunks[0].data_off;
    ms_tw_struct_begin(t);
    ms_tw_list(t, 1, MS_TC_STRUCT, w->ncols);
    for (size_t c = 0; c < w->ncols; c++) {
        const chunk_out *o = &w->chunks[c];
        const ms_pqw_column *col = &w->cols[c];
        int64_t start = o->dict_off >= 0 ? o->dict_off : o->data_off;
        ms_tw_struct_begin(t);
        ms_tw_i64(t, 2, start);
        ms_tw_field(t, 3, MS_TC_STRUCT);
        ms_tw_struct_begin(t);
        ms_tw_i32(t, 1, physical_of(col->type));
        encodings(t, col);
        ms_tw_list(t, 3, MS_TC_BINARY, 1);
        ms_tw_varint(t, strlen(col->name));
        ms_tw_bytes(t, col->name, strlen(col->name));
        ms_tw_i32(t, 4, w->codec);
        ms_tw_i64(t, 5, o->num_values);
        ms_tw_i64(t, 6, o->uncomp);
        ms_tw_i64(t, 7, o->comp);
        ms_tw_i64(t, 9, o->data_off);
        if (o->dict_off >= 0)
            ms_tw_i64(t, 11, o->dict_off);
        put_stats(t, 12, o);
        ms_tw_struct_end(t);
        ms_tw_struct_end(t);
    }
    ms_tw_i64(t, 2, uncomp);
    ms_tw_i64(t, 3, rows);
    ms_tw_i64(t, 5, first);
    ms_tw_i64(t, 6, comp);
    ms_tw_field(t, 7, MS_TC_I16);
    ms_tw_varint(t, (uint64_t)((int64_t)w->nrg << 1) ^ (uint64_t)((int64_t)w->nrg >> 63));
    ms_tw_struct_end(t);
}

/* ---- the writer ---- */

static void free_writer(ms_pq_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    for (size_t c = 0; c < w->ncols; c++) {
        free((char *)w->cols[c].name);
        if (w->chunks) {
            free(w->chunks[c].min);
            free(w->chunks[c].max);
        }
    }
    for (size_t i = 0; i < w->nkv; i++) {
        free(w->kv_key[i]);
        free(w->kv_val[i]);
    }
    free(w->kv_key);
    free(w->kv_val);
    free(w->cols);
    free(w->chunks);
    ms_tw_free(&w->rgs);
    ms_tw_free(&w->page);
    ms_tw_free(&w->hdr);
    free(w->comp);
    free(w->u32);
    free(w->slots);
    free(w->path);
    free(w);
}

static ms_status new_writer(const char *path, const ms_pqw_column *cols, size_t ncols,
                            ms_pq_codec codec, ms_pq_writer **out, ms_error *err)
{
    *out = NULL;
    if (ncols == 0)
        return ms_error_set(err, MS_EUSAGE, "%s: a Parquet file needs at least one column", path);
    if (codec != MS_PQ_UNCOMPRESSED && codec != MS_PQ_SNAPPY && codec != MS_PQ_GZIP &&
        codec != MS_PQ_ZSTD && codec != MS_PQ_LZ4_RAW)
        return ms_error_set(err, MS_EUSAGE, "%s: cannot write codec %s", path,
                            ms_pq_codec_name(codec));
    ms_pq_writer *w = calloc(1, sizeof *w);
    if (!w)
        return ms_error_set(err, MS_EIO, "%s: out of memory", path);
    w->fd = -1;
    w->codec = codec;
    w->path = strdup(path);
    w->cols = calloc(ncols, sizeof *w->cols);
    w->chunks = calloc(ncols, sizeof *w->chunks);
    if (!w->path || !w->cols || !w->chunks) {
        free_writer(w);
        return ms_error_set(err, MS_EIO, "%s: out of memory", path);
    }
    w->ncols = ncols;
    for (size_t c = 0; c < ncols; c++) {
        w->cols[c] = cols[c];
        w->cols[c].name = strdup(cols[c].name);
        if (!w->cols[c].name) {
            free_writer(w);
            return ms_error_set(err, MS_EIO, "%s: out of memory", path);
        }
        if ((unsigned)cols[c].type > MS_PQW_STRING) {
            free_writer(w);
            return ms_error_set(err, MS_EUSAGE, "%s: column \"%s\": unknown type", path,
                                cols[c].name);
        }
    }
    *out = w;
    return MS_OK;
}

ms_status ms_pq_writer_create(const char *path, const ms_pqw_column *cols, size_t ncols,
                              ms_pq_codec codec, ms_pq_writer **out, ms_error *err)
{
    ms_status st = new_writer(path, cols, ncols, codec, out, err);
    if (st != MS_OK)
        return st;
    ms_pq_writer *w = *out;
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        st = ms_error_set(err, MS_EIO, "%s: cannot create: %s", path, strerror(errno));
        goto done;
    }
    MS_CHECK(write_all(w, "PAR1", 4, err));
done:
    if (st != MS_OK) {
        free_writer(w);
        *out = NULL;
    }
    return st;
}

static void reset_chunk(chunk_out *o)
{
    free(o->min);
    free(o->max);
    memset(o, 0, sizeof *o);
    o->dict_off = -1;
}

static ms_status write_chunk(ms_pq_writer *w, size_t ci, size_t n, const ms_pqw_data *d,
                             ms_error *err)
{
    ms_status st = MS_OK;
    const ms_pqw_column *c = &w->cols[ci];
    chunk_out *o = &w->chunks[ci];
    reset_chunk(o);
    o->num_values = (int64_t)n;
    size_t present = n;
    if (d->valid) {
        present = 0;
        for (size_t i = 0; i < n; i++)
            present += d->valid[i] != 0;
    }
    o->null_count = (int64_t)(n - present);
    chunk_stats(c, n, d, o);
    ms_tw *pg = &w->page;

    uint32_t ndict = 0;
    if (c->type == MS_PQW_STRING) {
        /* dictionary: distinct strings in first-seen order */
        size_t ns = 16;
        while (ns < 2 * present + 2)
            ns *= 2;
        if (!ms_pq_grow((void **)&w->slots, &w->slots_cap, ns, sizeof(uint32_t)) ||
            !ms_pq_grow((void **)&w->u32, &w->u32_cap, 2 * n + 1, sizeof(uint32_t)))
            return ms_error_set(err, MS_EIO, "%s: out of memory", w->path);
        memset(w->slots, 0xff, ns * sizeof(uint32_t));
        uint32_t *first = w->u32 + n; /* row of dictionary entry k */
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (d->valid && !d->valid[i])
                continue;
            const char *s = d->bytes + d->offsets[i];
            size_t sl = d->offsets[i + 1] - d->offsets[i];
            size_t h = (size_t)hash_bytes(s, sl) & (ns - 1);
            for (;;) {
                uint32_t e = w->slots[h];
                if (e == UINT32_MAX) {
                    w->slots[h] = ndict;
                    first[ndict] = (uint32_t)i;
                    w->u32[k++] = ndict++;
                    break;
                }
                size_t r = first[e];
                if (d->offsets[r + 1] - d->offsets[r] == sl &&
                    !memcmp(d->bytes + d->offsets[r], s, sl)) {
                    w->u32[k++] = e;
                    break;
                }
                h = (h + 1) & (ns - 1);
            }
        }
        pg->n = 0;
        for (uint32_t e = 0; e < ndict; e++) {
            size_t r = first[e];
            uint8_t len[4];
            put_le32(len, (uint32_t)(d->offsets[r + 1] - d->offsets[r]));
            ms_tw_bytes(pg, len, 4);
            ms_tw_bytes(pg, d->bytes + d->offsets[r], d->offsets[r + 1] - d->offsets[r]);
        }
        MS_CHECK(emit_page(w, PG_DICT, ndict, ENC_PLAIN, o, err));
    }

    pg->n = 0;
    if (c->nullable) {
        if (!ms_pq_grow((void **)&w->u32, &w->u32_cap, 2 * n + 1, sizeof(uint32_t)))
            return ms_error_set(err, MS_EIO, "%s: out of memory", w->path);
        uint32_t *lev =
            w->u32 + n; /* past the indices (the dictionary's rows are no longer needed) */
        for (size_t i = 0; i < n; i++)
            lev[i] = !d->valid || d->valid[i];
        uint8_t len[4] = {0, 0, 0, 0};
        ms_tw_bytes(pg, len, 4);
        size_t at = pg->n;
        rle_encode(pg, lev, n, 1);
        if (!pg->oom)
            put_le32(pg->b + at - 4, (uint32_t)(pg->n - at));
    }
    int enc = ENC_PLAIN;
    switch (c->type) {
    case MS_PQW_FLOAT:
    case MS_PQW_DOUBLE:
    case MS_PQW_INT64:
    case MS_PQW_INT32: {
        size_t wd = c->type == MS_PQW_FLOAT || c->type == MS_PQW_INT32 ? 4 : 8;
        const uint8_t *v = d->values;
        if (!d->valid)
            ms_tw_bytes(pg, v, n * wd);
        else
            for (size_t i = 0; i < n; i++)
                if (d->valid[i])
                    ms_tw_bytes(pg, v + i * wd, wd);
        break;
    }
    case MS_PQW_BOOLEAN: {
        const uint8_t *v = d->values;
        uint8_t acc = 0;
        int nb = 0;
        for (size_t i = 0; i < n; i++) {
            if (d->valid && !d->valid[i])
                continue;
            acc |= (uint8_t)((v[i] != 0) << nb);
            if (++nb == 8) {
                ms_tw_bytes(pg, &acc, 1);
                acc = 0;
                nb = 0;
            }
        }
        if (nb)
            ms_tw_bytes(pg, &acc, 1);
        break;
    }
    case MS_PQW_STRING: {
        int bw = 1;
        while (bw < 32 && (UINT64_C(1) << bw) < ndict)
            bw++;
        uint8_t b = (uint8_t)bw;
        ms_tw_bytes(pg, &b, 1);
        rle_encode(pg, w->u32, present, bw);
        enc = ENC_RLE_DICT;
        break;
    }
    }
    MS_CHECK(emit_page(w, PG_DATA, (int64_t)n, enc, o, err));
done:
    return st;
}

ms_status ms_pq_writer_write(ms_pq_writer *w, size_t n, const ms_pqw_data *data, ms_error *err)
{
    ms_status st = MS_OK;
    if (n == 0)
        return MS_OK;
    if (n > INT32_MAX)
        return ms_error_set(err, MS_EUSAGE, "%s: a row group of %zu rows is too large", w->path, n);
    /* checked before any byte is written, and a failure later rewinds: the
     * committed state never covers part of a row group */
    for (size_t c = 0; c < w->ncols; c++)
        if (data[c].valid && !w->cols[c].nullable)
            for (size_t i = 0; i < n; i++)
                if (!data[c].valid[i])
                    return ms_error_set(err, MS_EUSAGE,
                                        "%s: column \"%s\": a null in a required column", w->path,
                                        w->cols[c].name);
    uint64_t off0 = w->off;
    for (size_t c = 0; c < w->ncols; c++)
        if ((st = write_chunk(w, c, n, &data[c], err)) != MS_OK) {
            w->off = off0;
            goto done;
        }
    encode_row_group(w, (int64_t)n);
    if (w->rgs.oom)
        return ms_error_set(err, MS_EIO, "%s: out of memory", w->path);
    w->nrg++;
    w->rows += n;
done:
    return st;
}

ms_pq_wstate ms_pq_writer_state(const ms_pq_writer *w)
{
    ms_pq_wstate s = {w->off, w->nrg, w->rows};
    return s;
}

ms_status ms_pq_writer_set_kv(ms_pq_writer *w, const char *key, const char *value, ms_error *err)
{
    char **k = realloc(w->kv_key, (w->nkv + 1) * sizeof *k);
    if (k)
        w->kv_key = k;
    char **v = realloc(w->kv_val, (w->nkv + 1) * sizeof *v);
    if (v)
        w->kv_val = v;
    if (!k || !v)
        return ms_error_set(err, MS_EIO, "%s: out of memory", w->path);
    w->kv_key[w->nkv] = strdup(key);
    w->kv_val[w->nkv] = value ? strdup(value) : NULL;
    if (!w->kv_key[w->nkv] || (value && !w->kv_val[w->nkv])) {
        free(w->kv_key[w->nkv]);
        free(w->kv_val[w->nkv]);
        return ms_error_set(err, MS_EIO, "%s: out of memory", w->path);
    }
    w->nkv++;
    return MS_OK;
}

ms_status ms_pq_writer_close(ms_pq_writer *w, ms_error *err)
{
    ms_status st = MS_OK;
    ms_tw t;
    memset(&t, 0, sizeof t);
    ms_tw_struct_begin(&t);
    ms_tw_i32(&t, 1, 1);
    ms_tw_list(&t, 2, MS_TC_STRUCT, w->ncols + 1);
    ms_tw_struct_begin(&t);
    ms_tw_binary(&t, 4, "schema", 6);
    ms_tw_i32(&t, 5, (int32_t)w->ncols);
    ms_tw_struct_end(&t);
    for (size_t c = 0; c < w->ncols; c++) {
        const ms_pqw_column *col = &w->cols[c];
        ms_tw_struct_begin(&t);
        ms_tw_i32(&t, 1, physical_of(col->type));
        ms_tw_i32(&t, 3, col->nullable ? 1 : 0);
        ms_tw_binary(&t, 4, col->name, strlen(col->name));
        if (col->type == MS_PQW_STRING) {
            ms_tw_i32(&t, 6, 0); /* UTF8 */
            ms_tw_field(&t, 10, MS_TC_STRUCT);
            ms_tw_struct_begin(&t);
            ms_tw_field(&t, 1, MS_TC_STRUCT); /* STRING */
            ms_tw_struct_begin(&t);
            ms_tw_struct_end(&t);
            ms_tw_struct_end(&t);
        }
        ms_tw_struct_end(&t);
    }
    ms_tw_i64(&t, 3, (int64_t)w->rows);
    ms_tw_list(&t, 4, MS_TC_STRUCT, w->nrg);
    ms_tw_bytes(&t, w->rgs.b, w->rgs.n);
    if (w->nkv) {
        ms_tw_list(&t, 5, MS_TC_STRUCT, w->nkv);
        for (size_t i = 0; i < w->nkv; i++) {
            ms_tw_struct_begin(&t);
            ms_tw_binary(&t, 1, w->kv_key[i], strlen(w->kv_key[i]));
            if (w->kv_val[i])
                ms_tw_binary(&t, 2, w->kv_val[i], strlen(w->kv_val[i]));
            ms_tw_struct_end(&t);
        }
    }
    ms_tw_binary(&t, 6, "mpiscore", 8);
    ms_tw_list(&t, 7, MS_TC_STRUCT, w->ncols);
    for (size_t c = 0; c < w->ncols; c++) {
        ms_tw_struct_begin(&t);
        ms_tw_field(&t, 1, MS_TC_STRUCT); /* TYPE_ORDER */
        ms_tw_struct_begin(&t);
        ms_tw_struct_end(&t);
        ms_tw_struct_end(&t);
    }
    ms_tw_struct_end(&t);
    if (t.oom || w->rgs.oom) {
        st = ms_error_set(err, MS_EIO, "%s: out of memory", w->path);
        goto done;
    }
    uint8_t tail[8];
    put_le32(tail, (uint32_t)t.n);
    memcpy(tail + 4, "PAR1", 4);
    MS_CHECK(write_all(w, t.b, t.n, err));
    MS_CHECK(write_all(w, tail, 8, err));
    if (ftruncate(w->fd, (off_t)w->off) != 0 || fsync(w->fd) != 0) {
        st = ms_error_set(err, MS_EIO, "%s: cannot sync: %s", w->path, strerror(errno));
        goto done;
    }
    if (close(w->fd) != 0) {
        w->fd = -1;
        st = ms_error_set(err, MS_EIO, "%s: close failed: %s", w->path, strerror(errno));
        goto done;
    }
    w->fd = -1;
done:
    ms_tw_free(&t);
    free_writer(w);
    return st;
}

void ms_pq_writer_abort(ms_pq_writer *w)
{
    free_writer(w);
}

/* ---- resume ---- */

ms_status ms_pq_writer_resume(const char *path, const ms_pqw_column *cols, size_t ncols,
                              ms_pq_codec codec, const ms_pq_wstate *state, ms_pq_writer **out,
                              ms_error *err)
{
    uint8_t *buf = NULL;
    ms_status st = new_writer(path, cols, ncols, codec, out, err);
    if (st != MS_OK)
        return st;
    ms_pq_writer *w = *out;
    w->fd = open(path, O_RDWR | O_CLOEXEC);
    if (w->fd < 0) {
        st = ms_error_set(err, MS_EIO, "%s: cannot reopen to resume: %s", path, strerror(errno));
        goto done;
    }
    struct stat sb;
    if (fstat(w->fd, &sb) != 0 || (uint64_t)sb.st_size < state->offset || state->offset < 4) {
        st = ms_error_set(err, MS_EINPUT,
                          "%s: cannot resume: the file is shorter than its %llu committed bytes",
                          path, (unsigned long long)state->offset);
        goto done;
    }
    buf = malloc(state->offset);
    if (!buf) {
        st = ms_error_set(err, MS_EIO, "%s: out of memory", path);
        goto done;
    }
    for (size_t got = 0; got < state->offset;) {
        ssize_t k = pread(w->fd, buf + got, state->offset - got, (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            st = ms_error_set(err, MS_EIO, "%s: read failed while resuming", path);
            goto done;
        }
        got += (size_t)k;
    }
    if (memcmp(buf, "PAR1", 4)) {
        st = ms_error_set(err, MS_EINPUT, "%s: cannot resume: not a Parquet file we started", path);
        goto done;
    }
    size_t pos = 4;
    while (pos < state->offset) {
        int64_t rows = -1;
        for (size_t c = 0; c < ncols; c++) {
            chunk_out *o = &w->chunks[c];
            reset_chunk(o);
            int pages = cols[c].type == MS_PQW_STRING ? 2 : 1;
            for (int p = 0; p < pages; p++) {
                ms_pq_page_hdr h;
                size_t hlen = 0;
                const char *why =
                    pos < state->offset
                        ? ms_pq_parse_page_header(buf + pos, state->offset - pos, &h, &hlen)
                        : "the committed bytes end inside a row group";
                int want = p == 0 && pages == 2 ? PG_DICT : PG_DATA;
                if (!why && (h.type != want || !h.has_crc))
                    why = "unexpected page";
                if (!why && (size_t)h.comp > state->offset - pos - hlen)
                    why = "the committed bytes end inside a page";
                if (!why && ms_pq_crc32(buf + pos + hlen, (size_t)h.comp) != (uint32_t)h.crc)
                    why = "page CRC mismatch";
                if (!why && want == PG_DATA && !h.has_stats)
                    why = "page without statistics";
                if (!why && want == PG_DATA && rows >= 0 && h.nvals != rows)
                    why = "columns of a row group differ in rows";
                if (why) {
                    st = ms_error_set(err, MS_EINPUT,
                                      "%s: cannot resume: row group %llu, column \"%s\": %s", path,
                                      (unsigned long long)w->nrg, cols[c].name, why);
                    goto done;
                }
                if (want == PG_DICT)
                    o->dict_off = (int64_t)pos;
                else {
                    o->data_off = (int64_t)pos;
                    rows = h.nvals;
                    o->num_values = h.nvals;
                    o->null_count = h.null_count;
                    if (h.min && h.max) {
                        o->has_minmax = 1;
                        set_stat(&o->min, &o->min_n, h.min, h.min_n);
                        set_stat(&o->max, &o->max_n, h.max, h.max_n);
                    }
                }
                o->comp += (int64_t)(hlen + (size_t)h.comp);
                o->uncomp += (int64_t)(hlen + (size_t)h.uncomp);
                pos += hlen + (size_t)h.comp;
            }
        }
        encode_row_group(w, rows);
        w->nrg++;
        w->rows += (uint64_t)rows;
    }
    if (w->nrg != state->row_groups || w->rows != state->rows) {
        st = ms_error_set(err, MS_EINPUT,
                          "%s: cannot resume: %llu row groups (%llu rows) before byte %llu, the "
                          "state says %llu (%llu)",
                          path, (unsigned long long)w->nrg, (unsigned long long)w->rows,
                          (unsigned long long)state->offset, (unsigned long long)state->row_groups,
                          (unsigned long long)state->rows);
        goto done;
    }
    if (ftruncate(w->fd, (off_t)state->offset) != 0) {
        st = ms_error_set(err, MS_EIO, "%s: cannot truncate to resume: %s", path, strerror(errno));
        goto done;
    }
    w->off = state->offset;
done:
    free(buf);
    if (st != MS_OK) {
        free_writer(w);
        *out = NULL;
    }
    return st;
}
