/*
 * parquet_input.c — Parquet input of `mpiscore run` (parquet_input.h): the
 * column kinds the plan checks at start-up, and a rank's reader of row
 * ranges into the batch.
 *
 * A read takes each column the plan maps (ms_pq_read: that column chunk
 * only), converts it into its batch column in one pass, flagging the rows
 * whose value the model cannot take, then appends the rows; a flagged row
 * is marked bad with the reason the CSV reader would give for the same
 * value, so a file converted from CSV to Parquet scores and fails alike.
 *
 * Owns per file: the open ms_pq_file (one per rank: a handle is used by one
 * thread), one ms_pq_values per column read and the dictionary-to-code map;
 * all reused batch after batch.
 */
#include "mpiscore/parquet_input.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RECORD_MAX 1024      /* record text of a bad row in the errors file */
#define NAME_EXCERPT_MAX 128 /* column name bytes quoted in a reason */
#define VALUE_EXCERPT_MAX 64 /* value bytes quoted in a reason */

static int is_bytes(const ms_pq_column *c)
{
    return (c->physical == MS_PQ_BYTE_ARRAY || c->physical == MS_PQ_FIXED_LEN_BYTE_ARRAY) &&
           c->logical != MS_PQ_LOG_DECIMAL;
}

ms_status ms_pqin_input_as(const char *path, const ms_pq_column *c, const ms_colspec *sp,
                           ms_pq_as *as, ms_error *err)
{
    if (sp->kind == MS_COL_CAT && !ms_dict_is_num(sp->dict)) {
        if (!is_bytes(c))
            return ms_error_set(err, MS_EINPUT,
                                "%s: column \"%s\": the model's categories are strings, the column "
                                "holds numbers",
                                path, c->name);
        *as = MS_PQ_AS_DICT;
        return MS_OK;
    }
    /* float32 data feeding a float32 input is taken as stored; everything
     * else is read as double and, for a float32 input, narrowed here:
     * (float) of the double, as pandas + scikit-learn do */
    if (sp->kind == MS_COL_NUM && sp->prec == MS_PREC_F32 && c->physical == MS_PQ_FLOAT)
        *as = MS_PQ_AS_F32;
    else
        *as = MS_PQ_AS_F64;
    return MS_OK;
}

ms_pq_as ms_pqin_text_as(const ms_pq_column *c)
{
    if (is_bytes(c))
        return MS_PQ_AS_STR;
    if (c->physical == MS_PQ_FLOAT)
        return MS_PQ_AS_F32;
    if (c->physical == MS_PQ_DOUBLE || (c->logical == MS_PQ_LOG_DECIMAL && c->scale != 0) ||
        c->physical == MS_PQ_FIXED_LEN_BYTE_ARRAY || c->physical == MS_PQ_BYTE_ARRAY)
        return MS_PQ_AS_F64;
    return MS_PQ_AS_I64;
}

ms_val_type ms_pqin_text_type(const ms_pq_column *c)
{
    switch (ms_pqin_text_as(c)) {
    case MS_PQ_AS_F32:
        return MS_VAL_FLOAT;
    case MS_PQ_AS_F64:
        return MS_VAL_DOUBLE;
    case MS_PQ_AS_I64:
        if (c->physical == MS_PQ_BOOLEAN)
            return MS_VAL_BOOL;
        if (c->logical == MS_PQ_LOG_DATE || c->logical == MS_PQ_LOG_TIMESTAMP)
            return MS_VAL_TEXT;
        return MS_VAL_INT64;
    default:
        return MS_VAL_TEXT;
    }
}

const char *ms_pqin_hive_value(const char *path, const char *key, size_t *n)
{
    size_t kl = strlen(key);
    const char *found = NULL;
    for (const char *p = path; (p = strchr(p, '/')) != NULL; p++) {
        const char *e = strchr(p + 1, '/');
        if (!e)
            break; /* the file name itself */
        if ((size_t)(e - p - 1) > kl && !memcmp(p + 1, key, kl) && p[1 + kl] == '=') {
            found = p + 2 + kl;
            *n = (size_t)(e - found);
        }
    }
    return found;
}

/* ---- dates and timestamps as text ---- */

/* Civil date of days since 1970-01-01 (proleptic Gregorian, H. Hinnant's
 * days_from_civil inverse). */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static size_t format_date(int64_t days, char *out, size_t cap)
{
    int64_t y;
    unsigned m, d;
    civil(days, &y, &m, &d);
    return (size_t)snprintf(out, cap, "%04" PRId64 "-%02u-%02u", y, m, d);
}

static size_t format_timestamp(int64_t t, ms_pq_unit unit, char *out, size_t cap)
{
    int64_t per_s = unit == MS_PQ_MILLIS ? 1000 : unit == MS_PQ_MICROS ? 1000000 : 1000000000;
    int digits = unit == MS_PQ_MILLIS ? 3 : unit == MS_PQ_MICROS ? 6 : 9;
    int64_t s = t / per_s, frac = t % per_s;
    if (frac < 0) {
        frac += per_s;
        s--;
    }
    int64_t days = s / 86400, sod = s % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    size_t n = format_date(days, out, cap);
    n += (size_t)snprintf(out + n, cap - n, " %02d:%02d:%02d", (int)(sod / 3600),
                          (int)(sod / 60 % 60), (int)(sod % 60));
    if (frac) {
        while (frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        n += (size_t)snprintf(out + n, cap - n, ".%0*" PRId64, digits, frac);
    }
    return n;
}

/* ---- the reader ---- */

struct ms_pq_input {
    const ms_inputs *in;
    const ms_input_file *f;
    ms_pq_file *pq;
    size_t pq_cols;     /* schema columns; f->n_cols - pq_cols hive columns follow */
    ms_pq_values *vals; /* f->n_cols: a model input's values */
    ms_pq_values idv;
    ms_pq_values *keepv; /* in->n_keep */
    int32_t *map;        /* dictionary entry -> code, for the column being converted */
    size_t map_cap;
    uint32_t *flag; /* per row: 1 + the first schema column at fault, or 0 */
    size_t flag_cap;
    uint64_t bytes_read;
    long cached_rg; /* the row group whose columns vals/idv/keepv hold whole, or -1 */
};

/* A row group of at most this many batches' rows is read whole once. */
#define PQ_CACHE_BATCHES 16

ms_status ms_pq_input_open(const ms_inputs *in, size_t file, ms_pq_input **out, ms_error *err)
{
    ms_status st = MS_OK;
    const ms_input_file *f = &in->files[file];
    ms_pq_input *r = calloc(1, sizeof *r);
    if (!r)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    r->in = in;
    r->f = f;
    r->cached_rg = -1;
    r->vals = calloc(f->n_cols ? f->n_cols : 1, sizeof *r->vals);
    r->keepv = calloc(in->n_keep ? in->n_keep : 1, sizeof *r->keepv);
    if (!r->vals || !r->keepv) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    MS_CHECK(ms_pq_open(f->path, &r->pq, err));
    r->pq_cols = ms_pq_num_columns(r->pq);
    struct stat sb;
    if (stat(f->path, &sb) != 0 || (int64_t)sb.st_size != f->size ||
        (uint64_t)ms_pq_num_rows(r->pq) != f->n_rows || r->pq_cols > f->n_cols) {
        st = ms_error_set(err, MS_EIO,
                          "%s: file changed since the run started (%lld bytes and %llu rows "
                          "planned)",
                          f->path, (long long)f->size, (unsigned long long)f->n_rows);
        goto done;
    }
done:
    if (st != MS_OK) {
        ms_pq_input_close(r);
        r = NULL;
    }
    *out = r;
    return st;
}

void ms_pq_input_close(ms_pq_input *r)
{
    if (!r)
        return;
    for (size_t c = 0; r->vals && c < r->f->n_cols; c++)
        ms_pq_values_free(&r->vals[c]);
    for (size_t k = 0; r->keepv && k < r->in->n_keep; k++)
        ms_pq_values_free(&r->keepv[k]);
    ms_pq_values_free(&r->idv);
    ms_pq_close(r->pq);
    free(r->vals);
    free(r->keepv);
    free(r->map);
    free(r->flag);
    free(r);
}

uint64_t ms_pq_input_bytes_read(const ms_pq_input *r)
{
    return r->bytes_read;
}

/* Read column c of the row range into v (counting the chunk's bytes). */
static ms_status read_col(ms_pq_input *r, size_t rg, size_t c, int64_t rb, size_t count,
                          ms_pq_as as, ms_pq_values *v, ms_error *err)
{
    uint64_t off, len;
    ms_status st = ms_pq_read(r->pq, rg, c, rb, (int64_t)count, as, v, err);
    if (st != MS_OK)
        return st;
    ms_pq_chunk_range(r->pq, rg, c, &off, &len);
    r->bytes_read += len;
    if (v->n != count)
        return ms_error_set(err, MS_EINPUT, "%s: column \"%s\": %zu values read, %zu expected",
                            r->f->path, r->f->col_names[c], v->n, count);
    return MS_OK;
}

/* The text of row i of v as a text column of column c shows it (an id, a
 * kept column, a value in an errors record); NULL for a null. tmp holds
 * formatted numbers. */
static const char *value_text(const ms_pq_column *c, const ms_pq_values *v, size_t i, char *tmp,
                              size_t tmpsz, size_t *n)
{
    *n = 0;
    if (!v->valid[i])
        return NULL;
    switch (v->as) {
    case MS_PQ_AS_STR:
        *n = (size_t)(v->offsets[i + 1] - v->offsets[i]);
        return v->bytes + v->offsets[i];
    case MS_PQ_AS_DICT: {
        int32_t k = v->codes[i];
        *n = (size_t)(v->dict_offsets[k + 1] - v->dict_offsets[k]);
        return v->dict_bytes + v->dict_offsets[k];
    }
    case MS_PQ_AS_F32:
        *n = ms_format_f32(v->f32[i], tmp);
        return tmp;
    case MS_PQ_AS_F64:
        *n = ms_format_f64(v->f64[i], tmp);
        return tmp;
    case MS_PQ_AS_I64:
        break;
    }
    int64_t x = v->i64[i];
    if (c->physical == MS_PQ_BOOLEAN)
        *n = (size_t)snprintf(tmp, tmpsz, "%s", x ? "true" : "false");
    else if (c->logical == MS_PQ_LOG_DATE)
        *n = format_date(x, tmp, tmpsz);
    else if (c->logical == MS_PQ_LOG_TIMESTAMP)
        *n = format_timestamp(x, c->unit, tmp, tmpsz);
    else
        *n = (size_t)snprintf(tmp, tmpsz, "%" PRId64, x);
    return tmp;
}

/* Text of cell (row i, file column c) as read for its model input. */
static const char *cell_text(const ms_pq_input *r, size_t c, size_t i, char *tmp, size_t tmpsz,
                             size_t *n)
{
    if (c >= r->pq_cols) {
        const char *s = ms_pqin_hive_value(r->f->path, r->f->col_names[c], n);
        return s ? s : "";
    }
    const char *s = value_text(ms_pq_column_info(r->pq, c), &r->vals[c], i, tmp, tmpsz, n);
    return s ? s : "";
}

/* Convert values [at, at + count) of column c (model input j) into the
 * batch at row r0, flagging the rows it cannot take. */
static ms_status convert_col(ms_pq_input *r, size_t c, size_t j, size_t at, size_t r0, size_t count,
                             ms_batch *b, ms_error *err)
{
    const ms_colspec *sp = &b->spec[j];
    const ms_pq_values *v = &r->vals[c];
    const double *f64 = v->f64 + (v->f64 ? at : 0);
    int allow = r->in->allow_missing;
    uint32_t *flag = r->flag, mark = (uint32_t)c + 1;
    if (sp->kind == MS_COL_NUM && sp->prec == MS_PREC_F64) {
        double *dst = ms_batch_f64(b, j) + r0;
        for (size_t i = 0; i < count; i++) {
            double x = f64[i];
            dst[i] = x;
            if (!(isfinite(x) || (isnan(x) && allow)) && !flag[i])
                flag[i] = mark;
        }
    } else if (sp->kind == MS_COL_NUM && v->as == MS_PQ_AS_F32) {
        float *dst = ms_batch_f32(b, j) + r0;
        memcpy(dst, v->f32 + at, count * sizeof *dst);
        for (size_t i = 0; i < count; i++)
            if (!(isfinite(dst[i]) || (isnan(dst[i]) && allow)) && !flag[i])
                flag[i] = mark;
    } else if (sp->kind == MS_COL_NUM) {
        float *dst = ms_batch_f32(b, j) + r0;
        for (size_t i = 0; i < count; i++) {
            double x = f64[i];
            dst[i] = (float)x;
            if (!(isfinite(dst[i]) || (isnan(x) && allow)) && !flag[i])
                flag[i] = mark;
        }
    } else if (v->as == MS_PQ_AS_DICT) {
        /* each dictionary entry is looked up once, then rows take codes */
        if (v->dict_n > r->map_cap) {
            int32_t *p = realloc(r->map, v->dict_n * sizeof *p);
            if (!p)
                return ms_error_set(err, MS_EINTERNAL, "out of memory");
            r->map = p;
            r->map_cap = v->dict_n;
        }
        for (size_t k = 0; k < v->dict_n; k++)
            r->map[k] = ms_dict_find_str(sp->dict, v->dict_bytes + v->dict_offsets[k],
                                         (size_t)(v->dict_offsets[k + 1] - v->dict_offsets[k]));
        int32_t *dst = ms_batch_codes(b, j) + r0;
        for (size_t i = 0; i < count; i++) {
            int32_t k = v->codes[at + i];
            int32_t code = k < 0 || (size_t)k >= v->dict_n ? MS_CODE_MISSING : r->map[k];
            if (code == MS_CODE_UNKNOWN && sp->unknown_is_error) {
                code = MS_CODE_MISSING;
                if (!flag[i])
                    flag[i] = mark;
            }
            dst[i] = code;
        }
    } else { /* a numeric dictionary */
        for (size_t i = 0; i < count; i++)
            if (ms_batch_put_num(b, j, r0 + i, f64[i]) && !flag[i])
                flag[i] = mark;
    }
    return MS_OK;
}

/* Hive column c (model input j): the folder's text, parsed as a CSV cell. */
static void convert_hive(ms_pq_input *r, size_t c, size_t j, size_t r0, size_t count, ms_batch *b)
{
    size_t n = 0;
    const char *s = ms_pqin_hive_value(r->f->path, r->f->col_names[c], &n);
    for (size_t i = 0; i < count; i++)
        if (ms_batch_put_text(b, j, r0 + i, s ? s : "", n) && !r->flag[i])
            r->flag[i] = (uint32_t)c + 1;
}

/* Mark the last row of b (row i of the read) bad at column c. */
static ms_status mark_row(ms_pq_input *r, size_t c, size_t i, uint64_t row, ms_batch *b,
                          ms_error *err)
{
    const ms_input_file *f = r->f;
    size_t j = (size_t)f->col_feature[c], last = b->n_rows - 1;
    char tmp[64], val[VALUE_EXCERPT_MAX * 4 + 8], name[NAME_EXCERPT_MAX * 4 + 8];
    char reason[sizeof val + sizeof name + 64], rec[RECORD_MAX + 4];
    size_t n;
    const char *s = cell_text(r, c, i, tmp, sizeof tmp, &n);
    const char *why;
    if (c >= r->pq_cols)
        why = ms_batch_put_text(b, j, last, s, n);
    else if (b->spec[j].kind == MS_COL_CAT && r->vals[c].as == MS_PQ_AS_DICT)
        why = "unknown category";
    else
        why = ms_batch_put_num(
            b, j, last, r->vals[c].as == MS_PQ_AS_F32 ? r->vals[c].f32[i] : r->vals[c].f64[i]);
    if (!why) /* cannot happen: the row was flagged for this cell */
        why = "not a number";
    ms_quote_excerpt(f->col_names[c], strlen(f->col_names[c]), NAME_EXCERPT_MAX, name, sizeof name);
    ms_quote_excerpt(s, n, VALUE_EXCERPT_MAX, val, sizeof val);
    if (!strcmp(why, "missing value") || !strcmp(why, "infinite value"))
        snprintf(reason, sizeof reason, "column \"%s\": %s", name, why);
    else if (!strcmp(why, "unknown category"))
        snprintf(reason, sizeof reason, "unknown category \"%s\" in column \"%s\"", val, name);
    else
        snprintf(reason, sizeof reason, "column \"%s\": %s: \"%s\"", name, why, val);
    /* the record: the row's model columns, as CSV cells, in schema order */
    size_t rl = 0;
    for (size_t k = 0; k < f->n_cols; k++) {
        if (f->col_feature[k] < 0)
            continue;
        const char *t = cell_text(r, k, i, tmp, sizeof tmp, &n);
        if (rl + 1 + n > RECORD_MAX) {
            memcpy(rec + rl, "...", 3);
            rl += 3;
            break;
        }
        if (rl)
            rec[rl++] = ',';
        memcpy(rec + rl, t, n);
        rl += n;
    }
    return ms_batch_mark_bad(b, f->path, row, c + 1, f->col_names[c], reason, rec, rl, err);
}

/* The row group holding row `first` of the file. */
static size_t find_row_group(const ms_pq_file *pq, uint64_t first)
{
    size_t lo = 0, hi = ms_pq_num_row_groups(pq);
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uint64_t)ms_pq_row_group_first_row(pq, mid) <= first)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Set text column k (kept column, or the id when k == SIZE_MAX) of the last
 * row from file column c, row i. */
static ms_status put_text_col(ms_pq_input *r, size_t k, int c, const ms_pq_values *v, size_t i,
                              ms_batch *b, ms_error *err)
{
    char tmp[64];
    size_t n = 0;
    const char *s;
    if (c < 0 || (size_t)c >= r->pq_cols)
        s = c < 0 ? NULL : ms_pqin_hive_value(r->f->path, r->f->col_names[c], &n);
    else
        s = value_text(ms_pq_column_info(r->pq, (size_t)c), v, i, tmp, sizeof tmp, &n);
    if (k == SIZE_MAX)
        return ms_batch_set_last_id(b, s ? s : "", n, err);
    return ms_batch_set_last_keep(b, k, s, n, err);
}

/* Read values [from, from + n) of row group rg of every column the plan
 * maps: the model's inputs, the id, kept columns (hive columns are the
 * path's). */
static ms_status read_columns(ms_pq_input *r, size_t rg, int64_t from, size_t n, const ms_batch *b,
                              ms_error *err)
{
    ms_status st = MS_OK;
    const ms_input_file *f = r->f;
    for (size_t c = 0; c < r->pq_cols; c++) {
        int j = f->col_feature[c];
        if (j < 0)
            continue;
        ms_pq_as as = MS_PQ_AS_F64;
        MS_CHECK(ms_pqin_input_as(f->path, ms_pq_column_info(r->pq, c), &b->spec[j], &as, err));
        MS_CHECK(read_col(r, rg, c, from, n, as, &r->vals[c], err));
    }
    if (b->has_ids && f->id_col >= 0 && (size_t)f->id_col < r->pq_cols)
        MS_CHECK(read_col(r, rg, (size_t)f->id_col, from, n,
                          ms_pqin_text_as(ms_pq_column_info(r->pq, (size_t)f->id_col)), &r->idv,
                          err));
    for (size_t k = 0; k < r->in->n_keep; k++) {
        int c = f->keep_col ? f->keep_col[k] : -1;
        if (c >= 0 && (size_t)c < r->pq_cols)
            MS_CHECK(read_col(r, rg, (size_t)c, from, n,
                              ms_pqin_text_as(ms_pq_column_info(r->pq, (size_t)c)), &r->keepv[k],
                              err));
    }
done:
    return st;
}

ms_status ms_pq_input_read(ms_pq_input *r, uint64_t first, size_t count, ms_batch *b, ms_error *err)
{
    ms_status st = MS_OK;
    const ms_input_file *f = r->f;
    const ms_inputs *in = r->in;
    b->file = f->path;
    b->refuse_missing = !in->allow_missing;
    if (count == 0)
        return MS_OK;
    if (first > f->n_rows || count > f->n_rows - first || ms_pq_num_row_groups(r->pq) == 0)
        return ms_error_set(err, MS_EINTERNAL, "%s: rows %llu..%llu are past the end (%llu rows)",
                            f->path, (unsigned long long)first + 1,
                            (unsigned long long)(first + count), (unsigned long long)f->n_rows);
    size_t rg = find_row_group(r->pq, first);
    int64_t rb = (int64_t)first - ms_pq_row_group_first_row(r->pq, rg);
    int64_t rg_rows = ms_pq_row_group_rows(r->pq, rg);
    if (rb + (int64_t)count > rg_rows)
        return ms_error_set(err, MS_EINTERNAL, "%s: rows %llu..%llu cross row group %zu", f->path,
                            (unsigned long long)first + 1, (unsigned long long)(first + count), rg);
    if (in->n_keep > b->n_keep)
        return ms_error_set(err, MS_EINTERNAL, "batch without room for the kept columns");
    if (count > r->flag_cap) {
        uint32_t *p = realloc(r->flag, count * sizeof *p);
        if (!p)
            return ms_error_set(err, MS_EINTERNAL, "out of memory");
        r->flag = p;
        r->flag_cap = count;
    }
    memset(r->flag, 0, count * sizeof *r->flag);
    MS_CHECK(ms_batch_reserve(b, b->n_rows + count, err));
    size_t r0 = b->n_rows, at = (size_t)rb;
    /* A row group of a few batches is read whole, once, by the first of its
     * batches to reach this rank, and kept for the next ones: ms_pq_read
     * preads a whole column chunk (and decompresses the pages holding the
     * range) per call, which a big row group cut into many batches would
     * otherwise pay per batch. Larger row groups are read range by range,
     * so memory stays bounded by the batch size. */
    if (r->cached_rg != (long)rg) {
        r->cached_rg = -1;
        int whole = rg_rows <= (int64_t)(PQ_CACHE_BATCHES * count);
        MS_CHECK(read_columns(r, rg, whole ? 0 : rb, whole ? (size_t)rg_rows : count, b, err));
        if (whole)
            r->cached_rg = (long)rg;
        else
            at = 0;
    }
    /* model inputs, in schema order (the first column at fault is named) */
    for (size_t c = 0; c < f->n_cols; c++) {
        int j = f->col_feature[c];
        if (j >= 0 && c >= r->pq_cols)
            convert_hive(r, c, (size_t)j, r0, count, b);
        else if (j >= 0)
            MS_CHECK(convert_col(r, c, (size_t)j, at, r0, count, b, err));
    }
    for (size_t i = 0; i < count; i++) {
        MS_CHECK(ms_batch_add_row_set(b, err));
        b->row_line[b->n_rows - 1] = first + i + 1;
        if (b->has_ids)
            MS_CHECK(put_text_col(r, SIZE_MAX, f->id_col, &r->idv, at + i, b, err));
        for (size_t k = 0; k < in->n_keep; k++)
            MS_CHECK(put_text_col(r, k, f->keep_col ? f->keep_col[k] : -1, &r->keepv[k], at + i, b,
                                  err));
        if (r->flag[i])
            MS_CHECK(mark_row(r, r->flag[i] - 1, at + i, first + i + 1, b, err));
    }
done:
    return st;
}
