/*
 * pqdump — print what the Parquet reader (parquet.h) reads from a file, as
 * text the DuckDB oracle (duckdb_oracle.mjs) prints the same way, so the
 * tests compare the two line by line.
 *
 *   pqdump meta FILE             columns, types, row groups
 *   pqdump dump FILE [ROWS]      every value of every column, reading each
 *                                row group in ranges of ROWS rows (default:
 *                                the whole row group)
 *   pqdump bench FILE COLUMN N   decode COLUMN N times as float, print MB/s
 *
 * A value line is "COLUMN<TAB>KIND<TAB>VALUE": KIND f64/f32 (the IEEE bits
 * in hex), i64 (decimal), s (the bytes in hex, read as strings) or d (the
 * same, read through the dictionary codes); VALUE is NULL for a null.
 * On an error: the error's one line on stderr, exit status = its code.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpiscore/parquet.h"

static void hex(FILE *o, const char *p, size_t n)
{
    static const char *d = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        fputc(d[(unsigned char)p[i] >> 4], o);
        fputc(d[(unsigned char)p[i] & 15], o);
    }
}

static int is_bytes(const ms_pq_column *c)
{
    return (c->physical == MS_PQ_BYTE_ARRAY || c->physical == MS_PQ_FIXED_LEN_BYTE_ARRAY) &&
           c->logical != MS_PQ_LOG_DECIMAL;
}

static int has_i64(const ms_pq_column *c)
{
    return !is_bytes(c) && c->physical != MS_PQ_FLOAT && c->physical != MS_PQ_DOUBLE &&
           !(c->logical == MS_PQ_LOG_DECIMAL && c->scale != 0) && c->logical != MS_PQ_LOG_DECIMAL;
}

static void print_values(const ms_pq_column *c, const ms_pq_values *v)
{
    for (size_t i = 0; i < v->n; i++) {
        const char *kind = v->as == MS_PQ_AS_F64   ? "f64"
                           : v->as == MS_PQ_AS_F32 ? "f32"
                           : v->as == MS_PQ_AS_I64 ? "i64"
                           : v->as == MS_PQ_AS_STR ? "s"
                                                   : "d";
        printf("%s\t%s\t", c->name, kind);
        if (!v->valid[i]) {
            puts("NULL");
            continue;
        }
        switch (v->as) {
        case MS_PQ_AS_F64: {
            uint64_t b;
            memcpy(&b, &v->f64[i], 8);
            printf("%016" PRIx64 "\n", b);
            break;
        }
        case MS_PQ_AS_F32: {
            uint32_t b;
            memcpy(&b, &v->f32[i], 4);
            printf("%08" PRIx32 "\n", b);
            break;
        }
        case MS_PQ_AS_I64:
            printf("%" PRId64 "\n", v->i64[i]);
            break;
        case MS_PQ_AS_STR:
            hex(stdout, v->bytes + v->offsets[i], v->offsets[i + 1] - v->offsets[i]);
            putchar('\n');
            break;
        case MS_PQ_AS_DICT: {
            int32_t k = v->codes[i];
            if (k < 0 || (size_t)k >= v->dict_n) {
                printf("BADCODE %d\n", k);
                break;
            }
            hex(stdout, v->dict_bytes + v->dict_offsets[k],
                v->dict_offsets[k + 1] - v->dict_offsets[k]);
            putchar('\n');
            break;
        }
        }
    }
}

static int fail(const ms_error *err)
{
    fprintf(stderr, "%s\n", err->msg);
    return err->code ? (int)err->code : 1;
}

static int dump(ms_pq_file *f, int64_t step)
{
    ms_error err;
    ms_error_clear(&err);
    ms_pq_values v;
    memset(&v, 0, sizeof v);
    int rc = 0;
    for (size_t c = 0; c < ms_pq_num_columns(f) && !rc; c++) {
        const ms_pq_column *ci = ms_pq_column_info(f, c);
        ms_pq_as kinds[3];
        int nk = 0;
        if (is_bytes(ci)) {
            kinds[nk++] = MS_PQ_AS_STR;
            kinds[nk++] = MS_PQ_AS_DICT;
        } else {
            kinds[nk++] = MS_PQ_AS_F64;
            kinds[nk++] = MS_PQ_AS_F32;
            if (has_i64(ci))
                kinds[nk++] = MS_PQ_AS_I64;
        }
        for (int k = 0; k < nk && !rc; k++)
            for (size_t g = 0; g < ms_pq_num_row_groups(f) && !rc; g++) {
                int64_t rows = ms_pq_row_group_rows(f, g);
                int64_t s = step > 0 ? step : (rows > 0 ? rows : 1);
                for (int64_t b = 0; b < rows || (rows == 0 && b == 0); b += s) {
                    if (ms_pq_read(f, g, c, b, s, kinds[k], &v, &err) != MS_OK) {
                        rc = fail(&err);
                        break;
                    }
                    print_values(ci, &v);
                    if (rows == 0)
                        break;
                }
            }
    }
    ms_pq_values_free(&v);
    return rc;
}

static const char *phys_name(ms_pq_physical p)
{
    static const char *n[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                              "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return n[p];
}

static void meta(ms_pq_file *f)
{
    static const char *lg[] = {"NONE", "INT", "STRING", "DATE", "TIMESTAMP", "TIME", "DECIMAL"};
    printf("rows %" PRId64 " row_groups %zu columns %zu\n", ms_pq_num_rows(f),
           ms_pq_num_row_groups(f), ms_pq_num_columns(f));
    for (size_t c = 0; c < ms_pq_num_columns(f); c++) {
        const ms_pq_column *ci = ms_pq_column_info(f, c);
        printf("column %s %s %s nullable=%d", ci->name, phys_name(ci->physical), lg[ci->logical],
               ci->nullable);
        if (ci->logical == MS_PQ_LOG_INT)
            printf(" bits=%d signed=%d", ci->bit_width, ci->is_signed);
        if (ci->logical == MS_PQ_LOG_DECIMAL)
            printf(" precision=%d scale=%d", ci->precision, ci->scale);
        if (ci->logical == MS_PQ_LOG_TIMESTAMP || ci->logical == MS_PQ_LOG_TIME)
            printf(" unit=%d", (int)ci->unit);
        putchar('\n');
    }
    for (size_t g = 0; g < ms_pq_num_row_groups(f); g++) {
        printf("row_group %zu rows %" PRId64 " first %" PRId64, g, ms_pq_row_group_rows(f, g),
               ms_pq_row_group_first_row(f, g));
        for (size_t c = 0; c < ms_pq_num_columns(f); c++) {
            uint64_t off, len;
            ms_pq_chunk_range(f, g, c, &off, &len);
            printf(" [%" PRIu64 ",+%" PRIu64 " %s]", off, len,
                   ms_pq_codec_name(ms_pq_chunk_codec(f, g, c)));
        }
        putchar('\n');
    }
    for (size_t i = 0; i < ms_pq_num_kv(f); i++) {
        const char *k, *v;
        ms_pq_kv(f, i, &k, &v);
        printf("kv %s=%s\n", k, v ? v : "(null)");
    }
}

static int bench(ms_pq_file *f, const char *col, int reps)
{
    ms_error err;
    ms_error_clear(&err);
    long c = ms_pq_find_column(f, col);
    if (c < 0) {
        fprintf(stderr, "no column %s\n", col);
        return 1;
    }
    ms_pq_values v;
    memset(&v, 0, sizeof v);
    struct timespec t0, t1;
    double bytes = 0;
    double sink = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < reps; r++)
        for (size_t g = 0; g < ms_pq_num_row_groups(f); g++) {
            if (ms_pq_read(f, g, (size_t)c, 0, -1, MS_PQ_AS_F32, &v, &err) != MS_OK) {
                ms_pq_values_free(&v);
                return fail(&err);
            }
            bytes += (double)v.n * 4;
            sink += v.n ? v.f32[v.n / 2] : 0;
        }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("%.0f MB/s (%.0f MB of float in %.3f s; checksum %g)\n", bytes / s / 1e6, bytes / 1e6, s,
           sink);
    ms_pq_values_free(&v);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: pqdump meta|dump|bench FILE [ROWS | COLUMN N]\n");
        return 1;
    }
    ms_error err;
    ms_error_clear(&err);
    ms_pq_file *f;
    if (ms_pq_open(argv[2], &f, &err) != MS_OK)
        return fail(&err);
    int rc = 0;
    if (!strcmp(argv[1], "meta"))
        meta(f);
    else if (!strcmp(argv[1], "dump"))
        rc = dump(f, argc > 3 ? atoll(argv[3]) : 0);
    else if (!strcmp(argv[1], "bench") && argc > 4)
        rc = bench(f, argv[3], atoi(argv[4]));
    else {
        fprintf(stderr, "pqdump: unknown command %s\n", argv[1]);
        rc = 1;
    }
    ms_pq_close(f);
    return rc;
}
