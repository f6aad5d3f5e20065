/*
 * parquet_input.h — Parquet files as an input of `mpiscore run`: how a
 * schema column feeds a model input, an id or a kept column (the plan asks
 * at start-up, the reader again per batch, so both agree), and a rank's
 * reader of row ranges into the column batch.
 *
 * Invariants:
 *  - a batch reads only the column chunks the plan maps (model inputs, the
 *    id, kept columns): a file's other columns are never read (projection);
 *  - a row range lies within one row group (the source cuts at row group
 *    boundaries);
 *  - a null is a missing value exactly as an empty CSV cell is; a row the
 *    model cannot take is marked bad at its row number within the file
 *    (1-based) and its column, with the CSV reader's reasons;
 *  - hive columns (a `key=value` folder between the --input folder and the
 *    file) are the texts of the path, the same for every row of the file.
 */
#ifndef MPISCORE_PARQUET_INPUT_H
#define MPISCORE_PARQUET_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "mpiscore/batch.h"
#include "mpiscore/input.h"
#include "mpiscore/parquet.h"
#include "mpiscore/status.h"

/* How schema column c feeds the model input sp: *as is what ms_pq_read
 * produces for it. Refused (MS_EINPUT naming file and column): a string
 * dictionary fed by a number column (categories are compared as texts). */
ms_status ms_pqin_input_as(const char *path, const ms_pq_column *c, const ms_colspec *sp,
                           ms_pq_as *as, ms_error *err);
/* How column c is read for its text (an id, a kept column), and the type a
 * typed writer gives it: strings as they are, integers in decimal, floats
 * in their shortest round-trip text, booleans "true"/"false", dates
 * "YYYY-MM-DD" and timestamps "YYYY-MM-DD HH:MM:SS[.fraction]" (UTC) as
 * text. */
ms_pq_as ms_pqin_text_as(const ms_pq_column *c);
ms_val_type ms_pqin_text_type(const ms_pq_column *c);

/* The value of hive key `key` in path (its last "/key=value/" folder), or
 * NULL. *n is the value's length. */
const char *ms_pqin_hive_value(const char *path, const char *key, size_t *n);

typedef struct ms_pq_input ms_pq_input;

/* Open file `file` of the plan (footer only). Refused when it no longer
 * holds the planned rows or bytes (the file changed since planning). */
ms_status ms_pq_input_open(const ms_inputs *in, size_t file, ms_pq_input **out, ms_error *err);
/* Append rows [first, first + count) of the file (0-based, one row group)
 * to b: the model's inputs, the id (when b->has_ids), kept columns. */
ms_status ms_pq_input_read(ms_pq_input *r, uint64_t first, size_t count, ms_batch *b,
                           ms_error *err);
/* Bytes preads of column chunks made so far (projection tests, metrics). */
uint64_t ms_pq_input_bytes_read(const ms_pq_input *r);
void ms_pq_input_close(ms_pq_input *r);

#endif
