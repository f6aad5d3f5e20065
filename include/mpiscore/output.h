/*
 * output.h — turning scored batches into output bytes, and the writers.
 *
 * Workers format their own rows (ms_format_csv_rows / ms_pack_rows) and the
 * coordinator only appends what it receives, in input order, through an
 * ms_writer. The writer writes to OUTPUT.partial and renames it onto OUTPUT
 * in ms_writer_commit; ms_writer_abort removes the partial file, so a
 * failed run never leaves a file under the final name.
 */
#ifndef MPISCORE_OUTPUT_H
#define MPISCORE_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "mpiscore/batch.h"
#include "mpiscore/model.h"
#include "mpiscore/status.h"

/* MS_FMT_VALUES is for scorers only (the endpoint, which encodes its own
 * answers from ms_scored.out): no output bytes are formatted. No writer or
 * --format takes it. */
typedef enum { MS_FMT_CSV = 0, MS_FMT_HDF5, MS_FMT_VALUES } ms_out_format;

/* Format from --format (may be NULL) or the output file's extension
 * (.csv/.txt -> CSV, .h5/.hdf5 -> HDF5). */
ms_status ms_out_format_pick(const char *format_opt, const char *path, ms_out_format *fmt,
                             ms_error *err);

/* CSV header line: [id_name,]output_names...[,label]\n */
ms_status ms_format_csv_header(const ms_model *m, const char *id_name, char **buf, size_t *len,
                               size_t *cap, ms_error *err);
/* One CSV line per row of b: id (if any), outputs (double, n_rows x
 * n_outputs) as the shortest text that reads back to the same value at
 * `prec` (ms_format_f32 of (float)v, or ms_format_f64), label (classifiers,
 * from the double outputs). Bad rows keep their id and get empty values. */
ms_status ms_format_csv_rows(const ms_model *m, const ms_batch *b, const double *out,
                             ms_precision prec, char **buf, size_t *len, size_t *cap,
                             ms_error *err);

/* Binary rows for HDF5 output, packed as: n_rows x n_outputs values (float32
 * or float64 per prec, the writer's precision)
 * (NaN for bad rows), then n_rows int32 labels (-1 for bad rows) when the
 * model is a classifier, then, when b->has_ids, n_rows + 1 uint64 offsets
 * and the id text. */
ms_status ms_pack_rows(const ms_model *m, const ms_batch *b, const double *out, ms_precision prec,
                       char **buf, size_t *len, size_t *cap, ms_error *err);

typedef struct ms_writer ms_writer;

/* A file the run is about to write under `path`: its folder must exist, and
 * an existing file is refused unless overwrite (MS_EIO naming the path). The
 * output and every side file that is renamed into place use it. */
ms_status ms_output_check_target(const char *path, int overwrite, ms_error *err);

/* Open OUTPUT.partial (refusing an existing OUTPUT unless overwrite).
 * id_name is the id column/dataset name or NULL. Errors name the path:
 * folder does not exist, exists (use --overwrite), permission denied. */
/* prec: the values' precision (HDF5: /predictions is float32 or float64). */
ms_status ms_writer_open(const char *path, ms_out_format fmt, const ms_model *m, ms_precision prec,
                         const char *id_name, int overwrite, ms_writer **out, ms_error *err);
/* Reopen OUTPUT.partial of an interrupted CSV run for --resume: cut it back
 * to `offset` bytes (a commit point from the journal) holding `rows` rows,
 * and append from there. */
ms_status ms_writer_resume(const char *path, const ms_model *m, uint64_t offset, uint64_t rows,
                           ms_writer **out, ms_error *err);
/* Make everything appended so far durable (fdatasync), before a journal
 * record may point at it. */
ms_status ms_writer_sync(ms_writer *w, ms_error *err);
/* Append one batch as produced by ms_format_csv_rows (CSV) or ms_pack_rows
 * (HDF5), n_rows rows. */
ms_status ms_writer_append(ms_writer *w, const char *data, size_t len, size_t n_rows,
                           ms_error *err);
/* Flush, fsync, rename OUTPUT.partial -> OUTPUT and free. */
ms_status ms_writer_commit(ms_writer *w, ms_error *err);
/* Close and free, leaving OUTPUT.partial for --resume (safe on NULL). */
void ms_writer_close_partial(ms_writer *w);
/* Remove OUTPUT.partial and free (safe on NULL). */
void ms_writer_abort(ms_writer *w);
uint64_t ms_writer_rows(const ms_writer *w);
/* CSV bytes written so far, header included (0 for HDF5): a resume point. */
uint64_t ms_writer_offset(const ms_writer *w);

#endif
