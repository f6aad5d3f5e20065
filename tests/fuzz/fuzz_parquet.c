/*
 * fuzz_parquet.c — the Parquet reader (footer, page headers, pages,
 * encodings, codecs) and, on what it reads, the writer (parquet.h).
 *
 * Input: the bytes of a .parquet file (seeds: files DuckDB and our writer
 * wrote, tests/parquet/make_fuzz_seeds.sh). Properties, each a crash when
 * it fails:
 *  1. ms_pq_open and every ms_pq_read either succeed or fail with
 *     MS_EINPUT and one line that starts with the file's path (never
 *     another status, never an empty or multi-line message).
 *  2. A successful read is well formed: n rows as asked, n_null = the
 *     invalid rows, NaN exactly where a float/double is null, string
 *     offsets rising within the bytes, dictionary codes in range and -1
 *     exactly for nulls.
 *  3. Row ranges agree with the whole: when rows [0, n) read, rows [0, k)
 *     and [k, n) read too and are the same values (the reference is the
 *     whole-chunk read of the same decoder; its strictness is in 1-2).
 *  4. Kinds agree: FLOAT/DOUBLE read as float = (float) of the double
 *     read; strings read as offsets = strings read through the dictionary.
 *  5. What was read writes back: a file of those columns (DOUBLE, STRING,
 *     nullable) written by ms_pq_writer reads back bit for bit.
 * Reads are capped at 4096 rows per chunk, 16 columns and 8 row groups, so
 * an input costs milliseconds; hostile sizes are the reader's to bound.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "mpiscore/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROWS 4096
#define MAX_COLS 16
#define MAX_RGS 8

static char in_path[512], out_path[512];

static void check_err(ms_status st, const ms_error *err, const char *path)
{
    FUZZ_ASSERT(st == MS_EINPUT, "status %d: %s", (int)st, err->msg);
    size_t n = strlen(path);
    FUZZ_ASSERT(strncmp(err->msg, path, n) == 0 && err->msg[n] == ':',
                "message without the path: %s", err->msg);
    FUZZ_ASSERT(strchr(err->msg, '\n') == NULL && strlen(err->msg) > n + 2, "bad message: %s",
                err->msg);
}

static void check_well_formed(const ms_pq_values *v, size_t want)
{
    FUZZ_ASSERT(v->n == want, "%zu rows for %zu", v->n, want);
    size_t nulls = 0;
    for (size_t i = 0; i < v->n; i++) {
        FUZZ_ASSERT(v->valid[i] <= 1, "valid[%zu] = %u", i, v->valid[i]);
        nulls += !v->valid[i];
        if (v->as == MS_PQ_AS_F32 && !v->valid[i])
            FUZZ_ASSERT(isnan(v->f32[i]), "null row %zu is not NaN", i);
        if (v->as == MS_PQ_AS_F64 && !v->valid[i])
            FUZZ_ASSERT(isnan(v->f64[i]), "null row %zu is not NaN", i);
        if (v->as == MS_PQ_AS_STR) {
            FUZZ_ASSERT(v->offsets[i] <= v->offsets[i + 1], "offsets fall at %zu", i);
            FUZZ_ASSERT(v->valid[i] || v->offsets[i] == v->offsets[i + 1], "null row %zu not empty",
                        i);
        }
        if (v->as == MS_PQ_AS_DICT) {
            FUZZ_ASSERT(v->codes[i] >= -1 && (v->codes[i] < 0 || (size_t)v->codes[i] < v->dict_n),
                        "code %d of %zu", v->codes[i], v->dict_n);
            FUZZ_ASSERT((v->codes[i] == -1) == !v->valid[i], "code/null mismatch at %zu", i);
        }
    }
    FUZZ_ASSERT(nulls == v->n_null, "n_null %zu, counted %zu", v->n_null, nulls);
    if (v->as == MS_PQ_AS_STR)
        FUZZ_ASSERT(v->offsets[0] == 0, "offsets start at %llu", (unsigned long long)v->offsets[0]);
    if (v->as == MS_PQ_AS_DICT)
        for (size_t k = 0; k < v->dict_n; k++)
            FUZZ_ASSERT(v->dict_offsets[k] <= v->dict_offsets[k + 1], "dictionary offsets fall");
}

/* Row i of a as text-comparable bytes; 1 if rows are the same. */
static int same_row(const ms_pq_values *a, size_t i, const ms_pq_values *b, size_t j)
{
    if (a->valid[i] != b->valid[j])
        return 0;
    if (!a->valid[i])
        return 1;
    switch (a->as) {
    case MS_PQ_AS_F32:
        return memcmp(&a->f32[i], &b->f32[j], 4) == 0;
    case MS_PQ_AS_F64:
        return memcmp(&a->f64[i], &b->f64[j], 8) == 0;
    case MS_PQ_AS_I64:
        return a->i64[i] == b->i64[j];
    case MS_PQ_AS_STR:
        return a->offsets[i + 1] - a->offsets[i] == b->offsets[j + 1] - b->offsets[j] &&
               !memcmp(a->bytes + a->offsets[i], b->bytes + b->offsets[j],
                       a->offsets[i + 1] - a->offsets[i]);
    case MS_PQ_AS_DICT: {
        uint64_t al = a->dict_offsets[a->codes[i] + 1] - a->dict_offsets[a->codes[i]];
        uint64_t bl = b->dict_offsets[b->codes[j] + 1] - b->dict_offsets[b->codes[j]];
        return al == bl && !memcmp(a->dict_bytes + a->dict_offsets[a->codes[i]],
                                   b->dict_bytes + b->dict_offsets[b->codes[j]], al);
    }
    }
    return 0;
}

static int str_eq_dict(const ms_pq_values *s, const ms_pq_values *d, size_t i)
{
    if (s->valid[i] != d->valid[i])
        return 0;
    if (!s->valid[i])
        return 1;
    uint64_t sl = s->offsets[i + 1] - s->offsets[i];
    uint64_t dl = d->dict_offsets[d->codes[i] + 1] - d->dict_offsets[d->codes[i]];
    return sl == dl &&
           !memcmp(s->bytes + s->offsets[i], d->dict_bytes + d->dict_offsets[d->codes[i]], sl);
}

/* Read [b, b+n) as `as`; checks 1 and 2. Returns 1 on success. */
static int read_checked(ms_pq_file *f, size_t g, size_t c, int64_t b, int64_t n, ms_pq_as as,
                        ms_pq_values *v)
{
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_pq_read(f, g, c, b, n, as, v, &err);
    if (st != MS_OK) {
        check_err(st, &err, in_path);
        return 0;
    }
    check_well_formed(v, (size_t)n);
    return 1;
}

/* 5: the doubles and strings of one row group, written and read back. */
static void write_back(const ms_pq_values *num, const ms_pq_values *str)
{
    ms_error err;
    ms_error_clear(&err);
    ms_pqw_column cols[2] = {{"d", MS_PQW_DOUBLE, 1}, {"s", MS_PQW_STRING, 1}};
    size_t n = num ? num->n : str->n;
    if (num && str && num->n != str->n)
        return;
    ms_pqw_data dd[2];
    memset(dd, 0, sizeof dd);
    ms_pqw_column use[2];
    size_t nc = 0;
    if (num) {
        use[nc] = cols[0];
        dd[nc].values = num->f64;
        dd[nc].valid = num->valid;
        nc++;
    }
    if (str) {
        use[nc] = cols[1];
        dd[nc].valid = str->valid;
        dd[nc].offsets = str->offsets;
        dd[nc].bytes = str->bytes ? str->bytes : "";
        nc++;
    }
    ms_pq_writer *w;
    ms_status st = ms_pq_writer_create(out_path, use, nc, MS_PQ_SNAPPY, &w, &err);
    FUZZ_ASSERT(st == MS_OK, "writer: %s", err.msg);
    st = ms_pq_writer_write(w, n, dd, &err);
    FUZZ_ASSERT(st == MS_OK, "writer: %s", err.msg);
    st = ms_pq_writer_close(w, &err);
    FUZZ_ASSERT(st == MS_OK, "writer: %s", err.msg);
    ms_pq_file *f;
    st = ms_pq_open(out_path, &f, &err);
    FUZZ_ASSERT(st == MS_OK, "our file does not open: %s", err.msg);
    ms_pq_values v;
    memset(&v, 0, sizeof v);
    for (size_t c = 0; c < nc; c++) {
        const ms_pq_values *src = use[c].type == MS_PQW_DOUBLE ? num : str;
        st = ms_pq_read(f, 0, c, 0, -1, src->as, &v, &err);
        FUZZ_ASSERT(st == MS_OK, "our file does not read: %s", err.msg);
        FUZZ_ASSERT(v.n == n, "rows %zu for %zu", v.n, n);
        for (size_t i = 0; i < n; i++)
            FUZZ_ASSERT(same_row(src, i, &v, i), "written row %zu of column %zu differs", i, c);
    }
    ms_pq_values_free(&v);
    ms_pq_close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!in_path[0]) {
        fuzz_tmp_path(in_path, sizeof in_path, "in.parquet");
        fuzz_tmp_path(out_path, sizeof out_path, "out.parquet");
    }
    fuzz_write_file(in_path, data, size);
    ms_error err;
    ms_error_clear(&err);
    ms_pq_file *f;
    ms_status st = ms_pq_open(in_path, &f, &err);
    if (st != MS_OK) {
        check_err(st, &err, in_path);
        return 0;
    }
    ms_pq_values whole, part, other;
    memset(&whole, 0, sizeof whole);
    memset(&part, 0, sizeof part);
    memset(&other, 0, sizeof other);
    ms_pq_values num0, str0;
    memset(&num0, 0, sizeof num0);
    memset(&str0, 0, sizeof str0);
    int have_num = 0, have_str = 0;
    size_t ncols = ms_pq_num_columns(f), nrg = ms_pq_num_row_groups(f);
    for (size_t g = 0; g < nrg && g < MAX_RGS; g++) {
        int64_t rows = ms_pq_row_group_rows(f, g);
        int64_t n = rows < MAX_ROWS ? rows : MAX_ROWS;
        for (size_t c = 0; c < ncols && c < MAX_COLS; c++) {
            for (int as = MS_PQ_AS_F32; as <= MS_PQ_AS_DICT; as++) {
                if (!read_checked(f, g, c, 0, n, (ms_pq_as)as, &whole))
                    continue;
                /* 3: two ranges = the whole */
                int64_t k = n / 3 + 1 > n ? n : n / 3 + 1;
                int ok1 = read_checked(f, g, c, 0, k, (ms_pq_as)as, &part);
                FUZZ_ASSERT(ok1, "rows [0, %lld) fail where [0, %lld) read", (long long)k,
                            (long long)n);
                for (int64_t i = 0; i < k; i++)
                    FUZZ_ASSERT(same_row(&whole, (size_t)i, &part, (size_t)i),
                                "row %lld differs in a range", (long long)i);
                int ok2 = read_checked(f, g, c, k, n - k, (ms_pq_as)as, &part);
                FUZZ_ASSERT(ok2 || n < rows, "rows [%lld, %lld) fail where [0, %lld) read",
                            (long long)k, (long long)n, (long long)n);
                if (ok2)
                    for (int64_t i = k; i < n; i++)
                        FUZZ_ASSERT(same_row(&whole, (size_t)i, &part, (size_t)(i - k)),
                                    "row %lld differs in a range", (long long)i);
                /* 4: kinds agree */
                const ms_pq_column *ci = ms_pq_column_info(f, c);
                if (as == MS_PQ_AS_F32 &&
                    (ci->physical == MS_PQ_FLOAT || ci->physical == MS_PQ_DOUBLE) &&
                    read_checked(f, g, c, 0, n, MS_PQ_AS_F64, &other))
                    for (int64_t i = 0; i < n; i++) {
                        float x = (float)other.f64[i];
                        FUZZ_ASSERT(whole.valid[i] == other.valid[i] &&
                                        (isnan(x) ? isnan(whole.f32[i])
                                                  : memcmp(&x, &whole.f32[i], 4) == 0),
                                    "float and double reads differ at row %lld", (long long)i);
                    }
                if (as == MS_PQ_AS_STR && read_checked(f, g, c, 0, n, MS_PQ_AS_DICT, &other))
                    for (int64_t i = 0; i < n; i++)
                        FUZZ_ASSERT(str_eq_dict(&whole, &other, (size_t)i),
                                    "string and dictionary reads differ at row %lld", (long long)i);
                if (g == 0 && as == MS_PQ_AS_F64 && !have_num && n > 0) {
                    have_num = read_checked(f, g, c, 0, n, MS_PQ_AS_F64, &num0);
                }
                if (g == 0 && as == MS_PQ_AS_STR && !have_str && n > 0)
                    have_str = read_checked(f, g, c, 0, n, MS_PQ_AS_STR, &str0);
            }
        }
    }
    if (have_num || have_str)
        write_back(have_num ? &num0 : NULL, have_str ? &str0 : NULL);
    ms_pq_values_free(&whole);
    ms_pq_values_free(&part);
    ms_pq_values_free(&other);
    ms_pq_values_free(&num0);
    ms_pq_values_free(&str0);
    ms_pq_close(f);
    return 0;
}
