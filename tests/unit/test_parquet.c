/*
 * test_parquet.c — the Parquet codec (parquet.h) on files built byte by byte
 * here: the encodings and codecs DuckDB does not write (DELTA_BYTE_ARRAY,
 * RLE booleans, Hadoop-framed LZ4, DELTA_BINARY_PACKED of every bit width),
 * every damaged-file error with its exact one line, hostile sizes that must
 * not allocate, and the writer's round trip, row ranges and resume refusals.
 * DuckDB's files and DuckDB reading ours: tests/parquet/test_parquet_duckdb.sh.
 */
#include <lz4.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/parquet_internal.h"
#include "check.h"
#include "mpiscore/parquet.h"

static char dir[] = "/tmp/test_parquet.XXXXXX";
static char path[256];

/* ---- a tiny file builder ---- */

typedef struct tcol {
    const char *name;
    int type, repetition, converted, type_length;
    int codec;
    ms_tw chunk; /* its pages */
    int64_t num_values;
    int64_t dict_off_rel; /* -1: no dictionary page */
} tcol;

static void page(tcol *c, int ptype, const void *payload, size_t n, int32_t uncomp, int32_t nvals,
                 int enc, int v2_def_len, int v2_nulls)
{
    ms_tw h;
    memset(&h, 0, sizeof h);
    ms_tw_struct_begin(&h);
    ms_tw_i32(&h, 1, ptype);
    ms_tw_i32(&h, 2, uncomp);
    ms_tw_i32(&h, 3, (int32_t)n);
    if (ptype == 0) {
        ms_tw_field(&h, 5, MS_TC_STRUCT);
        ms_tw_struct_begin(&h);
        ms_tw_i32(&h, 1, nvals);
        ms_tw_i32(&h, 2, enc);
        ms_tw_i32(&h, 3, 3);
        ms_tw_i32(&h, 4, 3);
        ms_tw_struct_end(&h);
    } else if (ptype == 2) {
        ms_tw_field(&h, 7, MS_TC_STRUCT);
        ms_tw_struct_begin(&h);
        ms_tw_i32(&h, 1, nvals);
        ms_tw_i32(&h, 2, 0);
        ms_tw_struct_end(&h);
    } else {
        ms_tw_field(&h, 8, MS_TC_STRUCT);
        ms_tw_struct_begin(&h);
        ms_tw_i32(&h, 1, nvals);
        ms_tw_i32(&h, 2, v2_nulls);
        ms_tw_i32(&h, 3, nvals);
        ms_tw_i32(&h, 4, enc);
        ms_tw_i32(&h, 5, v2_def_len);
        ms_tw_i32(&h, 6, 0);
        ms_tw_struct_end(&h);
    }
    ms_tw_struct_end(&h);
    if (ptype == 2)
        c->dict_off_rel = (int64_t)c->chunk.n;
    ms_tw_bytes(&c->chunk, h.b, h.n);
    ms_tw_bytes(&c->chunk, payload, n);
    ms_tw_free(&h);
}

/* PAR1, the chunks, a footer of one row group of `rows`. */
static void write_file(tcol *cols, int ncols, int64_t rows, int64_t footer_rows)
{
    FILE *fp = fopen(path, "wb");
    CHECK_FATAL(fp != NULL);
    fwrite("PAR1", 1, 4, fp);
    int64_t off = 4, starts[8];
    for (int c = 0; c < ncols; c++) {
        starts[c] = off;
        fwrite(cols[c].chunk.b, 1, cols[c].chunk.n, fp);
        off += (int64_t)cols[c].chunk.n;
    }
    ms_tw t;
    memset(&t, 0, sizeof t);
    ms_tw_struct_begin(&t);
    ms_tw_i32(&t, 1, 1);
    ms_tw_list(&t, 2, MS_TC_STRUCT, (size_t)ncols + 1);
    ms_tw_struct_begin(&t);
    ms_tw_binary(&t, 4, "schema", 6);
    ms_tw_i32(&t, 5, ncols);
    ms_tw_struct_end(&t);
    for (int c = 0; c < ncols; c++) {
        ms_tw_struct_begin(&t);
        ms_tw_i32(&t, 1, cols[c].type);
        if (cols[c].type_length)
            ms_tw_i32(&t, 2, cols[c].type_length);
        ms_tw_i32(&t, 3, cols[c].repetition);
        ms_tw_binary(&t, 4, cols[c].name, strlen(cols[c].name));
        if (cols[c].converted >= 0)
            ms_tw_i32(&t, 6, cols[c].converted);
        ms_tw_struct_end(&t);
    }
    ms_tw_i64(&t, 3, footer_rows);
    ms_tw_list(&t, 4, MS_TC_STRUCT, 1);
    ms_tw_struct_begin(&t);
    ms_tw_list(&t, 1, MS_TC_STRUCT, (size_t)ncols);
    for (int c = 0; c < ncols; c++) {
        ms_tw_struct_begin(&t);
        ms_tw_i64(&t, 2, starts[c]);
        ms_tw_field(&t, 3, MS_TC_STRUCT);
        ms_tw_struct_begin(&t);
        ms_tw_i32(&t, 1, cols[c].type);
        ms_tw_list(&t, 3, MS_TC_BINARY, 1);
        ms_tw_varint(&t, strlen(cols[c].name));
        ms_tw_bytes(&t, cols[c].name, strlen(cols[c].name));
        ms_tw_i32(&t, 4, cols[c].codec);
        ms_tw_i64(&t, 5, cols[c].num_values);
        ms_tw_i64(&t, 6, (int64_t)cols[c].chunk.n);
        ms_tw_i64(&t, 7, (int64_t)cols[c].chunk.n);
        if (cols[c].dict_off_rel >= 0) {
            /* data pages follow the dictionary page */
            ms_tw_i64(&t, 9, starts[c] + (int64_t)cols[c].chunk.n);
            ms_tw_i64(&t, 11, starts[c] + cols[c].dict_off_rel);
        } else
            ms_tw_i64(&t, 9, starts[c]);
        ms_tw_struct_end(&t);
        ms_tw_struct_end(&t);
    }
    ms_tw_i64(&t, 3, rows);
    ms_tw_struct_end(&t);
    ms_tw_struct_end(&t);
    uint8_t tail[8] = {(uint8_t)t.n,
                       (uint8_t)(t.n >> 8),
                       (uint8_t)(t.n >> 16),
                       (uint8_t)(t.n >> 24),
                       'P',
                       'A',
                       'R',
                       '1'};
    fwrite(t.b, 1, t.n, fp);
    fwrite(tail, 1, 8, fp);
    fclose(fp);
    ms_tw_free(&t);
}

/* MS_PARQUET_KEEP=DIR keeps a copy of each hand-built file there as NAME
 * (how tests/fuzz/corpus/parquet/hand_*.parquet were made). */
static void keep(const char *name)
{
    const char *d = getenv("MS_PARQUET_KEEP");
    if (!d)
        return;
    char to[512];
    snprintf(to, sizeof to, "%s/%s", d, name);
    FILE *in = fopen(path, "rb"), *out = fopen(to, "wb");
    CHECK_FATAL(in && out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
}

static tcol mkcol(const char *name, int type, int repetition, int converted, int codec, int64_t nv)
{
    tcol c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.type = type;
    c.repetition = repetition;
    c.converted = converted;
    c.codec = codec;
    c.num_values = nv;
    c.dict_off_rel = -1;
    return c;
}

/* DELTA_BINARY_PACKED of v[0..n): blocks of 128, 4 miniblocks of 32. */
static void dbp_encode(ms_tw *t, const int64_t *v, size_t n)
{
    ms_tw_varint(t, 128);
    ms_tw_varint(t, 4);
    ms_tw_varint(t, n);
    ms_tw_varint(t, ((uint64_t)v[0] << 1) ^ (uint64_t)(v[0] >> 63));
    for (size_t b = 1; b < n; b += 128) {
        int64_t d[128], md = INT64_MAX;
        size_t k = n - b < 128 ? n - b : 128;
        for (size_t i = 0; i < k; i++) {
            d[i] =
                (int64_t)((uint64_t)v[b + i] - (uint64_t)v[b + i - 1]); /* wraps, as the format */
            if (d[i] < md)
                md = d[i];
        }
        ms_tw_varint(t, ((uint64_t)md << 1) ^ (uint64_t)(md >> 63));
        uint8_t widths[4] = {0, 0, 0, 0};
        for (size_t m = 0; m < 4; m++)
            for (size_t i = m * 32; i < (m + 1) * 32 && i < k; i++) {
                uint64_t x = (uint64_t)d[i] - (uint64_t)md;
                int w = 0;
                while (w < 64 && (x >> w))
                    w++;
                if (w > widths[m])
                    widths[m] = (uint8_t)w;
            }
        ms_tw_bytes(t, widths, 4);
        for (size_t m = 0; m < 4 && m * 32 < k; m++) {
            uint8_t buf[32 * 8 + 8];
            memset(buf, 0, sizeof buf);
            for (size_t i = 0; i < 32; i++) {
                uint64_t x = m * 32 + i < k ? (uint64_t)d[m * 32 + i] - (uint64_t)md : 0;
                for (int bit = 0; bit < widths[m]; bit++)
                    if (x >> bit & 1) {
                        size_t pos = i * widths[m] + (size_t)bit;
                        buf[pos / 8] |= (uint8_t)(1u << (pos % 8));
                    }
            }
            ms_tw_bytes(t, buf, (size_t)widths[m] * 4);
        }
    }
}

static ms_status rd(int64_t b, int64_t n, size_t col, ms_pq_as as, ms_pq_values *v, ms_error *err)
{
    ms_pq_file *f;
    ms_status st = ms_pq_open(path, &f, err);
    if (st != MS_OK)
        return st;
    st = ms_pq_read(f, 0, col, b, n, as, v, err);
    ms_pq_close(f);
    return st;
}

static int str_is(const ms_pq_values *v, size_t i, const char *s)
{
    return v->offsets[i + 1] - v->offsets[i] == strlen(s) &&
           !memcmp(v->bytes + v->offsets[i], s, strlen(s));
}

/* ---- encodings DuckDB does not write ---- */

static void test_hand_built_encodings(void)
{
    ms_error err;
    ms_pq_values v;
    memset(&v, 0, sizeof v);
    /* DELTA_BYTE_ARRAY strings (required, v1) */
    const char *words[] = {"apple", "applesauce", "apply", "banana", "band", "", "bandana", "b"};
    int64_t pre[8], suf[8];
    ms_tw sb;
    memset(&sb, 0, sizeof sb);
    for (int i = 0; i < 8; i++) {
        size_t p = 0;
        if (i > 0)
            while (words[i][p] && words[i - 1][p] == words[i][p])
                p++;
        pre[i] = (int64_t)p;
        suf[i] = (int64_t)(strlen(words[i]) - p);
    }
    ms_tw pl;
    memset(&pl, 0, sizeof pl);
    dbp_encode(&pl, pre, 8);
    dbp_encode(&pl, suf, 8);
    for (int i = 0; i < 8; i++)
        ms_tw_bytes(&pl, words[i] + pre[i], (size_t)suf[i]);
    tcol c0 = mkcol("dba", MS_PQ_BYTE_ARRAY, 0, 0, MS_PQ_UNCOMPRESSED, 8);
    page(&c0, 0, pl.b, pl.n, (int32_t)pl.n, 8, 7, 0, 0);

    /* RLE booleans, nullable, in a data page v2 (levels outside the codec) */
    tcol c1 = mkcol("rle_bool", MS_PQ_BOOLEAN, 1, -1, MS_PQ_UNCOMPRESSED, 8);
    {
        ms_tw p2;
        memset(&p2, 0, sizeof p2);
        uint32_t lev[8] = {1, 1, 0, 1, 1, 1, 0, 1}, vals[6] = {1, 0, 1, 1, 1, 0};
        ms_tw lv;
        memset(&lv, 0, sizeof lv);
        /* levels: one bit-packed group */
        ms_tw_varint(&lv, 3);
        uint8_t lb = 0;
        for (int i = 0; i < 8; i++)
            lb |= (uint8_t)(lev[i] << i);
        ms_tw_bytes(&lv, &lb, 1);
        ms_tw_bytes(&p2, lv.b, lv.n);
        /* values: 4-byte length, then RLE runs */
        ms_tw rv;
        memset(&rv, 0, sizeof rv);
        ms_tw_varint(&rv, 3); /* bit-packed group of 8 (6 used) */
        uint8_t vb = 0;
        for (int i = 0; i < 6; i++)
            vb |= (uint8_t)(vals[i] << i);
        ms_tw_bytes(&rv, &vb, 1);
        uint8_t len[4] = {(uint8_t)rv.n, 0, 0, 0};
        ms_tw_bytes(&p2, len, 4);
        ms_tw_bytes(&p2, rv.b, rv.n);
        page(&c1, 3, p2.b, p2.n, (int32_t)p2.n, 8, 3, (int)lv.n, 2);
        ms_tw_free(&p2);
        ms_tw_free(&lv);
        ms_tw_free(&rv);
    }

    /* INT32 PLAIN in two pages under Hadoop-framed LZ4 (codec 5) */
    tcol c2 = mkcol("lz4_hadoop", MS_PQ_INT32, 0, -1, MS_PQ_LZ4, 8);
    for (int pg = 0; pg < 2; pg++) {
        int32_t x[4];
        for (int i = 0; i < 4; i++)
            x[i] = (pg * 4 + i) * 1000 - 3;
        char comp[64];
        int cn = LZ4_compress_default((const char *)x, comp, 16, 64);
        uint8_t fr[80] = {0, 0, 0, 16, 0, 0, 0, (uint8_t)cn};
        memcpy(fr + 8, comp, (size_t)cn);
        page(&c2, 0, fr, (size_t)cn + 8, 16, 4, 0, 0, 0);
    }

    /* INT64 DELTA_BINARY_PACKED over several blocks, deltas of every width */
    tcol c3 = mkcol("dbp64", MS_PQ_INT64, 0, -1, MS_PQ_UNCOMPRESSED, 8);
    int64_t big[300];
    for (int i = 0; i < 300; i++)
        big[i] = i % 3 == 0 ? INT64_MIN / 2 + i
                            : (int64_t)((uint64_t)i * 0x9E3779B97F4A7C15ull >> (i % 64));
    {
        ms_tw p3;
        memset(&p3, 0, sizeof p3);
        dbp_encode(&p3, big, 8);
        page(&c3, 0, p3.b, p3.n, (int32_t)p3.n, 8, 5, 0, 0);
        ms_tw_free(&p3);
    }
    tcol cols[4] = {c0, c1, c2, c3};
    write_file(cols, 4, 8, 8);
    keep("hand_dba_rlebool_lz4hadoop_dbp.parquet");

    CHECK_MSG(rd(0, -1, 0, MS_PQ_AS_STR, &v, &err) == MS_OK, "%s", err.msg);
    for (int i = 0; i < 8; i++)
        CHECK_MSG(str_is(&v, (size_t)i, words[i]), "DELTA_BYTE_ARRAY value %d", i);
    CHECK_MSG(rd(3, 4, 0, MS_PQ_AS_DICT, &v, &err) == MS_OK, "%s", err.msg);
    CHECK(v.n == 4 && v.dict_n == 4);
    for (int i = 0; i < 4; i++)
        CHECK(
            v.dict_offsets[v.codes[i] + 1] - v.dict_offsets[v.codes[i]] == strlen(words[3 + i]) &&
            !memcmp(v.dict_bytes + v.dict_offsets[v.codes[i]], words[3 + i], strlen(words[3 + i])));

    CHECK_MSG(rd(0, -1, 1, MS_PQ_AS_I64, &v, &err) == MS_OK, "%s", err.msg);
    int64_t want_b[8] = {1, 0, 0, 1, 1, 1, 0, 0};
    uint8_t want_valid[8] = {1, 1, 0, 1, 1, 1, 0, 1};
    CHECK(v.n == 8 && v.n_null == 2);
    for (int i = 0; i < 8; i++)
        CHECK_MSG(v.valid[i] == want_valid[i] && (!v.valid[i] || v.i64[i] == want_b[i]),
                  "RLE bool %d", i);
    CHECK_MSG(rd(0, -1, 2, MS_PQ_AS_F64, &v, &err) == MS_OK, "%s", err.msg);
    for (int i = 0; i < 8; i++)
        CHECK(v.f64[i] == i * 1000 - 3);
    CHECK_MSG(rd(5, 2, 2, MS_PQ_AS_I64, &v, &err) == MS_OK, "%s", err.msg);
    CHECK(v.n == 2 && v.i64[0] == 4997 && v.i64[1] == 5997);
    CHECK_MSG(rd(0, -1, 3, MS_PQ_AS_I64, &v, &err) == MS_OK, "%s", err.msg);
    for (int i = 0; i < 8; i++)
        CHECK_MSG(v.i64[i] == big[i], "DBP value %d", i);
    for (int i = 0; i < 4; i++)
        ms_tw_free(&cols[i].chunk);
    ms_tw_free(&pl);
    ms_tw_free(&sb);

    /* DELTA_BINARY_PACKED over 300 values (3 blocks), read whole and in ranges */
    tcol c4 = mkcol("dbp", MS_PQ_INT64, 0, -1, MS_PQ_UNCOMPRESSED, 300);
    ms_tw p4;
    memset(&p4, 0, sizeof p4);
    dbp_encode(&p4, big, 300);
    page(&c4, 0, p4.b, p4.n, (int32_t)p4.n, 300, 5, 0, 0);
    write_file(&c4, 1, 300, 300);
    keep("hand_dbp_300.parquet");
    CHECK_MSG(rd(0, -1, 0, MS_PQ_AS_I64, &v, &err) == MS_OK, "%s", err.msg);
    int same = v.n == 300;
    for (int i = 0; same && i < 300; i++)
        same = v.i64[i] == big[i];
    CHECK(same);
    CHECK_MSG(rd(250, 30, 0, MS_PQ_AS_I64, &v, &err) == MS_OK, "%s", err.msg);
    CHECK(v.n == 30 && v.i64[0] == big[250] && v.i64[29] == big[279]);
    ms_tw_free(&p4);
    ms_tw_free(&c4.chunk);
    ms_pq_values_free(&v);
}

/* ---- damaged files: the exact line ---- */

static void expect_read_error(size_t col, ms_pq_as as, const char *want_fmt)
{
    char want[1024];
    snprintf(want, sizeof want, want_fmt, path);
    ms_error err;
    ms_error_clear(&err);
    ms_pq_values v;
    memset(&v, 0, sizeof v);
    ms_status st = rd(0, -1, col, as, &v, &err);
    CHECK_MSG(st == MS_EINPUT, "status %d for %s", st, want);
    CHECK_STREQ(err.msg, want);
    ms_pq_values_free(&v);
}

static void test_damaged_pages(void)
{
    /* a dictionary index out of range, at row 3 */
    tcol c = mkcol("cat", MS_PQ_BYTE_ARRAY, 0, 0, MS_PQ_UNCOMPRESSED, 4);
    uint8_t dict[] = {1, 0, 0, 0, 'a', 1, 0, 0, 0, 'b'};
    page(&c, 2, dict, sizeof dict, sizeof dict, 2, 0, 0, 0);
    uint8_t idx[] = {3, 3, 0x1 | 0x8, 0x28, 0, 0}; /* bw 3, one group: 0 1 5 ... */
    idx[2] = 3;                                    /* bit-packed, 1 group */
    idx[3] = (uint8_t)(0 | 1 << 3 | 5 << 6);       /* 0, 1, 5 (low bits) */
    idx[4] = (uint8_t)(5 >> 2);
    page(&c, 0, idx + 1, 5, 5, 4, 8, 0, 0);
    write_file(&c, 1, 4, 4);
    keep("hand_dict_index_out_of_range.parquet");
    expect_read_error(0, MS_PQ_AS_STR,
                      "%s: row group 0, column \"cat\", row 3: dictionary index 5 out of range "
                      "(dictionary has 2 entries)");
    ms_tw_free(&c.chunk);

    /* more values than the row group declares */
    c = mkcol("x", MS_PQ_INT32, 0, -1, MS_PQ_UNCOMPRESSED, 2);
    int32_t three[3] = {1, 2, 3};
    page(&c, 0, three, 12, 12, 3, 0, 0, 0);
    write_file(&c, 1, 2, 2);
    expect_read_error(
        0, MS_PQ_AS_F64,
        "%s: row group 0, column \"x\", row 1: page of 3 values: more values than the "
        "row group's 2 rows");
    ms_tw_free(&c.chunk);

    /* fewer: the chunk ends first */
    c = mkcol("x", MS_PQ_INT32, 0, -1, MS_PQ_UNCOMPRESSED, 4);
    page(&c, 0, three, 12, 12, 3, 0, 0, 0);
    size_t end = c.chunk.n;
    write_file(&c, 1, 4, 4);
    char fmt[256];
    snprintf(fmt, sizeof fmt,
             "%%s: row group 0, column \"x\": page at byte %zu: column chunk ends after 3 of its 4 "
             "values",
             4 + end);
    expect_read_error(0, MS_PQ_AS_F64, fmt);
    ms_tw_free(&c.chunk);

    /* a page header whose compressed size lies (past the chunk) */
    c = mkcol("x", MS_PQ_INT32, 0, -1, MS_PQ_UNCOMPRESSED, 3);
    page(&c, 0, three, 12, 12, 3, 0, 0, 0);
    c.chunk.n -= 1; /* the chunk's metadata says one byte less than the page */
    write_file(&c, 1, 3, 3);
    expect_read_error(
        0, MS_PQ_AS_F64,
        "%s: row group 0, column \"x\": page at byte 4: page of 12 bytes past the column "
        "chunk's end");
    ms_tw_free(&c.chunk);

    /* an uncompressed size no codec reaches: refused before any allocation */
    c = mkcol("x", MS_PQ_INT32, 0, -1, MS_PQ_SNAPPY, 3);
    uint8_t junk[12] = {0};
    page(&c, 0, junk, 12, INT32_MAX, 3, 0, 0, 0);
    write_file(&c, 1, 3, 3);
    expect_read_error(0, MS_PQ_AS_F64,
                      "%s: row group 0, column \"x\": page at byte 4: page claims 2147483647 bytes "
                      "from 12 compressed");
    ms_tw_free(&c.chunk);

    /* a decompression failure */
    c = mkcol("x", MS_PQ_INT32, 0, -1, MS_PQ_ZSTD, 3);
    page(&c, 0, junk, 12, 12, 3, 0, 0, 0);
    write_file(&c, 1, 3, 3);
    expect_read_error(0, MS_PQ_AS_F64,
                      "%s: row group 0, column \"x\": page at byte 4: zstd: corrupt input or size "
                      "differs from the page header");
    ms_tw_free(&c.chunk);

    /* a page shorter than its values */
    c = mkcol("x", MS_PQ_INT32, 0, -1, MS_PQ_UNCOMPRESSED, 4);
    page(&c, 0, three, 12, 12, 4, 0, 0, 0);
    write_file(&c, 1, 4, 4);
    expect_read_error(
        0, MS_PQ_AS_F64,
        "%s: row group 0, column \"x\": page at byte 4: page ends before its 4 values");
    ms_tw_free(&c.chunk);

    /* a corrupt page header (Thrift) */
    c = mkcol("x", MS_PQ_INT32, 0, -1, MS_PQ_UNCOMPRESSED, 3);
    uint8_t bad[16];
    memset(bad, 0xff, sizeof bad);
    ms_tw_bytes(&c.chunk, bad, sizeof bad);
    write_file(&c, 1, 3, 3);
    expect_read_error(
        0, MS_PQ_AS_F64,
        "%s: row group 0, column \"x\": page at byte 4: corrupt page header (Thrift): "
        "unknown field type");
    ms_tw_free(&c.chunk);

    /* an unknown codec: refused by column name, up front by the planner's check */
    c = mkcol("lzo", MS_PQ_INT32, 0, -1, MS_PQ_LZO, 3);
    page(&c, 0, three, 12, 12, 3, 0, 0, 0);
    write_file(&c, 1, 3, 3);
    expect_read_error(0, MS_PQ_AS_F64,
                      "%s: row group 0, column \"lzo\": unsupported compression codec LZO (3)");
    {
        ms_pq_file *pf;
        ms_error e2;
        CHECK_FATAL(ms_pq_open(path, &pf, &e2) == MS_OK);
        CHECK(ms_pq_check_column(pf, 0, MS_PQ_AS_F64, &e2) == MS_EINPUT);
        CHECK(strstr(e2.msg, "column \"lzo\": unsupported compression codec LZO (3)") != NULL);
        ms_pq_close(pf);
    }
    ms_tw_free(&c.chunk);

    /* footer row count != the row groups' */
    c = mkcol("x", MS_PQ_INT32, 0, -1, MS_PQ_UNCOMPRESSED, 3);
    page(&c, 0, three, 12, 12, 3, 0, 0, 0);
    write_file(&c, 1, 3, 1000000000000LL);
    ms_pq_file *f;
    ms_error err;
    char want[512];
    snprintf(want, sizeof want, "%s: footer says 1000000000000 rows, its row groups hold 3", path);
    CHECK(ms_pq_open(path, &f, &err) == MS_EINPUT);
    CHECK_STREQ(err.msg, want);
    ms_tw_free(&c.chunk);

    /* a huge row group of nulls is read by row range: memory follows the range */
    c = mkcol("n", MS_PQ_DOUBLE, 1, -1, MS_PQ_UNCOMPRESSED, 2000000000);
    ms_tw nl;
    memset(&nl, 0, sizeof nl);
    uint8_t len[4] = {0};
    ms_tw_bytes(&nl, len, 4);
    ms_tw_varint(&nl, (uint64_t)2000000000 << 1); /* one RLE run of level 0 */
    uint8_t zero = 0;
    ms_tw_bytes(&nl, &zero, 1);
    nl.b[0] = (uint8_t)(nl.n - 4);
    page(&c, 0, nl.b, nl.n, (int32_t)nl.n, 2000000000, 0, 0, 0);
    write_file(&c, 1, 2000000000, 2000000000);
    ms_pq_values v;
    memset(&v, 0, sizeof v);
    CHECK_MSG(rd(1999999990, 100, 0, MS_PQ_AS_F64, &v, &err) == MS_OK, "%s", err.msg);
    CHECK(v.n == 10 && v.n_null == 10 && isnan(v.f64[9]) && v.cap_rows < 1000);
    ms_pq_values_free(&v);
    ms_tw_free(&nl);
    ms_tw_free(&c.chunk);
}

/* ---- the writer ---- */

static void test_writer_round_trip(void)
{
    ms_error err;
    ms_pqw_column cols[3] = {
        {"x", MS_PQW_FLOAT, 1}, {"k", MS_PQW_STRING, 1}, {"n", MS_PQW_INT64, 0}};
    enum { N = 1000 };
    static float x[N];
    static uint8_t vx[N], vk[N];
    static int64_t n64[N];
    static uint64_t ko[N + 1];
    static char kb[N * 8];
    ko[0] = 0;
    for (int i = 0; i < N; i++) {
        x[i] = (float)i / 7.0f;
        vx[i] = i % 10 != 0;
        vk[i] = i % 4 != 1;
        n64[i] = (int64_t)i * -1000003;
        ko[i + 1] = ko[i] + (uint64_t)sprintf(kb + ko[i], "v%d", i % 13);
    }
    ms_pqw_data d[3] = {{x, vx, NULL, NULL}, {NULL, vk, ko, kb}, {n64, NULL, NULL, NULL}};
    ms_pq_writer *w;
    CHECK_FATAL(ms_pq_writer_create(path, cols, 3, MS_PQ_SNAPPY, &w, &err) == MS_OK);
    CHECK_MSG(ms_pq_writer_write(w, N, d, &err) == MS_OK, "%s", err.msg);
    ms_pq_wstate s1 = ms_pq_writer_state(w);
    CHECK(s1.row_groups == 1 && s1.rows == N);
    CHECK_MSG(ms_pq_writer_write(w, N, d, &err) == MS_OK, "%s", err.msg);
    /* a null in a required column is the caller's error */
    ms_pqw_data bad[3] = {d[0], d[1], {n64, vx, NULL, NULL}};
    CHECK(ms_pq_writer_write(w, N, bad, &err) == MS_EUSAGE);
    CHECK(strstr(err.msg, "column \"n\": a null in a required column") != NULL);
    ms_pq_wstate s2 = ms_pq_writer_state(w);
    ms_pq_writer_abort(w); /* no footer: not readable yet, but resumable */

    ms_pq_file *f;
    CHECK(ms_pq_open(path, &f, &err) == MS_EINPUT);
    /* resume refusals: a state past the file, a row group count that differs */
    ms_pq_wstate wrong = s2;
    wrong.offset += 1000000;
    CHECK(ms_pq_writer_resume(path, cols, 3, MS_PQ_SNAPPY, &wrong, &w, &err) == MS_EINPUT);
    wrong = s2;
    wrong.row_groups = 3;
    CHECK(ms_pq_writer_resume(path, cols, 3, MS_PQ_SNAPPY, &wrong, &w, &err) == MS_EINPUT);
    CHECK(strstr(err.msg, "cannot resume: 2 row groups (2000 rows) before byte") != NULL);
    /* a flipped byte in a committed page: the CRC says so */
    FILE *fp = fopen(path, "r+b");
    CHECK_FATAL(fp != NULL);
    fseek(fp, (long)s1.offset + 60, SEEK_SET);
    int ch = fgetc(fp);
    fseek(fp, (long)s1.offset + 60, SEEK_SET);
    fputc(ch ^ 0x40, fp);
    fclose(fp);
    CHECK(ms_pq_writer_resume(path, cols, 3, MS_PQ_SNAPPY, &s2, &w, &err) == MS_EINPUT);
    CHECK_MSG(strstr(err.msg, "row group 1, column \"x\": page CRC mismatch") != NULL, "%s",
              err.msg);
    /* from the first row group's state: the damaged second one is cut off */
    CHECK_MSG(ms_pq_writer_resume(path, cols, 3, MS_PQ_SNAPPY, &s1, &w, &err) == MS_OK, "%s",
              err.msg);
    CHECK_MSG(ms_pq_writer_write(w, N, d, &err) == MS_OK, "%s", err.msg);
    CHECK(ms_pq_writer_set_kv(w, "k", "v", &err) == MS_OK);
    CHECK_MSG(ms_pq_writer_close(w, &err) == MS_OK, "%s", err.msg);

    CHECK_FATAL(ms_pq_open(path, &f, &err) == MS_OK);
    CHECK(ms_pq_num_rows(f) == 2 * N && ms_pq_num_row_groups(f) == 2 && ms_pq_num_kv(f) == 1);
    ms_pq_values v;
    memset(&v, 0, sizeof v);
    for (size_t g = 0; g < 2; g++) {
        CHECK(ms_pq_read(f, g, 0, 0, -1, MS_PQ_AS_F32, &v, &err) == MS_OK);
        int okx = v.n == N;
        for (int i = 0; okx && i < N; i++)
            okx = vx[i] ? memcmp(&v.f32[i], &x[i], 4) == 0 : isnan(v.f32[i]) && !v.valid[i];
        CHECK(okx);
        CHECK(ms_pq_read(f, g, 1, 100, 50, MS_PQ_AS_DICT, &v, &err) == MS_OK);
        int okk = v.n == 50 && v.dict_n == 13;
        for (int i = 0; okk && i < 50; i++) {
            int r = 100 + i;
            okk = vk[r] ? v.codes[i] >= 0 &&
                              v.dict_offsets[v.codes[i] + 1] - v.dict_offsets[v.codes[i]] ==
                                  ko[r + 1] - ko[r] &&
                              !memcmp(v.dict_bytes + v.dict_offsets[v.codes[i]], kb + ko[r],
                                      ko[r + 1] - ko[r])
                        : v.codes[i] == -1;
        }
        CHECK(okk);
        CHECK(ms_pq_read(f, g, 2, 999, 5, MS_PQ_AS_I64, &v, &err) == MS_OK);
        CHECK(v.n == 1 && v.i64[0] == n64[999]);
    }
    /* kinds that do not fit the column are refused by name */
    CHECK(ms_pq_read(f, 0, 0, 0, -1, MS_PQ_AS_I64, &v, &err) == MS_EINPUT);
    char want[512];
    snprintf(want, sizeof want,
             "%s: row group 0, column \"x\": cannot read as int64: no exact int64 for this type",
             path);
    CHECK_STREQ(err.msg, want);
    CHECK(ms_pq_read(f, 0, 1, 0, -1, MS_PQ_AS_F64, &v, &err) == MS_EINPUT);
    CHECK(strstr(err.msg, "column \"k\": cannot read as double: a string column, not a number") !=
          NULL);
    CHECK(ms_pq_check_column(f, 1, MS_PQ_AS_F64, &err) == MS_EINPUT);
    CHECK(ms_pq_check_column(f, 1, MS_PQ_AS_DICT, &err) == MS_OK);
    CHECK(ms_pq_check_column(f, 0, MS_PQ_AS_F32, &err) == MS_OK);
    ms_pq_values_free(&v);
    ms_pq_close(f);
}

int main(void)
{
    CHECK_FATAL(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/t.parquet", dir);
    test_hand_built_encodings();
    test_damaged_pages();
    test_writer_round_trip();
    unlink(path);
    rmdir(dir);
    return ms_test_done("test_parquet");
}
