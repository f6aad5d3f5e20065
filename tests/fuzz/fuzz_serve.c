/*
 * fuzz_serve.c — the endpoint server's request decoders and answer encoders
 * (src/serve/serve_table.c) and the request -> model step (serve_score.c).
 *
 * Input: one mode byte (low 2 bits: /score JSON, /score CSV, infer JSON),
 * then the request body. The model is a fixed linear regressor on features
 * a, b, c (score = 1a + 2b - 3c + 0.5). Properties, each a crash when it
 * fails:
 *  1. A decoder accepts, or refuses with a 4xx/500 status and one non-empty
 *     line; decoding the same body twice gives the same table (or the same
 *     refusal, word for word).
 *  2. An accepted table is well formed: names set and distinct for JSON and
 *     CSV, every cell a number, a text inside the text buffer or null, at
 *     most max_rows rows.
 *  3. Scoring accepts or refuses with 400 and one line; accepted scores are
 *     the reference's: each cell converted as `run` converts a CSV field
 *     (text: ms_parse_f32; number: the double rounded to float), then the
 *     linear formula, within 1e-3 relative.
 *  4. The answer in the request's shape parses back (jansson for JSON,
 *     libcsv for CSV) with one row per request row and the id passed
 *     through; an error answer is JSON {"error": "..."}.
 */
#include <csv.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "mpiscore/floatconv.h"
#include "serve/serve_score.h"
#include "serve/serve_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROWS 64

static const char *features[] = {"a", "b", "c"};
static char *fnames[] = {"a", "b", "c"};
static char *onames[] = {"score"};
static float coef[] = {1, 2, -3};
static float icpt[] = {0.5f};

static ms_model *model(void)
{
    static ms_model m;
    static int ready;
    if (!ready) {
        m.kind = MS_KIND_LINEAR;
        m.link = MS_LINK_IDENTITY;
        m.n_features = 3;
        m.feature_names = fnames;
        m.n_raw = m.n_outputs = 1;
        m.output_names = onames;
        m.linear.coef = coef;
        m.linear.intercept = icpt;
        ms_error err;
        FUZZ_ASSERT(ms_model_derive(&m, &err) == MS_OK, "%s", err.msg);
        ready = 1;
    }
    return &m;
}

static int decode(int mode, const char *body, size_t n, ms_rtable *t, ms_req_err *e)
{
    ms_decode_spec sp = {.features = features, .n_features = 3, .max_rows = MAX_ROWS};
    ms_rtable_init(t);
    memset(e, 0, sizeof *e);
    return mode == 2 ? ms_decode_infer(body, n, &sp, t, e)
                     : ms_decode_score(body, n, mode == 1, &sp, t, e);
}

static void check_msg(int rc, const ms_req_err *e)
{
    FUZZ_ASSERT((rc >= 400 && rc < 500) || rc == 500, "status %d", rc);
    FUZZ_ASSERT(e->http == rc, "status %d but the error says %d", rc, e->http);
    FUZZ_ASSERT(e->msg[0] && !strchr(e->msg, '\n'), "message \"%s\"", e->msg);
}

static int same_table(const ms_rtable *x, const ms_rtable *y)
{
    if (x->n_rows != y->n_rows || x->n_cols != y->n_cols || x->shape != y->shape ||
        x->id_col != y->id_col || x->text_len != y->text_len)
        return 0;
    for (size_t c = 0; c < x->n_cols; c++)
        if (strcmp(x->names[c], y->names[c]))
            return 0;
    for (size_t i = 0; i < x->n_rows * x->n_cols; i++) {
        if (x->tag[i] != y->tag[i])
            return 0;
        if (x->tag[i] == MS_CELL_NUM && memcmp(&x->num[i], &y->num[i], sizeof(double)))
            return 0;
        if (x->tag[i] == MS_CELL_TEXT &&
            (x->len[i] != y->len[i] || memcmp(x->text + x->off[i], y->text + y->off[i], x->len[i])))
            return 0;
    }
    return 1;
}

/* The reference conversion of one cell; 0 when the row must be refused. */
static int ref_value(const ms_rtable *t, size_t cell, float *v)
{
    if (t->tag[cell] == MS_CELL_NUM) {
        double d = t->num[cell];
        if (!(fabs(d) < (double)3.4028234663852886e38 + 0x1p103))
            return 0;
        *v = (float)d;
        return 1;
    }
    if (t->tag[cell] == MS_CELL_TEXT)
        return ms_parse_f32(t->text + t->off[cell], t->len[cell], v) == MS_NUM_OK;
    return 0; /* null: a linear model takes no missing value */
}

typedef struct csv_count {
    size_t records, fields_in_rec;
} csv_count;
static void cnt_field(void *s, size_t n, void *a)
{
    (void)s;
    (void)n;
    ((csv_count *)a)->fields_in_rec++;
}
static void cnt_row(int c, void *a)
{
    (void)c;
    ((csv_count *)a)->records++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] & 3;
    if (mode == 3)
        mode = 0;
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    ms_rtable t, t2;
    ms_req_err e, e2;
    int rc = decode(mode, body, n, &t, &e);
    int rc2 = decode(mode, body, n, &t2, &e2);
    FUZZ_ASSERT(rc == rc2, "decoded twice: %d then %d", rc, rc2);
    if (rc) {
        check_msg(rc, &e);
        FUZZ_ASSERT(!strcmp(e.msg, e2.msg), "two refusals: \"%s\" / \"%s\"", e.msg, e2.msg);
        ms_sbuf b = {0};
        ms_encode_error(e.msg, &b);
        json_t *j = json_loadb(b.p, b.len, 0, NULL);
        FUZZ_ASSERT(j && json_is_string(json_object_get(j, "error")) && json_object_size(j) == 1,
                    "error answer %s", b.p);
        json_decref(j);
        free(b.p);
        goto done;
    }
    FUZZ_ASSERT(same_table(&t, &t2), "the same body decoded to two tables");
    FUZZ_ASSERT(t.n_rows <= MAX_ROWS, "%zu rows", t.n_rows);
    for (size_t c = 0; c < t.n_cols; c++) {
        FUZZ_ASSERT(t.names[c], "column %zu has no name", c);
        for (size_t k = 0; k < c && mode != 2; k++)
            FUZZ_ASSERT(strcmp(t.names[c], t.names[k]) || !t.names[c][0], "duplicate column \"%s\"",
                        t.names[c]);
    }
    for (size_t i = 0; i < t.n_rows * t.n_cols; i++) {
        FUZZ_ASSERT(t.tag[i] <= MS_CELL_TEXT, "cell %zu tag %d", i, t.tag[i]);
        if (t.tag[i] == MS_CELL_TEXT)
            FUZZ_ASSERT(t.off[i] + t.len[i] < t.text_len + 1 && t.text[t.off[i] + t.len[i]] == 0,
                        "cell %zu text out of the buffer", i);
    }

    ms_serve_scorer *s = ms_serve_scorer_create();
    FUZZ_ASSERT(s, "out of memory");
    ms_scored_rows res;
    ms_req_err se = {0};
    int src = ms_serve_score(s, model(), MS_ISA_SCALAR, &t, &res, &se);
    /* the reference: features by name, then the formula */
    long col[3] = {-1, -1, -1};
    for (size_t f = 0; f < 3; f++)
        for (size_t c = 0; c < t.n_cols && col[f] < 0; c++)
            if (!strcmp(t.names[c], features[f]))
                col[f] = (long)c;
    int ref_ok = col[0] >= 0 && col[1] >= 0 && col[2] >= 0;
    for (size_t r = 0; ref_ok && r < t.n_rows; r++) {
        float x[3];
        for (size_t f = 0; f < 3 && ref_ok; f++)
            ref_ok = ref_value(&t, r * t.n_cols + (size_t)col[f], &x[f]);
        if (ref_ok && src == 0) {
            double want = 0.5 + (double)x[0] + 2.0 * x[1] - 3.0 * x[2];
            double got = res.values[r];
            FUZZ_ASSERT(fabs(got - want) <= 1e-3 * (1 + fabs(want)) ||
                            (isinf(got) && fabs(want) > 3e38) || (isnan(got) && isnan(want)),
                        "row %zu: %.9g, the formula gives %.9g", r, got, want);
        }
    }
    FUZZ_ASSERT(ref_ok == (src == 0), "scorer says %d (%s), the reference %s", src, se.msg,
                ref_ok ? "accepts" : "refuses");
    if (src) {
        check_msg(src, &se);
        FUZZ_ASSERT(src == 400, "a scoring refusal is %d", src);
    } else {
        ms_sbuf b = {0};
        if (mode == 2)
            ms_encode_infer(&t, &res, "m", "1", &b);
        else
            ms_encode_score(&t, &res, &b);
        FUZZ_ASSERT(!b.oom, "out of memory");
        if (t.shape == MS_SHAPE_CSV) {
            struct csv_parser p;
            csv_count cc = {0};
            csv_init(&p, CSV_STRICT | CSV_STRICT_FINI);
            size_t used = csv_parse(&p, b.p, b.len, cnt_field, cnt_row, &cc);
            csv_fini(&p, cnt_field, cnt_row, &cc);
            csv_free(&p);
            FUZZ_ASSERT(used == b.len && cc.records == t.n_rows + 1,
                        "CSV answer: %zu records for %zu rows", cc.records, t.n_rows);
        } else {
            json_error_t je;
            json_t *j = json_loadb(b.p, b.len, 0, &je);
            FUZZ_ASSERT(j, "answer is not JSON (%s): %.200s", je.text, b.p);
            json_t *rows =
                t.shape == MS_SHAPE_RECORDS ? j
                : t.shape == MS_SHAPE_SPLIT
                    ? json_object_get(j, "data")
                    : json_object_get(json_array_get(json_object_get(j, "outputs"), 0), "data");
            FUZZ_ASSERT(json_array_size(rows) == t.n_rows, "answer has %zu rows for %zu",
                        json_array_size(rows), t.n_rows);
            if (t.id_col >= 0 && t.shape == MS_SHAPE_SPLIT)
                for (size_t r = 0; r < t.n_rows; r++) {
                    size_t cell = r * t.n_cols + (size_t)t.id_col;
                    json_t *id = json_array_get(json_array_get(rows, r), 0);
                    if (t.tag[cell] == MS_CELL_TEXT)
                        FUZZ_ASSERT(
                            json_is_string(id) && json_string_length(id) == t.len[cell] &&
                                !memcmp(json_string_value(id), t.text + t.off[cell], t.len[cell]),
                            "row %zu: id not passed through", r);
                }
            json_decref(j);
        }
        free(b.p);
    }
    ms_serve_scorer_destroy(s);
done:
    ms_rtable_free(&t);
    ms_rtable_free(&t2);
    return 0;
}
