/*
 * batch.c — growable per-batch buffers (batch.h). Everything grows by
 * doubling and survives ms_batch_reset, so a worker allocates only while
 * warming up.
 */
#include "mpiscore/batch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ms_status ms_buf_reserve(char **buf, size_t *cap, size_t need, ms_error *err)
{
    if (need <= *cap)
        return MS_OK;
    size_t nc = *cap ? *cap : 4096;
    while (nc < need)
        nc *= 2;
    char *p = realloc(*buf, nc);
    if (!p)
        return ms_error_set(err, MS_EINTERNAL, "out of memory (%zu bytes)", nc);
    *buf = p;
    *cap = nc;
    return MS_OK;
}

static size_t elem_size(const ms_colspec *sp)
{
    if (sp->kind == MS_COL_CAT)
        return sizeof(int32_t);
    return sp->prec == MS_PREC_F64 ? sizeof(double) : sizeof(float);
}

static void set_missing(ms_batch *b, size_t c, size_t row)
{
    const ms_colspec *sp = &b->spec[c];
    if (sp->kind == MS_COL_CAT)
        ms_batch_codes(b, c)[row] = MS_CODE_MISSING;
    else if (sp->prec == MS_PREC_F64)
        ms_batch_f64(b, c)[row] = NAN;
    else
        ms_batch_f32(b, c)[row] = NAN;
}

void ms_batch_init(ms_batch *b, size_t n_cols, const ms_colspec *spec, int has_ids)
{
    memset(b, 0, sizeof *b);
    b->n_cols = n_cols;
    b->spec = spec;
    b->has_ids = has_ids;
}

void ms_batch_free(ms_batch *b)
{
    for (size_t c = 0; b->col && c < b->n_cols; c++)
        free(b->col[c]);
    free(b->col);
    free(b->bad);
    free(b->row_line);
    free(b->id_text);
    free(b->id_off);
    for (size_t k = 0; b->keep && k < b->n_keep; k++) {
        free(b->keep[k].text);
        free(b->keep[k].off);
        free(b->keep[k].null);
    }
    free(b->keep);
    free(b->errors);
    memset(b, 0, sizeof *b);
}

void ms_batch_reset(ms_batch *b)
{
    b->n_rows = 0;
    b->n_bad = 0;
    b->id_len = 0;
    b->errors_len = 0;
    b->first_error[0] = '\0';
    if (b->id_off)
        b->id_off[0] = 0;
    for (size_t k = 0; k < b->n_keep; k++) {
        b->keep[k].len = 0;
        if (b->keep[k].off)
            b->keep[k].off[0] = 0;
    }
}

/* Row r of every kept column starts as the empty text. */
static void start_keep(ms_batch *b, size_t r)
{
    for (size_t k = 0; k < b->n_keep; k++) {
        b->keep[k].off[r + 1] = b->keep[k].len;
        b->keep[k].null[r] = 0;
    }
}

ms_status ms_batch_reserve(ms_batch *b, size_t rows, ms_error *err)
{
    if (rows <= b->cap_rows)
        return MS_OK;
    size_t nc = b->cap_rows ? b->cap_rows : 256;
    while (nc < rows)
        nc *= 2;
    if (!b->col && b->n_cols && !(b->col = calloc(b->n_cols, sizeof *b->col)))
        goto oom;
    for (size_t c = 0; c < b->n_cols; c++) {
        void *p = realloc(b->col[c], nc * elem_size(&b->spec[c]));
        if (!p)
            goto oom;
        b->col[c] = p;
    }
    uint8_t *bad = realloc(b->bad, nc);
    if (!bad)
        goto oom;
    b->bad = bad;
    uint64_t *rl = realloc(b->row_line, nc * sizeof *rl);
    if (!rl)
        goto oom;
    b->row_line = rl;
    size_t *off = realloc(b->id_off, (nc + 1) * sizeof *off);
    if (!off)
        goto oom;
    if (!b->id_off)
        off[0] = 0;
    b->id_off = off;
    for (size_t k = 0; k < b->n_keep; k++) {
        ms_textcol *t = &b->keep[k];
        size_t *ko = realloc(t->off, (nc + 1) * sizeof *ko);
        if (!ko)
            goto oom;
        if (!t->off)
            ko[0] = 0;
        t->off = ko;
        uint8_t *kn = realloc(t->null, nc);
        if (!kn)
            goto oom;
        t->null = kn;
    }
    b->cap_rows = nc;
    return MS_OK;
oom:
    return ms_error_set(err, MS_EINTERNAL, "out of memory (batch of %zu rows)", nc);
}

ms_status ms_batch_add_row_set(ms_batch *b, ms_error *err)
{
    if (b->n_rows + 1 > b->cap_rows && ms_batch_reserve(b, b->n_rows + 1, err) != MS_OK)
        return MS_EINTERNAL;
    size_t r = b->n_rows++;
    b->bad[r] = 0;
    b->row_line[r] = 0;
    b->id_off[r + 1] = b->id_len;
    start_keep(b, r);
    return MS_OK;
}

ms_status ms_batch_add_row(ms_batch *b, ms_error *err)
{
    if (b->n_rows + 1 > b->cap_rows && ms_batch_reserve(b, b->n_rows + 1, err) != MS_OK)
        return MS_EINTERNAL;
    size_t r = b->n_rows++;
    for (size_t c = 0; c < b->n_cols; c++)
        set_missing(b, c, r);
    b->bad[r] = 0;
    b->row_line[r] = 0;
    b->id_off[r + 1] = b->id_len;
    start_keep(b, r);
    return MS_OK;
}

ms_num_result ms_parse_f64_to_f32(const char *s, size_t n, float *out)
{
    if (ms_parse_plain_f64_to_f32(s, n, out))
        return MS_NUM_OK;
    ms_num_result r = ms_parse_f32(s, n, out);
    if ((r == MS_NUM_OK && ms_f32_single_rounding(s, n, *out)) ||
        (r != MS_NUM_OK && r != MS_NUM_RANGE))
        return r;
    double d;
    r = ms_parse_f64(s, n, &d);
    *out = (float)d;
    if (r == MS_NUM_OK && isinf(*out))
        r = MS_NUM_RANGE;
    return r;
}

static const char *num_reason(ms_num_result r, ms_precision prec)
{
    switch (r) {
    case MS_NUM_RANGE:
        return prec == MS_PREC_F64 ? "value out of float64 range" : "value out of float32 range";
    case MS_NUM_INFINITE:
        return "infinite value";
    case MS_NUM_MISSING:
        return "missing value";
    default:
        return "not a number";
    }
}

/* An unknown code is stored when the encoder takes unknowns. */
static const char *put_code(ms_batch *b, size_t c, size_t row, int32_t code)
{
    ms_batch_codes(b, c)[row] = code;
    if (code == MS_CODE_UNKNOWN && b->spec[c].unknown_is_error) {
        ms_batch_codes(b, c)[row] = MS_CODE_MISSING;
        return "unknown category";
    }
    return NULL;
}

/* pandas' default NA spellings (and "" ) read as missing in a text column;
 * they are matched untrimmed, as pandas matches them. */
static int is_na_text(const char *s, size_t n)
{
    float f;
    if (n == 0)
        return 1;
    if (n > 8 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
        return 0;
    return ms_parse_f32(s, n, &f) == MS_NUM_MISSING;
}

const char *ms_batch_put_text_slow(ms_batch *b, size_t c, size_t row, const char *s, size_t n)
{
    const ms_colspec *sp = &b->spec[c];
    ms_num_result r;
    double d;
    if (sp->kind == MS_COL_NUM) {
        if (sp->prec == MS_PREC_F64)
            r = ms_parse_f64(s, n, &ms_batch_f64(b, c)[row]);
        else
            r = ms_parse_f64_to_f32(s, n, &ms_batch_f32(b, c)[row]);
        if (r == MS_NUM_OK || (r == MS_NUM_MISSING && !b->refuse_missing))
            return NULL;
        set_missing(b, c, row);
        return num_reason(r, sp->prec);
    }
    if (is_na_text(s, n)) {
        ms_batch_codes(b, c)[row] = MS_CODE_MISSING;
        return NULL;
    }
    if (!ms_dict_is_num(sp->dict))
        return put_code(b, c, row, ms_dict_find_str(sp->dict, s, n));
    r = ms_parse_f64(s, n, &d);
    if (r == MS_NUM_MISSING) {
        ms_batch_codes(b, c)[row] = MS_CODE_MISSING;
        return NULL;
    }
    if (r != MS_NUM_OK)
        return r == MS_NUM_INVALID ? "not a number" : put_code(b, c, row, MS_CODE_UNKNOWN);
    return put_code(b, c, row, ms_dict_find_num(sp->dict, d));
}

const char *ms_batch_put_num(ms_batch *b, size_t c, size_t row, double v)
{
    const ms_colspec *sp = &b->spec[c];
    if (sp->kind == MS_COL_CAT) {
        if (isnan(v)) {
            ms_batch_codes(b, c)[row] = MS_CODE_MISSING;
            return NULL;
        }
        if (!ms_dict_is_num(sp->dict))
            return "not a category";
        return put_code(b, c, row, ms_dict_find_num(sp->dict, v));
    }
    if (isnan(v)) {
        set_missing(b, c, row);
        return b->refuse_missing ? "missing value" : NULL;
    }
    if (isinf(v))
        return "infinite value";
    if (sp->prec == MS_PREC_F64) {
        ms_batch_f64(b, c)[row] = v;
        return NULL;
    }
    float f = (float)v;
    if (isinf(f))
        return "value out of float32 range";
    ms_batch_f32(b, c)[row] = f;
    return NULL;
}

ms_status ms_batch_set_last_id(ms_batch *b, const char *s, size_t n, ms_error *err)
{
    size_t r = b->n_rows - 1;
    size_t start = b->id_off[r];
    ms_status st = ms_buf_reserve(&b->id_text, &b->id_cap, start + n + 1, err);
    if (st != MS_OK)
        return st;
    if (n)
        memcpy(b->id_text + start, s, n);
    b->id_len = start + n;
    b->id_off[r + 1] = b->id_len;
    return MS_OK;
}

ms_status ms_batch_set_keep(ms_batch *b, size_t n_keep, ms_error *err)
{
    if (b->keep || b->cap_rows)
        return ms_error_set(err, MS_EINTERNAL, "kept columns set on a used batch");
    if (n_keep && !(b->keep = calloc(n_keep, sizeof *b->keep)))
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    b->n_keep = n_keep;
    return MS_OK;
}

ms_status ms_batch_set_last_keep(ms_batch *b, size_t k, const char *s, size_t n, ms_error *err)
{
    size_t r = b->n_rows - 1;
    ms_textcol *t = &b->keep[k];
    size_t start = t->off[r];
    t->null[r] = s == NULL;
    if (!s)
        n = 0;
    ms_status st = ms_buf_reserve(&t->text, &t->cap, start + n + 1, err);
    if (st != MS_OK)
        return st;
    if (n)
        memcpy(t->text + start, s, n);
    t->len = start + n;
    t->off[r + 1] = t->len;
    return MS_OK;
}

ms_status ms_csv_append_field(char **buf, size_t *len, size_t *cap, const char *s, size_t n,
                              ms_error *err)
{
    int quote = 0;
    size_t extra = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ',' || c == '"' || c == '\n' || c == '\r')
            quote = 1;
        if (c == '"')
            extra++;
    }
    ms_status st = ms_buf_reserve(buf, cap, *len + n + extra + 3, err);
    if (st != MS_OK)
        return st;
    char *o = *buf + *len;
    if (!quote) {
        if (n)
            memcpy(o, s, n);
        *len += n;
        return MS_OK;
    }
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            *o++ = '"';
        *o++ = s[i];
    }
    *o++ = '"';
    *len = (size_t)(o - *buf);
    return MS_OK;
}

static ms_status append_str(ms_batch *b, const char *s, ms_error *err)
{
    size_t n = strlen(s);
    ms_status st = ms_buf_reserve(&b->errors, &b->errors_cap, b->errors_len + n + 1, err);
    if (st != MS_OK)
        return st;
    memcpy(b->errors + b->errors_len, s, n);
    b->errors_len += n;
    return MS_OK;
}

static ms_status mark_row(ms_batch *b, size_t r, const char *file, uint64_t line, size_t col,
                          const char *col_name, const char *reason, const char *record,
                          size_t record_len, ms_error *err)
{
    ms_status st;
    for (size_t c = 0; c < b->n_cols; c++)
        set_missing(b, c, r);
    b->bad[r] = 1;
    if (b->n_bad++ == 0) {
        if (col)
            snprintf(b->first_error, sizeof b->first_error, "%s:%llu:%zu: %s", file,
                     (unsigned long long)line, col, reason);
        else
            snprintf(b->first_error, sizeof b->first_error, "%s:%llu: %s", file,
                     (unsigned long long)line, reason);
        for (char *p = b->first_error; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    char num[32];
    MS_CHECK(
        ms_csv_append_field(&b->errors, &b->errors_len, &b->errors_cap, file, strlen(file), err));
    snprintf(num, sizeof num, ",%llu,", (unsigned long long)line);
    MS_CHECK(append_str(b, num, err));
    if (col_name)
        MS_CHECK(ms_csv_append_field(&b->errors, &b->errors_len, &b->errors_cap, col_name,
                                     strlen(col_name), err));
    MS_CHECK(append_str(b, ",", err));
    MS_CHECK(ms_csv_append_field(&b->errors, &b->errors_len, &b->errors_cap, reason, strlen(reason),
                                 err));
    MS_CHECK(append_str(b, ",", err));
    MS_CHECK(
        ms_csv_append_field(&b->errors, &b->errors_len, &b->errors_cap, record, record_len, err));
    MS_CHECK(append_str(b, "\n", err));
done:
    return st;
}

ms_status ms_batch_mark_bad(ms_batch *b, const char *file, uint64_t line, size_t col,
                            const char *col_name, const char *reason, const char *record,
                            size_t record_len, ms_error *err)
{
    return mark_row(b, b->n_rows - 1, file, line, col, col_name, reason, record, record_len, err);
}

ms_status ms_batch_mark_bad_row(ms_batch *b, size_t r, const char *col_name, const char *reason,
                                ms_error *err)
{
    return mark_row(b, r, b->file ? b->file : "", b->row_line[r], 0, col_name, reason, "", 0, err);
}
