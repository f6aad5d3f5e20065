/*
 * serve_score.c — request table -> column batch -> scorer -> outputs
 * (serve_score.h). The batch is the one `run` scores (batch.h, columns.h):
 * a request's columns are mapped to the model's inputs by name, text cells
 * go through ms_batch_put_text (the CSV reader's parser and category
 * lookup), JSON numbers through ms_batch_put_num, and ms_scorer_score_batch
 * runs the preprocessing program, the kernel of the model's precision and
 * the link, exactly as for a CSV batch (MS_FMT_VALUES: the scorer formats
 * nothing; the answer encoders print res.out).
 *
 * The scorer is rebuilt when the model changes: models are hot-swapped, and
 * a scorer sizes its buffers for one model (m->serial tells a new model
 * from an old one even at a reused address).
 */
#include "serve/serve_score.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpiscore/batch.h"
#include "mpiscore/scorer.h"

/* The wide tree kernels walk 16-row blocks: for the few rows of a
 * real-time request the scalar one is faster, and the tree kernels give the
 * same bits on every ISA (tests/unit/test_trees.c compares them with
 * memcmp), so answers still equal `run`'s. Linear and MLP kernels may sum
 * in another order per ISA: they keep the chosen one. */
#define MS_SERVE_TREES_SCALAR_ROWS 8

struct ms_serve_scorer {
    ms_scorer *sc;
    ms_scorer *scalar; /* tree models, requests under MS_SERVE_TREES_SCALAR_ROWS rows */
    const ms_model *m; /* the model sc was built for, and its serial */
    uint64_t serial;
    long *col_of; /* input -> table column */
    size_t col_cap;
    int32_t *label;
    size_t label_cap;
    const double *values; /* the last batch's outputs (the scorer's) */
};

ms_serve_scorer *ms_serve_scorer_create(void)
{
    return calloc(1, sizeof(ms_serve_scorer));
}

void ms_serve_scorer_destroy(ms_serve_scorer *s)
{
    if (!s)
        return;
    ms_scorer_destroy(s->sc);
    ms_scorer_destroy(s->scalar);
    free(s->col_of);
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

/* A scorer for m with an empty batch. */
static int begin(ms_serve_scorer *s, const ms_model *m, ms_isa isa, ms_req_err *e)
{
    if (!s->sc || s->m != m || s->serial != m->serial) {
        ms_scorer_destroy(s->sc);
        ms_scorer_destroy(s->scalar);
        s->sc = s->scalar = NULL;
        ms_error err;
        if (ms_scorer_create_batch(m, isa, MS_FMT_VALUES, &s->sc, &err) != MS_OK ||
            (m->kind == MS_KIND_TREES &&
             ms_scorer_create_batch(m, MS_ISA_SCALAR, MS_FMT_VALUES, &s->scalar, &err) != MS_OK)) {
            ms_scorer_destroy(s->sc);
            s->sc = NULL;
            return fail(e, 500, "%s", err.msg);
        }
        s->m = m;
        s->serial = m->serial;
    }
    ms_batch *b = ms_scorer_batch(s->sc);
    ms_batch_reset(b);
    b->refuse_missing = !ms_model_allows_missing(m);
    b->file = "request";
    return 0;
}

/* Map t's columns to m's inputs and append its rows to the batch; on a
 * request problem the batch is cut back to where it was. */
static int append_table(ms_serve_scorer *s, const ms_model *m, const ms_rtable *t, ms_req_err *e)
{
    size_t ni = m->n_inputs, n = t->n_rows;
    ms_error err;
    e->http = 0;
    if (grow((void **)&s->col_of, &s->col_cap, ni ? ni : 1, sizeof *s->col_of))
        return fail(e, 500, "out of memory");
    for (size_t f = 0; f < ni; f++) {
        const char *name = m->inputs[f].name;
        long c = -1;
        /* most clients send the columns in the model's order */
        if (f < t->n_cols && !strcmp(t->names[f], name))
            c = (long)f;
        for (size_t j = 0; c < 0 && j < t->n_cols; j++)
            if (!strcmp(t->names[j], name))
                c = (long)j;
        if (c < 0)
            return fail(e, 400, "missing feature column \"%.200s\" (the model takes %zu: %s%s)",
                        name, ni, m->inputs[0].name, ni > 1 ? ", ..." : "");
        s->col_of[f] = c;
    }
    ms_batch *b = ms_scorer_batch(s->sc);
    size_t start = b->n_rows;
    if (ms_batch_reserve(b, start + (n ? n : 1), &err) != MS_OK)
        return fail(e, 500, "%s", err.msg);
    for (size_t r = 0; r < n; r++) {
        if (ms_batch_add_row(b, &err) != MS_OK) {
            b->n_rows = start;
            return fail(e, 500, "%s", err.msg);
        }
        size_t row = b->n_rows - 1;
        b->row_line[row] = r;
        for (size_t f = 0; f < ni; f++) {
            size_t cell = r * t->n_cols + (size_t)s->col_of[f];
            const char *why = NULL;
            if (t->tag[cell] == MS_CELL_NUM)
                why = ms_batch_put_num(b, f, row, t->num[cell]);
            else if (t->tag[cell] == MS_CELL_TEXT)
                why = ms_batch_put_text(b, f, row, t->text + t->off[cell], t->len[cell]);
            else /* null: a missing cell, refused as an empty CSV field is */
                why = ms_batch_put_text(b, f, row, "", 0);
            if (why) {
                char val[80] = "";
                if (t->tag[cell] == MS_CELL_TEXT && t->len[cell]) {
                    char q[64];
                    ms_quote_excerpt(t->text + t->off[cell], t->len[cell], 40, q, sizeof q);
                    snprintf(val, sizeof val, ": \"%s\"", q);
                }
                b->n_rows = start;
                return fail(e, 400, "row %zu, column \"%.200s\": %s%s", r, m->inputs[f].name, why,
                            val);
            }
        }
    }
    return 0;
}

/* Score every row appended since begin() in one kernel call. */
static int predict_all(ms_serve_scorer *s, const ms_model *m, ms_req_err *e)
{
    ms_batch *b = ms_scorer_batch(s->sc);
    size_t n = b->n_rows, k = m->n_outputs;
    if (grow((void **)&s->label, &s->label_cap, n ? n : 1, sizeof *s->label))
        return fail(e, 500, "out of memory");
    s->values = NULL;
    if (!n)
        return 0;
    ms_scored res;
    ms_error err;
    ms_scorer *use = s->scalar && n < MS_SERVE_TREES_SCALAR_ROWS ? s->scalar : s->sc;
    if (ms_scorer_score_batch(use, b, &res, &err) != MS_OK)
        return fail(e, 500, "%s", err.msg);
    s->values = res.out;
    for (size_t r = 0; m->n_classes && r < n; r++)
        s->label[r] = (int32_t)ms_predict_label64(m, res.out + r * k);
    return 0;
}

/* A row the scorer refused after the preprocessing program (a value it
 * cannot compute, the estimator taking no missing values) fails its
 * request as a bad cell does. */
static int refused_row(ms_serve_scorer *s, size_t start, size_t n, ms_req_err *e)
{
    const ms_batch *b = ms_scorer_batch(s->sc);
    for (size_t r = start; r < start + n; r++)
        if (b->bad[r])
            return fail(e, 400,
                        "row %zu: the preprocessing program gives a missing value the estimator "
                        "cannot score",
                        r - start);
    return 0;
}

static void result(ms_serve_scorer *s, const ms_model *m, size_t start, size_t n,
                   ms_scored_rows *out)
{
    out->n_rows = n;
    out->n_outputs = m->n_outputs;
    out->values = s->values ? s->values + start * m->n_outputs : NULL;
    out->label = m->n_classes ? s->label + start : NULL;
    out->prec = m->precision;
    out->output_names = (const char *const *)m->output_names;
    out->class_labels = (const char *const *)m->class_labels;
    out->n_classes = m->n_classes;
}

int ms_serve_score(ms_serve_scorer *s, const ms_model *m, ms_isa isa, const ms_rtable *t,
                   ms_scored_rows *out, ms_req_err *e)
{
    int rc = begin(s, m, isa, e);
    if (!rc)
        rc = append_table(s, m, t, e);
    if (!rc)
        rc = predict_all(s, m, e);
    if (!rc)
        rc = refused_row(s, 0, t->n_rows, e);
    if (!rc)
        result(s, m, 0, t->n_rows, out);
    return rc;
}

void ms_serve_score_many(ms_serve_scorer *s, const ms_model *m, ms_isa isa, size_t n,
                         const ms_rtable *const *t, ms_scored_rows *out, ms_req_err *e, int *rc)
{
    ms_req_err be = {0};
    int brc = begin(s, m, isa, &be);
    size_t *start = brc ? NULL : malloc((n ? n : 1) * sizeof *start);
    if (!start) {
        for (size_t i = 0; i < n; i++) {
            rc[i] = brc ? brc : fail(&e[i], 500, "out of memory");
            if (brc)
                e[i] = be;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        start[i] = ms_scorer_batch(s->sc)->n_rows;
        rc[i] = append_table(s, m, t[i], &e[i]);
    }
    ms_req_err pe = {0};
    int prc = predict_all(s, m, &pe);
    for (size_t i = 0; i < n; i++) {
        if (rc[i])
            continue;
        if (prc) {
            rc[i] = prc;
            e[i] = pe;
        } else if (!(rc[i] = refused_row(s, start[i], t[i]->n_rows, &e[i]))) {
            result(s, m, start[i], t[i]->n_rows, &out[i]);
        }
    }
    free(start);
}

size_t ms_serve_scorer_rows(const ms_serve_scorer *s)
{
    return s->sc ? ms_scorer_batch(s->sc)->n_rows : 0;
}
