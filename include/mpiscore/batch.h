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
#include <string.h>

#include "mpiscore/columns.h"
#include "mpiscore/floatconv.h"
#include "mpiscore/status.h"

/* A column of texts carried beside the features (--keep-columns): row i is
 * text[off[i] .. off[i+1]), and null[i] != 0 when the input held no value
 * there (a Parquet null; never set by CSV, whose empty cell is the empty
 * text). Numbers from typed inputs (HDF5, Parquet) are their shortest
 * round-trip text (integers in decimal), so the text reads back to the
 * input's value and a typed writer (Parquet) restores the type exactly. */
typedef struct ms_textcol {
    char *text;
    size_t len, cap;
    size_t *off;   /* cap_rows + 1 entries */
    uint8_t *null; /* cap_rows entries */
} ms_textcol;

typedef struct ms_batch {
    size_t n_cols;
    const ms_colspec *spec; /* n_cols specs, not owned (the model's inputs) */
    void **col;             /* n_cols arrays of cap_rows entries */
    int refuse_missing;     /* a missing number is refused ("missing value") */
    size_t n_rows, cap_rows;
    uint8_t *bad;
    size_t n_bad;
    /* Where each row came from, for a row refused after parsing (a value
     * the preprocessing program cannot compute): file names the input, and
     * row_line[i] is row i's first physical line (CSV) or its row number
     * (HDF5, 1-based); 0 when the reader does not say. */
    const char *file;
    uint64_t *row_line; /* cap_rows entries */

    int has_ids;
    char *id_text;
    size_t id_len, id_cap;
    size_t *id_off; /* cap_rows + 1 entries */

    /* --keep-columns, in the order given (ms_inputs.keep_names) */
    size_t n_keep;
    ms_textcol *keep;

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
/* Append a row whose cells the caller has already written (row n_rows of
 * every column, within the reserved capacity): a reader filling whole
 * columns at once. */
ms_status ms_batch_add_row_set(ms_batch *b, ms_error *err);

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
 * float32): a plain decimal by ms_parse_plain_f64_to_f32, else without
 * strtod whenever the float32 parse provably rounds the same
 * (docs/formats.md). Categories: empty or one of pandas'
 * NA spellings is MS_CODE_MISSING, otherwise an exact dictionary lookup
 * (a numeric dictionary parses the number first). Allocates nothing. */
static inline const char *ms_batch_put_text(ms_batch *b, size_t c, size_t row, const char *s,
                                            size_t n);
const char *ms_batch_put_text_slow(ms_batch *b, size_t c, size_t row, const char *s, size_t n);
/* Store the number v (a JSON number, an HDF5 value) at (row, c): NaN is
 * missing, a float32 column gets (float)v; a string dictionary finds no
 * category in a number ("not a category"). Reasons as ms_batch_put_text. */
const char *ms_batch_put_num(ms_batch *b, size_t c, size_t row, double v);

/* The float32 value pandas + a float32 library get from s[0..n):
 * (float) of the correctly rounded double. Results as ms_parse_f32. */
ms_num_result ms_parse_f64_to_f32(const char *s, size_t n, float *out);

/* A byte 'e' or 'E' in the 8 bytes of v (the zero-byte test on v ^ "eeeeeeee"
 * after folding case: exact, no false positives). */
static inline int ms_has_exponent8(uint64_t v)
{
    uint64_t x = (v | 0x2020202020202020ull) ^ 0x6565656565656565ull;
    return ((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull) != 0;
}

/* 1 when strtof's value v of s[0..n), a text ms_parse_f32 accepted, is
 * provably (float) of strtod's, so the fast float32 parse stands in for the
 * double one. Double rounding can only differ when the double lands exactly
 * on a float32 midpoint mid = m * 2^e (m odd, 25 bits, e = E - 24 in the
 * binade [2^E, 2^(E+1))) without x being it: 0 < |x - mid| <= 2^(E-53).
 * For x = M / 10^j (j fraction digits) with x < 2^(25-j), so -e >= j,
 * x - mid = N * 2^e / 10^j with N a nonzero multiple of 2^j, hence
 * |x - mid| >= 2^(E-24) / 5^j > 2^(E-53) while 5^j < 2^29 (j <= 12); an
 * integer below 2^53 is exact in double. Checked from the length alone: a
 * text of n <= 13 bytes without an exponent has j <= 12, and with D digits
 * before the point j <= n - 1 - D, so x < 2^(25-j) holds whenever
 * x < 10^D <= 2^(26-n+D), i.e. D <= (26 - n) / log2(5): |v| below
 * ms_f32_exact_below[n] (v < T, T a float, implies x < T). Longer texts
 * and exponents say 0 (the caller then takes the double). */
static const float ms_f32_exact_below[14] = {0,    1e10f, 1e10f, 1e9f, 1e9f, 1e9f, 1e8f,
                                             1e8f, 1e7f,  1e7f,  1e6f, 1e6f, 1e6f, 1e5f};

static inline int ms_f32_single_rounding(const char *s, size_t n, float v)
{
    if (n > 13 || !(v < ms_f32_exact_below[n] && -v < ms_f32_exact_below[n]))
        return 0;
    if (n >= 8) { /* two overlapping words cover the text */
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        return !ms_has_exponent8(a) && !ms_has_exponent8(b);
    }
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) == 'e')
            return 0;
    return 1;
}

/* The float32 number case inline (the CSV hot path), the rest out of line. */
static inline const char *ms_batch_put_text(ms_batch *b, size_t c, size_t row, const char *s,
                                            size_t n)
{
    const ms_colspec *sp = &b->spec[c];
    float *cell = (float *)b->col[c] + row;
    if (sp->kind == MS_COL_NUM && sp->prec == MS_PREC_F32 && ms_parse_plain_f64_to_f32(s, n, cell))
        return NULL;
    return ms_batch_put_text_slow(b, c, row, s, n);
}

/* Set the id of the last added row. */
ms_status ms_batch_set_last_id(ms_batch *b, const char *s, size_t n, ms_error *err);

/* Carry n_keep kept columns (after ms_batch_init, before the first row). */
ms_status ms_batch_set_keep(ms_batch *b, size_t n_keep, ms_error *err);
/* Set kept column k of the last added row (rows start empty, not null);
 * s == NULL marks it null. */
ms_status ms_batch_set_last_keep(ms_batch *b, size_t k, const char *s, size_t n, ms_error *err);

/* Mark the last added row bad: its cells become missing, one CSV record
 * `file,line,column,reason,record` is appended to errors (column is the
 * column name, or empty when the whole record is at fault) and, for the
 * batch's first bad row, first_error becomes "file:line:col: reason"
 * (":col" left out when col == 0). `record` is the raw record text. */
ms_status ms_batch_mark_bad(ms_batch *b, const char *file, uint64_t line, size_t col,
                            const char *col_name, const char *reason, const char *record,
                            size_t record_len, ms_error *err);

/* Refuse row r after it was parsed (the scorer, when the preprocessing
 * program yields a missing value the estimator cannot take): as
 * ms_batch_mark_bad, at b->file and b->row_line[r], with an empty record;
 * the errors record follows those of the readers. */
ms_status ms_batch_mark_bad_row(ms_batch *b, size_t r, const char *col_name, const char *reason,
                                ms_error *err);

/* Append s[0..n) to buf as one RFC 4180 CSV field (quoted when it contains
 * a delimiter, quote, CR or LF). Shared by the errors file and CSV output. */
ms_status ms_csv_append_field(char **buf, size_t *len, size_t *cap, const char *s, size_t n,
                              ms_error *err);

/* Grow a byte buffer to hold at least `need` bytes (doubling). */
ms_status ms_buf_reserve(char **buf, size_t *cap, size_t need, ms_error *err);

#endif
