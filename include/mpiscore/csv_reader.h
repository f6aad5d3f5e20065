/*
 * csv_reader.h — CSV input: header, record-boundary scanning, chunk parsing.
 *
 * Three steps, each usable on its own so the coordinator and workers can
 * split them across ranks:
 *  1. ms_csv_read_header: column names and the byte offset where data starts.
 *  2. ms_csv_scanner: walks the data region and cuts it into chunks of whole
 *     records (quote-aware: a newline inside a quoted field is not a record
 *     end). Each chunk knows its byte range, its first physical line number
 *     and its record count. Chunks tile the data region with no gap.
 *  3. ms_csv_parse_chunk: tokenizes one chunk (libcsv is the reference
 *     tokenizer; chunks without a quote character take a fast path that
 *     must agree with it) and fills an ms_batch.
 *
 * Records end at LF; a CR before the LF is dropped (CRLF files), a lone CR
 * elsewhere is data (so a record holding one usually has a wrong field
 * count or a bad value: a row error, never a silent merge of two rows with
 * different values). A file whose only line holds CRs before more text is
 * refused ("line endings are CR only"). A final record without a trailing
 * newline is accepted. Blank lines (empty, or only spaces, tabs and CR) are
 * skipped and do not count as records. Fields follow RFC 4180: a field
 * whose first non-blank byte is '"' is quoted, "" inside it is a literal
 * quote, a '"' inside an unquoted field is literal. Spaces, tabs and CR
 * around an unquoted field, or after a closing quote, are dropped. Any
 * other byte after a closing quote (`"a"b`, `"6" ruler`, `"\"hi\""`) makes
 * the record bad; it ends at the next LF whatever quotes follow, so the
 * records after it are read as written (libcsv's lenient rule would re-open
 * the quote and swallow them).
 */
#ifndef MPISCORE_CSV_READER_H
#define MPISCORE_CSV_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mpiscore/batch.h"
#include "mpiscore/status.h"

typedef struct ms_csv_header {
    size_t n_cols;
    char **names;       /* n_cols NUL-terminated names (unquoted, CR stripped) */
    off_t data_offset;  /* first byte after the header record */
    uint64_t data_line; /* physical line number (1-based) of data_offset */
} ms_csv_header;

/* Read the header record of `path`. Errors (MS_EINPUT / MS_EIO), each naming
 * the file: cannot open (MS_EIO), empty file ("data.csv: empty file (no
 * header row)"), UTF-16 ("data.csv: file is UTF-16 (little-endian byte order
 * mark); convert it to UTF-8"), CR-only line endings, unterminated quote or
 * a stray byte after a closing quote in the header, a header longer than
 * 16 MiB, duplicate column name ("data.csv:1:4: duplicate column name \"x\"
 * (also column 2)"); the number after the line is the 1-based column
 * (field). Empty names are kept, any number of them (pandas' index column,
 * a trailing delimiter). A UTF-8 BOM and blank lines before the header are
 * skipped. An invalid delimiter ('"', CR, LF, NUL) is MS_EUSAGE. */
ms_status ms_csv_read_header(const char *path, char delim, ms_csv_header *hdr, ms_error *err);
void ms_csv_header_free(ms_csv_header *hdr);

typedef struct ms_csv_chunk {
    off_t offset;        /* first byte of the chunk */
    size_t length;       /* bytes, ends just after a record's LF (or at EOF) */
    uint64_t first_line; /* physical line number of the chunk's first byte */
    size_t n_records;    /* non-blank records in the chunk (may be 0 only at EOF) */
} ms_csv_chunk;

typedef struct ms_csv_scanner ms_csv_scanner;

/* Scan `path` from byte `data_offset` (physical line `data_line`). Reads the
 * file sequentially in large blocks with memchr; blocks without '"' take a
 * fast path. */
ms_status ms_csv_scanner_open(const char *path, char delim, off_t data_offset, uint64_t data_line,
                              ms_csv_scanner **out, ms_error *err);
/* Next chunk of at most max_records records (and at most max_bytes bytes,
 * unless a single record, with any blank lines before it, is larger; 0 means
 * no limit). A chunk ends right after a record, so blank lines after the last
 * record of the data form a final chunk with n_records == 0. Returns MS_OK
 * with a chunk, MS_EOF when the data is exhausted, MS_EINPUT for a quoted
 * field still open at end of file ("data.csv:41:2: unterminated quoted field
 * (opened at character 5)": line and field of the opening quote, then its
 * character column) or MS_EIO on a
 * read error. An error found after complete records is returned on the call
 * after the chunk holding them, and on every call after that. */
ms_status ms_csv_scanner_next(ms_csv_scanner *sc, size_t max_records, size_t max_bytes,
                              ms_csv_chunk *chunk, ms_error *err);
/* Where the next chunk will start: byte offset and physical line. A scanner
 * opened there later (ms_csv_scanner_open) continues exactly as this one
 * would, which is what --resume relies on. */
void ms_csv_scanner_tell(const ms_csv_scanner *sc, off_t *offset, uint64_t *line);
void ms_csv_scanner_close(ms_csv_scanner *sc);

/* How the columns of one file map onto a model's features. */
typedef struct ms_csv_layout {
    char delim;
    size_t n_cols;          /* fields every record must have */
    const int *col_feature; /* n_cols entries: input column (batch column), or -1 = ignored */
    int id_col;             /* column copied to the output as id, or -1 */
    size_t n_features;      /* the batch's columns (the model's inputs) */
    int allow_missing;      /* 0: an empty/NA value in a feature column is a row error */
    const char *file;       /* for messages */
    char *const *col_names; /* n_cols names, for messages */
} ms_csv_layout;

/* Parse chunk bytes buf[0..len) whose first byte is on physical line
 * `first_line` and append its records to `b` (which must have been
 * initialised with layout->n_features columns and has_ids = layout->id_col
 * >= 0). Each field goes to its column through ms_batch_put_text, so it is
 * parsed straight into the column's type (float32, float64, category code).
 * Row-level problems (wrong field count, not a number, out of range,
 * infinite, missing where not allowed, id field missing, a byte after a
 * closing quote: "data.csv:7:2: column \"x\": unexpected character 'b'
 * after a closing quote (character 6)") mark the row bad
 * via ms_batch_mark_bad and do not fail the call; only a row's first problem
 * is reported, a wrong field count before any value, and the id is kept
 * whenever its field exists. The raw record in the errors file is capped
 * at 1024 bytes ("..." appended). Returns MS_EINPUT only
 * for malformed quoting that makes records unrecoverable, MS_EIO/NOMEM-like
 * failures as MS_EINTERNAL. */
ms_status ms_csv_parse_chunk(const char *buf, size_t len, uint64_t first_line,
                             const ms_csv_layout *layout, ms_batch *b, ms_error *err);

/* Same, also filling b's kept columns (--keep-columns): kept column k of
 * b (b->n_keep of them) copies column keep_col[k], its field's text as
 * written, like the id (an unquoted field with its blanks, a quoted one's
 * value; a row too short for it keeps the empty text). ms_csv_parse_chunk
 * is this with b->n_keep == 0. */
ms_status ms_csv_parse_chunk_keep(const char *buf, size_t len, uint64_t first_line,
                                  const ms_csv_layout *layout, const int *keep_col, ms_batch *b,
                                  ms_error *err);

/* Same, forcing the libcsv path even for chunks without quotes (used by the
 * tests that prove the fast path agrees with libcsv). */
ms_status ms_csv_parse_chunk_libcsv(const char *buf, size_t len, uint64_t first_line,
                                    const ms_csv_layout *layout, ms_batch *b, ms_error *err);

#endif
