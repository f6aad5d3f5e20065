/*
 * serve_score.c — request table -> batch -> kernel -> outputs
 * (serve_score.h). Written against the row-major float batch
 * (ms_batch_add_row + ms_predict); the column batch replaces only this file.
 */
#include "serve/serve_score.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpiscore/batch.h"
#include "mpiscore/floatconv.h"

#define MS_SERVE_TREES_SCALAR_ROWS 8

struct ms_serve_scorer {
    ms_batch batch;
    int batch_ready;
    long *col_of; /* feature -> table column */
    size_t col_cap;
    float *out, *scratch;
    size_t out_cap, scratch_cap;
    double *values;
    int32_t *label;
    size_t values_cap, label_cap;
};

ms_serve_scorer *ms_serve_scorer_create(void)
{
    return calloc(1, sizeof(ms_serve_scorer));
}

void ms_serve_scorer_destroy(ms_serve_scorer *s)
{
    if (!s)
        return;
    if (s->batch_ready)
        ms_batch_free(&s->batch);
    free(s->col_of);
    free(s->out);
    free(s->scratch);
    free(s->values);
    free(s->label);
    free(s);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

#define fail ms_req_fail

/* Map t's columns to m's features and append its rows to the batch; on a
 * request problem the batch is cut back to where it was. */
static int append_table(ms_serve_scorer *s, const ms_model *m, const ms_rtable *t, ms_req_err *e)
{
    size_t nf = m->n_features, n = t->n_rows;
    ms_error err;
    e->http = 0;
    if (grow((void **)&s->col_of, &s->col_cap, nf, sizeof *s->col_of))
        return fail(e, 500, "out of memory");
    for (size_t f = 0; f < nf; f++) {
        const char *name = m->feature_names[f];
        long c = -1;
        /* most clients send the features in the model's order */
        if (f < t->n_cols && !strcmp(t->names[f], name))
            c = (long)f;
        for (size_t j = 0; c < 0 && j < t->n_cols; j++)
            if (!strcmp(t->names[j], name))
                c = (long)j;
        if (c < 0)
            return fail(e, 400, "missing feature column \"%.200s\" (the model takes %zu: %s%s)",
                        name, nf, m->feature_names[0], nf > 1 ? ", ..." : "");
        s->col_of[f] = c;
    }
    ms_batch *b = &s->batch;
    size_t start = b->n_rows;
    if (ms_batch_reserve(b, start + (n ? n : 1), &err) != MS_OK)
        return fail(e, 500, "%s", err.msg);
    int allow_missing = ms_model_allows_missing(m);
    for (size_t r = 0; r < n; r++) {
        float *row = ms_batch_add_row(b, &err);
        if (!row) {
            b->n_rows = start;
            return fail(e, 500, "%s", err.msg);
        }
        for (size_t f = 0; f < nf; f++) {
            size_t cell = r * t->n_cols + (size_t)s->col_of[f];
            ms_num_result res = MS_NUM_OK;
            float v = NAN;
            if (t->tag[cell] == MS_CELL_NUM) {
                double d = t->num[cell];
                /* beyond FLT_MAX + half an ulp a float32 overflows (a CSV field of the
                 * same value is "out of range"); below it the cast rounds as strtof does */
                if (fabs(d) >= (double)FLT_MAX + 0x1p103)
                    res = MS_NUM_RANGE;
                else
                    v = (float)d;
            } else if (t->tag[cell] == MS_CELL_TEXT) {
                res = ms_parse_f32(t->text + t->off[cell], t->len[cell], &v);
            } else {
                res = MS_NUM_MISSING;
            }
            if (res == MS_NUM_MISSING && allow_missing)
                res = MS_NUM_OK;
            if (res != MS_NUM_OK) {
                const char *why = res == MS_NUM_MISSING    ? "missing value (the model cannot "
                                                             "score missing values)"
                                  : res == MS_NUM_RANGE    ? "value out of float32 range"
                                  : res == MS_NUM_INFINITE ? "infinite value"
                                                           : "not a number";
                char val[80] = "";
                if (t->tag[cell] == MS_CELL_TEXT && res != MS_NUM_MISSING) {
                    char q[64];
                    ms_quote_excerpt(t->text + t->off[cell], t->len[cell], 40, q, sizeof q);
                    snprintf(val, sizeof val, ": \"%s\"", q);
                }
                b->n_rows = start;
                return fail(e, 400, "row %zu, column \"%.200s\": %s%s", r, m->feature_names[f], why,
                            val);
            }
            row[f] = v;
        }
    }
    if (m->has_missing_value) {
        /* XGBoost's `missing`, as ms_scorer_run treats it */
        for (size_t i = start * nf; i < b->n_rows * nf; i++)
            if (b->x[i] == m->missing_value)
                b->x[i] = NAN;
    }
    return 0;
}

static void begin(ms_serve_scorer *s, const ms_model *m)
{
    if (s->batch_ready && s->batch.n_features != m->n_features) {
        ms_batch_free(&s->batch);
        s->batch_ready = 0;
    }
    if (!s->batch_ready) {
        ms_batch_init(&s->batch, m->n_features, 0);
        s->batch_ready = 1;
    }
    ms_batch_reset(&s->batch);
}

/* Score every row appended since begin() in one kernel call. */
static int predict_all(ms_serve_scorer *s, const ms_model *m, ms_isa isa, ms_req_err *e)
{
    size_t n = s->batch.n_rows, k = m->n_outputs, rows = n ? n : 1;
    if (grow((void **)&s->out, &s->out_cap, rows * k, sizeof *s->out) ||
        grow((void **)&s->scratch, &s->scratch_cap, ms_predict_scratch_floats(m, rows),
             sizeof *s->scratch) ||
        grow((void **)&s->values, &s->values_cap, rows * k, sizeof *s->values) ||
        grow((void **)&s->label, &s->label_cap, rows, sizeof *s->label))
        return fail(e, 500, "out of memory");
    /* The wide tree kernels walk 16-row blocks: for the few rows of a
     * real-time request the scalar one is faster, and the tree kernels give
     * the same bits on every ISA (tests/unit/test_trees.c compares them with
     * memcmp), so answers still equal `run`'s. Linear and MLP kernels may
     * sum in another order per ISA: they keep the chosen one. */
    if (m->kind == MS_KIND_TREES && n < MS_SERVE_TREES_SCALAR_ROWS)
        isa = MS_ISA_SCALAR;
    if (n)
        ms_predict(m, isa, s->batch.x, n, s->out, s->scratch);
    for (size_t i = 0; i < n * k; i++)
        s->values[i] = s->out[i];
    for (size_t r = 0; m->n_classes && r < n; r++)
        s->label[r] = (int32_t)ms_predict_label(m, s->out + r * k);
    return 0;
}

static void result(ms_serve_scorer *s, const ms_model *m, size_t start, size_t n,
                   ms_scored_rows *out)
{
    out->n_rows = n;
    out->n_outputs = m->n_outputs;
    out->values = s->values + start * m->n_outputs;
    out->label = m->n_classes ? s->label + start : NULL;
    out->prec = MS_PREC_F32;
    out->output_names = (const char *const *)m->output_names;
    out->class_labels = (const char *const *)m->class_labels;
    out->n_classes = m->n_classes;
}

int ms_serve_score(ms_serve_scorer *s, const ms_model *m, ms_isa isa, const ms_rtable *t,
                   ms_scored_rows *out, ms_req_err *e)
{
    begin(s, m);
    int rc = append_table(s, m, t, e);
    if (!rc)
        rc = predict_all(s, m, isa, e);
    if (!rc)
        result(s, m, 0, t->n_rows, out);
    return rc;
}

void ms_serve_score_many(ms_serve_scorer *s, const ms_model *m, ms_isa isa, size_t n,
                         const ms_rtable *const *t, ms_scored_rows *out, ms_req_err *e, int *rc)
{
    begin(s, m);
    size_t *start = malloc((n ? n : 1) * sizeof *start);
    if (!start) {
        for (size_t i = 0; i < n; i++)
            rc[i] = fail(&e[i], 500, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        start[i] = s->batch.n_rows;
        rc[i] = append_table(s, m, t[i], &e[i]);
    }
    ms_req_err pe = {0};
    int prc = predict_all(s, m, isa, &pe);
    for (size_t i = 0; i < n; i++) {
        if (rc[i])
            continue;
        if (prc) {
            rc[i] = prc;
            e[i] = pe;
        } else {
            result(s, m, start[i], t[i]->n_rows, &out[i]);
        }
    }
    free(start);
}

size_t ms_serve_scorer_rows(const ms_serve_scorer *s)
{
    return s->batch_ready ? s->batch.n_rows : 0;
}
