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
#include "mpiscore/input.h"
#include "mpiscore/model.h"
#include "mpiscore/status.h"

/* MS_FMT_VALUES is for scorers only (the endpoint, which encodes its own
 * answers from ms_scored.out): no output bytes are formatted. No writer or
 * --format takes it. */
typedef enum { MS_FMT_CSV = 0, MS_FMT_HDF5, MS_FMT_VALUES, MS_FMT_PARQUET } ms_out_format;

/* Format from --format (may be NULL) or the output file's extension
 * (.csv/.txt -> CSV, .h5/.hdf5 -> HDF5, .parquet/.pq -> Parquet). */
ms_status ms_out_format_pick(const char *format_opt, const char *path, ms_out_format *fmt,
                             ms_error *err);

/* The columns an output holds beside the model's outputs, and how a
 * Parquet output is written. Everything is optional (all zero: no id, no
 * kept columns, Parquet defaults). */
typedef struct ms_out_spec {
    const char *id_name; /* the id column / dataset, or NULL */
    ms_val_type id_type; /* its input type (Parquet writes it) */
    size_t n_keep;       /* --keep-columns, in the order given */
    char *const *keep_names;
    const ms_val_type *keep_type; /* NULL: all text */
    int pq_codec;                 /* ms_pq_codec; 0 with pq_codec_set 0: snappy */
    int pq_codec_set;
    uint64_t pq_row_group_rows; /* 0: MS_PQ_ROW_GROUP_ROWS */
    size_t n_kv;                /* footer key_value_metadata pairs */
    const char *const *kv_keys, *const *kv_values;
} ms_out_spec;

/* Rows per Parquet row group by default: DuckDB's (122,880). A row group
 * is buffered whole on the coordinator and written when it fills, so
 * smaller ones overlap the scoring (1 Mi rows, pyarrow's, left a whole 1M-row
 * file to encode after the last batch: 13% slower end to end here). */
#define MS_PQ_ROW_GROUP_ROWS 122880u

/* CSV header line: [id_name,]output_names...[,label]\n */
ms_status ms_format_csv_header(const ms_model *m, const char *id_name, char **buf, size_t *len,
                               size_t *cap, ms_error *err);
/* The same with the kept columns after the id: [id,]keep...,outputs...[,label]\n */
ms_status ms_format_csv_header_spec(const ms_model *m, const ms_out_spec *spec, char **buf,
                                    size_t *len, size_t *cap, ms_error *err);
/* One CSV line per row of b: id (if any), kept columns (b->keep, as
 * written, quoted where RFC 4180 needs it), outputs (double, n_rows x
 * n_outputs) as the shortest text that reads back to the same value at
 * `prec` (ms_format_f32 of (float)v, or ms_format_f64), label (classifiers,
 * from the double outputs). Bad rows keep their id and get empty values. */
ms_status ms_format_csv_rows(const ms_model *m, const ms_batch *b, const double *out,
                             ms_precision prec, char **buf, size_t *len, size_t *cap,
                             ms_error *err);

/* Binary rows for HDF5 and Parquet output, packed as: n_rows x n_outputs
 * values (float32 or float64 per prec, the writer's precision)
 * (NaN for bad rows), then n_rows int32 labels (-1 for bad rows) when the
 * model is a classifier, then, when b->has_ids, n_rows + 1 uint64 offsets
 * and the id text, then per kept column n_rows + 1 uint64 offsets, n_rows
 * null flags and the text, then n_rows bad-row flags. */
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
/* ms_writer_open with the kept columns (CSV header, HDF5 datasets /NAME of
 * strings, Parquet columns in their input types) and Parquet's options.
 * A kept column named like an HDF5 output dataset (predictions, labels,
 * ids) or holding '/' is refused (MS_EUSAGE). */
ms_status ms_writer_open_spec(const char *path, ms_out_format fmt, const ms_model *m,
                              ms_precision prec, const ms_out_spec *spec, int overwrite,
                              ms_writer **out, ms_error *err);
/* Reopen OUTPUT.partial of an interrupted Parquet run for --resume: keep
 * the first ceil(rows / row_group_rows) row groups, which end at byte
 * `offset` (a journal record from ms_writer_pq_point), and drop the rows
 * appended next until the file's row count is reached, so appending from
 * input row `rows` on continues the file exactly. */
ms_status ms_writer_resume_pq(const char *path, const ms_model *m, ms_precision prec,
                              const ms_out_spec *spec, uint64_t offset, uint64_t rows,
                              ms_writer **out, ms_error *err);
/* Parquet: whether the row groups written so far hold the first `rows`
 * rows; if so *offset gets the end of the row group holding row `rows`
 * (the first ceil(rows / row_group_rows) of them), a resume point for a
 * journal record of the batch boundary at `rows`. */
int ms_writer_pq_point(const ms_writer *w, uint64_t rows, uint64_t *offset);
/* Parquet: rows in written row groups (rows still buffered excluded). */
uint64_t ms_writer_pq_rows(const ms_writer *w);
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
