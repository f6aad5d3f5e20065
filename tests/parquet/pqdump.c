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
 *   pqdump write OUT CODEC ROWS RG_ROWS [CUT]
 *                                write a file of every writer type (nulls,
 *                                NaN, infinities, -0, empty and UTF-8 strings)
 *                                with ms_pq_writer, and print the values it
 *                                holds as `dump` prints them; with CUT, stop
 *                                after CUT row groups as a killed run would
 *                                (one more row group half written, no
 *                                footer), then resume from the state and
 *                                finish
 *
 * A value line is "COLUMN<TAB>KIND<TAB>VALUE": KIND f64/f32 (the IEEE bits
 * in hex), i64 (decimal), s (the bytes in hex, read as strings) or d (the
 * same, read through the dictionary codes); VALUE is NULL for a null.
 * On an error: the error's one line on stderr, exit status = its code.
 */
#include <inttypes.h>
#include <math.h>
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

/* ---- the writer's test file ---- */

enum { GEN_COLS = 8 };
static const ms_pqw_column gen_cols[GEN_COLS] = {
    {"id", MS_PQW_INT64, 0},  {"f32", MS_PQW_FLOAT, 1},  {"f64", MS_PQW_DOUBLE, 1},
    {"i32", MS_PQW_INT32, 0}, {"b", MS_PQW_BOOLEAN, 1},  {"s", MS_PQW_STRING, 1},
    {"s2", MS_PQW_STRING, 0}, {"f32r", MS_PQW_FLOAT, 0},
};

typedef struct gen {
    size_t n;
    int64_t *id;
    float *f32, *f32r;
    double *f64;
    int32_t *i32;
    uint8_t *b, *vf32, *vf64, *vb, *vs;
    uint64_t *so, *s2o;
    char *sb, *s2b;
} gen;

static void gen_make(gen *g, size_t first, size_t n)
{
    g->n = n;
    g->id = malloc(n * 8);
    g->f32 = malloc(n * 4);
    g->f32r = malloc(n * 4);
    g->f64 = malloc(n * 8);
    g->i32 = malloc(n * 4);
    g->b = malloc(n);
    g->vf32 = malloc(n);
    g->vf64 = malloc(n);
    g->vb = malloc(n);
    g->vs = malloc(n);
    g->so = malloc((n + 1) * 8);
    g->s2o = malloc((n + 1) * 8);
    g->sb = malloc(n * 16 + 1);
    g->s2b = malloc(n * 24 + 1);
    if (!g->id || !g->f32 || !g->f32r || !g->f64 || !g->i32 || !g->b || !g->vf32 || !g->vf64 ||
        !g->vb || !g->vs || !g->so || !g->s2o || !g->sb || !g->s2b) {
        fprintf(stderr, "pqdump: out of memory\n");
        exit(4);
    }
    size_t so = 0, s2o = 0;
    g->so[0] = g->s2o[0] = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = first + k;
        g->id[k] = (int64_t)i * 3 - 7 + (int64_t)(i % 5) * 1000000000000000LL;
        g->vf32[k] = i % 7 != 3;
        g->f32[k] = i % 50 == 1   ? NAN
                    : i % 50 == 2 ? INFINITY
                    : i % 50 == 3 ? -0.0f
                                  : (float)i * 0.1f - 20.0f;
        g->vf64[k] = i % 9 != 4;
        g->f64[k] = i % 40 == 5 ? -INFINITY : (double)i * 1.0000001 / 3.0 - 1e3;
        g->i32[k] = (int32_t)(uint32_t)(i * 2654435761u);
        g->vb[k] = i % 5 != 0;
        g->b[k] = i % 3 == 0;
        g->vs[k] = i % 6 != 0;
        if (g->vs[k])
            so += (size_t)(i % 29 == 0   ? 0
                           : i % 31 == 0 ? sprintf(g->sb + so, "caf\xc3\xa9")
                                         : sprintf(g->sb + so, "k%zu", i % 23));
        g->so[k + 1] = so;
        s2o += (size_t)sprintf(g->s2b + s2o, "row-%zu", i);
        g->s2o[k + 1] = s2o;
        g->f32r[k] = (float)i * 0.5f;
    }
}

static void gen_free(gen *g)
{
    free(g->id), free(g->f32), free(g->f32r), free(g->f64), free(g->i32), free(g->b);
    free(g->vf32), free(g->vf64), free(g->vb), free(g->vs), free(g->so), free(g->s2o);
    free(g->sb), free(g->s2b);
}

static ms_status gen_write(ms_pq_writer *w, size_t first, size_t n, ms_error *err)
{
    gen g;
    gen_make(&g, first, n);
    ms_pqw_data d[GEN_COLS] = {
        {g.id, NULL, NULL, NULL},   {g.f32, g.vf32, NULL, NULL}, {g.f64, g.vf64, NULL, NULL},
        {g.i32, NULL, NULL, NULL},  {g.b, g.vb, NULL, NULL},     {NULL, g.vs, g.so, g.sb},
        {NULL, NULL, g.s2o, g.s2b}, {g.f32r, NULL, NULL, NULL},
    };
    ms_status st = ms_pq_writer_write(w, n, d, err);
    gen_free(&g);
    return st;
}

static void print_f64(const char *col, double x)
{
    uint64_t b;
    memcpy(&b, &x, 8);
    printf("%s\tf64\t%016" PRIx64 "\n", col, b);
}

static void print_f32(const char *col, float x)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    printf("%s\tf32\t%08" PRIx32 "\n", col, b);
}

/* The values as `dump` prints them, column by column. */
static void gen_print(size_t rows)
{
    gen g;
    gen_make(&g, 0, rows);
    for (int c = 0; c < GEN_COLS; c++) {
        const char *nm = gen_cols[c].name;
        for (int kind = 0; kind < 3; kind++)
            for (size_t i = 0; i < rows; i++) {
                int valid = c == 1   ? g.vf32[i]
                            : c == 2 ? g.vf64[i]
                            : c == 4 ? g.vb[i]
                            : c == 5 ? g.vs[i]
                                     : 1;
                const char *kn = gen_cols[c].type == MS_PQW_STRING ? (kind == 0 ? "s" : "d")
                                 : kind == 0                       ? "f64"
                                 : kind == 1                       ? "f32"
                                                                   : "i64";
                if (gen_cols[c].type == MS_PQW_STRING && kind == 2)
                    break;
                if ((gen_cols[c].type == MS_PQW_FLOAT || gen_cols[c].type == MS_PQW_DOUBLE) &&
                    kind == 2)
                    break;
                if (!valid) {
                    printf("%s\t%s\tNULL\n", nm, kn);
                    continue;
                }
                double d = 0;
                float f = 0;
                int64_t x = 0;
                switch (c) {
                case 0:
                    x = g.id[i], d = (double)x, f = (float)x;
                    break;
                case 1:
                    f = g.f32[i], d = f;
                    break;
                case 2:
                    d = g.f64[i], f = (float)d;
                    break;
                case 3:
                    x = g.i32[i], d = (double)x, f = (float)x;
                    break;
                case 4:
                    x = g.b[i], d = (double)x, f = (float)x;
                    break;
                case 7:
                    f = g.f32r[i], d = f;
                    break;
                }
                if (c == 5 || c == 6) {
                    const uint64_t *o = c == 5 ? g.so : g.s2o;
                    printf("%s\t%s\t", nm, kn);
                    hex(stdout, (c == 5 ? g.sb : g.s2b) + o[i], o[i + 1] - o[i]);
                    putchar('\n');
                } else if (kind == 0)
                    print_f64(nm, d);
                else if (kind == 1)
                    print_f32(nm, f);
                else
                    printf("%s\ti64\t%" PRId64 "\n", nm, x);
            }
    }
    gen_free(&g);
}

static int gen_file(const char *out, const char *codec_name, size_t rows, size_t rg_rows, long cut)
{
    ms_error err;
    ms_error_clear(&err);
    int codec = ms_pq_codec_from_name(codec_name);
    if (codec < 0 || rg_rows == 0) {
        fprintf(stderr, "pqdump: bad codec or row group size\n");
        return 1;
    }
    ms_pq_writer *w;
    if (ms_pq_writer_create(out, gen_cols, GEN_COLS, (ms_pq_codec)codec, &w, &err) != MS_OK)
        return fail(&err);
    size_t done = 0, groups = 0;
    while (done < rows) {
        size_t n = rows - done < rg_rows ? rows - done : rg_rows;
        if (cut >= 0 && groups == (size_t)cut) {
            /* a killed run: the committed state, one more row group written
             * past it, no footer; then a new process resumes */
            ms_pq_wstate s = ms_pq_writer_state(w);
            if (gen_write(w, done, n, &err) != MS_OK)
                return fail(&err);
            ms_pq_writer_abort(w);
            if (ms_pq_writer_resume(out, gen_cols, GEN_COLS, (ms_pq_codec)codec, &s, &w, &err) !=
                MS_OK)
                return fail(&err);
            cut = -1;
        }
        if (gen_write(w, done, n, &err) != MS_OK) {
            ms_pq_writer_abort(w);
            return fail(&err);
        }
        done += n;
        groups++;
    }
    if (ms_pq_writer_set_kv(w, "mpiscore.model", "churn:3", &err) != MS_OK ||
        ms_pq_writer_set_kv(w, "mpiscore.version", "0.1.0", &err) != MS_OK) {
        ms_pq_writer_abort(w);
        return fail(&err);
    }
    if (ms_pq_writer_close(w, &err) != MS_OK)
        return fail(&err);
    gen_print(rows);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && !strcmp(argv[1], "write"))
        return gen_file(argv[2], argv[3], (size_t)atoll(argv[4]), (size_t)atoll(argv[5]),
                        argc > 6 ? atol(argv[6]) : -1);
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
