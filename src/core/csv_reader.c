/*
 * csv_reader.c — CSV input (csv_reader.h): header, record-boundary scanner,
 * chunk parser.
 *
 * The tokenizing rules are libcsv 3.0.3's with two hooks set (is_term = LF
 * and CR, is_space = SP, TAB) and CSV_STRICT's rule after a closing quote
 * (but a '"' inside an unquoted field stays literal), and they exist three
 * times here, which must stay in lockstep:
 *  - qscan: a quote-state machine that only finds where records end (the
 *    scanner, the header reader and error locations use it);
 *  - parse_fast: a splitter for chunks that contain no '"' at all, driven
 *    by a structural scan (csv_seps.h: delimiter/LF/CR bitmasks 64 bytes at
 *    a time, AVX2 or scalar as the kernels' ISA) and a per-chunk table of
 *    what each column's field does (col_action), writing numbers straight
 *    into the batch's columns;
 *  - parse_libcsv: libcsv itself, the reference, fed only records that qscan
 *    found well quoted (libcsv's lenient rule would merge the rest).
 * The rules that follow from those hooks:
 *  - a record ends at a line end outside quotes: LF, CRLF, or a lone CR
 *    (classic Mac files, as pandas and the csv module read them); the
 *    scanner never cuts between the CR and LF of a CRLF, so every chunk
 *    ends at a whole line end and a CR at a chunk's end is a lone one.
 *    Inside quotes CR and LF are data;
 *  - SP/TAB around an unquoted field and after a closing quote are dropped
 *    (never the delimiter itself), and so is the CR of a CRLF;
 *  - a line holding only such blanks is not a record;
 *  - '"' opens a quoted field only as the first non-blank byte of a field;
 *    inside, "" is a quote; after the closing quote anything but blanks, a
 *    delimiter or a line end makes the record bad (ST_BAD) up to its line
 *    end;
 *  - an id field keeps its text as written (RFC 4180: spaces are part of a
 *    field): an unquoted one is every byte between its delimiters, a quoted
 *    one its content between the quotes.
 * Invariants: a chunk boundary is always in state ST_ROW (data start, just
 * after a record's line end, or EOF); line numbers count every LF, quoted
 * or not, and every lone CR outside quotes.
 */
#include "mpiscore/csv_reader.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv_seps.h"
#include "mpiscore/floatconv.h"

#define SCAN_BLOCK ((size_t)4 << 20)
#define HEADER_BLOCK ((size_t)64 << 10)
#define HEADER_MAX ((size_t)16 << 20)
#define RECORD_EXCERPT_MAX 1024 /* raw record bytes kept in the errors file */
#define VALUE_EXCERPT_MAX 64    /* field bytes quoted in a reason */
#define NAME_EXCERPT_MAX 128

/* ---- quote-state machine --------------------------------------------------- */

/* libcsv's parser states, with FIELD_MIGHT_HAVE_ENDED split on whether blanks
 * followed the closing quote (a quote after blanks is literal, not "") */
enum { ST_ROW, ST_FIELD, ST_UNQ, ST_QUO, ST_QEND, ST_QEND_SP, ST_BAD };

static inline int is_blank(unsigned char c, unsigned char delim)
{
    return (c == ' ' || c == '\t' || c == '\r') && c != delim;
}

typedef struct qscan {
    unsigned char delim;
    int state;
    int rec;            /* the unit that just ended was a record, not a blank line */
    uint64_t line;      /* physical line of the next byte */
    int64_t line_start; /* absolute offset of that line's first byte, for columns */
    uint64_t q_line;    /* where the quote of the field being read in ST_QUO opened */
    size_t q_col;
    size_t fld;   /* 0-based field of the record being read */
    size_t q_fld; /* field of that quote */
    /* First byte other than a delimiter, blank, LF or doubled quote after a
     * closing quote (set until the caller clears it): the rest of its line
     * is skipped as one bad record (ST_BAD), so every reader resynchronises
     * at the same LF. */
    int bad;
    unsigned char bad_char;
    uint64_t bad_line;
    size_t bad_col, bad_fld;
    /* The last byte consumed was a CR outside quotes: the unit ended there
     * unless the next byte is the LF of a CRLF. */
    int cr_tail;
} qscan;

static void qscan_init(qscan *q, unsigned char delim, uint64_t line, int64_t line_start)
{
    memset(q, 0, sizeof *q);
    q->delim = delim;
    q->state = ST_ROW;
    q->line = line;
    q->line_start = line_start;
}

/* Consume p[0..n), which starts at absolute offset base. Returns 1 after an
 * LF that ends a unit (record or blank line), with *used counting that LF;
 * returns 0 when all n bytes were consumed without one. */
static int qscan_run(qscan *q, const char *p, size_t n, int64_t base, size_t *used)
{
    const unsigned char d = q->delim;
    int st = q->state;
    size_t i = 0;
    if (q->cr_tail && n > 0) {
        q->cr_tail = 0;
        if (p[0] != '\n') { /* a lone CR ended the unit with the last call's bytes */
            q->line++;
            q->line_start = base;
            q->rec = st != ST_ROW;
            q->state = ST_ROW;
            *used = 0;
            return 1;
        }
    }
    while (i < n) {
        if (st == ST_QUO) {
            /* only a quote can end this state; skip to it, counting lines */
            const char *e = memchr(p + i, '"', n - i);
            const char *stop = e ? e : p + n;
            for (const char *l = p + i; (l = memchr(l, '\n', (size_t)(stop - l))) != NULL; l++) {
                q->line++;
                q->line_start = base + (l - p) + 1;
            }
            if (!e) {
                i = n;
                break;
            }
            i = (size_t)(e - p) + 1;
            st = ST_QEND;
            continue;
        }
        unsigned char c = (unsigned char)p[i];
        if (c == '\n') {
            q->line++;
            q->line_start = base + (int64_t)i + 1;
            q->rec = st != ST_ROW;
            q->state = ST_ROW;
            *used = i + 1;
            return 1;
        }
        /* A lone CR outside quotes ends a line as LF does (classic Mac);
         * the CR of a CRLF is a blank before the LF. At the end of the
         * bytes it is decided by the next one (cr_tail). */
        if (c == '\r') {
            if (i + 1 == n) {
                q->cr_tail = 1;
            } else if (p[i + 1] != '\n') {
                q->line++;
                q->line_start = base + (int64_t)i + 1;
                q->rec = st != ST_ROW;
                q->state = ST_ROW;
                *used = i + 1;
                return 1;
            }
        }
        switch (st) {
        case ST_ROW:
        case ST_FIELD:
            if (is_blank(c, d))
                break;
            if (st == ST_ROW)
                q->fld = 0;
            if (c == d) {
                st = ST_FIELD;
                q->fld++;
            } else if (c == '"') {
                st = ST_QUO;
                q->q_line = q->line;
                q->q_col = (size_t)(base + (int64_t)i - q->line_start) + 1;
                q->q_fld = q->fld;
            } else {
                st = ST_UNQ;
            }
            break;
        case ST_UNQ:
            if (c == d) {
                st = ST_FIELD;
                q->fld++;
            }
            break;
        case ST_QEND:
        case ST_QEND_SP:
            if (c == d) {
                st = ST_FIELD;
                q->fld++;
            } else if (is_blank(c, d)) {
                st = ST_QEND_SP;
            } else if (c == '"' && st == ST_QEND) {
                st = ST_QUO; /* "" */
            } else {
                st = ST_BAD;
                if (!q->bad) {
                    q->bad = 1;
                    q->bad_char = c;
                    q->bad_line = q->line;
                    q->bad_col = (size_t)(base + (int64_t)i - q->line_start) + 1;
                    q->bad_fld = q->fld;
                }
            }
            break;
        case ST_BAD: /* quotes mean nothing until the line ends */
            break;
        }
        i++;
    }
    q->state = st;
    *used = n;
    return 0;
}

/* Quote errors name the field after the line, as value errors do, and the
 * character column inside the reason. */
static ms_status unterminated(ms_error *err, const char *file, const qscan *q)
{
    return ms_error_set(err, MS_EINPUT,
                        "%s:%llu:%zu: unterminated quoted field (opened at character %zu)", file,
                        (unsigned long long)q->q_line, q->q_fld + 1, q->q_col);
}

static void stray_reason(const qscan *q, char *out, size_t cap)
{
    unsigned char c = q->bad_char;
    if (c >= 0x20 && c < 0x7f && c != '\'')
        snprintf(out, cap, "unexpected character '%c' after a closing quote (character %zu)", c,
                 q->bad_col);
    else
        snprintf(out, cap, "unexpected byte 0x%02x after a closing quote (character %zu)",
                 (unsigned)c, q->bad_col);
}

static ms_status check_delim(char delim, ms_error *err)
{
    if (delim == '"' || delim == '\n' || delim == '\r' || delim == '\0')
        return ms_error_set(err, MS_EUSAGE, "invalid CSV delimiter (0x%02x)",
                            (unsigned)(unsigned char)delim);
    return MS_OK;
}

/* ---- scanner --------------------------------------------------------------- */

/* A unit is one blank line or one record, with its line terminator. */
typedef struct scan_unit {
    off_t start;
    size_t len;
    uint64_t line; /* physical line of the first byte */
    uint64_t nlf;  /* line ends inside the unit (LF, CRLF, a lone CR outside quotes) */
    int is_record;
} scan_unit;

struct ms_csv_scanner {
    int fd;
    char *path;
    qscan q;
    /* buf holds file bytes [buf_off, buf_off + buf_len); bytes before cur are
     * scanned. Chunks are returned as offsets, so nothing older is kept. */
    char *buf;
    size_t block, buf_len, cur;
    off_t buf_off;
    int eof;
    size_t quote_at; /* next '"' in buf at or after it was last searched, or buf_len */
    int quote_known;
    size_t cr_at; /* the same for CR */
    int cr_known;
    size_t unit_limit; /* header only: longest unit accepted, 0 = any */
    /* A unit read but not yet placed in a chunk (it did not fit the last one). */
    int have_pending;
    scan_unit pending;
    off_t pos; /* start of the next chunk */
    uint64_t pos_line;
    /* Errors after good records are reported on the following call, and then
     * forever, so the records before a broken tail are not lost. */
    ms_status sticky;
    char sticky_msg[MS_ERROR_MSG_MAX];
};

static ms_status read_full(int fd, char *buf, size_t n, off_t off, size_t *got, const char *path,
                           ms_error *err)
{
    size_t g = 0;
    while (g < n) {
        ssize_t r = pread(fd, buf + g, n - g, off + (off_t)g);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return ms_error_set(err, MS_EIO, "%s: read error: %s", path, strerror(errno));
        }
        if (r == 0)
            break;
        g += (size_t)r;
    }
    *got = g;
    return MS_OK;
}

static ms_status scanner_create(const char *path, char delim, off_t data_offset, uint64_t data_line,
                                size_t block, ms_csv_scanner **out, ms_error *err)
{
    ms_status st;
    ms_csv_scanner *sc = NULL;
    *out = NULL;
    MS_CHECK(check_delim(delim, err));
    sc = calloc(1, sizeof *sc);
    if (sc)
        sc->fd = -1;
    if (!sc || !(sc->path = strdup(path)) || !(sc->buf = malloc(block))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    sc->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (sc->fd < 0) {
        st = ms_error_set(err, MS_EIO, "%s: cannot open: %s", path, strerror(errno));
        goto done;
    }
    (void)posix_fadvise(sc->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    sc->block = block;
    sc->buf_off = data_offset;
    sc->pos = data_offset;
    sc->pos_line = data_line;
    qscan_init(&sc->q, (unsigned char)delim, data_line, data_offset);
    *out = sc;
    sc = NULL;
done:
    ms_csv_scanner_close(sc);
    return st;
}

static ms_status refill(ms_csv_scanner *sc, ms_error *err)
{
    sc->buf_off += (off_t)sc->buf_len;
    sc->buf_len = sc->cur = 0;
    sc->quote_known = 0;
    sc->cr_known = 0;
    size_t got = 0;
    ms_status st = read_full(sc->fd, sc->buf, sc->block, sc->buf_off, &got, sc->path, err);
    if (st != MS_OK)
        return st;
    sc->buf_len = got;
    if (got < sc->block)
        sc->eof = 1;
    return MS_OK;
}

/* Fast path for a unit that starts here in state ST_ROW: if its LF comes
 * before the next quote in the buffer, the line cannot hide a quoted field,
 * and if no CR but a CRLF's comes before it, no lone CR ends it earlier:
 * one memchr finds its end (the next '"' and CR are searched once and
 * remembered, so files without them pay nothing per line). */
static int fast_line(ms_csv_scanner *sc, scan_unit *u)
{
    const char *b = sc->buf;
    size_t cur = sc->cur, n = sc->buf_len;
    if (!sc->quote_known || sc->quote_at < cur) {
        const char *qp = memchr(b + cur, '"', n - cur);
        sc->quote_at = qp ? (size_t)(qp - b) : n;
        sc->quote_known = 1;
    }
    const char *nl = memchr(b + cur, '\n', sc->quote_at - cur);
    if (!nl)
        return 0;
    if (!sc->cr_known || sc->cr_at < cur) {
        const char *cp = memchr(b + cur, '\r', n - cur);
        sc->cr_at = cp ? (size_t)(cp - b) : n;
        sc->cr_known = 1;
    }
    if (sc->cr_at + 1 < (size_t)(nl - b))
        return 0; /* a lone CR: the slow path ends the unit there */
    const char *s = b + cur;
    while (s < nl && is_blank((unsigned char)*s, sc->q.delim))
        s++;
    sc->cur = (size_t)(nl - b) + 1;
    sc->q.line++;
    sc->q.line_start = sc->buf_off + (off_t)sc->cur;
    u->is_record = s < nl;
    u->len = (size_t)(sc->buf_off + (off_t)sc->cur - u->start);
    u->nlf = sc->q.line - u->line;
    return 1;
}

static ms_status next_unit(ms_csv_scanner *sc, scan_unit *u, ms_error *err)
{
    ms_status st;
    qscan *q = &sc->q;
    u->start = sc->buf_off + (off_t)sc->cur;
    u->line = q->line;
    for (;;) {
        if (sc->unit_limit &&
            (size_t)(sc->buf_off + (off_t)sc->buf_len - u->start) > sc->unit_limit) {
            return ms_error_set(err, MS_EINPUT, "%s: header row longer than %zu MiB", sc->path,
                                sc->unit_limit >> 20);
        }
        if (sc->cur == sc->buf_len) {
            if (sc->eof) {
                if (q->cr_tail) { /* the file's last byte is a lone CR */
                    q->cr_tail = 0;
                    q->line++;
                }
                break;
            }
            if ((st = refill(sc, err)) != MS_OK)
                return st;
            continue;
        }
        if (q->state == ST_ROW && !q->cr_tail && fast_line(sc, u))
            return MS_OK;
        size_t used;
        int ended = qscan_run(q, sc->buf + sc->cur, sc->buf_len - sc->cur,
                              sc->buf_off + (off_t)sc->cur, &used);
        sc->cur += used;
        if (ended) {
            u->len = (size_t)(sc->buf_off + (off_t)sc->cur - u->start);
            u->nlf = q->line - u->line;
            u->is_record = q->rec;
            return MS_OK;
        }
    }
    off_t end = sc->buf_off + (off_t)sc->buf_len;
    if (end == u->start)
        return MS_EOF;
    if (q->state == ST_QUO)
        return unterminated(err, sc->path, q);
    u->len = (size_t)(end - u->start);
    u->nlf = q->line - u->line;
    u->is_record = q->state != ST_ROW;
    q->state = ST_ROW;
    return MS_OK;
}

ms_status ms_csv_scanner_open(const char *path, char delim, off_t data_offset, uint64_t data_line,
                              ms_csv_scanner **out, ms_error *err)
{
    return scanner_create(path, delim, data_offset, data_line, SCAN_BLOCK, out, err);
}

ms_status ms_csv_scanner_next(ms_csv_scanner *sc, size_t max_records, size_t max_bytes,
                              ms_csv_chunk *chunk, ms_error *err)
{
    if (!max_records)
        max_records = SIZE_MAX;
    if (!max_bytes)
        max_bytes = SIZE_MAX;
    if (sc->sticky != MS_OK)
        return ms_error_set(err, sc->sticky, "%s", sc->sticky_msg);
    memset(chunk, 0, sizeof *chunk);
    chunk->offset = sc->pos;
    chunk->first_line = sc->pos_line;
    size_t len = 0, n = 0;
    for (;;) {
        if (!sc->have_pending) {
            ms_error e;
            ms_status st = next_unit(sc, &sc->pending, &e);
            if (st == MS_EOF)
                break;
            if (st != MS_OK) {
                sc->sticky = st;
                memcpy(sc->sticky_msg, e.msg, sizeof e.msg);
                if (len == 0)
                    return ms_error_set(err, st, "%s", e.msg);
                break;
            }
            sc->have_pending = 1;
        }
        const scan_unit *u = &sc->pending;
        /* blank lines count against max_bytes too; only the first record of
         * a chunk may overshoot it */
        if (n > 0 && (u->len > max_bytes || len > max_bytes - u->len))
            break;
        len += u->len;
        sc->pos += (off_t)u->len;
        sc->pos_line += u->nlf;
        n += u->is_record != 0;
        sc->have_pending = 0;
        if (n == max_records)
            break;
    }
    if (len == 0)
        return MS_EOF;
    chunk->length = len;
    chunk->n_records = n;
    return MS_OK;
}

void ms_csv_scanner_tell(const ms_csv_scanner *sc, off_t *offset, uint64_t *line)
{
    *offset = sc->pos;
    *line = sc->pos_line;
}

void ms_csv_scanner_close(ms_csv_scanner *sc)
{
    if (!sc)
        return;
    if (sc->fd >= 0)
        close(sc->fd);
    free(sc->buf);
    free(sc->path);
    free(sc);
}

/* ---- header ---------------------------------------------------------------- */

typedef struct hdr_ctx {
    char **names;
    size_t n, cap;
    size_t records;
    int nul_col; /* 1-based column whose name holds a NUL byte, 0 = none */
    int oom;
} hdr_ctx;

/* CR is a terminator for libcsv, not a blank: a lone CR ends a record, and
 * the LF of a CRLF then ends an empty row, which libcsv drops. */
static int lc_is_space(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static int lc_is_term(unsigned char c)
{
    return c == '\n' || c == '\r';
}

static void hdr_field(void *s, size_t n, void *data)
{
    hdr_ctx *h = data;
    if (h->oom || h->records)
        return;
    if (h->n == h->cap) {
        size_t nc = h->cap ? 2 * h->cap : 64;
        char **p = realloc(h->names, nc * sizeof *p);
        if (!p) {
            h->oom = 1;
            return;
        }
        h->names = p;
        h->cap = nc;
    }
    char *name = malloc(n + 1);
    if (!name) {
        h->oom = 1;
        return;
    }
    memcpy(name, s, n);
    name[n] = '\0';
    if (!h->nul_col && memchr(s, '\0', n))
        h->nul_col = (int)h->n + 1;
    h->names[h->n++] = name;
}

static void hdr_record(int c, void *data)
{
    (void)c;
    ((hdr_ctx *)data)->records++;
}

typedef struct name_ref {
    const char *name;
    size_t idx;
} name_ref;

static int name_ref_cmp(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Names are matched to model features, so the first duplicate in reading
 * order is reported; sorting keeps wide headers (10^5 columns) cheap.
 * Empty names are allowed, any number of them (pandas' to_csv writes one
 * for its index, a trailing delimiter makes another): nothing can select
 * such a column by name, so it is only ever ignored. */
static ms_status check_names(const char *path, uint64_t line, char **names, size_t n, ms_error *err)
{
    char q[NAME_EXCERPT_MAX * 4 + 8];
    name_ref *refs = malloc(n * sizeof *refs);
    if (!refs)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++)
        refs[i] = (name_ref){names[i], i};
    qsort(refs, n, sizeof *refs, name_ref_cmp);
    size_t dup = SIZE_MAX, first = 0;
    for (size_t i = 1; i < n; i++)
        if (refs[i].name[0] != '\0' && strcmp(refs[i].name, refs[i - 1].name) == 0 &&
            (i == 1 || strcmp(refs[i - 1].name, refs[i - 2].name) != 0) && refs[i].idx < dup) {
            dup = refs[i].idx;
            first = refs[i - 1].idx;
        }
    free(refs);
    if (dup == SIZE_MAX)
        return MS_OK;
    ms_quote_excerpt(names[dup], strlen(names[dup]), NAME_EXCERPT_MAX, q, sizeof q);
    return ms_error_set(err, MS_EINPUT,
                        "%s:%llu:%zu: duplicate column name \"%s\" (also column %zu)", path,
                        (unsigned long long)line, dup + 1, q, first + 1);
}

/* pandas keeps the blanks around an unquoted name ("a, b" names " b"), and
 * models fitted on its frames carry them, so names are kept as written:
 * for a header without quotes (the common case, and all that pandas'
 * to_csv writes for plain names) each name is the raw text between
 * delimiters, without the record's CR. A quoted header keeps libcsv's
 * names (blanks around the quotes dropped). Matching by name tries the
 * exact name first, then the trimmed one (input.c). */
static ms_status keep_blanks(const char *text, size_t len, unsigned char delim, hdr_ctx *h)
{
    if (memchr(text, '"', len))
        return MS_OK;
    if (len && text[len - 1] == '\n')
        len--;
    while (len && text[len - 1] == '\r')
        len--;
    const char *p = text, *end = text + len;
    for (size_t j = 0; j < h->n; j++) {
        const char *e = memchr(p, delim, (size_t)(end - p));
        if (!e)
            e = end;
        size_t n = (size_t)(e - p);
        if (n != strlen(h->names[j])) {
            char *name = malloc(n + 1);
            if (!name)
                return MS_EINTERNAL;
            memcpy(name, p, n);
            name[n] = '\0';
            free(h->names[j]);
            h->names[j] = name;
        }
        p = e < end ? e + 1 : end;
    }
    return MS_OK;
}

ms_status ms_csv_read_header(const char *path, char delim, ms_csv_header *hdr, ms_error *err)
{
    ms_status st;
    ms_csv_scanner *sc = NULL;
    char *text = NULL;
    hdr_ctx h = {0};
    struct csv_parser p;
    int parser_live = 0;
    scan_unit u;
    size_t got = 0;
    memset(hdr, 0, sizeof *hdr);

    MS_CHECK(scanner_create(path, delim, 0, 1, HEADER_BLOCK, &sc, err));
    char bom[3];
    MS_CHECK(read_full(sc->fd, bom, sizeof bom, 0, &got, path, err));
    /* UTF-16 text would otherwise read as names full of NUL bytes */
    if (got >= 2 && (memcmp(bom, "\xFF\xFE", 2) == 0 || memcmp(bom, "\xFE\xFF", 2) == 0)) {
        st = ms_error_set(err, MS_EINPUT,
                          "%s: file is UTF-16 (%s byte order mark); convert it to UTF-8", path,
                          bom[0] == '\xFF' ? "little-endian" : "big-endian");
        goto done;
    }
    if (got == 3 && memcmp(bom, "\xEF\xBB\xBF", 3) == 0) {
        sc->buf_off = sc->pos = 3;
        sc->q.line_start = 3; /* columns as an editor shows them, BOM unseen */
    }
    sc->unit_limit = HEADER_MAX;
    do
        st = next_unit(sc, &u, err);
    while (st == MS_OK && !u.is_record);
    if (st == MS_EOF) {
        st = ms_error_set(err, MS_EINPUT, "%s: empty file (no header row)", path);
        goto done;
    }
    if (st != MS_OK)
        goto done;
    if (sc->q.bad) {
        char why[96];
        stray_reason(&sc->q, why, sizeof why);
        st = ms_error_set(err, MS_EINPUT, "%s:%llu:%zu: header: %s", path,
                          (unsigned long long)sc->q.bad_line, sc->q.bad_fld + 1, why);
        goto done;
    }
    if (u.len > HEADER_MAX) {
        st = ms_error_set(err, MS_EINPUT, "%s: header row longer than %zu MiB", path,
                          HEADER_MAX >> 20);
        goto done;
    }
    if (!(text = malloc(u.len ? u.len : 1))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    MS_CHECK(read_full(sc->fd, text, u.len, u.start, &got, path, err));
    if (got != u.len) {
        st = ms_error_set(err, MS_EIO, "%s: file shrank while reading the header", path);
        goto done;
    }
    if (csv_init(&p, 0) != 0) {
        st = ms_error_set(err, MS_EINTERNAL, "libcsv: init failed");
        goto done;
    }
    parser_live = 1;
    csv_set_delim(&p, (unsigned char)delim);
    csv_set_space_func(&p, lc_is_space);
    csv_set_term_func(&p, lc_is_term);
    /* the virtual LF ends a header that has none, like csv_fini would */
    if (csv_parse(&p, text, u.len, hdr_field, hdr_record, &h) != u.len ||
        csv_parse(&p, "\n", 1, hdr_field, hdr_record, &h) != 1 || h.oom) {
        st = ms_error_set(err, MS_EINTERNAL, "%s: header: out of memory", path);
        goto done;
    }
    if (h.records != 1 || h.n == 0) {
        st = ms_error_set(err, MS_EINTERNAL, "%s: header tokenizer disagreement", path);
        goto done;
    }
    if (h.nul_col) {
        st = ms_error_set(err, MS_EINPUT, "%s:%llu:%d: column name contains a NUL byte", path,
                          (unsigned long long)u.line, h.nul_col);
        goto done;
    }
    if (keep_blanks(text, u.len, (unsigned char)delim, &h) != MS_OK) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    MS_CHECK(check_names(path, u.line, h.names, h.n, err));
    hdr->n_cols = h.n;
    hdr->names = h.names;
    hdr->data_offset = u.start + (off_t)u.len;
    hdr->data_line = u.line + u.nlf;
    h.names = NULL;
    h.n = 0;
done:
    if (parser_live)
        csv_free(&p);
    for (size_t i = 0; i < h.n; i++)
        free(h.names[i]);
    free(h.names);
    free(text);
    ms_csv_scanner_close(sc);
    return st;
}

void ms_csv_header_free(ms_csv_header *hdr)
{
    if (!hdr)
        return;
    for (size_t i = 0; i < hdr->n_cols; i++)
        free(hdr->names[i]);
    free(hdr->names);
    memset(hdr, 0, sizeof *hdr);
}

/* ---- chunk parsing: per-record row building -------------------------------- */

/* What a field of input column j does, decided once per chunk from the
 * layout so the per-field path never looks at the layout or the column
 * specs: the model column it fills (a plain decimal straight into a
 * float32 or float64 column, anything else through
 * ms_batch_put_text_slow), and whether its text goes to the id and to
 * kept columns (capture: ms_batch_set_last_id, ms_batch_set_last_keep). */
enum { PUT_NONE, PUT_F32, PUT_F64, PUT_OTHER };

typedef struct col_action {
    uint8_t put;     /* PUT_*: the model column */
    uint8_t capture; /* the id column, or a kept column, or both */
    uint8_t id;      /* the id column */
    int32_t feature; /* batch column, unless PUT_NONE */
    int32_t keep;    /* first kept column k whose input column this is, or -1 */
} col_action;

/* Shared by both tokenizers: fields arrive one at a time, the row is judged
 * at the end of the record so a wrong field count wins over a bad value. */
typedef struct row_ctx {
    const ms_csv_layout *lay;
    ms_batch *b;
    size_t n_cols;
    col_action *act; /* n_cols entries */
    size_t n_keep;
    const int *keep_col; /* kept column k is input column keep_col[k] */
    /* Every model column is filled by exactly one input column, so a row
     * whose every field was read has every cell written: rows need not
     * start all missing (a bad row is made all missing by mark_bad). */
    int fills_all;
    unsigned char delim;
    int row;          /* a record is being read (its row is b's last) */
    size_t nf;        /* fields seen so far in it */
    const char *prob; /* why its first bad input field was refused, NULL = none */
    size_t prob_col;
    size_t prob_len;
    char prob_text[VALUE_EXCERPT_MAX + 1]; /* enough of the field for its excerpt */
    ms_error *err;
    ms_status st; /* allocation failure inside a libcsv callback */
} row_ctx;

static void row_ctx_free(row_ctx *rc)
{
    free(rc->act);
    rc->act = NULL;
}

static ms_status row_ctx_init(row_ctx *rc, const ms_csv_layout *lay, const int *keep_col,
                              ms_batch *b, ms_error *err)
{
    memset(rc, 0, sizeof *rc);
    if (!lay || !b || !lay->col_feature || lay->n_cols == 0 || lay->id_col < -1 ||
        (lay->id_col >= 0 && (size_t)lay->id_col >= lay->n_cols) || b->n_cols != lay->n_features ||
        !b->has_ids != (lay->id_col < 0) || (b->n_keep && !keep_col))
        return ms_error_set(err, MS_EINTERNAL, "csv parse: layout does not match the batch");
    for (size_t j = 0; j < lay->n_cols; j++)
        if (lay->col_feature[j] >= 0 && (size_t)lay->col_feature[j] >= lay->n_features)
            return ms_error_set(err, MS_EINTERNAL, "csv parse: feature index out of range");
    for (size_t k = 0; k < b->n_keep; k++)
        if (keep_col[k] < 0 || (size_t)keep_col[k] >= lay->n_cols)
            return ms_error_set(err, MS_EINTERNAL, "csv parse: kept column out of range");
    ms_status st = check_delim(lay->delim, err);
    if (st != MS_OK)
        return st;
    rc->act = malloc(lay->n_cols * sizeof *rc->act);
    size_t *fills = calloc(lay->n_features ? lay->n_features : 1, sizeof *fills);
    if (!rc->act || !fills) {
        free(fills);
        row_ctx_free(rc);
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    }
    for (size_t j = 0; j < lay->n_cols; j++) {
        col_action *a = &rc->act[j];
        int f = lay->col_feature[j];
        a->feature = f;
        a->put = f < 0                            ? PUT_NONE
                 : b->spec[f].kind != MS_COL_NUM  ? PUT_OTHER
                 : b->spec[f].prec == MS_PREC_F32 ? PUT_F32
                                                  : PUT_F64;
        a->id = (long)j == lay->id_col;
        a->keep = -1;
        if (f >= 0)
            fills[f]++;
    }
    for (size_t k = b->n_keep; k-- > 0;)
        rc->act[keep_col[k]].keep = (int32_t)k;
    for (size_t j = 0; j < lay->n_cols; j++)
        rc->act[j].capture = rc->act[j].id || rc->act[j].keep >= 0;
    rc->fills_all = 1;
    for (size_t f = 0; f < lay->n_features; f++)
        rc->fills_all &= fills[f] == 1;
    free(fills);
    rc->lay = lay;
    b->file = lay->file;
    rc->b = b;
    rc->n_cols = lay->n_cols;
    rc->n_keep = b->n_keep;
    rc->keep_col = keep_col;
    /* the batch refuses what the layout refuses, the same for every reader */
    b->refuse_missing = !lay->allow_missing;
    rc->delim = (unsigned char)lay->delim;
    rc->err = err;
    return MS_OK;
}

/* fills: the caller writes every cell of a good row (parse_fast, with
 * rc->fills_all); otherwise the row starts all missing. */
static inline ms_status row_begin(row_ctx *rc, uint64_t line, int fills)
{
    if ((fills ? ms_batch_add_row_set(rc->b, rc->err) : ms_batch_add_row(rc->b, rc->err)) != MS_OK)
        return MS_EINTERNAL;
    rc->b->row_line[rc->b->n_rows - 1] = line;
    rc->row = 1;
    rc->nf = 0;
    rc->prob = NULL;
    return MS_OK;
}

/* The id and kept columns of input column j get its text s[0..n). */
static void row_capture(row_ctx *rc, size_t j, const col_action *a, const char *s, size_t n)
{
    ms_status st = MS_OK;
    if (a->id)
        st = ms_batch_set_last_id(rc->b, s, n, rc->err);
    for (size_t k = a->keep >= 0 ? (size_t)a->keep : rc->n_keep; k < rc->n_keep; k++)
        if ((size_t)rc->keep_col[k] == j && st == MS_OK)
            st = ms_batch_set_last_keep(rc->b, k, s, n, rc->err);
    if (st != MS_OK)
        rc->st = st;
}

/* The next field of the record: its value s[0..n) (blanks trimmed, quotes
 * removed) and raw[0..raw_n), its text as written (every byte between its
 * delimiters), or raw NULL for a quoted field, whose text is its value.
 * Per field: id column / model column / other, from the action table. */
static inline __attribute__((always_inline)) void row_field(row_ctx *rc, const char *s, size_t n,
                                                            const char *raw, size_t raw_n)
{
    size_t j = rc->nf++;
    if (j >= rc->n_cols)
        return;
    const col_action *a = &rc->act[j];
    if (a->put != PUT_NONE && !rc->prob) {
        ms_batch *b = rc->b;
        size_t row = b->n_rows - 1;
        const char *why;
        void *col = b->col[a->feature];
        double x;
        if (a->put == PUT_OTHER)
            why = ms_batch_put_text_slow(b, (size_t)a->feature, row, s, n);
        else if (ms_parse_plain_f64(s, n, &x)) {
            if (a->put == PUT_F32)
                ((float *)col)[row] = (float)x; /* pandas + float32: (float) of the double */
            else
                ((double *)col)[row] = x;
            why = NULL;
        } else
            why = ms_batch_put_text_slow(b, (size_t)a->feature, row, s, n);
        if (why) {
            rc->prob = why;
            rc->prob_col = j;
            rc->prob_len = n < sizeof rc->prob_text ? n : sizeof rc->prob_text;
            memcpy(rc->prob_text, s, rc->prob_len);
        }
    }
    if (a->capture)
        row_capture(rc, j, a, raw ? raw : s, raw ? raw_n : n);
}

static inline int row_is_bad(const row_ctx *rc)
{
    return rc->nf != rc->n_cols || rc->prob;
}

/* Mark the last row bad with rec[0..len) (the record without its LF) as its
 * raw text, without a CRLF's CR and capped at RECORD_EXCERPT_MAX. */
static ms_status mark_bad_raw(row_ctx *rc, uint64_t line, size_t col, const char *col_name,
                              const char *reason, const char *rec, size_t len)
{
    char raw[RECORD_EXCERPT_MAX + 3];
    if (len && rec[len - 1] == '\r')
        len--;
    if (len > RECORD_EXCERPT_MAX) {
        memcpy(raw, rec, RECORD_EXCERPT_MAX);
        memcpy(raw + RECORD_EXCERPT_MAX, "...", 3);
        rec = raw;
        len = sizeof raw;
    }
    return ms_batch_mark_bad(rc->b, rc->lay->file ? rc->lay->file : "", line, col, col_name, reason,
                             rec, len, rc->err);
}

/* rec[0..len) is the record without its LF. */
static ms_status row_mark_bad(row_ctx *rc, uint64_t line, const char *rec, size_t len)
{
    const ms_csv_layout *lay = rc->lay;
    char reason[NAME_EXCERPT_MAX * 4 + VALUE_EXCERPT_MAX * 4 + 96];
    char name[NAME_EXCERPT_MAX * 4 + 8], val[VALUE_EXCERPT_MAX * 4 + 8];
    size_t col = 0;
    const char *col_name = NULL;
    if (rc->nf != rc->n_cols) {
        snprintf(reason, sizeof reason, "expected %zu fields, found %zu", rc->n_cols, rc->nf);
    } else {
        col = rc->prob_col + 1;
        col_name = lay->col_names ? lay->col_names[rc->prob_col] : "";
        ms_quote_excerpt(col_name, strlen(col_name), NAME_EXCERPT_MAX, name, sizeof name);
        ms_quote_excerpt(rc->prob_text, rc->prob_len, VALUE_EXCERPT_MAX, val, sizeof val);
        if (!strcmp(rc->prob, "missing value"))
            snprintf(reason, sizeof reason, "column \"%s\": missing value", name);
        else if (!strcmp(rc->prob, "unknown category"))
            snprintf(reason, sizeof reason, "unknown category \"%s\" in column \"%s\"", val, name);
        else
            snprintf(reason, sizeof reason, "column \"%s\": %s: \"%s\"", name, rc->prob, val);
    }
    return mark_bad_raw(rc, line, col, col_name, reason, rec, len);
}

/* The record rec[0..len) broke the quoting rules where q says; the row it
 * opened (row_begin) is reported at the line and field of the stray byte. */
static ms_status row_mark_stray(row_ctx *rc, const qscan *q, const char *rec, size_t len)
{
    const ms_csv_layout *lay = rc->lay;
    char why[96], name[NAME_EXCERPT_MAX * 4 + 8], reason[sizeof why + sizeof name + 16];
    const char *col_name = NULL;
    stray_reason(q, why, sizeof why);
    if (q->bad_fld < rc->n_cols && lay->col_names) {
        col_name = lay->col_names[q->bad_fld];
        ms_quote_excerpt(col_name, strlen(col_name), NAME_EXCERPT_MAX, name, sizeof name);
        snprintf(reason, sizeof reason, "column \"%s\": %s", name, why);
    } else {
        snprintf(reason, sizeof reason, "%s", why);
    }
    return mark_bad_raw(rc, q->bad_line, q->bad_fld + 1, col_name, reason, rec, len);
}

/* ---- chunk parsing: fast path (no quote anywhere in the chunk) -------------- */

/* The separators (delimiter, LF, CR) of the chunk in order, from the
 * structural scan's bitmasks (csv_seps.h), a window of SEP_WINDOW blocks at
 * a time; the last partial block is scanned from a copy padded with NUL,
 * which is never a delimiter (check_delim). */
#define SEP_WINDOW 64

typedef struct sep_iter {
    const char *buf;
    size_t len;
    size_t base;     /* offset of masks[0]'s first byte */
    size_t nblk, bi; /* blocks in the window, the current one */
    uint64_t m;      /* separators of block bi not yet returned */
    ms_csv_seps_fn scan;
    unsigned char delim;
    uint64_t masks[SEP_WINDOW];
} sep_iter;

static int sep_refill(sep_iter *it)
{
    size_t start = it->base + 64 * it->nblk;
    if (start >= it->len)
        return 0;
    size_t full = (it->len - start) / 64;
    it->base = start;
    it->bi = 0;
    if (full) {
        it->nblk = full < SEP_WINDOW ? full : SEP_WINDOW;
        it->scan(it->buf + start, it->nblk, it->delim, it->masks);
    } else {
        char tail[64] = {0};
        memcpy(tail, it->buf + start, it->len - start);
        it->nblk = 1;
        it->scan(tail, 1, it->delim, it->masks);
    }
    it->m = it->masks[0];
    return 1;
}

/* Offset of the next separator, or len when there is none left. */
static inline size_t sep_next(sep_iter *it)
{
    while (it->m == 0) {
        if (it->bi + 1 < it->nblk)
            it->m = it->masks[++it->bi];
        else if (!sep_refill(it))
            return it->len;
    }
    size_t at = it->base + 64 * it->bi + (size_t)__builtin_ctzll(it->m);
    it->m &= it->m - 1;
    return at;
}

/* Where the line that ends at e (its LF, its lone CR, the CR of its CRLF,
 * or the chunk's end) is followed by the next one. */
static inline size_t line_next(sep_iter *it, const char *buf, size_t len, size_t e)
{
    if (e >= len)
        return len;
    if (buf[e] == '\r' && e + 1 < len && buf[e + 1] == '\n') {
        sep_next(it); /* that LF */
        return e + 2;
    }
    return e + 1;
}

/* Every separator ends a field; one that is not the delimiter ends the line
 * too (a CR is always a line end or the CR of a CRLF: without quotes it
 * can be nothing else), so fields never hold a CR or LF. */
static ms_status parse_fast(const char *buf, size_t len, uint64_t line, row_ctx *rc,
                            ms_csv_seps_fn scan)
{
    ms_status st = MS_OK;
    const unsigned char d = rc->delim;
    sep_iter it = {.buf = buf, .len = len, .scan = scan, .delim = d};
    size_t pos = 0;
    while (pos < len) {
        size_t e = sep_next(&it);
        if (e == len || (unsigned char)buf[e] != d) { /* one field: maybe a blank line */
            size_t i = pos;
            while (i < e && is_blank((unsigned char)buf[i], d))
                i++;
            if (i == e) {
                pos = line_next(&it, buf, len, e);
                line++;
                continue;
            }
        }
        MS_CHECK(row_begin(rc, line, rc->fills_all));
        for (size_t fs = pos;;) {
            const char *a = buf + fs, *z = buf + e;
            while (a < z && is_blank((unsigned char)*a, d))
                a++;
            while (z > a && is_blank((unsigned char)z[-1], d))
                z--;
            row_field(rc, a, (size_t)(z - a), buf + fs, e - fs);
            if (e == len || (unsigned char)buf[e] != d)
                break;
            fs = e + 1;
            e = sep_next(&it);
        }
        MS_CHECK(rc->st);
        if (row_is_bad(rc))
            MS_CHECK(row_mark_bad(rc, line, buf + pos, e - pos));
        rc->row = 0;
        pos = line_next(&it, buf, len, e);
        line++;
    }
done:
    return st;
}
/* ---- chunk parsing: libcsv ------------------------------------------------- */

typedef struct lc_ctx {
    row_ctx *rc;
    const char *rec; /* the unit being fed: rec[0..rec_len) without its line end */
    size_t rec_len;
    uint64_t line; /* the unit's first physical line */
    int ended;     /* a record ended since the flag was cleared */
    int draining;  /* csv_fini after a chunk that ended inside quotes */
} lc_ctx;

/* Field j of the record rec[0..n) as written, when it is unquoted (its first
 * non-blank byte is not '"'): every byte between its delimiters. Returns 0
 * for a quoted field, whose value libcsv gives exactly. The quoting rules
 * are qscan's; the record is well quoted (qscan checked it). */
static int raw_unquoted_field(const char *rec, size_t n, unsigned char d, size_t j, const char **s,
                              size_t *len)
{
    size_t i = 0;
    for (size_t k = 0;; k++) {
        size_t f = i;
        while (i < n && is_blank((unsigned char)rec[i], d))
            i++;
        int quoted = i < n && rec[i] == '"';
        if (quoted) {
            for (i++; i < n; i++)
                if (rec[i] == '"' && !(i + 1 < n && rec[i + 1] == '"' && ++i))
                    break;
            i++;
        }
        const char *e = i < n ? memchr(rec + i, d, n - i) : NULL;
        size_t fe = e ? (size_t)(e - rec) : n;
        if (k == j) {
            if (quoted)
                return 0;
            *s = rec + f;
            *len = fe - f;
            return 1;
        }
        if (!e)
            return 0;
        i = fe + 1;
    }
}

static void lc_field(void *s, size_t n, void *data)
{
    lc_ctx *lc = data;
    row_ctx *rc = lc->rc;
    if (lc->draining || rc->st != MS_OK)
        return;
    if (!rc->row && (rc->st = row_begin(rc, lc->line, 0)) != MS_OK)
        return;
    const char *raw = NULL;
    size_t raw_n = 0;
    if (rc->nf < rc->n_cols && rc->act[rc->nf].capture &&
        !raw_unquoted_field(lc->rec, lc->rec_len, rc->delim, rc->nf, &raw, &raw_n))
        raw = NULL;
    row_field(rc, s, n, raw, raw_n);
}

static void lc_record(int c, void *data)
{
    (void)c;
    ((lc_ctx *)data)->ended = 1;
}

/* The record rec[0..n) (without its line end), which starts on line, ended. */
static ms_status lc_end_record(lc_ctx *lc, const char *rec, size_t n, uint64_t line)
{
    row_ctx *rc = lc->rc;
    ms_status st = MS_OK;
    if (rc->row && row_is_bad(rc))
        st = row_mark_bad(rc, line, rec, n);
    rc->row = 0;
    return st;
}

/* Length of the unit u[0..n) without its line end (LF, CRLF or lone CR),
 * the way ids and raw records are kept. */
static size_t without_line_end(const char *u, size_t n, int ended)
{
    if (ended && n)
        n--;
    if (ended && n && u[n] == '\n' && u[n - 1] == '\r')
        n--;
    else if (!ended && n && u[n - 1] == '\r')
        n--; /* a chunk that ends with a lone CR */
    return n;
}

static ms_status parse_libcsv(const char *buf, size_t len, uint64_t first_line, row_ctx *rc)
{
    ms_status st = MS_OK;
    ms_error *err = rc->err;
    struct csv_parser p;
    if (csv_init(&p, 0) != 0)
        return ms_error_set(err, MS_EINTERNAL, "libcsv: init failed");
    csv_set_delim(&p, rc->delim);
    csv_set_space_func(&p, lc_is_space);
    csv_set_term_func(&p, lc_is_term);
    csv_set_blk_size(&p, 64 << 10); /* libcsv grows its field buffer by this much */
    lc_ctx lc = {.rc = rc};
    uint64_t line = first_line, tail_line = first_line;
    size_t pos = 0, tail = 0; /* tail: just after the last record */
    size_t u_start = 0;       /* the unit fed last, and its first line */
    uint64_t u_line = first_line;
    /* Fed one unit (a record or a blank line, as qscan, the scanner's rules,
     * finds them) at a time, so a record can only end inside the unit fed
     * last; that gives each record's start, end and line. libcsv's lenient
     * rule re-opens a quoted field at a stray byte after its closing quote
     * and would merge the records that follow, so a unit qscan found bad is
     * reported and skipped whole, never fed. */
    while (pos < len) {
        qscan q;
        size_t used;
        qscan_init(&q, rc->delim, line, (int64_t)pos);
        int ended = qscan_run(&q, buf + pos, len - pos, (int64_t)pos, &used);
        size_t unit_end = pos + used;
        if (!ended && q.cr_tail)
            q.line++; /* the chunk's last byte is a lone CR */
        if (q.bad) {
            MS_CHECK(row_begin(rc, line, 0));
            MS_CHECK(row_mark_stray(rc, &q, buf + pos, without_line_end(buf + pos, used, ended)));
            rc->row = 0;
            pos = tail = unit_end;
            line = tail_line = q.line;
            continue;
        }
        lc.ended = 0;
        lc.line = line;
        lc.rec = buf + pos;
        lc.rec_len = without_line_end(buf + pos, used, ended);
        u_start = pos;
        u_line = line;
        if (csv_parse(&p, buf + pos, used, lc_field, lc_record, &lc) != used) {
            st = ms_error_set(err, MS_EINTERNAL, "libcsv: %s", csv_strerror(csv_error(&p)));
            goto done;
        }
        MS_CHECK(rc->st);
        if (lc.ended) {
            MS_CHECK(lc_end_record(&lc, lc.rec, lc.rec_len, line));
            tail = unit_end;
            tail_line = q.line;
        }
        pos = unit_end;
        line = q.line;
    }
    /* A virtual LF ends a last record without one exactly as csv_fini would,
     * and leaves a still-open quoted field open, which csv_fini would hide. */
    lc.ended = 0;
    if (csv_parse(&p, "\n", 1, lc_field, lc_record, &lc) != 1) {
        st = ms_error_set(err, MS_EINTERNAL, "libcsv: %s", csv_strerror(csv_error(&p)));
        goto done;
    }
    MS_CHECK(rc->st);
    if (lc.ended) {
        MS_CHECK(lc_end_record(&lc, buf + u_start,
                               without_line_end(buf + u_start, len - u_start, 0), u_line));
    } else {
        lc.draining = 1;
        csv_fini(&p, lc_field, lc_record, &lc);
        if (lc.ended) {
            qscan q;
            size_t used;
            qscan_init(&q, rc->delim, tail_line, (int64_t)tail);
            for (size_t i = tail; i < len; i += used)
                qscan_run(&q, buf + i, len - i, (int64_t)i, &used);
            if (q.state != ST_QUO) /* the two tokenizers disagree: point at the record */
                q.q_line = tail_line, q.q_col = 1;
            st = unterminated(err, rc->lay->file ? rc->lay->file : "", &q);
        }
    }
done:
    csv_free(&p);
    return st;
}

/* The splitter's structural scan: the kernels' ISA (MPISCORE_ISA or the
 * best the CPU has); a value the kernels refuse takes the scalar scan, and
 * the run fails on that value anyway. Looked up per chunk, which is cheap
 * next to a chunk, so a test can switch it. */
static ms_csv_seps_fn seps_for_env(void)
{
    ms_isa isa;
    ms_error e;
    return ms_csv_seps_pick(ms_isa_select(&isa, &e) == MS_OK ? isa : MS_ISA_SCALAR);
}

static ms_status parse_chunk(const char *buf, size_t len, uint64_t first_line,
                             const ms_csv_layout *layout, const int *keep_col, ms_batch *b,
                             int force_libcsv, ms_error *err)
{
    row_ctx rc;
    ms_status st = row_ctx_init(&rc, layout, keep_col, b, err);
    if (st != MS_OK)
        return st;
    if (len == 0)
        st = MS_OK;
    else if (!force_libcsv && !memchr(buf, '"', len))
        st = parse_fast(buf, len, first_line, &rc, seps_for_env());
    else
        st = parse_libcsv(buf, len, first_line, &rc);
    row_ctx_free(&rc);
    return st;
}

ms_status ms_csv_parse_chunk(const char *buf, size_t len, uint64_t first_line,
                             const ms_csv_layout *layout, ms_batch *b, ms_error *err)
{
    return parse_chunk(buf, len, first_line, layout, NULL, b, 0, err);
}

ms_status ms_csv_parse_chunk_keep(const char *buf, size_t len, uint64_t first_line,
                                  const ms_csv_layout *layout, const int *keep_col, ms_batch *b,
                                  ms_error *err)
{
    return parse_chunk(buf, len, first_line, layout, keep_col, b, 0, err);
}

ms_status ms_csv_parse_chunk_libcsv(const char *buf, size_t len, uint64_t first_line,
                                    const ms_csv_layout *layout, ms_batch *b, ms_error *err)
{
    return parse_chunk(buf, len, first_line, layout, NULL, b, 1, err);
}
