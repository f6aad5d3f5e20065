/*
 * parquet.h — our own Parquet reader and writer (no Parquet library is
 * packaged for Debian 12). Small and strict: flat schemas only.
 *
 * Reader. ms_pq_open() preads and validates the footer (magic, length,
 * Thrift compact FileMetaData with every size checked against the file) and
 * refuses, by column name, what it cannot read faithfully (nested or
 * repeated columns, encryption, unknown codecs, INT96). The caller then
 * plans by row group (row counts and each column chunk's byte range) and
 * reads one column chunk, or a row range of it, at a time with
 * ms_pq_read(): only that chunk's bytes are read from the file.
 *
 * Invariants the reader keeps:
 *  - every bad input is MS_EINPUT with one line naming the file, the row
 *    group, the column and, where known, the row (1-based within the file);
 *    never a crash;
 *  - no allocation is sized by a number the file states without that number
 *    being bounded first (by the file's size, the page's bytes, or the rows
 *    the caller asked for);
 *  - a handle is used by one thread at a time (it owns reusable scratch
 *    buffers); open one handle per worker.
 *
 * Writer. Flat columns (FLOAT, DOUBLE, INT64, INT32, BOOLEAN, dictionary-
 * encoded UTF-8 strings), optionally nullable; one row group per call, one
 * data page per column chunk (v1, with statistics and a CRC), a footer with
 * min/max/null-count statistics and key_value_metadata at close. After each
 * row group ms_pq_writer_state() gives the committed byte offset;
 * ms_pq_writer_resume() reopens a file cut (or left longer) after such a
 * point, rebuilds the metadata from the page headers (CRCs verified),
 * truncates back and continues: the finished file is byte-identical to an
 * uninterrupted write.
 */
#ifndef MPISCORE_PARQUET_H
#define MPISCORE_PARQUET_H

#include <stddef.h>
#include <stdint.h>

#include "mpiscore/status.h"

/* Parquet's physical types (the values are the format's). */
typedef enum {
    MS_PQ_BOOLEAN = 0,
    MS_PQ_INT32 = 1,
    MS_PQ_INT64 = 2,
    MS_PQ_INT96 = 3,
    MS_PQ_FLOAT = 4,
    MS_PQ_DOUBLE = 5,
    MS_PQ_BYTE_ARRAY = 6,
    MS_PQ_FIXED_LEN_BYTE_ARRAY = 7
} ms_pq_physical;

/* What a column means, from its logical (or legacy converted) type. */
typedef enum {
    MS_PQ_LOG_NONE = 0,  /* plain number, or bytes without a declared meaning */
    MS_PQ_LOG_INT,       /* INT(bit_width, is_signed) */
    MS_PQ_LOG_STRING,    /* UTF-8 (also ENUM, JSON, UUID: read as bytes) */
    MS_PQ_LOG_DATE,      /* days since 1970-01-01 */
    MS_PQ_LOG_TIMESTAMP, /* time_unit since the epoch */
    MS_PQ_LOG_TIME,      /* time_unit since midnight */
    MS_PQ_LOG_DECIMAL    /* unscaled integer, value = unscaled / 10^scale */
} ms_pq_logical;

typedef enum { MS_PQ_MILLIS = 0, MS_PQ_MICROS, MS_PQ_NANOS } ms_pq_unit;

typedef struct ms_pq_column {
    const char *name;
    ms_pq_physical physical;
    ms_pq_logical logical;
    int nullable;    /* OPTIONAL in the schema */
    int type_length; /* FIXED_LEN_BYTE_ARRAY */
    int bit_width;   /* MS_PQ_LOG_INT: 8, 16, 32, 64 */
    int is_signed;   /* MS_PQ_LOG_INT */
    int scale;       /* MS_PQ_LOG_DECIMAL */
    int precision;   /* MS_PQ_LOG_DECIMAL */
    ms_pq_unit unit; /* MS_PQ_LOG_TIMESTAMP, MS_PQ_LOG_TIME */
} ms_pq_column;

/* Compression codecs (the values are the format's). */
typedef enum {
    MS_PQ_UNCOMPRESSED = 0,
    MS_PQ_SNAPPY = 1,
    MS_PQ_GZIP = 2,
    MS_PQ_LZO = 3, /* refused */
    MS_PQ_BROTLI = 4,
    MS_PQ_LZ4 = 5, /* Hadoop-framed LZ4 (raw LZ4 blocks accepted too) */
    MS_PQ_ZSTD = 6,
    MS_PQ_LZ4_RAW = 7
} ms_pq_codec;

typedef struct ms_pq_file ms_pq_file;

/* Open and validate `path` (footer only: no page is read). */
ms_status ms_pq_open(const char *path, ms_pq_file **out, ms_error *err);
void ms_pq_close(ms_pq_file *f);

const char *ms_pq_path(const ms_pq_file *f);
int64_t ms_pq_num_rows(const ms_pq_file *f);
size_t ms_pq_num_columns(const ms_pq_file *f);
const ms_pq_column *ms_pq_column_info(const ms_pq_file *f, size_t col);
/* Index of the column named `name`, or -1. */
long ms_pq_find_column(const ms_pq_file *f, const char *name);
size_t ms_pq_num_row_groups(const ms_pq_file *f);
int64_t ms_pq_row_group_rows(const ms_pq_file *f, size_t rg);
/* First row of row group rg within the file (0-based). */
int64_t ms_pq_row_group_first_row(const ms_pq_file *f, size_t rg);
/* The byte range [offset, offset + length) a column chunk occupies (its
 * dictionary page and data pages): what ms_pq_read() preads. */
void ms_pq_chunk_range(const ms_pq_file *f, size_t rg, size_t col, uint64_t *offset,
                       uint64_t *length);
ms_pq_codec ms_pq_chunk_codec(const ms_pq_file *f, size_t rg, size_t col);
/* The footer's key_value_metadata: count, and entry i (value may be NULL). */
size_t ms_pq_num_kv(const ms_pq_file *f);
void ms_pq_kv(const ms_pq_file *f, size_t i, const char **key, const char **value);
const char *ms_pq_created_by(const ms_pq_file *f); /* may be NULL */

/* What ms_pq_read() produces. */
typedef enum {
    MS_PQ_AS_F32 = 0, /* float, NaN for nulls (numbers, booleans, dates, decimals) */
    MS_PQ_AS_F64,     /* double, NaN for nulls */
    MS_PQ_AS_I64,     /* int64, exact: integer types, booleans, dates, timestamps,
                         decimals of scale 0; a UINT64 past INT64_MAX is an error */
    MS_PQ_AS_STR,     /* strings: offsets + bytes (BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY) */
    MS_PQ_AS_DICT     /* strings as codes into a dictionary of distinct-by-page
                         entries: map each dictionary entry once, then codes per row */
} ms_pq_as;

/* Values of `n` rows. Buffers belong to the struct and are reused (grown,
 * never shrunk) by the next ms_pq_read() into it; start from all-zero and
 * release with ms_pq_values_free(). */
typedef struct ms_pq_values {
    ms_pq_as as;
    size_t n;
    size_t n_null;
    uint8_t *valid; /* n: 1 = a value, 0 = null (every kind) */
    float *f32;     /* MS_PQ_AS_F32 */
    double *f64;    /* MS_PQ_AS_F64 */
    int64_t *i64;   /* MS_PQ_AS_I64 (0 where null) */
    /* MS_PQ_AS_STR: row i is bytes[offsets[i], offsets[i+1]); a null is empty */
    uint64_t *offsets;
    char *bytes;
    /* MS_PQ_AS_DICT: codes[i] indexes the dictionary (-1 = null, as
     * MS_CODE_MISSING); entry k is dict_bytes[dict_offsets[k], dict_offsets[k+1]).
     * Entries come from the chunk's dictionary page in its order; values of
     * pages written without the dictionary (a writer's fallback) are appended
     * as further entries, so entries need not be distinct. */
    int32_t *codes;
    size_t dict_n;
    uint64_t *dict_offsets;
    char *dict_bytes;
    /* capacities (private) */
    size_t cap_rows, cap_bytes, cap_dict, cap_dict_bytes;
} ms_pq_values;

void ms_pq_values_free(ms_pq_values *v);

/* Read rows [row_begin, row_begin + row_count) of row group rg (0-based,
 * within the row group) of column col into out, as `as`. row_count < 0 means
 * to the end of the row group. Pages before the range are skipped by their
 * headers without being decompressed. Memory is proportional to the rows
 * asked for, and a row group's row count is only the file's claim: read
 * bounded ranges (mini-batches), not "-1" on a file you do not trust. */
ms_status ms_pq_read(ms_pq_file *f, size_t rg, size_t col, int64_t row_begin, int64_t row_count,
                     ms_pq_as as, ms_pq_values *out, ms_error *err);

/* Whether column col reads as `as` in every row group (codec, type), so a
 * planner refuses a file at start-up, by column name, rather than a worker
 * mid-run. ms_pq_read() checks the same. */
ms_status ms_pq_check_column(const ms_pq_file *f, size_t col, ms_pq_as as, ms_error *err);

/* ---- writer ---- */

typedef enum {
    MS_PQW_FLOAT = 0,
    MS_PQW_DOUBLE,
    MS_PQW_INT64,
    MS_PQW_INT32,
    MS_PQW_BOOLEAN,
    MS_PQW_STRING /* BYTE_ARRAY, logical STRING, dictionary-encoded */
} ms_pqw_type;

typedef struct ms_pqw_column {
    const char *name;
    ms_pqw_type type;
    int nullable;
} ms_pqw_column;

/* One column's data for a row group of n rows. */
typedef struct ms_pqw_data {
    const void *values;      /* float, double, int64_t, int32_t, or uint8_t (0/1) per row */
    const uint8_t *valid;    /* NULL: every row has a value; else 0 = null (nullable only) */
    const uint64_t *offsets; /* MS_PQW_STRING: n + 1 offsets into bytes */
    const char *bytes;
} ms_pqw_data;

typedef struct ms_pq_writer ms_pq_writer;

/* What a caller journals after each row group to resume later. */
typedef struct ms_pq_wstate {
    uint64_t offset;     /* bytes committed: the file's length after the row group */
    uint64_t row_groups; /* row groups committed */
    uint64_t rows;       /* rows committed */
} ms_pq_wstate;

/* Create (truncate) `path`. codec: UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW. */
ms_status ms_pq_writer_create(const char *path, const ms_pqw_column *cols, size_t ncols,
                              ms_pq_codec codec, ms_pq_writer **out, ms_error *err);
/* Reopen `path` written by ms_pq_writer_create() with the same columns and
 * codec, keep the row groups up to state->offset (verified: page headers,
 * CRCs, row group count), cut what follows, and continue appending. */
ms_status ms_pq_writer_resume(const char *path, const ms_pqw_column *cols, size_t ncols,
                              ms_pq_codec codec, const ms_pq_wstate *state, ms_pq_writer **out,
                              ms_error *err);
/* Append a row group of n rows (n > 0); data[c] for each column. */
ms_status ms_pq_writer_write(ms_pq_writer *w, size_t n, const ms_pqw_data *data, ms_error *err);
ms_pq_wstate ms_pq_writer_state(const ms_pq_writer *w);
/* A key_value_metadata entry for the footer (copied; set again after a resume). */
ms_status ms_pq_writer_set_kv(ms_pq_writer *w, const char *key, const char *value, ms_error *err);
/* Write the footer, fsync and close; frees w whatever happens. */
ms_status ms_pq_writer_close(ms_pq_writer *w, ms_error *err);
/* Close without a footer (the file stays resumable); frees w. */
void ms_pq_writer_abort(ms_pq_writer *w);

/* Codec by name: "snappy", "zstd", "gzip", "lz4" (LZ4_RAW), "none"; -1 if unknown. */
int ms_pq_codec_from_name(const char *name);
const char *ms_pq_codec_name(ms_pq_codec c);

#endif
