/*
 * serve_table.h — what a request body decodes into, and how answers are
 * written back in the shape the request came in.
 *
 * A request table is rows x named columns of cells, each a number (a JSON
 * number, as jansson's correctly rounded double), a text (a JSON string or
 * a CSV field, kept as written so the scorer parses it exactly as `run`
 * parses CSV) or null (missing). It knows nothing of batches or kernels:
 * serve_score.c turns it into model inputs, so the batch layout lives in
 * one file.
 *
 * Invariants: cells are row-major, cell (r, c) at r * n_cols + c; a text
 * cell's bytes are text[off .. off + len) and may hold any byte but NUL is
 * never assumed; decoders fail with an HTTP status (400, 404, 413) and a
 * one-line reason naming the row/column or the input at fault.
 */
#ifndef MPISCORE_SERVE_TABLE_H
#define MPISCORE_SERVE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "mpiscore/columns.h"

typedef enum { MS_CELL_NULL = 0, MS_CELL_NUM, MS_CELL_TEXT } ms_cell_tag;

/* How the request was written; the answer uses the same shape. */
typedef enum { MS_SHAPE_SPLIT = 0, MS_SHAPE_RECORDS, MS_SHAPE_CSV, MS_SHAPE_OIP } ms_req_shape;

typedef struct ms_rtable {
    size_t n_rows, n_cols, cap_cells;
    char **names; /* n_cols */
    uint8_t *tag;
    double *num;
    size_t *off, *len;
    char *text;
    size_t text_len, text_cap;
    ms_req_shape shape;
    char *req_id; /* OIP "id", or NULL */
    long id_col;  /* column passed through to the answer (-1: none) */
} ms_rtable;

/* A decoder's verdict: HTTP status (0 = decoded) and reason. */
typedef struct ms_req_err {
    int http;
    char msg[512];
} ms_req_err;

/* Fill e (one line: control characters become spaces) and return http. */
int ms_req_fail(ms_req_err *e, int http, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void ms_rtable_init(ms_rtable *t);
void ms_rtable_free(ms_rtable *t);

/* What the decoders need from the model: feature names (a [rows, F] tensor
 * is taken in this order) and a row limit (413 beyond it). */
typedef struct ms_decode_spec {
    const char *const *features;
    size_t n_features;
    size_t max_rows;
    const char *id_column; /* passed through when present; NULL: "id" */
} ms_decode_spec;

/* POST /score: pandas split {"columns", "data"}, a list of records, or CSV
 * (csv != 0: text/csv body). */
int ms_decode_score(const char *body, size_t len, int csv, const ms_decode_spec *sp, ms_rtable *t,
                    ms_req_err *e);
/* POST /v2/models/NAME/infer: an Open Inference Protocol request. */
int ms_decode_infer(const char *body, size_t len, const ms_decode_spec *sp, ms_rtable *t,
                    ms_req_err *e);

/* Scored rows, as serve_score.c hands them to the encoders: n_rows x
 * n_outputs values, printed in `prec` (shortest text that reads back to the
 * value in that precision), and a class index per row for classifiers. */
typedef struct ms_scored_rows {
    size_t n_rows, n_outputs;
    const double *values;
    const int32_t *label; /* NULL unless n_classes */
    ms_precision prec;
    const char *const *output_names;
    const char *const *class_labels;
    size_t n_classes;
} ms_scored_rows;

/* A growable byte buffer for answers. */
typedef struct ms_sbuf {
    char *p;
    size_t len, cap;
    int oom;
} ms_sbuf;
void ms_sbuf_put(ms_sbuf *b, const char *s, size_t n);
void ms_sbuf_puts(ms_sbuf *b, const char *s);
void ms_sbuf_printf(ms_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s[0..n) as a JSON string, quotes included. */
void ms_sbuf_json_str(ms_sbuf *b, const char *s, size_t n);

/* The answer to a /score request in t's shape (split, records or CSV). */
void ms_encode_score(const ms_rtable *t, const ms_scored_rows *r, ms_sbuf *out);
/* The answer to an infer request: model_name, model_version, id, outputs. */
void ms_encode_infer(const ms_rtable *t, const ms_scored_rows *r, const char *model_name,
                     const char *model_version, ms_sbuf *out);
/* {"error": "msg"} */
void ms_encode_error(const char *msg, ms_sbuf *out);

#endif
