/*
 * batch.h — one mini-batch of parsed rows, as the readers fill it and the
 * kernels and formatters consume it.
 *
 * A batch is columns (DESIGN §8), one typed array per input column the
 * model needs, in the model's input order (model.h: m->inputs), not yet a
 * feature matrix: the scorer builds that per tile of rows.
 *
 * Invariants:
 *  - col[k] holds cap_rows entries typed by spec[k] (columns.h): float or
 *    double for MS_COL_NUM per spec[k].prec (NaN = missing), int32_t codes
 *    for MS_COL_CAT (MS_CODE_MISSING, MS_CODE_UNKNOWN or 0..n-1). Rows
 *    [0, n_rows) are set; a new row starts all missing.
 *  - bad[i] != 0 means row i failed to parse; all its cells are missing and
 *    the row keeps its place in the output (with empty values).
 *  - ids (when has_ids) are the raw id texts: id of row i is
 *    id_text[id_off[i] .. id_off[i+1]).
 *  - errors holds one already-formatted CSV record per bad row for the
 *    errors file ("file,line,column,reason,record\n", fields quoted as
 *    RFC 4180), in row order; first_error is the one-line message of the
 *    first bad row ("file:line:col: reason").
 * Buffers grow by doubling and are reused batch after batch: ms_batch_reset
 * keeps capacity, so the steady state allocates nothing.
 */
#ifndef MPISCORE_BATCH_H
#define MPISCORE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "mpiscore/columns.h"
#include "mpiscore/floatconv.h"
#include "mpiscore/status.h"

typedef struct ms_batch {
    size_t n_cols;
    const ms_colspec *spec; /* n_cols specs, not owned (the model's inputs) */
    void **col;             /* n_cols arrays of cap_rows entries */
    int refuse_missing;     /* a missing number is refused ("missing value") */
    size_t n_rows, cap_rows;
    uint8_t *bad;
    size_t n_bad;

    int has_ids;
    char *id_text;
    size_t id_len, id_cap;
    size_t *id_off; /* cap_rows + 1 entries */

    char *errors;
    size_t errors_len, errors_cap;
    char first_error[MS_ERROR_MSG_MAX];
} ms_batch;

/* spec (n_cols entries) must outlive the batch. */
void ms_batch_init(ms_batch *b, size_t n_cols, const ms_colspec *spec, int has_ids);
void ms_batch_free(ms_batch *b);
/* Empty the batch, keep its buffers. */
void ms_batch_reset(ms_batch *b);

/* Make room for at least `rows` rows in total. */
ms_status ms_batch_reserve(ms_batch *b, size_t rows, ms_error *err);

/* Append a row (index n_rows - 1 afterwards), every cell missing, bad = 0,
 * an empty id. */
ms_status ms_batch_add_row(ms_batch *b, ms_error *err);

/* Column c as its spec types it. */
static inline float *ms_batch_f32(const ms_batch *b, size_t c)
{
    return (float *)b->col[c];
}
static inline double *ms_batch_f64(const ms_batch *b, size_t c)
{
    return (double *)b->col[c];
}
static inline int32_t *ms_batch_codes(const ms_batch *b, size_t c)
{
    return (int32_t *)b->col[c];
}

/* Store the text cell s[0..n) (a CSV field, a JSON string) at (row, c) as
 * spec[c] says, and return NULL, or leave the cell missing and return why
 * it is refused: "not a number", "value out of float32 range" (float64),
 * "infinite value", "missing value" (only with refuse_missing), "unknown
 * category" (only with spec->unknown_is_error). Numbers: a float64 column
 * gets ms_parse_f64's value; a float32 column gets (float) of that value,
 * which is what pandas + scikit-learn / XGBoost do (read float64, cast to
 * float32), computed without strtod whenever the float32 parse provably
 * rounds the same (docs/formats.md). Categories: empty or one of pandas'
 * NA spellings is MS_CODE_MISSING, otherwise an exact dictionary lookup
 * (a numeric dictionary parses the number first). Allocates nothing. */
const char *ms_batch_put_text(ms_batch *b, size_t c, size_t row, const char *s, size_t n);
/* Store the number v (a JSON number, an HDF5 value) at (row, c): NaN is
 * missing, a float32 column gets (float)v; a string dictionary finds no
 * category in a number ("not a category"). Reasons as ms_batch_put_text. */
const char *ms_batch_put_num(ms_batch *b, size_t c, size_t row, double v);

/* The float32 value pandas + a float32 library get from s[0..n):
 * (float) of the correctly rounded double. Results as ms_parse_f32. */
ms_num_result ms_parse_f64_to_f32(const char *s, size_t n, float *out);

/* Set the id of the last added row. */
ms_status ms_batch_set_last_id(ms_batch *b, const char *s, size_t n, ms_error *err);

/* Mark the last added row bad: its cells become missing, one CSV record
 * `file,line,column,reason,record` is appended to errors (column is the
 * column name, or empty when the whole record is at fault) and, for the
 * batch's first bad row, first_error becomes "file:line:col: reason"
 * (":col" left out when col == 0). `record` is the raw record text. */
ms_status ms_batch_mark_bad(ms_batch *b, const char *file, uint64_t line, size_t col,
                            const char *col_name, const char *reason, const char *record,
                            size_t record_len, ms_error *err);

/* Append s[0..n) to buf as one RFC 4180 CSV field (quoted when it contains
 * a delimiter, quote, CR or LF). Shared by the errors file and CSV output. */
ms_status ms_csv_append_field(char **buf, size_t *len, size_t *cap, const char *s, size_t n,
                              ms_error *err);

/* Grow a byte buffer to hold at least `need` bytes (doubling). */
ms_status ms_buf_reserve(char **buf, size_t *cap, size_t need, ms_error *err);

#endif
