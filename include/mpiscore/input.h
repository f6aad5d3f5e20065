/*
 * input.h — the set of input files of a run and how batches are cut from
 * and read back out of them.
 *
 *  - ms_inputs: the plan. Every file (a folder expands to its regular
 *    data files sorted by name, leaving out hidden files, tool markers such
 *    as _SUCCESS, .crc files and other formats' extensions) with its format and the mapping of
 *    its columns onto the model's features, by header name. Built once on
 *    the coordinator, packed into bytes and sent to every rank.
 *  - ms_source: the coordinator's cursor over the plan; hands out batch
 *    descriptors (file, byte range or row range, first line, row count) in
 *    input order. Sequence numbers are dense from 0.
 *  - ms_loader: a rank's reader; turns a descriptor (and, with the bytes
 *    transport, the bytes the coordinator sent) into a parsed ms_batch.
 */
#ifndef MPISCORE_INPUT_H
#define MPISCORE_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mpiscore/batch.h"
#include "mpiscore/model.h"
#include "mpiscore/status.h"

typedef enum { MS_IN_CSV = 0, MS_IN_HDF5 = 1, MS_IN_PARQUET = 2 } ms_in_kind;

/* The type of a column carried to the output (--id-column, --keep-columns)
 * as the input stores it: CSV columns are text; HDF5 and Parquet columns
 * have their dataset's / schema's type. A typed writer (Parquet) writes
 * this type; CSV writes the text. Files of one run must agree on each kept
 * column's type (the plan refuses a folder whose files disagree). */
typedef enum {
    MS_VAL_TEXT = 0,
    MS_VAL_INT64,  /* integers of any width and sign that fit int64 */
    MS_VAL_DOUBLE, /* float64 (and DECIMAL, as double) */
    MS_VAL_FLOAT,  /* float32 */
    MS_VAL_BOOL    /* text "true"/"false" */
} ms_val_type;

typedef struct ms_input_file {
    char *path;
    ms_in_kind kind;
    size_t n_cols;
    char **col_names;
    int *col_feature; /* n_cols: model feature index or -1 */
    int id_col;       /* CSV: id column index or -1 */
    /* --keep-columns: for each kept column k (ms_inputs.keep_names), the
     * index in this file's columns (CSV: header column; Parquet: schema
     * column; HDF5: the reader's own numbering), or -1 where the reader
     * finds it by name (an HDF5 dataset, a hive key=value folder). */
    int *keep_col; /* n_keep entries, or NULL when n_keep is 0 */
    int64_t data_offset;
    uint64_t data_line;
    uint64_t n_rows; /* HDF5: rows in the dataset */
    int64_t size;    /* bytes, at planning time */
    int64_t mtime_ns;
} ms_input_file;

typedef struct ms_input_opts {
    char delim;          /* CSV delimiter */
    const char *dataset; /* HDF5 features dataset ("/features") */
    char **features;     /* HDF5 column names overriding the attribute */
    size_t n_features;
    const char *id_column; /* CSV column / HDF5 dataset copied to the output, or NULL */
    char **keep_columns;   /* --keep-columns: input columns copied to the output as written */
    size_t n_keep;
    const char *output; /* refused as an input (a folder holding last run's output) */
} ms_input_opts;

typedef struct ms_inputs {
    size_t n_files;
    ms_input_file *files;
    char delim;
    char *dataset;
    char *id_dataset; /* HDF5 id dataset or NULL */
    int allow_missing;
    size_t n_features;    /* the model's input columns (m->n_inputs) */
    uint64_t total_units; /* bytes of CSV data + rows of HDF5, for progress */
    ms_val_type id_type;  /* the id column's type (MS_VAL_TEXT for CSV) */
    size_t n_keep;        /* --keep-columns, in the order given */
    char **keep_names;
    ms_val_type *keep_type;
    /* folder entries left out ("path: why"), for the info log; planning
     * only (not packed) */
    char **skipped;
    size_t n_skipped;
} ms_inputs;

/* Expand paths, read headers, map columns to m's features by name.
 * Errors: no such file or folder, folder without files, unknown extension,
 * model feature missing from a file's header ("data.csv: column \"age\"
 * required by the model is missing"), id column missing. */
ms_status ms_inputs_plan(char *const *paths, size_t n_paths, const ms_input_opts *opts,
                         const ms_model *m, ms_inputs **out, ms_error *err);
void ms_inputs_free(ms_inputs *in);

/* Serialise for broadcast and back. */
ms_status ms_inputs_pack(const ms_inputs *in, char **buf, size_t *len, ms_error *err);
ms_status ms_inputs_unpack(const char *buf, size_t len, ms_inputs **out, ms_error *err);

/* One mini-batch. For CSV: bytes [offset, offset+length) of file, first
 * record on physical line first_line. For HDF5: rows [offset, offset+n_rows),
 * first_line = offset + 1, length = 0. */
typedef struct ms_desc {
    uint64_t seq;
    uint32_t file;
    uint32_t reserved;
    int64_t offset;
    uint64_t length;
    uint64_t first_line;
    uint64_t n_rows;
    uint64_t units; /* progress units covered (bytes or rows) */
    /* where the batch after this one starts in the same file (CSV: byte
     * offset and physical line; HDF5: row and row + 1): a resume point */
    int64_t next_offset;
    uint64_t next_line;
} ms_desc;

typedef struct ms_source ms_source;

ms_status ms_source_open(const ms_inputs *in, size_t batch_rows, size_t batch_bytes,
                         ms_source **out, ms_error *err);
/* Change the rows per batch from the next descriptor on. */
void ms_source_set_batch_rows(ms_source *src, size_t batch_rows);
/* Next descriptor in input order; MS_EOF when all files are exhausted. */
ms_status ms_source_next(ms_source *src, ms_desc *d, ms_error *err);
/* Continue as if every batch before `seq` had been handed out: the next one
 * starts in file `file` at (offset, line), as a descriptor's next_offset /
 * next_line said. */
ms_status ms_source_seek(ms_source *src, uint32_t file, int64_t offset, uint64_t line, uint64_t seq,
                         ms_error *err);
void ms_source_close(ms_source *src);

typedef struct ms_loader ms_loader;

ms_status ms_loader_create(const ms_inputs *in, ms_loader **out, ms_error *err);
/* Read and parse d into b (reset first). `bytes` is the batch's bytes when
 * the coordinator sent them (CSV only), or NULL to read the file here. */
ms_status ms_loader_load(ms_loader *ld, const ms_desc *d, const char *bytes, ms_batch *b,
                         ms_error *err);
/* Read the raw bytes of a CSV descriptor into *buf (for the bytes transport). */
ms_status ms_loader_read_bytes(ms_loader *ld, const ms_desc *d, char **buf, size_t *cap,
                               ms_error *err);
/* Transient read failures (EIO, ESTALE, EAGAIN, a short read) are retried
 * up to n times per batch with backoff (default 3); retries counts them. */
void ms_loader_set_max_retries(ms_loader *ld, int n);
uint64_t ms_loader_retries(const ms_loader *ld);
/* 1 if every file of the plan can be opened here with its planned size. */
int ms_loader_files_visible(const ms_inputs *in);
void ms_loader_destroy(ms_loader *ld);

#endif
