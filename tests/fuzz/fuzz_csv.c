/*
 * fuzz_csv.c — the CSV reader (csv_reader.h) and, through its fields, the
 * float parser (floatconv.h).
 *
 * Input: 4 configuration bytes, then the bytes of a CSV file.
 *   byte 0  bits 0-2 delimiter (DELIMS; '"' must be refused), bits 3-5
 *           scanner max_records - 1, bits 6-7 scanner max_bytes (MAX_BYTES)
 *   byte 1  bits 0-2 chunk layout columns - 1, bit 3 id column, bit 4
 *           missing values allowed, bits 5-7 where a second scanner resumes
 *   byte 2  bits 0-2 id column, bit 7 features in reverse column order
 *   byte 3  bit j set: column j is ignored (not a feature)
 * Properties, each a crash when it fails:
 *  1. The data as one chunk: ms_csv_parse_chunk (the fast splitter when
 *     there is no '"') and ms_csv_parse_chunk_libcsv (the reference) give
 *     the same status, message and batch, byte for byte; the batch keeps
 *     batch.h's invariants.
 *  2. Every field of up to 64 bytes: ms_parse_f32 = strtof (fuzz_float_ref.h).
 *  3. The data as a file: ms_csv_read_header, then the scanner with small
 *     limits. Chunks tile the data region, first lines count LFs, limits
 *     hold, only a last chunk may hold no record, each chunk parses to
 *     exactly its n_records rows; the chunks' rows together equal the whole
 *     region parsed in one piece (so chunking never changes a value, a line
 *     number or an error); a scanner reopened where ms_csv_scanner_tell
 *     points continues identically (what --resume relies on); an
 *     unterminated quote gives the same message from the scanner and from
 *     the parser, and the scanner repeats it. A byte after a closing quote
 *     makes a bad row in both parsers and one record for the scanner, ending
 *     at its LF (the stray-quote seed), so these properties cover it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_float_ref.h"
#include "fuzz_util.h"
#include "mpiscore/batch.h"
#include "mpiscore/csv_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef MS_FUZZ_WRAP_MALLOC
/* The scanner reads through a 4 MiB block (SCAN_BLOCK in csv_reader.c).
 * Under ASan each fresh block of that size costs milliseconds of shadow
 * poisoning and page faults, 30 times the rest of an input, so the
 * libFuzzer build links with -Wl,--wrap=malloc,--wrap=free and the scanner
 * gets one long-lived ASan allocation instead: its redzones still catch an
 * overrun; only a use after free of that one block would go unseen. */
#define SCAN_BLOCK_SIZE ((size_t)4 << 20)
void *__real_malloc(size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void __wrap_free(void *p);
static void *scan_block;
static int scan_block_busy;

void *__wrap_malloc(size_t n)
{
    if (n != SCAN_BLOCK_SIZE || scan_block_busy)
        return __real_malloc(n);
    if (!scan_block)
        scan_block = __real_malloc(n);
    scan_block_busy = scan_block != NULL;
    return scan_block;
}

void __wrap_free(void *p)
{
    if (p && p == scan_block)
        scan_block_busy = 0;
    else
        __real_free(p);
}
#endif

static const char DELIMS[8] = {',', ';', '\t', ' ', '|', ',', ',', '"'};
static const size_t MAX_BYTES[4] = {0, 1, 16, 200};
#define LAYOUT_COLS_MAX 8
#define HEADER_FEATURES_MAX 4

static int delim_ok(char d)
{
    return d != '"' && d != '\n' && d != '\r' && d != '\0';
}

/* Even columns float32, odd ones float64: both parses get fuzzed. */
#define FZ_SPECS 256
static ms_colspec fz_specs[FZ_SPECS];

static const ms_colspec *mixed_specs(void)
{
    for (size_t c = 0; c < FZ_SPECS; c++)
        fz_specs[c].prec = c & 1 ? MS_PREC_F64 : MS_PREC_F32;
    return fz_specs;
}

static double cell(const ms_batch *b, size_t r, size_t c)
{
    return b->spec[c].prec == MS_PREC_F64 ? ms_batch_f64(b, c)[r] : ms_batch_f32(b, c)[r];
}

static void batch_equal(const ms_batch *a, const ms_batch *b, const char *what)
{
    FUZZ_ASSERT(a->n_cols == b->n_cols && a->has_ids == b->has_ids, "%s: batch shapes", what);
    FUZZ_ASSERT(a->n_rows == b->n_rows, "%s: %zu rows vs %zu", what, a->n_rows, b->n_rows);
    FUZZ_ASSERT(a->n_bad == b->n_bad, "%s: %zu bad rows vs %zu", what, a->n_bad, b->n_bad);
    for (size_t c = 0; c < a->n_cols && a->n_rows; c++) {
        size_t es = a->spec[c].prec == MS_PREC_F64 ? sizeof(double) : sizeof(float);
        FUZZ_ASSERT(memcmp(a->col[c], b->col[c], a->n_rows * es) == 0, "%s: values differ", what);
    }
    FUZZ_ASSERT(a->n_rows == 0 || memcmp(a->bad, b->bad, a->n_rows) == 0, "%s: bad flags differ",
                what);
    if (a->has_ids && a->n_rows) {
        FUZZ_ASSERT(memcmp(a->id_off, b->id_off, (a->n_rows + 1) * sizeof *a->id_off) == 0,
                    "%s: id offsets differ", what);
        FUZZ_ASSERT(a->id_len == b->id_len &&
                        (a->id_len == 0 || memcmp(a->id_text, b->id_text, a->id_len) == 0),
                    "%s: ids differ", what);
    }
    FUZZ_ASSERT(a->errors_len == b->errors_len &&
                    (a->errors_len == 0 || memcmp(a->errors, b->errors, a->errors_len) == 0),
                "%s: errors-file text differs:\n%.*s\nvs\n%.*s", what, (int)a->errors_len,
                a->errors ? a->errors : "", (int)b->errors_len, b->errors ? b->errors : "");
    FUZZ_ASSERT(strcmp(a->first_error, b->first_error) == 0, "%s: first error \"%s\" vs \"%s\"",
                what, a->first_error, b->first_error);
}

/* batch.h's invariants for a batch a parser filled under `lay`. */
static void batch_sane(const ms_batch *b, const ms_csv_layout *lay, const void *in, size_t in_len)
{
    size_t bad = 0;
    for (size_t r = 0; r < b->n_rows; r++) {
        FUZZ_ASSERT(b->bad[r] <= 1, "bad flag %d", b->bad[r]);
        bad += b->bad[r];
        for (size_t j = 0; j < b->n_cols; j++) {
            double v = cell(b, r, j);
            if (b->bad[r])
                FUZZ_ASSERT(isnan(v), "bad row %zu keeps a value", r);
            else
                FUZZ_ASSERT(isfinite(v) || (isnan(v) && lay->allow_missing),
                            "good row %zu, feature %zu = %a", r, j, v);
        }
        if (b->has_ids)
            FUZZ_ASSERT(b->id_off[r] <= b->id_off[r + 1], "id offsets go backwards");
    }
    if (b->has_ids && b->n_rows)
        FUZZ_ASSERT(b->id_off[0] == 0 && b->id_off[b->n_rows] == b->id_len, "id offsets");
    FUZZ_ASSERT(bad == b->n_bad, "n_bad %zu, %zu rows flagged", b->n_bad, bad);
    if (bad) {
        fuzz_check_message(b->first_error, lay->file, in, in_len);
        FUZZ_ASSERT(b->errors_len > 0 && b->errors[b->errors_len - 1] == '\n', "errors text");
    } else {
        FUZZ_ASSERT(b->errors_len == 0 && b->first_error[0] == '\0', "errors without bad rows");
    }
}

/* ---- 1. one chunk, both tokenizers ------------------------------------------ */

static void check_chunk(const char *buf, size_t len, const uint8_t *cfg, const void *in,
                        size_t in_len)
{
    static char *names[LAYOUT_COLS_MAX] = {"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"};
    int colf[LAYOUT_COLS_MAX];
    size_t n_cols = 1 + (cfg[1] & 7), nf = 0;
    for (size_t j = 0; j < n_cols; j++)
        colf[j] = (cfg[3] >> j & 1) ? -1 : (int)nf++;
    if (nf == 0)
        colf[0] = 0, nf = 1;
    if (cfg[2] & 0x80)
        for (size_t j = 0; j < n_cols; j++)
            if (colf[j] >= 0)
                colf[j] = (int)nf - 1 - colf[j];
    ms_csv_layout lay = {
        .delim = DELIMS[cfg[0] & 7],
        .n_cols = n_cols,
        .col_feature = colf,
        .id_col = (cfg[1] & 8) ? (int)((cfg[2] & 7) % n_cols) : -1,
        .n_features = nf,
        .allow_missing = cfg[1] >> 4 & 1,
        .file = "chunk.csv",
        .col_names = names,
    };
    ms_batch a, b;
    ms_error ea, eb;
    ms_batch_init(&a, nf, mixed_specs(), lay.id_col >= 0);
    ms_batch_init(&b, nf, mixed_specs(), lay.id_col >= 0);
    ms_error_clear(&ea);
    ms_error_clear(&eb);
    ms_status sa = ms_csv_parse_chunk(buf, len, 2, &lay, &a, &ea);
    ms_status sb = ms_csv_parse_chunk_libcsv(buf, len, 2, &lay, &b, &eb);
    FUZZ_ASSERT(sa == sb, "parse_chunk %d (%s), libcsv %d (%s)", sa, ea.msg, sb, eb.msg);
    if (!delim_ok(lay.delim))
        FUZZ_ASSERT(sa == MS_EUSAGE, "invalid delimiter accepted (status %d)", sa);
    if (sa != MS_OK) {
        FUZZ_ASSERT(sa == MS_EINPUT || sa == MS_EUSAGE, "chunk: status %d: %s", sa, ea.msg);
        FUZZ_ASSERT(strcmp(ea.msg, eb.msg) == 0, "messages differ: \"%s\" vs \"%s\"", ea.msg,
                    eb.msg);
        fuzz_check_message(ea.msg, sa == MS_EUSAGE ? NULL : "chunk.csv:", in, in_len);
    } else {
        batch_equal(&a, &b, "fast vs libcsv");
        batch_sane(&a, &lay, in, in_len);
    }
    ms_batch_free(&a);
    ms_batch_free(&b);
}

/* ---- 2. fields through the float parser ------------------------------------- */

static void check_fields(const char *buf, size_t len, char delim)
{
    size_t s = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && buf[i] != delim && buf[i] != '\n')
            continue;
        if (i - s <= 64)
            ref_check_parse(buf + s, i - s);
        s = i + 1;
    }
}

/* ---- 3. the data as a file: header, scanner, chunking ----------------------- */

static int cmp_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static size_t count_lf(const char *p, size_t n)
{
    size_t k = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
        k++;
    return k;
}

static void check_header(const ms_csv_header *h, const char *buf, size_t len)
{
    FUZZ_ASSERT(h->n_cols >= 1, "header with no column");
    FUZZ_ASSERT(h->data_offset >= 0 && (size_t)h->data_offset <= len, "data offset %lld of %zu",
                (long long)h->data_offset, len);
    size_t off = (size_t)h->data_offset;
    FUZZ_ASSERT(off == len || (off > 0 && buf[off - 1] == '\n'), "data starts mid-line at %zu",
                off);
    FUZZ_ASSERT(h->data_line == 1 + count_lf(buf, off), "data_line %llu, %zu LFs before it",
                (unsigned long long)h->data_line, count_lf(buf, off));
    char **sorted = malloc(h->n_cols * sizeof *sorted);
    FUZZ_ASSERT(sorted != NULL, "out of memory");
    memcpy(sorted, h->names, h->n_cols * sizeof *sorted);
    qsort(sorted, h->n_cols, sizeof *sorted, cmp_name);
    for (size_t j = 0; j < h->n_cols; j++) {
        /* empty names may repeat (an unnamed index column, a trailing delimiter) */
        FUZZ_ASSERT(j == 0 || sorted[j][0] == '\0' || strcmp(sorted[j], sorted[j - 1]) != 0,
                    "duplicate column name \"%s\" accepted", sorted[j]);
    }
    free(sorted);
}

typedef struct scan_run {
    ms_csv_chunk *chunks;
    size_t n;
    ms_status end; /* MS_EOF, or the error that ended the scan */
    char end_msg[MS_ERROR_MSG_MAX];
} scan_run;

/* Scan from (offset, line) to the end; checks every chunk against the file
 * bytes and the limits, and parses it onto acc (when not NULL). */
static void scan(const char *path, const char *buf, size_t len, char delim, off_t offset,
                 uint64_t line, size_t max_records, size_t max_bytes, const ms_csv_layout *lay,
                 ms_batch *acc, scan_run *out, const void *in, size_t in_len)
{
    ms_csv_scanner *sc;
    ms_error e;
    ms_status st = ms_csv_scanner_open(path, delim, offset, line, &sc, &e);
    FUZZ_ASSERT(st == MS_OK, "scanner_open: %s", e.msg);
    memset(out, 0, sizeof *out);
    out->chunks = malloc((len + 2) * sizeof *out->chunks);
    FUZZ_ASSERT(out->chunks != NULL, "out of memory");
    off_t pos = offset;
    uint64_t pos_line = line;
    for (;;) {
        ms_csv_chunk c;
        st = ms_csv_scanner_next(sc, max_records, max_bytes, &c, &e);
        if (st == MS_EOF) {
            FUZZ_ASSERT((size_t)pos == len, "scan ended at %lld of %zu", (long long)pos, len);
            FUZZ_ASSERT(ms_csv_scanner_next(sc, max_records, max_bytes, &c, &e) == MS_EOF,
                        "EOF not repeated");
            out->end = MS_EOF;
            break;
        }
        if (st != MS_OK) {
            FUZZ_ASSERT(st == MS_EINPUT, "scanner status %d: %s", st, e.msg);
            fuzz_check_message(e.msg, path, in, in_len);
            ms_error e2;
            FUZZ_ASSERT(ms_csv_scanner_next(sc, max_records, max_bytes, &c, &e2) == st &&
                            strcmp(e.msg, e2.msg) == 0,
                        "scanner error not repeated: %s", e.msg);
            out->end = st;
            memcpy(out->end_msg, e.msg, sizeof e.msg);
            break;
        }
        FUZZ_ASSERT(out->n < len + 1, "more chunks than bytes");
        FUZZ_ASSERT(c.offset == pos && c.first_line == pos_line,
                    "chunk at %lld line %llu, expected %lld line %llu", (long long)c.offset,
                    (unsigned long long)c.first_line, (long long)pos, (unsigned long long)pos_line);
        FUZZ_ASSERT(c.length > 0 && c.length <= len - (size_t)c.offset, "chunk length %zu",
                    c.length);
        size_t end = (size_t)c.offset + c.length;
        FUZZ_ASSERT(end == len || buf[end - 1] == '\n', "chunk ends mid-line at %zu", end);
        FUZZ_ASSERT(c.n_records <= max_records, "%zu records, limit %zu", c.n_records, max_records);
        FUZZ_ASSERT(max_bytes == 0 || c.length <= max_bytes || c.n_records <= 1,
                    "%zu bytes with %zu records, limit %zu", c.length, c.n_records, max_bytes);
        /* blank lines after the last record: only the end (EOF, or an error
         * after them) may follow */
        FUZZ_ASSERT(out->n == 0 || out->chunks[out->n - 1].n_records > 0,
                    "a chunk follows one without records");
        if (acc) {
            size_t before = acc->n_rows;
            ms_error pe;
            st = ms_csv_parse_chunk(buf + c.offset, c.length, c.first_line, lay, acc, &pe);
            FUZZ_ASSERT(st == MS_OK, "a chunk the scanner cut does not parse: %s", pe.msg);
            FUZZ_ASSERT(acc->n_rows - before == c.n_records,
                        "chunk at %lld: scanner counts %zu records, parser %zu",
                        (long long)c.offset, c.n_records, acc->n_rows - before);
        }
        out->chunks[out->n++] = c;
        pos = (off_t)end;
        pos_line += count_lf(buf + c.offset, c.length);
        off_t t_off;
        uint64_t t_line;
        ms_csv_scanner_tell(sc, &t_off, &t_line);
        FUZZ_ASSERT(t_off == pos && t_line == pos_line, "tell says %lld line %llu",
                    (long long)t_off, (unsigned long long)t_line);
    }
    ms_csv_scanner_close(sc);
}

static void check_file(const char *buf, size_t len, const uint8_t *cfg, const void *in,
                       size_t in_len)
{
    char path[512];
    fuzz_tmp_path(path, sizeof path, "csv");
    fuzz_write_file(path, buf, len);
    char delim = DELIMS[cfg[0] & 7];
    ms_csv_header h;
    ms_error e;
    ms_status st = ms_csv_read_header(path, delim, &h, &e);
    if (!delim_ok(delim))
        FUZZ_ASSERT(st == MS_EUSAGE, "header: invalid delimiter accepted (status %d)", st);
    if (st != MS_OK) {
        FUZZ_ASSERT(st == MS_EINPUT || st == MS_EUSAGE, "header: status %d: %s", st, e.msg);
        fuzz_check_message(e.msg, st == MS_EUSAGE ? NULL : path, in, in_len);
        unlink(path);
        return;
    }
    check_header(&h, buf, len);

    int colf_small[HEADER_FEATURES_MAX];
    int *colf = h.n_cols <= HEADER_FEATURES_MAX ? colf_small : malloc(h.n_cols * sizeof *colf);
    FUZZ_ASSERT(colf != NULL, "out of memory");
    size_t nf = h.n_cols < HEADER_FEATURES_MAX ? h.n_cols : HEADER_FEATURES_MAX;
    for (size_t j = 0; j < h.n_cols; j++)
        colf[j] = j < nf ? (int)j : -1;
    ms_csv_layout lay = {
        .delim = delim,
        .n_cols = h.n_cols,
        .col_feature = colf,
        .id_col = (cfg[1] & 8) && h.n_cols > nf ? (int)nf : -1,
        .n_features = nf,
        .allow_missing = cfg[1] >> 4 & 1,
        .file = path,
        .col_names = h.names,
    };
    size_t off = (size_t)h.data_offset;
    ms_batch whole, acc;
    ms_batch_init(&whole, nf, mixed_specs(), lay.id_col >= 0);
    ms_batch_init(&acc, nf, mixed_specs(), lay.id_col >= 0);
    ms_error we;
    ms_status ws = ms_csv_parse_chunk(buf + off, len - off, h.data_line, &lay, &whole, &we);

    size_t max_records = 1 + (cfg[0] >> 3 & 7), max_bytes = MAX_BYTES[cfg[0] >> 6];
    scan_run run, again;
    scan(path, buf, len, delim, h.data_offset, h.data_line, max_records, max_bytes, &lay, &acc,
         &run, in, in_len);
    if (run.end == MS_EOF) {
        FUZZ_ASSERT(ws == MS_OK, "scanner found whole records, one-piece parse says %s", we.msg);
        batch_equal(&acc, &whole, "chunked vs one piece");
        batch_sane(&whole, &lay, in, in_len);
    } else {
        FUZZ_ASSERT(ws == run.end && strcmp(we.msg, run.end_msg) == 0,
                    "scanner: \"%s\", one-piece parse: \"%s\"", run.end_msg,
                    ws == MS_OK ? "ok" : we.msg);
    }

    /* a second scanner opened where the first said chunk k starts */
    size_t k = (size_t)(cfg[1] >> 5) % (run.n + 1);
    if (k < run.n) {
        scan(path, buf, len, delim, run.chunks[k].offset, run.chunks[k].first_line, max_records,
             max_bytes, NULL, NULL, &again, in, in_len);
        FUZZ_ASSERT(again.n == run.n - k, "resumed scan: %zu chunks, expected %zu", again.n,
                    run.n - k);
        FUZZ_ASSERT(memcmp(again.chunks, run.chunks + k, again.n * sizeof *again.chunks) == 0,
                    "resumed scan cuts different chunks");
        FUZZ_ASSERT(again.end == run.end && strcmp(again.end_msg, run.end_msg) == 0,
                    "resumed scan ends differently: \"%s\" vs \"%s\"", again.end_msg, run.end_msg);
        free(again.chunks);
    }
    free(run.chunks);
    ms_batch_free(&whole);
    ms_batch_free(&acc);
    if (colf != colf_small)
        free(colf);
    ms_csv_header_free(&h);
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    const uint8_t *cfg = data;
    const char *buf = (const char *)data + 4;
    size_t len = size - 4;
    check_chunk(buf, len, cfg, data, size);
    check_fields(buf, len, DELIMS[cfg[0] & 7]);
    check_file(buf, len, cfg, data, size);
    return 0;
}
