/*
 * parquet_internal.h — what the Parquet reader and writer share: the Thrift
 * compact protocol (parquet_thrift.c) and the codecs (parquet_codec.c).
 * Not a public header.
 */
#ifndef MS_PARQUET_INTERNAL_H
#define MS_PARQUET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mpiscore/parquet.h"

/* Thrift compact types (the low nibble of a field header). */
enum {
    MS_TC_STOP = 0,
    MS_TC_TRUE = 1,
    MS_TC_FALSE = 2,
    MS_TC_BYTE = 3,
    MS_TC_I16 = 4,
    MS_TC_I32 = 5,
    MS_TC_I64 = 6,
    MS_TC_DOUBLE = 7,
    MS_TC_BINARY = 8,
    MS_TC_LIST = 9,
    MS_TC_SET = 10,
    MS_TC_MAP = 11,
    MS_TC_STRUCT = 12
};

#define MS_TC_MAX_DEPTH 32

/* A bounded decoder: every read checks the end; the first failure sets
 * `bad` (with a reason) and every later read returns zeros, so a struct
 * parser checks once at its end. */
typedef struct ms_tr {
    const uint8_t *p, *end, *start;
    int depth;
    int16_t last[MS_TC_MAX_DEPTH];
    const char *bad;
    size_t bad_at; /* where the first failure was found */
} ms_tr;

void ms_tr_init(ms_tr *r, const uint8_t *p, size_t n);
/* Begin a struct (push the field-id base) / end it (pop). */
void ms_tr_struct_begin(ms_tr *r);
void ms_tr_struct_end(ms_tr *r);
/* Next field of the current struct: returns its type, MS_TC_STOP at the end
 * (or on failure); *id is the field id. */
int ms_tr_field(ms_tr *r, int *id);
int32_t ms_tr_i32(ms_tr *r, int type);
int64_t ms_tr_i64(ms_tr *r, int type);
/* A bool field's value is in its type. */
int ms_tr_bool(ms_tr *r, int type);
/* Binary/string: a view into the buffer. */
const uint8_t *ms_tr_binary(ms_tr *r, int type, size_t *len);
/* List/set header: element type and count (bounded by the bytes left). */
size_t ms_tr_list(ms_tr *r, int type, int *elem);
/* Skip a value of `type`. */
void ms_tr_skip(ms_tr *r, int type);
/* Bytes consumed since p. */
static inline size_t ms_tr_pos(const ms_tr *r, const uint8_t *start)
{
    return (size_t)(r->p - start);
}

/* A growing encoder. `oom` is set on the first failed allocation. */
typedef struct ms_tw {
    uint8_t *b;
    size_t n, cap;
    int depth;
    int16_t last[MS_TC_MAX_DEPTH];
    int oom;
} ms_tw;

void ms_tw_bytes(ms_tw *w, const void *p, size_t n);
void ms_tw_struct_begin(ms_tw *w);
void ms_tw_struct_end(ms_tw *w); /* writes STOP */
void ms_tw_field(ms_tw *w, int id, int type);
void ms_tw_i32(ms_tw *w, int id, int32_t v);
void ms_tw_i64(ms_tw *w, int id, int64_t v);
void ms_tw_bool(ms_tw *w, int id, int v);
void ms_tw_binary(ms_tw *w, int id, const void *p, size_t n);
void ms_tw_list(ms_tw *w, int id, int elem, size_t n); /* field + list header */
void ms_tw_varint(ms_tw *w, uint64_t v);
void ms_tw_free(ms_tw *w);

/* A PageHeader: what the reader and the writer's resume need of it.
 * min/max point into the parsed bytes. */
typedef struct ms_pq_page_hdr {
    int type;
    int32_t uncomp, comp, crc;
    int has_crc, has_sub, has_stats, is_compressed;
    int32_t nvals, enc, def_enc, nulls, nrows, def_len, rep_len;
    int64_t null_count;
    const uint8_t *min, *max;
    size_t min_n, max_n;
} ms_pq_page_hdr;

/* Parse the page header at p[0..n): NULL and its length, or why not. */
const char *ms_pq_parse_page_header(const uint8_t *p, size_t n, ms_pq_page_hdr *h, size_t *hlen);

/* Grow *p to hold at least `need` elements of `elem` bytes (doubling);
 * 0 when the memory is not there. *cap counts elements. */
int ms_pq_grow(void **p, size_t *cap, size_t need, size_t elem);

/* Codecs. Decompress src[0..n) into exactly dst_n bytes at dst; any other
 * outcome is a failure with a reason in *why. The caller bounds dst_n. */
int ms_pq_decompress(ms_pq_codec codec, const uint8_t *src, size_t n, uint8_t *dst, size_t dst_n,
                     const char **why);
/* Compress src[0..n) into *dst (grown as needed; *dst_cap its capacity);
 * returns the compressed length, or (size_t)-1 on failure. */
size_t ms_pq_compress(ms_pq_codec codec, const uint8_t *src, size_t n, uint8_t **dst,
                      size_t *dst_cap);
/* Whether we can decompress the codec. */
int ms_pq_codec_supported(int codec);
/* The most bytes we accept a page of n compressed bytes to expand to: the
 * codec's own worst-case ratio (snappy, LZ4, deflate), or for zstd and brotli
 * (unbounded ratios) that of deflate with a 16 MiB floor, so constant pages
 * still read. An allocation is never sized by a page header beyond this. */
size_t ms_pq_max_expansion(ms_pq_codec codec, size_t n);
uint32_t ms_pq_crc32(const uint8_t *p, size_t n);

#endif
