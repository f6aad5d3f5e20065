/*
 * serve_table.c — request decoders (JSON with jansson, CSV with libcsv) and
 * answer encoders (serve_table.h).
 */
#include "serve/serve_table.h"

#include <csv.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpiscore/floatconv.h"

/* ---- the table ---------------------------------------------------------- */

void ms_rtable_init(ms_rtable *t)
{
    memset(t, 0, sizeof *t);
    t->id_col = -1;
}

void ms_rtable_free(ms_rtable *t)
{
    for (size_t c = 0; c < t->n_cols; c++)
        free(t->names[c]);
    free(t->names);
    free(t->tag);
    free(t->num);
    free(t->off);
    free(t->len);
    free(t->text);
    free(t->req_id);
    ms_rtable_init(t);
}

int ms_req_fail(ms_req_err *e, int http, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    /* one line: request bytes quoted in a message (jansson quotes its input) lose their
     * control characters */
    for (char *p = e->msg; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    e->http = http;
    return http;
}

#define fail ms_req_fail

static int oom(ms_req_err *e)
{
    return fail(e, 500, "out of memory");
}

static int add_col(ms_rtable *t, const char *name, size_t n, ms_req_err *e)
{
    char **nn = realloc(t->names, (t->n_cols + 1) * sizeof *nn);
    if (!nn)
        return oom(e);
    t->names = nn;
    char *s = malloc(n + 1);
    if (!s)
        return oom(e);
    memcpy(s, name, n);
    s[n] = '\0';
    t->names[t->n_cols++] = s;
    return 0;
}

static long find_col(const ms_rtable *t, const char *name)
{
    for (size_t c = 0; c < t->n_cols; c++)
        if (!strcmp(t->names[c], name))
            return (long)c;
    return -1;
}

/* Room for `rows` rows of the current columns, cells set to null. */
static int reserve_rows(ms_rtable *t, size_t rows, ms_req_err *e)
{
    size_t need = rows * (t->n_cols ? t->n_cols : 1);
    if (t->n_cols && need / t->n_cols != rows)
        return oom(e);
    if (need > t->cap_cells) {
        size_t cap = t->cap_cells ? t->cap_cells : 64;
        while (cap < need)
            cap *= 2;
        uint8_t *tag = realloc(t->tag, cap);
        if (tag)
            t->tag = tag;
        double *num = tag ? realloc(t->num, cap * sizeof *num) : NULL;
        if (num)
            t->num = num;
        size_t *off = num ? realloc(t->off, cap * sizeof *off) : NULL;
        if (off)
            t->off = off;
        size_t *len = off ? realloc(t->len, cap * sizeof *len) : NULL;
        if (!len)
            return oom(e);
        t->len = len;
        memset(t->tag + t->cap_cells, 0, cap - t->cap_cells);
        t->cap_cells = cap;
    }
    return 0;
}

static int put_text(ms_rtable *t, size_t cell, const char *s, size_t n, ms_req_err *e)
{
    if (t->text_len + n + 1 > t->text_cap) {
        size_t cap = t->text_cap ? t->text_cap : 256;
        while (cap < t->text_len + n + 1)
            cap *= 2;
        char *p = realloc(t->text, cap);
        if (!p)
            return oom(e);
        t->text = p;
        t->text_cap = cap;
    }
    memcpy(t->text + t->text_len, s, n);
    t->text[t->text_len + n] = '\0';
    t->tag[cell] = MS_CELL_TEXT;
    t->off[cell] = t->text_len;
    t->len[cell] = n;
    t->text_len += n + 1;
    return 0;
}

/* One JSON value into cell; `where` names it for the error. */
/* Where a cell came from, for its error message only (formatted on failure:
 * the per-cell path formats nothing). */
typedef enum { AT_ROW = 0, AT_RECORD, AT_INPUT } at_kind;
typedef struct at {
    at_kind kind;
    size_t i;
    const char *name;
} at;

static int put_json(ms_rtable *t, size_t cell, json_t *v, at w, ms_req_err *e)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_REAL:
        t->tag[cell] = MS_CELL_NUM;
        t->num[cell] = json_number_value(v);
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        t->tag[cell] = MS_CELL_NUM;
        t->num[cell] = json_is_true(v) ? 1.0 : 0.0;
        return 0;
    case JSON_STRING:
        return put_text(t, cell, json_string_value(v), json_string_length(v), e);
    case JSON_NULL:
        t->tag[cell] = MS_CELL_NULL;
        return 0;
    default: {
        const char *what = json_is_object(v) ? "an object" : "an array";
        if (w.kind == AT_INPUT)
            return fail(e, 400,
                        "input \"%.200s\", data[%zu]: expected a number, a string or "
                        "null, not %s",
                        w.name, w.i, what);
        return fail(e, 400,
                    "%s %zu, column \"%.200s\": expected a number, a string or null, not %s",
                    w.kind == AT_ROW ? "row" : "record", w.i, w.name, what);
    }
    }
}

static void set_id_col(ms_rtable *t, const ms_decode_spec *sp)
{
    t->id_col = find_col(t, sp->id_column ? sp->id_column : "id");
}

static int check_rows(size_t n, const ms_decode_spec *sp, ms_req_err *e)
{
    if (sp->max_rows && n > sp->max_rows)
        return fail(e, 413, "%zu rows in one request (at most %zu: --max-rows)", n, sp->max_rows);
    return 0;
}

static json_t *parse_json(const char *body, size_t len, ms_req_err *e)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        fail(e, 400, "malformed JSON at line %d, column %d: %s", je.line, je.column, je.text);
    return root;
}

/* ---- /score --------------------------------------------------------------- */

static int decode_split(json_t *root, const ms_decode_spec *sp, ms_rtable *t, ms_req_err *e)
{
    json_t *cols = json_object_get(root, "columns"), *data = json_object_get(root, "data");
    if (!json_is_array(cols) || !json_is_array(data))
        return fail(e, 400,
                    "expected {\"columns\": [...], \"data\": [[...], ...]} (pandas "
                    "orient=\"split\"), a list of records, or a text/csv body");
    size_t i;
    json_t *v;
    json_array_foreach(cols, i, v)
    {
        if (!json_is_string(v))
            return fail(e, 400, "columns[%zu]: a column name must be a string", i);
        if (find_col(t, json_string_value(v)) >= 0)
            return fail(e, 400, "columns[%zu]: duplicate column name \"%s\"", i,
                        json_string_value(v));
        if (add_col(t, json_string_value(v), json_string_length(v), e))
            return e->http;
    }
    size_t n = json_array_size(data);
    if (check_rows(n, sp, e) || reserve_rows(t, n, e))
        return e->http;
    json_array_foreach(data, i, v)
    {
        if (!json_is_array(v))
            return fail(e, 400, "data[%zu]: a row must be an array", i);
        if (json_array_size(v) != t->n_cols)
            return fail(e, 400, "data[%zu]: %zu values for %zu columns", i, json_array_size(v),
                        t->n_cols);
        size_t c;
        json_t *x;
        json_array_foreach(v, c, x)
        {
            if (put_json(t, i * t->n_cols + c, x, (at){AT_ROW, i, t->names[c]}, e))
                return e->http;
        }
    }
    t->n_rows = n;
    t->shape = MS_SHAPE_SPLIT;
    return 0;
}

static int decode_records(json_t *recs, const ms_decode_spec *sp, ms_rtable *t, ms_req_err *e)
{
    size_t n = json_array_size(recs), i;
    json_t *r;
    if (check_rows(n, sp, e))
        return e->http;
    /* columns: every key, in first-seen order */
    json_array_foreach(recs, i, r)
    {
        if (!json_is_object(r))
            return fail(e, 400, "record %zu: expected an object of column: value", i);
        const char *k;
        json_t *x;
        json_object_foreach(r, k, x)
        {
            if (find_col(t, k) < 0 && add_col(t, k, strlen(k), e))
                return e->http;
        }
    }
    if (reserve_rows(t, n, e))
        return e->http;
    json_array_foreach(recs, i, r)
    {
        const char *k;
        json_t *x;
        json_object_foreach(r, k, x)
        {
            size_t c = (size_t)find_col(t, k);
            if (put_json(t, i * t->n_cols + c, x, (at){AT_RECORD, i, k}, e))
                return e->http;
        }
    }
    t->n_rows = n;
    t->shape = MS_SHAPE_RECORDS;
    return 0;
}

typedef struct csv_ctx {
    ms_rtable *t;
    const ms_decode_spec *sp;
    ms_req_err *e;
    size_t line; /* 1-based record number, the header is 1 */
    size_t field;
    int header_done;
    int failed;
} csv_ctx;

static void csv_field(void *s, size_t n, void *arg)
{
    csv_ctx *c = arg;
    ms_rtable *t = c->t;
    if (c->failed)
        return;
    if (!c->header_done) {
        if (find_col(t, s ? s : "") >= 0 && n) {
            c->failed = fail(c->e, 400, "line 1: duplicate column name \"%.200s\"", (char *)s);
            return;
        }
        c->failed = add_col(t, s ? s : "", n, c->e);
        return;
    }
    if (c->field == 0) {
        if (check_rows(t->n_rows + 1, c->sp, c->e) || reserve_rows(t, t->n_rows + 1, c->e)) {
            c->failed = 1;
            return;
        }
        t->n_rows++;
    }
    if (c->field < t->n_cols)
        c->failed = put_text(t, (t->n_rows - 1) * t->n_cols + c->field, s ? s : "", n, c->e);
    c->field++;
}

static void csv_row(int term, void *arg)
{
    (void)term;
    csv_ctx *c = arg;
    if (c->failed)
        return;
    c->line++;
    if (!c->header_done) {
        c->header_done = 1;
        return;
    }
    if (c->field != c->t->n_cols)
        c->failed = fail(c->e, 400, "line %zu: expected %zu fields, found %zu", c->line,
                         c->t->n_cols, c->field);
    c->field = 0;
}

static int decode_csv(const char *body, size_t len, const ms_decode_spec *sp, ms_rtable *t,
                      ms_req_err *e)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL) != 0)
        return oom(e);
    csv_ctx c = {.t = t, .sp = sp, .e = e};
    if (csv_parse(&p, body, len, csv_field, csv_row, &c) != len && !c.failed)
        c.failed =
            fail(e, 400, "CSV body, record %zu: %s", c.line + 1, csv_strerror(csv_error(&p)));
    if (!c.failed && csv_fini(&p, csv_field, csv_row, &c) != 0)
        c.failed =
            fail(e, 400, "CSV body, record %zu: %s", c.line + 1, csv_strerror(csv_error(&p)));
    csv_free(&p);
    if (c.failed)
        return e->http ? e->http : 400;
    if (!c.header_done)
        return fail(e, 400, "empty CSV body (a header row is required)");
    t->shape = MS_SHAPE_CSV;
    return 0;
}

int ms_decode_score(const char *body, size_t len, int csv, const ms_decode_spec *sp, ms_rtable *t,
                    ms_req_err *e)
{
    e->http = 0;
    int rc;
    if (csv)
        rc = decode_csv(body, len, sp, t, e);
    else {
        json_t *root = parse_json(body, len, e);
        if (!root)
            return e->http;
        /* MLflow's wrappers hold the same two shapes */
        json_t *in = root, *w;
        if (json_is_object(root) && (w = json_object_get(root, "dataframe_split")))
            in = w;
        else if (json_is_object(root) && (w = json_object_get(root, "dataframe_records")))
            in = w;
        if (json_is_array(in))
            rc = decode_records(in, sp, t, e);
        else if (json_is_object(in))
            rc = decode_split(in, sp, t, e);
        else
            rc = fail(e, 400,
                      "expected a JSON object (pandas orient=\"split\") or a list of "
                      "records");
        json_decref(root);
    }
    if (!rc)
        set_id_col(t, sp);
    return rc;
}

/* ---- /v2/models/NAME/infer ----------------------------------------------- */

static int dtype_numeric(const char *dt, int *is_bool)
{
    static const char *num[] = {"BOOL",  "UINT8", "UINT16", "UINT32", "UINT64", "INT8",
                                "INT16", "INT32", "INT64",  "FP16",   "FP32",   "FP64"};
    *is_bool = !strcmp(dt, "BOOL");
    for (size_t i = 0; i < sizeof num / sizeof *num; i++)
        if (!strcmp(dt, num[i]))
            return 1;
    return 0;
}

/* Values of a (possibly nested, row-major) data array in order. */
static int flatten(json_t *v, json_t ***out, size_t *n, size_t *cap, size_t limit, int depth)
{
    if (!json_is_array(v)) {
        if (*n >= limit)
            return 1;
        if (*n == *cap) {
            size_t c = *cap ? 2 * *cap : 64;
            json_t **p = realloc(*out, c * sizeof *p);
            if (!p)
                return 2;
            *out = p;
            *cap = c;
        }
        (*out)[(*n)++] = v;
        return 0;
    }
    if (depth > 8)
        return 3;
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        int rc = flatten(x, out, n, cap, limit, depth + 1);
        if (rc)
            return rc;
    }
    return 0;
}

typedef struct oip_input {
    const char *name;
    size_t dims[2], n_dims;
    const char *dtype;
    json_t **vals;
    size_t n_vals;
} oip_input;

static int read_input(json_t *in, size_t k, oip_input *o, const ms_decode_spec *sp, ms_req_err *e)
{
    memset(o, 0, sizeof *o);
    json_t *name = json_object_get(in, "name"), *shape = json_object_get(in, "shape"),
           *dt = json_object_get(in, "datatype"), *data = json_object_get(in, "data");
    if (!json_is_object(in) || !json_is_string(name))
        return fail(e, 400, "inputs[%zu]: expected an object with name, shape, datatype, data", k);
    o->name = json_string_value(name);
    if (!json_is_array(shape) || json_array_size(shape) < 1 || json_array_size(shape) > 2)
        return fail(e, 400, "input \"%.200s\": shape must be [rows] or [rows, features]", o->name);
    o->n_dims = json_array_size(shape);
    size_t total = 1;
    for (size_t d = 0; d < o->n_dims; d++) {
        json_t *x = json_array_get(shape, d);
        if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > (1 << 30))
            return fail(e, 400, "input \"%.200s\": shape[%zu] is not a size", o->name, d);
        o->dims[d] = (size_t)json_integer_value(x);
        total *= o->dims[d];
    }
    if (check_rows(o->dims[0], sp, e))
        return e->http;
    if (!json_is_string(dt))
        return fail(e, 400, "input \"%.200s\": datatype missing", o->name);
    o->dtype = json_string_value(dt);
    int is_bool;
    int numeric = dtype_numeric(o->dtype, &is_bool);
    if (!numeric && strcmp(o->dtype, "BYTES"))
        return fail(e, 400, "input \"%.200s\": unknown datatype \"%.40s\"", o->name, o->dtype);
    if (!json_is_array(data))
        return fail(e, 400, "input \"%.200s\": data must be an array", o->name);
    size_t cap = 0;
    int rc = flatten(data, &o->vals, &o->n_vals, &cap, total, 0);
    if (rc == 2)
        return oom(e);
    if (rc == 3)
        return fail(e, 400, "input \"%.200s\": data nested too deep", o->name);
    if (rc == 1 || o->n_vals != total)
        return fail(e, 400, "input \"%.200s\": shape holds %zu values, data has %s%zu", o->name,
                    total, rc == 1 ? "more than " : "", o->n_vals);
    for (size_t i = 0; i < o->n_vals; i++) {
        json_t *v = o->vals[i];
        int good =
            json_is_null(v) ||
            (numeric ? (json_is_number(v) || (is_bool && json_is_boolean(v))) : json_is_string(v));
        if (!good)
            return fail(e, 400, "input \"%.200s\": data[%zu] is not %s (datatype %s)", o->name, i,
                        numeric ? "a number" : "a string", o->dtype);
    }
    return 0;
}

int ms_decode_infer(const char *body, size_t len, const ms_decode_spec *sp, ms_rtable *t,
                    ms_req_err *e)
{
    e->http = 0;
    json_t *root = parse_json(body, len, e);
    if (!root)
        return e->http;
    oip_input *ins = NULL;
    size_t n_in = 0;
    int rc = 0;
    json_t *inputs = json_object_get(root, "inputs"), *id = json_object_get(root, "id");
    if (!json_is_object(root) || !json_is_array(inputs) || json_array_size(inputs) == 0) {
        rc = fail(e, 400,
                  "expected {\"inputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}, "
                  "...]}");
        goto done;
    }
    if (json_is_string(id) && !(t->req_id = strdup(json_string_value(id)))) {
        rc = oom(e);
        goto done;
    }
    n_in = json_array_size(inputs);
    ins = calloc(n_in, sizeof *ins);
    if (!ins) {
        rc = oom(e);
        goto done;
    }
    for (size_t k = 0; k < n_in; k++)
        if ((rc = read_input(json_array_get(inputs, k), k, &ins[k], sp, e)))
            goto done;
    size_t rows = ins[0].dims[0];
    if (n_in == 1 && ins[0].n_dims == 2 && !(ins[0].dims[1] == 1 && sp->n_features != 1)) {
        /* one [rows, n_features] tensor, columns in the model's feature order */
        oip_input *o = &ins[0];
        if (o->dims[1] != sp->n_features) {
            rc = fail(e, 400, "input \"%.200s\": shape [%zu, %zu] but the model takes %zu features",
                      o->name, o->dims[0], o->dims[1], sp->n_features);
            goto done;
        }
        for (size_t f = 0; f < sp->n_features; f++)
            if ((rc = add_col(t, sp->features[f], strlen(sp->features[f]), e)))
                goto done;
        if ((rc = reserve_rows(t, rows, e)))
            goto done;
        for (size_t i = 0; i < o->n_vals; i++) {
            if ((rc = put_json(t, i, o->vals[i], (at){AT_INPUT, i, o->name}, e)))
                goto done;
        }
    } else {
        /* one input per column, each [rows] or [rows, 1] */
        for (size_t k = 0; k < n_in; k++) {
            oip_input *o = &ins[k];
            if (o->n_dims == 2 && o->dims[1] != 1) {
                rc = fail(e, 400,
                          "input \"%.200s\": shape [%zu, %zu]: with several inputs each is one "
                          "column ([rows] or [rows, 1])",
                          o->name, o->dims[0], o->dims[1]);
                goto done;
            }
            if (o->dims[0] != rows) {
                rc = fail(e, 400, "input \"%.200s\" has %zu rows, input \"%.200s\" has %zu",
                          o->name, o->dims[0], ins[0].name, rows);
                goto done;
            }
            if (find_col(t, o->name) >= 0) {
                rc = fail(e, 400, "input \"%.200s\" given twice", o->name);
                goto done;
            }
            if ((rc = add_col(t, o->name, strlen(o->name), e)))
                goto done;
        }
        if ((rc = reserve_rows(t, rows, e)))
            goto done;
        for (size_t k = 0; k < n_in; k++)
            for (size_t r = 0; r < rows; r++) {
                if ((rc = put_json(t, r * n_in + k, ins[k].vals[r], (at){AT_INPUT, r, ins[k].name},
                                   e)))
                    goto done;
            }
    }
    t->n_rows = rows;
    t->shape = MS_SHAPE_OIP;
    set_id_col(t, sp);
done:
    for (size_t k = 0; ins && k < n_in; k++)
        free(ins[k].vals);
    free(ins);
    json_decref(root);
    return rc;
}

/* ---- answers -------------------------------------------------------------- */

void ms_sbuf_put(ms_sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void ms_sbuf_puts(ms_sbuf *b, const char *s)
{
    ms_sbuf_put(b, s, strlen(s));
}

void ms_sbuf_printf(ms_sbuf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        ms_sbuf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Length of the valid UTF-8 sequence at s[0..n), 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF are not). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (!len || c > 0xf4 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

void ms_sbuf_json_str(ms_sbuf *b, const char *s, size_t n)
{
    /* JSON text is UTF-8: bytes that are not (a CSV body may hold any) become U+FFFD */
    ms_sbuf_put(b, "\"", 1);
    size_t run = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        size_t u = c >= 0x80 ? utf8_len((const unsigned char *)s + i, n - i) : 0;
        if (u) {
            i += u;
            continue;
        }
        ms_sbuf_put(b, s + run, i - run);
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n')
            snprintf(esc, sizeof esc, "\\n");
        else if (c >= 0x80)
            snprintf(esc, sizeof esc, "\\ufffd");
        else
            snprintf(esc, sizeof esc, "\\u%04x", c);
        ms_sbuf_puts(b, esc);
        run = ++i;
    }
    ms_sbuf_put(b, s + run, n - run);
    ms_sbuf_put(b, "\"", 1);
}

/* A value as the shortest text in the model's precision. In CSV as `run`
 * writes it (NaN empty, "inf"/"-inf"); JSON has neither: null. */
static void put_value(ms_sbuf *b, double v, ms_precision prec, int json)
{
    if (json && !isfinite(v)) {
        ms_sbuf_puts(b, "null");
        return;
    }
    char tmp[MS_F64_TEXT_MAX + 1];
    size_t n = prec == MS_PREC_F32 ? ms_format_f32((float)v, tmp) : ms_format_f64(v, tmp);
    ms_sbuf_put(b, tmp, n);
}

static void put_id_json(ms_sbuf *b, const ms_rtable *t, size_t r)
{
    size_t cell = r * t->n_cols + (size_t)t->id_col;
    if (t->tag[cell] == MS_CELL_TEXT)
        ms_sbuf_json_str(b, t->text + t->off[cell], t->len[cell]);
    else if (t->tag[cell] == MS_CELL_NUM)
        put_value(b, t->num[cell], MS_PREC_F64, 1);
    else
        ms_sbuf_puts(b, "null");
}

static void put_csv_field(ms_sbuf *b, const char *s, size_t n)
{
    int quote = 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        ms_sbuf_put(b, s, n);
        return;
    }
    ms_sbuf_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            ms_sbuf_put(b, "\"", 1);
        ms_sbuf_put(b, s + i, 1);
    }
    ms_sbuf_put(b, "\"", 1);
}

void ms_encode_score(const ms_rtable *t, const ms_scored_rows *r, ms_sbuf *out)
{
    int has_id = t->id_col >= 0, has_label = r->label != NULL;
    const char *id_name = has_id ? t->names[t->id_col] : "";
    if (t->shape == MS_SHAPE_CSV) {
        /* the header and rows `mpiscore run` writes for the same rows */
        int first = 1;
        if (has_id) {
            put_csv_field(out, id_name, strlen(id_name));
            first = 0;
        }
        for (size_t k = 0; k < r->n_outputs; k++) {
            if (!first)
                ms_sbuf_put(out, ",", 1);
            first = 0;
            put_csv_field(out, r->output_names[k], strlen(r->output_names[k]));
        }
        if (has_label)
            ms_sbuf_puts(out, first ? "label" : ",label");
        ms_sbuf_put(out, "\n", 1);
        for (size_t i = 0; i < r->n_rows; i++) {
            first = 1;
            size_t line = out->len;
            if (has_id) {
                size_t cell = i * t->n_cols + (size_t)t->id_col;
                put_csv_field(out, t->text + t->off[cell], t->len[cell]);
                first = 0;
            }
            for (size_t k = 0; k < r->n_outputs; k++) {
                if (!first)
                    ms_sbuf_put(out, ",", 1);
                first = 0;
                put_value(out, r->values[i * r->n_outputs + k], r->prec, 0);
            }
            if (has_label) {
                if (!first)
                    ms_sbuf_put(out, ",", 1);
                const char *lab = r->class_labels[r->label[i]];
                put_csv_field(out, lab, strlen(lab));
            }
            /* an empty line is no record: a lone empty value is written quoted, as run does */
            if (out->len == line)
                ms_sbuf_put(out, "\"\"", 2);
            ms_sbuf_put(out, "\n", 1);
        }
        return;
    }
    int records = t->shape == MS_SHAPE_RECORDS;
    if (!records) {
        ms_sbuf_puts(out, "{\"columns\":[");
        int first = 1;
        if (has_id) {
            ms_sbuf_json_str(out, id_name, strlen(id_name));
            first = 0;
        }
        for (size_t k = 0; k < r->n_outputs; k++) {
            if (!first)
                ms_sbuf_put(out, ",", 1);
            first = 0;
            ms_sbuf_json_str(out, r->output_names[k], strlen(r->output_names[k]));
        }
        if (has_label)
            ms_sbuf_puts(out, first ? "\"label\"" : ",\"label\"");
        ms_sbuf_puts(out, "],\"data\":[");
    } else {
        ms_sbuf_put(out, "[", 1);
    }
    for (size_t i = 0; i < r->n_rows; i++) {
        ms_sbuf_puts(out, i ? (records ? ",{" : ",[") : (records ? "{" : "["));
        int first = 1;
        if (has_id) {
            if (records) {
                ms_sbuf_json_str(out, id_name, strlen(id_name));
                ms_sbuf_put(out, ":", 1);
            }
            put_id_json(out, t, i);
            first = 0;
        }
        for (size_t k = 0; k < r->n_outputs; k++) {
            if (!first)
                ms_sbuf_put(out, ",", 1);
            first = 0;
            if (records) {
                ms_sbuf_json_str(out, r->output_names[k], strlen(r->output_names[k]));
                ms_sbuf_put(out, ":", 1);
            }
            put_value(out, r->values[i * r->n_outputs + k], r->prec, 1);
        }
        if (has_label) {
            if (!first)
                ms_sbuf_put(out, ",", 1);
            if (records)
                ms_sbuf_puts(out, "\"label\":");
            const char *lab = r->class_labels[r->label[i]];
            ms_sbuf_json_str(out, lab, strlen(lab));
        }
        ms_sbuf_puts(out, records ? "}" : "]");
    }
    ms_sbuf_puts(out, records ? "]" : "]}");
}

void ms_encode_infer(const ms_rtable *t, const ms_scored_rows *r, const char *model_name,
                     const char *model_version, ms_sbuf *out)
{
    ms_sbuf_puts(out, "{\"model_name\":");
    ms_sbuf_json_str(out, model_name, strlen(model_name));
    ms_sbuf_puts(out, ",\"model_version\":");
    ms_sbuf_json_str(out, model_version, strlen(model_version));
    if (t->req_id) {
        ms_sbuf_puts(out, ",\"id\":");
        ms_sbuf_json_str(out, t->req_id, strlen(t->req_id));
    }
    ms_sbuf_puts(out, ",\"outputs\":[");
    const char *dt = r->prec == MS_PREC_F32 ? "FP32" : "FP64";
    for (size_t k = 0; k < r->n_outputs; k++) {
        ms_sbuf_puts(out, k ? ",{\"name\":" : "{\"name\":");
        ms_sbuf_json_str(out, r->output_names[k], strlen(r->output_names[k]));
        ms_sbuf_printf(out, ",\"datatype\":\"%s\",\"shape\":[%zu],\"data\":[", dt, r->n_rows);
        for (size_t i = 0; i < r->n_rows; i++) {
            if (i)
                ms_sbuf_put(out, ",", 1);
            put_value(out, r->values[i * r->n_outputs + k], r->prec, 1);
        }
        ms_sbuf_puts(out, "]}");
    }
    if (r->label) {
        ms_sbuf_printf(out,
                       ",{\"name\":\"label\",\"datatype\":\"BYTES\",\"shape\":[%zu],\"data\":[",
                       r->n_rows);
        for (size_t i = 0; i < r->n_rows; i++) {
            if (i)
                ms_sbuf_put(out, ",", 1);
            const char *lab = r->class_labels[r->label[i]];
            ms_sbuf_json_str(out, lab, strlen(lab));
        }
        ms_sbuf_puts(out, "]}");
    }
    if (t->id_col >= 0) {
        ms_sbuf_printf(out, ",{\"name\":");
        const char *id_name = t->names[t->id_col];
        ms_sbuf_json_str(out, id_name, strlen(id_name));
        ms_sbuf_printf(out, ",\"datatype\":\"BYTES\",\"shape\":[%zu],\"data\":[", r->n_rows);
        for (size_t i = 0; i < r->n_rows; i++) {
            if (i)
                ms_sbuf_put(out, ",", 1);
            put_id_json(out, t, i);
        }
        ms_sbuf_puts(out, "]}");
    }
    ms_sbuf_puts(out, "]}");
}

void ms_encode_error(const char *msg, ms_sbuf *out)
{
    ms_sbuf_puts(out, "{\"error\":");
    ms_sbuf_json_str(out, msg, strlen(msg));
    ms_sbuf_puts(out, "}");
}
