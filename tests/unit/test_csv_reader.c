/*
 * test_csv_reader.c — header, scanner and chunk parser (csv_reader.h).
 *
 * The reference everything is compared with is libcsv fed one byte at a
 * time (with the same hooks csv_reader.c sets: records end at LF only,
 * SP/TAB/CR are blanks), which yields every record's fields, first line and
 * byte range. From it the test builds the batch a correct parser must
 * produce, reasons and errors-file text included, and compares batches
 * byte for byte.
 */
#include <csv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "batch_util.h"
#include "mpiscore/batch.h"
#include "mpiscore/csv_reader.h"
#include "mpiscore/floatconv.h"
#include "mpiscore/kernels.h"
#include "../../src/core/csv_seps.h"

/* ---- small utilities ------------------------------------------------------- */

static char tmpdir[64];
static char *tmpfiles[64];
static size_t n_tmpfiles;

static const char *write_file(const char *name, const char *data, size_t len)
{
    char *path = malloc(strlen(tmpdir) + strlen(name) + 2);
    CHECK_FATAL(path != NULL);
    sprintf(path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    CHECK_FATAL(f != NULL);
    CHECK_FATAL(fwrite(data, 1, len, f) == len);
    CHECK_FATAL(fclose(f) == 0);
    for (size_t i = 0; i < n_tmpfiles; i++)
        if (strcmp(tmpfiles[i], path) == 0) {
            free(path);
            return tmpfiles[i];
        }
    CHECK_FATAL(n_tmpfiles < sizeof tmpfiles / sizeof *tmpfiles);
    tmpfiles[n_tmpfiles++] = path;
    return path;
}

static const char *write_str(const char *name, const char *data)
{
    return write_file(name, data, strlen(data));
}

static void cleanup_tmp(void)
{
    for (size_t i = 0; i < n_tmpfiles; i++) {
        unlink(tmpfiles[i]);
        free(tmpfiles[i]);
    }
    rmdir(tmpdir);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static size_t rndn(size_t n)
{
    return rnd() % n;
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *s, const char *d, size_t n)
{
    if (s->n + n + 1 > s->cap) {
        size_t nc = s->cap ? s->cap : 256;
        while (nc < s->n + n + 1)
            nc *= 2;
        s->p = realloc(s->p, nc);
        CHECK_FATAL(s->p != NULL);
        s->cap = nc;
    }
    memcpy(s->p + s->n, d, n);
    s->n += n;
    s->p[s->n] = '\0';
}

static void sb_str(sbuf *s, const char *d)
{
    sb_add(s, d, strlen(d));
}

static void sb_ch(sbuf *s, char c)
{
    sb_add(s, &c, 1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- reference tokenizer --------------------------------------------------- */

typedef struct ref_rec {
    size_t start, end; /* first byte of the record's first line; its LF (or len) */
    uint64_t line;
    size_t nf;
    char **f;
    size_t *fl;
    /* each field's bytes as written, between its delimiters (an id keeps
     * them when it is unquoted), and whether it was quoted */
    size_t *raw_s, *raw_n;
    int *quoted;
    /* libcsv CSV_STRICT refused a byte after a closing quote: the record is
     * bad there and ends at the next LF */
    int stray;
    unsigned char s_char;
    uint64_t s_line;
    size_t s_col, s_fld;
} ref_rec;

typedef struct ref {
    ref_rec *r;
    size_t n, cap;
    int unterminated;
    ref_rec cur;
    int ended;
    uint64_t *line_at;
    size_t at;                                              /* offset of the byte being fed */
    size_t fstart;                                          /* where the field being read started */
    int quoted; /* libcsv's quoted flag before that byte */ /* line of each offset 0..len, as
                                                               libcsv's quote states say */
} ref;

static int ref_space(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* a lone CR ends a record as LF does; the LF of a CRLF then ends an empty
 * row, which libcsv drops */
static int ref_term(unsigned char c)
{
    return c == '\n' || c == '\r';
}

/* buf[i] is a line end: an LF, or a CR outside quotes (before_q: the byte
 * was read inside a quoted field) not followed by an LF */
static int ref_line_end(const char *buf, size_t len, size_t i, int before_q)
{
    if (buf[i] == '\n')
        return 1;
    return buf[i] == '\r' && !before_q && (i + 1 == len || buf[i + 1] != '\n');
}

static void ref_cb1(void *s, size_t n, void *d)
{
    ref *rf = d;
    ref_rec *c = &rf->cur;
    c->f = realloc(c->f, (c->nf + 1) * sizeof *c->f);
    c->fl = realloc(c->fl, (c->nf + 1) * sizeof *c->fl);
    CHECK_FATAL(c->f && c->fl);
    c->f[c->nf] = malloc(n + 1);
    CHECK_FATAL(c->f[c->nf] != NULL);
    memcpy(c->f[c->nf], s, n);
    c->f[c->nf][n] = '\0';
    c->fl[c->nf] = n;
    c->raw_s = realloc(c->raw_s, (c->nf + 1) * sizeof *c->raw_s);
    c->raw_n = realloc(c->raw_n, (c->nf + 1) * sizeof *c->raw_n);
    c->quoted = realloc(c->quoted, (c->nf + 1) * sizeof *c->quoted);
    CHECK_FATAL(c->raw_s && c->raw_n && c->quoted);
    c->raw_s[c->nf] = rf->fstart;
    c->raw_n[c->nf] = rf->at - rf->fstart;
    c->quoted[c->nf] = rf->quoted;
    c->nf++;
    rf->fstart = rf->at + 1;
}

static void ref_cb2(int c, void *d)
{
    (void)c;
    ((ref *)d)->ended = 1;
}

static void ref_push(ref *rf)
{
    if (rf->n == rf->cap) {
        rf->cap = rf->cap ? 2 * rf->cap : 64;
        rf->r = realloc(rf->r, rf->cap * sizeof *rf->r);
        CHECK_FATAL(rf->r != NULL);
    }
    rf->r[rf->n++] = rf->cur;
    memset(&rf->cur, 0, sizeof rf->cur);
}

static void ref_free(ref *rf)
{
    for (size_t i = 0; i < rf->n; i++) {
        for (size_t j = 0; j < rf->r[i].nf; j++)
            free(rf->r[i].f[j]);
        free(rf->r[i].f);
        free(rf->r[i].fl);
        free(rf->r[i].raw_s);
        free(rf->r[i].raw_n);
        free(rf->r[i].quoted);
    }
    for (size_t j = 0; j < rf->cur.nf; j++)
        free(rf->cur.f[j]);
    free(rf->cur.f);
    free(rf->cur.fl);
    free(rf->cur.raw_s);
    free(rf->cur.raw_n);
    free(rf->cur.quoted);
    free(rf->r);
    free(rf->line_at);
    memset(rf, 0, sizeof *rf);
}

/* pstate 0 is libcsv's ROW_NOT_BEGUN: leaving it marks where a record starts */
static void ref_parse(const char *buf, size_t len, uint64_t first_line, char delim, ref *rf)
{
    struct csv_parser p;
    memset(rf, 0, sizeof *rf);
    CHECK_FATAL(csv_init(&p, CSV_STRICT) == 0);
    csv_set_delim(&p, (unsigned char)delim);
    csv_set_space_func(&p, ref_space);
    csv_set_term_func(&p, ref_term);
    uint64_t line = first_line;
    size_t line_start = 0;
    rf->line_at = malloc((len + 1) * sizeof *rf->line_at);
    CHECK_FATAL(rf->line_at != NULL);
    for (size_t i = 0; i < len; i++) {
        rf->line_at[i] = line;
        int before = p.pstate;
        int before_q = p.pstate == 2 && p.quoted; /* FIELD_BEGUN in quotes */
        rf->ended = 0;
        rf->at = i;
        rf->quoted = p.quoted;
        if (before == 0)
            rf->fstart = line_start;
        if (csv_parse(&p, buf + i, 1, ref_cb1, ref_cb2, rf) != 1) {
            CHECK_FATAL(csv_error(&p) == CSV_EPARSE);
            p.status = 0;
            if (p.pstate != 3) {
                /* strict libcsv also refuses a '"' inside an unquoted field,
                 * which is literal here: take that byte leniently */
                csv_set_opts(&p, 0);
                CHECK_FATAL(csv_parse(&p, buf + i, 1, ref_cb1, ref_cb2, rf) == 1);
                csv_set_opts(&p, CSV_STRICT);
            } else { /* FIELD_MIGHT_HAVE_ENDED: a stray byte after a closing quote */
                rf->cur.stray = 1;
                rf->cur.s_char = (unsigned char)buf[i];
                rf->cur.s_line = line;
                rf->cur.s_col = i - line_start + 1;
                rf->cur.s_fld = rf->cur.nf;
                while (i < len && !ref_line_end(buf, len, i, 0))
                    rf->line_at[i++] = line;
                if (i < len)
                    rf->line_at[i] = line;
                rf->cur.end = i;
                ref_push(rf);
                csv_free(&p);
                CHECK_FATAL(csv_init(&p, CSV_STRICT) == 0);
                csv_set_delim(&p, (unsigned char)delim);
                csv_set_space_func(&p, ref_space);
                csv_set_term_func(&p, ref_term);
                line++;
                line_start = i + 1;
                continue;
            }
        }
        if (before == 0 && p.pstate != 0) {
            rf->cur.line = line;
            rf->cur.start = line_start;
        }
        if (rf->ended) {
            rf->cur.end = i;
            ref_push(rf);
        }
        if (ref_line_end(buf, len, i, before_q)) {
            line++;
            line_start = i + 1;
        }
    }
    rf->line_at[len] = line;
    rf->ended = 0;
    rf->at = len;
    rf->quoted = p.quoted;
    CHECK_FATAL(csv_parse(&p, "\n", 1, ref_cb1, ref_cb2, rf) == 1);
    if (rf->ended) {
        rf->cur.end = len;
        ref_push(rf);
    } else if (p.pstate != 0) {
        rf->unterminated = 1;
    }
    csv_free(&p);
}

/* ---- expected batches -------------------------------------------------------- */

static void fmt_reason(char *out, size_t outsz, ms_num_result r, const char *name, const char *v,
                       size_t vn)
{
    char nm[1024], val[512];
    ms_quote_excerpt(name, strlen(name), 128, nm, sizeof nm);
    ms_quote_excerpt(v, vn, 64, val, sizeof val);
    if (r == MS_NUM_MISSING)
        snprintf(out, outsz, "column \"%s\": missing value", nm);
    else
        snprintf(out, outsz, "column \"%s\": %s: \"%s\"", nm,
                 r == MS_NUM_RANGE      ? "value out of float32 range"
                 : r == MS_NUM_INFINITE ? "infinite value"
                                        : "not a number",
                 val);
}

/* The reference's bad row: the raw record without a CRLF's CR, capped at 1 KiB. */
static void ref_mark_bad(ms_batch *E, const ms_csv_layout *L, const char *data, const ref_rec *rec,
                         uint64_t line, size_t col, const char *cname, const char *reason)
{
    const char *raw = data + rec->start;
    size_t rn = rec->end - rec->start;
    char capped[1027];
    if (rn && raw[rn - 1] == '\r')
        rn--;
    if (rn > 1024) {
        memcpy(capped, raw, 1024);
        memcpy(capped + 1024, "...", 3);
        raw = capped;
        rn = 1027;
    }
    CHECK_FATAL(ms_batch_mark_bad(E, L->file, line, col, cname, reason, raw, rn, NULL) == MS_OK);
}

/* Append records [from, to) of rf (parsed from data) as a correct parser would. */
static void expect_rows(const ref *rf, size_t from, size_t to, const char *data,
                        const ms_csv_layout *L, ms_batch *E)
{
    for (size_t k = from; k < to; k++) {
        const ref_rec *rec = &rf->r[k];
        CHECK_FATAL(ms_batch_add_row(E, NULL) == MS_OK);
        size_t row = E->n_rows - 1;
        if (rec->stray) {
            char why[128], nm[1024], reason[2048];
            const char *cname = rec->s_fld < L->n_cols ? L->col_names[rec->s_fld] : NULL;
            unsigned char c = rec->s_char;
            if (c >= 0x20 && c < 0x7f && c != '\'')
                snprintf(why, sizeof why,
                         "unexpected character '%c' after a closing quote (character %zu)", c,
                         rec->s_col);
            else
                snprintf(why, sizeof why,
                         "unexpected byte 0x%02x after a closing quote (character %zu)",
                         (unsigned)c, rec->s_col);
            if (cname) {
                ms_quote_excerpt(cname, strlen(cname), 128, nm, sizeof nm);
                snprintf(reason, sizeof reason, "column \"%s\": %s", nm, why);
            } else {
                snprintf(reason, sizeof reason, "%s", why);
            }
            ref_mark_bad(E, L, data, rec, rec->s_line, rec->s_fld + 1, cname, reason);
            continue;
        }
        /* an unquoted id keeps its text as written, blanks included */
        size_t ic = (size_t)L->id_col;
        if (L->id_col >= 0 && rec->nf > ic)
            CHECK_FATAL((rec->quoted[ic] ? ms_batch_set_last_id(E, rec->f[ic], rec->fl[ic], NULL)
                                         : ms_batch_set_last_id(E, data + rec->raw_s[ic],
                                                                rec->raw_n[ic], NULL)) == MS_OK);
        char reason[2048];
        size_t col = 0;
        const char *cname = NULL;
        int bad = 0;
        if (rec->nf != L->n_cols) {
            bad = 1;
            snprintf(reason, sizeof reason, "expected %zu fields, found %zu", L->n_cols, rec->nf);
        } else {
            for (size_t j = 0; j < L->n_cols && !bad; j++) {
                int f = L->col_feature[j];
                if (f < 0)
                    continue;
                /* what pandas + a float32 library see: the double, cast */
                double d;
                ms_num_result r = ms_parse_f64(rec->f[j], rec->fl[j], &d);
                float v = (float)d;
                if (r == MS_NUM_OK && isinf(v))
                    r = MS_NUM_RANGE;
                if (r == MS_NUM_OK || (r == MS_NUM_MISSING && L->allow_missing)) {
                    ms_batch_f32(E, (size_t)f)[row] = v;
                } else {
                    bad = 1;
                    col = j + 1;
                    cname = L->col_names[j];
                    fmt_reason(reason, sizeof reason, r, cname, rec->f[j], rec->fl[j]);
                }
            }
        }
        if (bad) {
            ref_mark_bad(E, L, data, rec, rec->line, col, cname, reason);
        }
    }
}

static int batch_eq(const ms_batch *a, const ms_batch *b, const char *what)
{
    int ok = a->n_rows == b->n_rows && a->n_cols == b->n_cols && a->n_bad == b->n_bad &&
             a->has_ids == b->has_ids && a->errors_len == b->errors_len &&
             strcmp(a->first_error, b->first_error) == 0;
    if (ok && a->n_rows) {
        ok = batch_cols_eq(a, b) && memcmp(a->bad, b->bad, a->n_rows) == 0;
        if (ok && a->has_ids)
            ok = memcmp(a->id_off, b->id_off, (a->n_rows + 1) * sizeof(size_t)) == 0 &&
                 (a->id_off[a->n_rows] == 0 ||
                  memcmp(a->id_text, b->id_text, a->id_off[a->n_rows]) == 0);
    }
    if (ok && a->errors_len)
        ok = memcmp(a->errors, b->errors, a->errors_len) == 0;
    if (!ok) {
        fprintf(stderr, "batch mismatch (%s): rows %zu/%zu bad %zu/%zu errors %zu/%zu\n", what,
                a->n_rows, b->n_rows, a->n_bad, b->n_bad, a->errors_len, b->errors_len);
        fprintf(stderr, "  first_error: [%s]\n           vs [%s]\n", a->first_error,
                b->first_error);
        if (a->errors_len && b->errors_len)
            fprintf(stderr, "  errors:\n%.*s  vs\n%.*s",
                    (int)(a->errors_len > 600 ? 600 : a->errors_len), a->errors,
                    (int)(b->errors_len > 600 ? 600 : b->errors_len), b->errors);
    }
    return ok;
}

/* ---- header ------------------------------------------------------------------ */

static void test_header(void)
{
    ms_csv_header h;
    ms_error err;
    char want[512];
    const char *p;

    p = write_str("h1.csv", "a,b,c\n1,2,3\n");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_OK);
    CHECK(h.n_cols == 3 && strcmp(h.names[0], "a") == 0 && strcmp(h.names[2], "c") == 0);
    CHECK(h.data_offset == 6 && h.data_line == 2);
    ms_csv_header_free(&h);

    p = write_str("h2.csv", "\"x,y\",\"say \"\"hi\"\"\", plain \r\n1,2,3\r\n");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_OK);
    CHECK_FATAL(h.n_cols == 3);
    CHECK_STREQ(h.names[0], "x,y");
    CHECK_STREQ(h.names[1], "say \"hi\"");
    CHECK_STREQ(h.names[2], "plain");
    CHECK(h.data_offset == 28 && h.data_line == 2);
    ms_csv_header_free(&h);

    p = write_str("h3.csv", "a,\"b\"\r\n");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_OK);
    CHECK(h.n_cols == 2 && strcmp(h.names[0], "a") == 0 && strcmp(h.names[1], "b") == 0);
    CHECK(h.data_offset == 7 && h.data_line == 2);
    ms_csv_header_free(&h);

    p = write_str("h4.csv", "\xEF\xBB\xBF"
                            "a,b\n1,2\n");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_OK);
    CHECK(h.n_cols == 2 && strcmp(h.names[0], "a") == 0);
    CHECK(h.data_offset == 7 && h.data_line == 2);
    ms_csv_header_free(&h);

    /* the example of csv_reader.h, to the letter */
    p = write_str("data.csv", "a,x,b,x\n");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_EINPUT);
    snprintf(want, sizeof want, "%s:1:4: duplicate column name \"x\" (also column 2)", p);
    CHECK_STREQ(err.msg, want);
    CHECK(h.n_cols == 0 && h.names == NULL);
    ms_csv_header_free(&h);

    p = write_str("h5.csv", "b,a,c,a,b\n");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_EINPUT);
    snprintf(want, sizeof want, "%s:1:4: duplicate column name \"a\" (also column 2)", p);
    CHECK_STREQ(err.msg, want);

    p = write_str("empty.csv", "");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_EINPUT);
    snprintf(want, sizeof want, "%s: empty file (no header row)", p);
    CHECK_STREQ(err.msg, want);
    p = write_str("blank.csv", "\n \r\n\n");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_EINPUT);
    snprintf(want, sizeof want, "%s: empty file (no header row)", p);
    CHECK_STREQ(err.msg, want);
    p = write_str("bom.csv", "\xEF\xBB\xBF");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_EINPUT);
    snprintf(want, sizeof want, "%s: empty file (no header row)", p);
    CHECK_STREQ(err.msg, want);

    /* empty names are kept (pandas' index column, a trailing delimiter),
     * any number of them: only a name the run asks for must exist */
    p = write_str("h6.csv", ",a,,b\n1,2,3,4\n");
    CHECK_FATAL(ms_csv_read_header(p, ',', &h, &err) == MS_OK);
    CHECK(h.n_cols == 4 && h.names[0][0] == '\0' && strcmp(h.names[1], "a") == 0 &&
          h.names[2][0] == '\0' && strcmp(h.names[3], "b") == 0);
    ms_csv_header_free(&h);
    p = write_str("h7.csv", "a,b,\n");
    CHECK_FATAL(ms_csv_read_header(p, ',', &h, &err) == MS_OK);
    CHECK(h.n_cols == 3 && h.names[2][0] == '\0');
    ms_csv_header_free(&h);

    /* UTF-16 (either byte order) is named, not read as NUL-filled names */
    p = write_file("u16le.csv",
                   "\xFF\xFE"
                   "a\0,\0b\0\n\0",
                   10);
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_EINPUT);
    snprintf(want, sizeof want,
             "%s: file is UTF-16 (little-endian byte order mark); convert it to UTF-8", p);
    CHECK_STREQ(err.msg, want);
    p = write_file("u16be.csv", "\xFE\xFF\0a\0,\0b\0\n", 10);
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_EINPUT);
    snprintf(want, sizeof want,
             "%s: file is UTF-16 (big-endian byte order mark); convert it to UTF-8", p);
    CHECK_STREQ(err.msg, want);

    /* CR-only line endings are line ends, as pandas reads them: a header and
     * two records, on lines 2 and 3 */
    p = write_str("cronly.csv", "x,y\r1,2\r3,4\r");
    CHECK_FATAL(ms_csv_read_header(p, ',', &h, &err) == MS_OK);
    CHECK(h.n_cols == 2 && strcmp(h.names[1], "y") == 0);
    CHECK(h.data_offset == 4 && h.data_line == 2);
    {
        ms_csv_scanner *sc;
        ms_csv_chunk c;
        CHECK_FATAL(ms_csv_scanner_open(p, ',', h.data_offset, h.data_line, &sc, &err) == MS_OK);
        CHECK(ms_csv_scanner_next(sc, 1, 0, &c, &err) == MS_OK);
        CHECK(c.offset == 4 && c.length == 4 && c.n_records == 1 && c.first_line == 2);
        CHECK(ms_csv_scanner_next(sc, 1, 0, &c, &err) == MS_OK);
        CHECK(c.offset == 8 && c.length == 4 && c.n_records == 1 && c.first_line == 3);
        CHECK(ms_csv_scanner_next(sc, 1, 0, &c, &err) == MS_EOF);
        ms_csv_scanner_close(sc);
    }
    ms_csv_header_free(&h);
    {
        /* a CR-only file bigger than the 16 MiB header limit: one short header */
        size_t big = (size_t)17 << 20;
        char *t = malloc(big + 1);
        CHECK_FATAL(t != NULL);
        for (size_t i = 0; i < big; i += 4)
            memcpy(t + i, "1,2\r", 4);
        t[big] = '\0';
        p = write_str("cronly_big.csv", t);
        free(t);
        CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_OK);
        CHECK(h.n_cols == 2 && h.data_offset == 4);
        ms_csv_header_free(&h);
    }
    /* a CRLF is one line end, a CR before it a lone one */
    p = write_str("crcrlf.csv", "x,y\r\r\n1,2\n");
    CHECK_FATAL(ms_csv_read_header(p, ',', &h, &err) == MS_OK);
    CHECK(h.data_offset == 4 && h.data_line == 2);
    ms_csv_header_free(&h);
    p = write_str("cronly2.csv", "x,y\r\r"); /* a header alone, CR-ended: fine */
    CHECK_FATAL(ms_csv_read_header(p, ',', &h, &err) == MS_OK);
    CHECK(h.n_cols == 2 && strcmp(h.names[1], "y") == 0);
    ms_csv_header_free(&h);

    /* a stray byte after a closing quote in the header */
    p = write_str("hstray.csv", "a,\"b\"c,d\n1,2,3\n");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_EINPUT);
    snprintf(want, sizeof want,
             "%s:1:2: header: unexpected character 'c' after a closing quote (character 6)", p);
    CHECK_STREQ(err.msg, want);

    p = write_str("h8.csv", "a,\"b\n1,2\n");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_EINPUT);
    snprintf(want, sizeof want, "%s:1:2: unterminated quoted field (opened at character 3)", p);
    CHECK_STREQ(err.msg, want);

    /* columns count from after a BOM, as an editor shows them */
    p = write_str("h8b.csv", "\xEF\xBB\xBF"
                             "a,\"b\n");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_EINPUT);
    snprintf(want, sizeof want, "%s:1:2: unterminated quoted field (opened at character 3)", p);
    CHECK_STREQ(err.msg, want);

    /* blank lines before the header are skipped; a quoted LF in a name */
    p = write_str("h9.csv", "\n\r\n\"a\nb\",c\n1,2\n");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_OK);
    CHECK(h.n_cols == 2 && strcmp(h.names[0], "a\nb") == 0 && strcmp(h.names[1], "c") == 0);
    CHECK(h.data_offset == 11 && h.data_line == 5);
    ms_csv_header_free(&h);

    /* header only, with and without the final newline: no data */
    const char *only[] = {"a,b", "a,b\n", "a,b\r\n\r\n"};
    for (size_t i = 0; i < 3; i++) {
        p = write_str("h10.csv", only[i]);
        CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_OK);
        CHECK(h.n_cols == 2);
        ms_csv_scanner *sc;
        ms_csv_chunk c;
        CHECK(ms_csv_scanner_open(p, ',', h.data_offset, h.data_line, &sc, &err) == MS_OK);
        ms_status st = ms_csv_scanner_next(sc, 10, 1000, &c, &err);
        if (i < 2) {
            CHECK(st == MS_EOF);
        } else { /* trailing blank lines: one empty chunk, then EOF */
            CHECK(st == MS_OK && c.n_records == 0 && c.length == 2 && c.first_line == 2);
            CHECK(ms_csv_scanner_next(sc, 10, 1000, &c, &err) == MS_EOF);
        }
        CHECK(ms_csv_scanner_next(sc, 10, 1000, &c, &err) == MS_EOF);
        ms_csv_scanner_close(sc);
        ms_csv_header_free(&h);
    }

    p = write_str("h11.csv", " a\t;\tb c ;\"d\" \n");
    CHECK(ms_csv_read_header(p, ';', &h, &err) == MS_OK);
    CHECK(h.n_cols == 3 && strcmp(h.names[0], "a") == 0 && strcmp(h.names[1], "b c") == 0 &&
          strcmp(h.names[2], "d") == 0);
    ms_csv_header_free(&h);
    /* names keep their blanks, as pandas reads them; only the CR goes */
    p = write_str("h12.csv", "a\tb\t c\r\n");
    CHECK(ms_csv_read_header(p, '\t', &h, &err) == MS_OK);
    CHECK(h.n_cols == 3 && strcmp(h.names[2], " c") == 0);
    ms_csv_header_free(&h);
    p = write_str("h12b.csv", " a , b,c \r\n");
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_OK);
    CHECK(h.n_cols == 3 && strcmp(h.names[0], " a ") == 0 && strcmp(h.names[1], " b") == 0 &&
          strcmp(h.names[2], "c ") == 0);
    ms_csv_header_free(&h);

    snprintf(want, sizeof want, "%s/no-such-file.csv", tmpdir);
    CHECK(ms_csv_read_header(want, ',', &h, &err) == MS_EIO);
    CHECK(strstr(err.msg, "no-such-file.csv: cannot open") != NULL);
    CHECK(ms_csv_read_header(p, '"', &h, &err) == MS_EUSAGE);

    /* a header over 16 MiB is refused without reading the whole file */
    size_t big = (16u << 20) + 100;
    char *b = malloc(big + 1);
    CHECK_FATAL(b != NULL);
    memset(b, 'a', big);
    b[big] = '\n';
    p = write_file("hbig.csv", b, big + 1);
    free(b);
    CHECK(ms_csv_read_header(p, ',', &h, &err) == MS_EINPUT);
    CHECK(strstr(err.msg, "header row longer than 16 MiB") != NULL);
    unlink(p);
}

/* ---- scanner + parser against the reference ------------------------------------ */

static const char *const COLS4[] = {"id", "a", "b", "c", "extra"};

static void gen_field(sbuf *s, int col, const char *eol)
{
    static const char *const ids[] = {"r1",
                                      "x y",
                                      "  padded  ",
                                      "\"q,uo\"",
                                      "\"say \"\"hi\"\"\"",
                                      "\"multi\nline\"",
                                      "\"crlf\r\nline\"",
                                      "",
                                      "\"\"",
                                      "\"a\"b\"",
                                      "\"end\" ",
                                      "1\"2",
                                      "\"\n\n\""};
    static const char *const nums[] = {"1.5",     "-2",  "1e3", " 3.25 ",  "",       "abc",
                                       "1e999",   "inf", "nan", "\"4.5\"", "\"7\" ", "\t0.125",
                                       "\"1,5\"", "NA",  "-0",  "\"\"",    "\"2\n\""};
    if (col == 0) {
        const char *t = ids[rndn(sizeof ids / sizeof *ids)];
        if (strstr(t, "\r\n") && strcmp(eol, "\n") == 0)
            t = "\"lf\nonly\"";
        sb_str(s, t);
    } else {
        sb_str(s, nums[rndn(sizeof nums / sizeof *nums)]);
    }
}

/* header "id,a,b,c" and n records; mostly 4 fields, blank lines between */
static void gen_file(sbuf *s, size_t n, int crlf, int final_nl)
{
    const char *eol = crlf ? "\r\n" : "\n";
    static const char *const blanks[] = {"", "\r", "  ", " \t\r"};
    s->n = 0;
    sb_str(s, "id,a,b,c");
    sb_str(s, eol);
    for (size_t i = 0; i < n; i++) {
        if (rndn(8) == 0) {
            sb_str(s, blanks[rndn(4)]);
            sb_str(s, eol);
        }
        size_t nf = rndn(16) == 0 ? 3 + 2 * rndn(2) : 4;
        for (size_t j = 0; j < nf; j++) {
            if (j)
                sb_ch(s, ',');
            gen_field(s, (int)j, eol);
        }
        if (i + 1 < n || final_nl)
            sb_str(s, eol);
    }
}

static void check_layout_runs(const char *path, const char *data, size_t dlen, uint64_t dline,
                              const ref *rf, size_t max_records, size_t max_bytes,
                              const ms_csv_layout *lays, size_t n_lays)
{
    ms_error err;
    ms_csv_scanner *sc;
    ms_batch acc[4], E[4], whole[4];
    CHECK_FATAL(n_lays <= 4);
    for (size_t l = 0; l < n_lays; l++) {
        ms_batch_init(&acc[l], lays[l].n_features, F32S, lays[l].id_col >= 0);
        ms_batch_init(&E[l], lays[l].n_features, F32S, lays[l].id_col >= 0);
        ms_batch_init(&whole[l], lays[l].n_features, F32S, lays[l].id_col >= 0);
    }
    /* the data region is the tail of the file */
    FILE *f = fopen(path, "rb");
    CHECK_FATAL(f != NULL);
    fseek(f, 0, SEEK_END);
    off_t doff = (off_t)ftell(f) - (off_t)dlen;
    fclose(f);

    CHECK_FATAL(ms_csv_scanner_open(path, ',', doff, dline, &sc, &err) == MS_OK);
    size_t next = 0, rec_idx = 0, n_chunks = 0;
    ms_csv_chunk c;
    ms_status st;
    while ((st = ms_csv_scanner_next(sc, max_records, max_bytes, &c, &err)) == MS_OK) {
        n_chunks++;
        size_t co = (size_t)(c.offset - doff);
        CHECK_MSG(co == next, "chunk at %zu, expected %zu (mr %zu mb %zu)", co, next, max_records,
                  max_bytes);
        CHECK(c.length > 0 && co + c.length <= dlen);
        CHECK_MSG(c.first_line == rf->line_at[co], "first_line %llu at %zu, reference %llu",
                  (unsigned long long)c.first_line, co, (unsigned long long)rf->line_at[co]);
        size_t cend = co + c.length;
        /* records that start in the chunk must end in it */
        size_t k = rec_idx;
        while (k < rf->n && rf->r[k].start < cend) {
            CHECK_MSG(rf->r[k].end < cend || (rf->r[k].end == dlen && cend == dlen),
                      "record %zu [%zu,%zu] cut by chunk end %zu", k, rf->r[k].start, rf->r[k].end,
                      cend);
            k++;
        }
        CHECK_MSG(c.n_records == k - rec_idx, "chunk has %zu records, reference %zu", c.n_records,
                  k - rec_idx);
        CHECK(c.n_records <= max_records);
        CHECK(c.length <= max_bytes || c.n_records <= 1);
        CHECK(c.n_records > 0 || cend == dlen);
        for (size_t l = 0; l < n_lays; l++) {
            size_t before = acc[l].n_rows;
            st = ms_csv_parse_chunk(data + co, c.length, c.first_line, &lays[l], &acc[l], &err);
            CHECK_MSG(st == MS_OK, "%s", err.msg);
            CHECK(acc[l].n_rows - before == c.n_records);
        }
        rec_idx = k;
        next = cend;
    }
    CHECK_MSG(st == MS_EOF, "scanner: %s", err.msg);
    CHECK(next == dlen);
    CHECK(rec_idx == rf->n);
    if (max_records >= 1000000 && max_bytes >= 1000000)
        CHECK(n_chunks == (dlen > 0));
    ms_csv_scanner_close(sc);
    for (size_t l = 0; l < n_lays; l++) {
        expect_rows(rf, 0, rf->n, data, &lays[l], &E[l]);
        CHECK(ms_csv_parse_chunk(data, dlen, dline, &lays[l], &whole[l], &err) == MS_OK);
        char what[96];
        snprintf(what, sizeof what, "layout %zu mr %zu mb %zu: chunks vs reference", l, max_records,
                 max_bytes);
        CHECK(batch_eq(&acc[l], &E[l], what));
        snprintf(what, sizeof what, "layout %zu: whole vs chunks", l);
        CHECK(batch_eq(&whole[l], &acc[l], what));
        ms_batch_free(&acc[l]);
        ms_batch_free(&E[l]);
        ms_batch_free(&whole[l]);
    }
}

static void test_scanner(void)
{
    static const int feat4[] = {-1, 0, 1, 2};
    static const int feat5[] = {-1, 0, 1, 2, -1};
    static const int none4[] = {-1, -1, -1, -1};
    static const size_t mrs[] = {1, 2, 3, 7, 1000000};
    static const size_t mbs[] = {1, 2, 3, 4, 5, 7, 10, 16, 25, 40, 64, 100, 200, 1000, 1000000};
    sbuf s = {0};
    for (int v = 0; v < 8; v++) {
        int crlf = v & 1, final_nl = !(v & 2);
        gen_file(&s, 40 + (size_t)v * 10, crlf, final_nl);
        if (v == 7) /* trailing blank lines after the last record */
            sb_str(&s, "\n \r\n\n");
        char name[32];
        snprintf(name, sizeof name, "scan%d.csv", v);
        const char *path = write_file(name, s.p, s.n);
        ms_csv_header h;
        ms_error err;
        CHECK_FATAL(ms_csv_read_header(path, ',', &h, &err) == MS_OK);
        CHECK(h.n_cols == 4);
        const char *data = s.p + h.data_offset;
        size_t dlen = s.n - (size_t)h.data_offset;
        ref rf;
        ref_parse(data, dlen, h.data_line, ',', &rf);
        CHECK(!rf.unterminated);
        ms_csv_layout lays[3] = {
            {',', 4, feat4, 0, 3, 1, "scan.csv", (char *const *)COLS4},
            {',', 4, feat4, -1, 3, 0, "scan.csv", (char *const *)COLS4},
            /* one column too many: every row bad, which checks lines and raw text */
            {',', 5, feat5, 1, 3, 1, "scan.csv", (char *const *)COLS4},
        };
        for (size_t i = 0; i < sizeof mrs / sizeof *mrs; i++)
            for (size_t j = 0; j < sizeof mbs / sizeof *mbs; j++)
                check_layout_runs(path, data, dlen, h.data_line, &rf, mrs[i], mbs[j], lays, 3);
        /* every column as the id: the tokenizer's field texts, all of them */
        for (int idc = 0; idc < 4; idc++) {
            ms_csv_layout li = {',', 4, none4, idc, 0, 1, "scan.csv", (char *const *)COLS4};
            check_layout_runs(path, data, dlen, h.data_line, &rf, 3, 50, &li, 1);
            check_layout_runs(path, data, dlen, h.data_line, &rf, 1000000, 1000000, &li, 1);
        }
        ref_free(&rf);
        ms_csv_header_free(&h);
    }
    free(s.p);
}

/* ---- fast path vs libcsv ------------------------------------------------------ */

static void gen_quote_free(sbuf *s, char delim)
{
    static const char *const toks[] = {"1",   "2.5",  "-3e2", "abc",       "",     "1e999", "inf",
                                       "nan", "NA",   "x y",  "0.1234567", "-0",   "1.2.3", "+.5",
                                       "\r",  "a\rb", "\\",   "NULL",      "-inf", "1e-50"};
    static const char *const pads[] = {"", "", "", " ", "\t", "\r", " \r", "\t \t"};
    size_t nrec = rndn(8) ? 1 + rndn(30) : 1 + rndn(1500); /* past the scan's 4 KiB windows */
    s->n = 0;
    for (size_t i = 0; i < nrec; i++) {
        size_t nf = rndn(10) == 0 ? 0 : 1 + rndn(6);
        if (nf == 0) { /* a blank line */
            sb_str(s, pads[rndn(8)]);
        }
        for (size_t j = 0; j < nf; j++) {
            if (j)
                sb_ch(s, delim);
            sb_str(s, pads[rndn(8)]);
            if (rndn(40) == 0)
                sb_ch(s, '\0');
            sb_str(s, toks[rndn(sizeof toks / sizeof *toks)]);
            sb_str(s, pads[rndn(8)]);
        }
        if (i + 1 < nrec || rndn(2))
            sb_str(s, rndn(3) == 0 ? "\r\n" : "\n");
    }
}

static void test_fast_vs_libcsv(void)
{
    static const char delims[] = {',', ';', '\t', ' ', '|'};
    static const int featA[] = {0, -1, 1, 2};
    static const int featB[] = {2, 1, 0, -1};
    static const char *const names[] = {"f0", "f1", "f2", "f3"};
    sbuf s = {0};
    ms_batch a, b, e;
    ms_error ea, eb;
    for (int it = 0; it < 3000; it++) {
        char delim = delims[rndn(sizeof delims)];
        gen_quote_free(&s, delim);
        ms_csv_layout L = {delim,        4,       rndn(2) ? featA : featB, (int)rndn(5) - 1, 3,
                           (int)rndn(2), "q.csv", (char *const *)names};
        ms_batch_init(&a, 3, F32S, L.id_col >= 0);
        ms_batch_init(&b, 3, F32S, L.id_col >= 0);
        ms_batch_init(&e, 3, F32S, L.id_col >= 0);
        uint64_t line = 1 + rndn(1000);
        /* the splitter's scalar and SIMD structural scans, alternately */
        int scalar = it % 2 && ms_isa_supported(MS_ISA_AVX2);
        if (scalar)
            setenv("MPISCORE_ISA", "scalar", 1);
        CHECK(ms_csv_parse_chunk(s.p, s.n, line, &L, &a, &ea) == MS_OK);
        if (scalar)
            unsetenv("MPISCORE_ISA");
        CHECK(ms_csv_parse_chunk_libcsv(s.p, s.n, line, &L, &b, &eb) == MS_OK);
        ref rf;
        ref_parse(s.p, s.n, line, delim, &rf);
        expect_rows(&rf, 0, rf.n, s.p, &L, &e);
        ref_free(&rf);
        if (!batch_eq(&a, &b, "fast vs libcsv") || !batch_eq(&a, &e, "fast vs reference")) {
            CHECK_MSG(0, "iteration %d, delim 0x%02x, %s scan", it, delim,
                      scalar ? "scalar" : "best");
            fprintf(stderr, "chunk: [");
            fwrite(s.p, 1, s.n, stderr);
            fprintf(stderr, "]\n");
            it = 1 << 30;
        }
        ms_batch_free(&a);
        ms_batch_free(&b);
        ms_batch_free(&e);
    }
    free(s.p);
}

/* The structural scan (csv_seps.h): the AVX2 masks equal the scalar ones
 * on bytes dense in delimiters, LF, CR and look-alikes, for every delimiter
 * the reader accepts. */
static void test_seps(void)
{
    static const char delims[] = {',', ';', '\t', ' ', '|', 'a', '\x80', '\xff'};
    static const char hot[] = {',', ';', '\t',   ' ',    '|',           '\n',          '\r',
                               '"', 'a', '\x80', '\xff', '\x0a' ^ 0x80, '\x0d' ^ 0x20, '\0'};
    char buf[64 * 9];
    uint64_t ms[9], mv[9];
    if (!ms_isa_supported(MS_ISA_AVX2))
        fprintf(stderr, "test_csv_reader: no AVX2 on this CPU; only the scalar scan is checked\n");
    for (int it = 0; it < 2000; it++) {
        unsigned char d = (unsigned char)delims[rndn(sizeof delims)];
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = rndn(2) ? hot[rndn(sizeof hot)] : (char)rnd();
        size_t nb = 1 + rndn(9);
        ms_csv_seps_scalar(buf, nb, d, ms);
        for (size_t k = 0; k < nb; k++)
            for (size_t i = 0; i < 64; i++) {
                unsigned char c = (unsigned char)buf[64 * k + i];
                CHECK(((ms[k] >> i) & 1) == (c == d || c == '\n' || c == '\r'));
            }
        if (ms_isa_supported(MS_ISA_AVX2)) {
            ms_csv_seps_avx2(buf, nb, d, mv);
            CHECK(memcmp(ms, mv, nb * sizeof *ms) == 0);
        }
    }
    CHECK(ms_csv_seps_pick(MS_ISA_SCALAR) == ms_csv_seps_scalar);
    CHECK(ms_csv_seps_pick(MS_ISA_AVX2) == ms_csv_seps_avx2);
    CHECK(ms_csv_seps_pick(MS_ISA_AVX512) == ms_csv_seps_avx2);
}

/* Kept columns (ms_csv_parse_chunk_keep): each kept column holds its
 * field's text exactly as the id column gets it, from both tokenizers and
 * both scans: any column, twice, or the id column itself; a row too short
 * keeps the empty text; a kept column is still a feature. */
static void test_keep(void)
{
    static const int feat[] = {0, -1, 1, 2};
    static const char *const names[] = {"f0", "f1", "f2", "f3"};
    sbuf s = {0};
    for (int it = 0; it < 1500; it++) {
        char delim = ",; |"[rndn(4)];
        gen_quote_free(&s, delim);
        if (rndn(3) == 0) { /* a quoted field somewhere: the libcsv path */
            sb_ch(&s, '\n');
            sb_str(&s, "\" q,\"\"\" ");
            sb_ch(&s, delim);
            sb_str(&s, "2\n");
        }
        int keep_col[3] = {(int)rndn(4), (int)rndn(4), (int)rndn(4)};
        size_t n_keep = rndn(4);
        ms_csv_layout L = {delim, 4, feat, -1, 3, 1, "k.csv", (char *const *)names};
        ms_batch kb, ib[3];
        ms_error err;
        ms_batch_init(&kb, 3, F32S, 0);
        CHECK_FATAL(ms_batch_set_keep(&kb, n_keep, &err) == MS_OK);
        int scalar = it % 2 && ms_isa_supported(MS_ISA_AVX2);
        if (scalar)
            setenv("MPISCORE_ISA", "scalar", 1);
        CHECK(ms_csv_parse_chunk_keep(s.p, s.n, 1, &L, keep_col, &kb, &err) == MS_OK);
        if (scalar)
            unsetenv("MPISCORE_ISA");
        for (size_t k = 0; k < n_keep; k++) {
            ms_csv_layout Li = L;
            Li.id_col = keep_col[k];
            ms_batch_init(&ib[k], 3, F32S, 1);
            CHECK(ms_csv_parse_chunk(s.p, s.n, 1, &Li, &ib[k], &err) == MS_OK);
            CHECK(ib[k].n_rows == kb.n_rows);
            CHECK(batch_cols_eq(&kb, &ib[k]) && kb.n_bad == ib[k].n_bad);
            for (size_t r = 0; r < kb.n_rows && r < ib[k].n_rows; r++) {
                const ms_textcol *t = &kb.keep[k];
                size_t kn = t->off[r + 1] - t->off[r], in = ib[k].id_off[r + 1] - ib[k].id_off[r];
                CHECK(!t->null[r]);
                if (kn != in ||
                    (kn && memcmp(t->text + t->off[r], ib[k].id_text + ib[k].id_off[r], kn))) {
                    CHECK_MSG(0, "iteration %d: kept column %zu of row %zu differs from the id", it,
                              k, r);
                    r = kb.n_rows;
                    it = 1 << 30;
                }
            }
            ms_batch_free(&ib[k]);
        }
        /* a keep map the batch does not carry is refused, not read */
        if (n_keep)
            CHECK(ms_csv_parse_chunk(s.p, s.n, 1, &L, &kb, &err) == MS_EINTERNAL);
        ms_batch_free(&kb);
    }
    free(s.p);
}

/* ---- typed columns ------------------------------------------------------------ */

/* Columns as a preprocessing program's inputs would be: a float64 number,
 * a string category (unknowns allowed), a strict one (unknown = row
 * error), a numeric category. Both tokenizers fill them alike. */
static void test_typed_columns(void)
{
    ms_error err;
    static const char *const names[] = {"id", "lat", "svc", "contract", "n"};
    static const int feat[] = {-1, 0, 1, 2, 3};
    const char *svc[] = {"No", "Yes", "No phone service"};
    const char *con[] = {"Month-to-month", "One year"};
    double nums[] = {1, 2};
    ms_colspec spec[4] = {{.name = "lat", .kind = MS_COL_NUM, .prec = MS_PREC_F64},
                          {.name = "svc", .kind = MS_COL_CAT},
                          {.name = "contract", .kind = MS_COL_CAT, .unknown_is_error = 1},
                          {.name = "n", .kind = MS_COL_CAT}};
    CHECK_FATAL(ms_dict_create_str(svc, 3, &spec[1].dict, &err) == MS_OK);
    CHECK_FATAL(ms_dict_create_str(con, 2, &spec[2].dict, &err) == MS_OK);
    CHECK_FATAL(ms_dict_create_num(nums, 2, &spec[3].dict, &err) == MS_OK);
    ms_csv_layout L = {',', 5, feat, 0, 4, 1, "t.csv", (char *const *)names};
    const char *d = "a,48.9,No phone service,One year,2\n"
                    "b,47.1500,yes,Month-to-month,1.0\n"
                    "c,,,One year,\n"
                    "d,1,No,Two year,1\n"
                    "e,2,\"No phone service\",\"One year\",\"2\"\n";
    for (int pass = 0; pass < 2; pass++) {
        ms_batch b;
        ms_batch_init(&b, 4, spec, 1);
        size_t n =
            pass ? strlen(d) - strlen("e,2,\"No phone service\",\"One year\",\"2\"\n") : strlen(d);
        CHECK(ms_csv_parse_chunk_libcsv(d, n, 2, &L, &b, &err) == MS_OK);
        if (pass) { /* the fast path: the same chunk without its quoted record */
            ms_batch f;
            ms_batch_init(&f, 4, spec, 1);
            CHECK(ms_csv_parse_chunk(d, n, 2, &L, &f, &err) == MS_OK);
            CHECK(f.n_rows == b.n_rows && batch_cols_eq(&f, &b) &&
                  !strcmp(f.first_error, b.first_error));
            ms_batch_free(&f);
        }
        const double *lat = ms_batch_f64(&b, 0);
        const int32_t *s = ms_batch_codes(&b, 1), *c = ms_batch_codes(&b, 2),
                      *k = ms_batch_codes(&b, 3);
        CHECK_FATAL(b.n_rows == (pass ? 4u : 5u));
        CHECK(lat[0] == 48.9 && lat[1] == 47.15 && isnan(lat[2]));
        CHECK(s[0] == 2 && s[1] == MS_CODE_UNKNOWN && s[2] == MS_CODE_MISSING);
        CHECK(c[0] == 1 && c[1] == 0 && c[2] == 1);
        CHECK(k[0] == 1 && k[1] == 0 && k[2] == MS_CODE_MISSING);
        CHECK(b.n_bad == 1 && b.bad[3] && c[3] == MS_CODE_MISSING && isnan(lat[3]));
        CHECK_STREQ(b.first_error,
                    "t.csv:5:4: unknown category \"Two year\" in column \"contract\"");
        if (!pass)
            CHECK(s[4] == 2 && c[4] == 1 && k[4] == 1 && lat[4] == 2);
        ms_batch_free(&b);
    }
    for (int i = 1; i < 4; i++)
        ms_dict_free(spec[i].dict);
}

/* ---- row errors --------------------------------------------------------------- */

static void test_errors(void)
{
    static const char *const names[] = {"id", "age", "x"};
    static const int feat[] = {-1, 0, 1};
    ms_csv_layout L = {',', 3, feat, 0, 2, 0, "data.csv", (char *const *)names};
    ms_batch b;
    ms_error err;
    ms_batch_init(&b, 2, F32S, 1);

    const char *d = "7,abc,1\n8,1e999,2\n9,3,inf\n10,nan,4\n11,5\n12,1,2,3\n13, 2.5 ,\"-1\"\r\n";
    CHECK(ms_csv_parse_chunk(d, strlen(d), 2, &L, &b, &err) == MS_OK);
    CHECK_FATAL(b.n_rows == 7);
    CHECK(b.n_bad == 6 && b.bad[0] && b.bad[5] && !b.bad[6]);
    CHECK_STREQ(b.first_error, "data.csv:2:2: column \"age\": not a number: \"abc\"");
    const char *want_errors =
        "data.csv,2,age,\"column \"\"age\"\": not a number: \"\"abc\"\"\",\"7,abc,1\"\n"
        "data.csv,3,age,\"column \"\"age\"\": value out of float32 range: \"\"1e999\"\"\","
        "\"8,1e999,2\"\n"
        "data.csv,4,x,\"column \"\"x\"\": infinite value: \"\"inf\"\"\",\"9,3,inf\"\n"
        "data.csv,5,age,\"column \"\"age\"\": missing value\",\"10,nan,4\"\n"
        "data.csv,6,,\"expected 3 fields, found 2\",\"11,5\"\n"
        "data.csv,7,,\"expected 3 fields, found 4\",\"12,1,2,3\"\n";
    CHECK(b.errors_len == strlen(want_errors) && memcmp(b.errors, want_errors, b.errors_len) == 0);
    if (b.errors_len != strlen(want_errors))
        fprintf(stderr, "%.*s", (int)b.errors_len, b.errors);
    CHECK(bx(&b, 12) == 2.5f && bx(&b, 13) == -1.0f && isnan(bx(&b, 0)));
    CHECK(b.id_off[7] - b.id_off[6] == 2 && memcmp(b.id_text + b.id_off[6], "13", 2) == 0);
    CHECK(b.id_off[5] - b.id_off[4] == 2 && memcmp(b.id_text + b.id_off[4], "11", 2) == 0);

    /* allow_missing: nan and empty are NaN, not errors */
    ms_batch_reset(&b);
    L.allow_missing = 1;
    d = "1,nan,\n2,,NA\n";
    CHECK(ms_csv_parse_chunk(d, strlen(d), 2, &L, &b, &err) == MS_OK);
    CHECK(b.n_rows == 2 && b.n_bad == 0 && isnan(bx(&b, 0)) && isnan(bx(&b, 3)));
    L.allow_missing = 0;

    /* an LF inside a quoted id: later rows keep their physical line */
    const char *path = write_str("nl.csv", "id,age,x\n\"a\nb\",1,2\nc,zz,3\n\"d\r\n\",4,5\ne,6\n");
    ms_csv_header h;
    CHECK_FATAL(ms_csv_read_header(path, ',', &h, &err) == MS_OK);
    ms_csv_scanner *sc;
    ms_csv_chunk c;
    CHECK_FATAL(ms_csv_scanner_open(path, ',', h.data_offset, h.data_line, &sc, &err) == MS_OK);
    CHECK(ms_csv_scanner_next(sc, 100, 1 << 20, &c, &err) == MS_OK);
    CHECK(c.n_records == 4 && c.first_line == 2);
    CHECK(ms_csv_scanner_next(sc, 100, 1 << 20, &c, &err) == MS_EOF);
    ms_csv_scanner_close(sc);
    {
        FILE *f = fopen(path, "rb");
        char buf[256];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        ms_batch_reset(&b);
        CHECK(ms_csv_parse_chunk(buf + h.data_offset, n - (size_t)h.data_offset, h.data_line, &L,
                                 &b, &err) == MS_OK);
        CHECK(b.n_rows == 4 && b.n_bad == 2);
        CHECK_STREQ(b.first_error, "data.csv:4:2: column \"age\": not a number: \"zz\"");
        CHECK(b.id_off[1] == 3 && memcmp(b.id_text, "a\nb", 3) == 0);
        CHECK(strstr(b.errors, "data.csv,7,,\"expected 3 fields, found 2\",\"e,6\"\n") != NULL);
        CHECK(b.id_off[3] - b.id_off[2] == 3 && memcmp(b.id_text + b.id_off[2], "d\r\n", 3) == 0);
    }
    ms_csv_header_free(&h);

    /* unterminated quote at EOF: the records before it first, then the error */
    path = write_str("unterm.csv", "id,age,x\n1,2,3\n2,\"3\n4,5,6\n");
    char want[512];
    snprintf(want, sizeof want, "%s:3:2: unterminated quoted field (opened at character 3)", path);
    CHECK_FATAL(ms_csv_read_header(path, ',', &h, &err) == MS_OK);
    CHECK_FATAL(ms_csv_scanner_open(path, ',', h.data_offset, h.data_line, &sc, &err) == MS_OK);
    CHECK(ms_csv_scanner_next(sc, 100, 1 << 20, &c, &err) == MS_OK);
    CHECK(c.n_records == 1 && c.length == 6);
    CHECK(ms_csv_scanner_next(sc, 100, 1 << 20, &c, &err) == MS_EINPUT);
    CHECK_STREQ(err.msg, want);
    CHECK(ms_csv_scanner_next(sc, 100, 1 << 20, &c, &err) == MS_EINPUT);
    ms_csv_scanner_close(sc);
    {
        const char *dd = "1,2,3\n2,\"3\n4,5,6\n";
        ms_csv_layout L2 = L;
        L2.file = path;
        ms_batch_reset(&b);
        CHECK(ms_csv_parse_chunk(dd, strlen(dd), 2, &L2, &b, &err) == MS_EINPUT);
        CHECK_STREQ(err.msg, want);
        ms_batch_reset(&b);
        CHECK(ms_csv_parse_chunk_libcsv(dd, strlen(dd), 2, &L2, &b, &err) == MS_EINPUT);
        CHECK_STREQ(err.msg, want);
    }
    ms_csv_header_free(&h);
    ms_batch_free(&b);
}

/* A 10 MB field: one chunk of its own, one bad row, excerpts capped. */
static void test_huge_field(void)
{
    static const char *const names[] = {"id", "x"};
    static const int feat[] = {-1, 0};
    ms_csv_layout L = {',', 2, feat, 0, 1, 0, "big.csv", (char *const *)names};
    size_t big = 10u << 20;
    for (int quoted = 0; quoted < 2; quoted++) {
        sbuf s = {0};
        sb_str(&s, "id,x\n1,2\n7,");
        if (quoted)
            sb_ch(&s, '"');
        size_t at = s.n;
        for (size_t i = 0; i < big; i += 4096) {
            char blk[4096];
            memset(blk, 'a', sizeof blk);
            if (quoted)
                blk[100] = '\n', blk[200] = ',';
            sb_add(&s, blk, sizeof blk);
        }
        (void)at;
        if (quoted)
            sb_ch(&s, '"');
        sb_str(&s, "\r\n3,4\n");
        const char *path = write_file("big.csv", s.p, s.n);
        ms_csv_header h;
        ms_error err;
        CHECK_FATAL(ms_csv_read_header(path, ',', &h, &err) == MS_OK);
        ms_csv_scanner *sc;
        ms_csv_chunk c[4];
        CHECK_FATAL(ms_csv_scanner_open(path, ',', h.data_offset, h.data_line, &sc, &err) == MS_OK);
        size_t nc = 0;
        ms_status st;
        while (nc < 4 && (st = ms_csv_scanner_next(sc, 1000, 1 << 20, &c[nc], &err)) == MS_OK)
            nc++;
        CHECK(nc == 3);
        CHECK(c[0].n_records == 1 && c[1].n_records == 1 && c[2].n_records == 1);
        CHECK(c[1].length == big + 4 + 2 * (size_t)quoted && c[1].first_line == 3);
        uint64_t lf_in = quoted ? big / 4096 : 0;
        CHECK(c[2].first_line == 4 + lf_in);
        ms_csv_scanner_close(sc);
        ms_batch b;
        ms_batch_init(&b, 1, F32S, 1);
        CHECK(ms_csv_parse_chunk(s.p + c[1].offset, c[1].length, c[1].first_line, &L, &b, &err) ==
              MS_OK);
        CHECK(b.n_rows == 1 && b.n_bad == 1 && b.id_len == 1 && b.id_text[0] == '7');
        CHECK(strstr(b.first_error, "big.csv:3:2: column \"x\": not a number: \"") ==
              b.first_error);
        CHECK(b.errors_len < 1300 && b.errors_len > 1024);
        CHECK(b.errors_len > 5 && memcmp(b.errors + b.errors_len - 5, "...\"\n", 5) == 0);
        ms_batch_reset(&b);
        CHECK(ms_csv_parse_chunk(s.p + c[2].offset, c[2].length, c[2].first_line, &L, &b, &err) ==
              MS_OK);
        CHECK(b.n_rows == 1 && b.n_bad == 0 && bx(&b, 0) == 4.0f);
        ms_batch_free(&b);
        ms_csv_header_free(&h);
        free(s.p);
        unlink(path);
    }
}

/* Random bytes: never a crash; scanner, parser and reference agree. */
static void test_garbage(void)
{
    static const char *const names[] = {"a", "b", "c"};
    static const int feat[] = {0, -1, 1};
    static const char delims[] = {',', '\t', ' ', ';'};
    char hot[] = {',', '"', '\n', '\r', '\0', ' ', '1', '.', '\t'};
    sbuf s = {0};
    for (int it = 0; it < 300; it++) {
        char d = delims[rndn(sizeof delims)];
        char head[] = {'a', d, 'b', d, 'c', '\n', '\0'};
        hot[0] = d;
        s.n = 0;
        sb_str(&s, head);
        size_t n = rndn(3000);
        for (size_t i = 0; i < n; i++)
            sb_ch(&s, rndn(3) ? hot[rndn(sizeof hot)] : (char)rnd());
        const char *path = write_file("garbage.csv", s.p, s.n);
        ms_csv_layout L = {
            d, 3, feat, (int)rndn(4) - 1, 2, (int)rndn(2), path, (char *const *)names};
        ms_error err, err2;
        ms_csv_header h;
        CHECK_FATAL(ms_csv_read_header(path, d, &h, &err) == MS_OK);
        CHECK(h.n_cols == 3);
        const char *data = s.p + h.data_offset;
        size_t dlen = s.n - (size_t)h.data_offset;
        ms_batch whole, acc, lib;
        ms_batch_init(&whole, 2, F32S, L.id_col >= 0);
        ms_batch_init(&acc, 2, F32S, L.id_col >= 0);
        ms_batch_init(&lib, 2, F32S, L.id_col >= 0);
        ms_status sw = ms_csv_parse_chunk(data, dlen, h.data_line, &L, &whole, &err2);
        ms_status sl = ms_csv_parse_chunk_libcsv(data, dlen, h.data_line, &L, &lib, &err);
        CHECK(sw == MS_OK || sw == MS_EINPUT);
        CHECK(sw == sl);
        ref rf;
        ref_parse(data, dlen, h.data_line, d, &rf);
        CHECK(rf.unterminated == (sw == MS_EINPUT));
        if (sw == MS_OK) {
            ms_batch e;
            ms_batch_init(&e, 2, F32S, L.id_col >= 0);
            expect_rows(&rf, 0, rf.n, data, &L, &e);
            CHECK(batch_eq(&whole, &lib, "garbage: auto vs libcsv"));
            CHECK(batch_eq(&whole, &e, "garbage: auto vs reference"));
            ms_batch_free(&e);
        } else
            CHECK_STREQ(err.msg, err2.msg);
        ref_free(&rf);
        ms_csv_scanner *sc;
        ms_csv_chunk c;
        ms_status st;
        CHECK_FATAL(ms_csv_scanner_open(path, d, h.data_offset, h.data_line, &sc, &err) == MS_OK);
        size_t mr = 1 + rndn(5), mb = 1 + rndn(300), rows = 0;
        while ((st = ms_csv_scanner_next(sc, mr, mb, &c, &err)) == MS_OK) {
            CHECK(ms_csv_parse_chunk(s.p + c.offset, c.length, c.first_line, &L, &acc, &err) ==
                  MS_OK);
            rows += c.n_records;
            CHECK(acc.n_rows == rows);
        }
        CHECK(st == MS_EOF || st == MS_EINPUT);
        CHECK((st == MS_EOF) == (sw == MS_OK));
        if (st == MS_EINPUT)
            CHECK_STREQ(err.msg, err2.msg);
        else
            CHECK(batch_eq(&acc, &whole, "garbage: chunks vs whole"));
        ms_csv_scanner_close(sc);
        ms_batch_free(&whole);
        ms_batch_free(&acc);
        ms_batch_free(&lib);
        ms_csv_header_free(&h);
    }
    /* a garbage header: an error or names, never a crash */
    for (int it = 0; it < 200; it++) {
        s.n = 0;
        size_t n = rndn(200);
        for (size_t i = 0; i < n; i++)
            sb_ch(&s, rndn(3) ? hot[rndn(sizeof hot)] : (char)rnd());
        const char *path = write_file("garbage.csv", s.p, s.n);
        ms_csv_header h;
        ms_error err;
        ms_status st = ms_csv_read_header(path, ',', &h, &err);
        CHECK(st == MS_OK || st == MS_EINPUT);
        ms_csv_header_free(&h);
    }
    free(s.p);
}

/* ---- throughput (information only) ------------------------------------------- */

static void bench(void)
{
    enum { NC = 30 };
    sbuf s = {0};
    size_t target = 50u << 20;
    char field[32];
    while (s.n < target) {
        for (int j = 0; j < NC; j++) {
            int n = snprintf(field, sizeof field, "%s0.%07u", rndn(4) ? "" : "-", rnd() % 10000000);
            if (j)
                sb_ch(&s, ',');
            sb_add(&s, field, (size_t)n);
        }
        sb_ch(&s, '\n');
    }
    int feat[NC];
    char *names[NC];
    for (int j = 0; j < NC; j++) {
        feat[j] = j;
        names[j] = "f";
    }
    ms_csv_layout L = {',', NC, feat, -1, NC, 0, "bench.csv", names};
    ms_batch b;
    ms_error err;
    ms_batch_init(&b, NC, F32S, 0);
    double mb = (double)s.n / 1e6, best_fast = 1e9, best_lib = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        ms_batch_reset(&b);
        double t0 = now_s();
        CHECK(ms_csv_parse_chunk(s.p, s.n, 1, &L, &b, &err) == MS_OK);
        double t1 = now_s();
        if (t1 - t0 < best_fast)
            best_fast = t1 - t0;
    }
    CHECK(b.n_bad == 0);
    for (int rep = 0; rep < 1; rep++) {
        ms_batch_reset(&b);
        double t0 = now_s();
        CHECK(ms_csv_parse_chunk_libcsv(s.p, s.n, 1, &L, &b, &err) == MS_OK);
        double t1 = now_s();
        if (t1 - t0 < best_lib)
            best_lib = t1 - t0;
    }
    CHECK(b.n_bad == 0);

    const char *path = write_file("bench.csv", s.p, s.n);
    ms_csv_scanner *sc;
    ms_csv_chunk c;
    size_t recs = 0;
    double t0 = now_s();
    CHECK_FATAL(ms_csv_scanner_open(path, ',', 0, 1, &sc, &err) == MS_OK);
    while (ms_csv_scanner_next(sc, 65536, 64u << 20, &c, &err) == MS_OK)
        recs += c.n_records;
    ms_csv_scanner_close(sc);
    double tscan = now_s() - t0;
    CHECK(recs == b.n_rows);
    unlink(path);
    printf("parse %.1f MB, %d float columns: fast path %.0f MB/s, libcsv %.0f MB/s; "
           "scanner %.0f MB/s\n",
           mb, NC, mb / best_fast, mb / best_lib, mb / tscan);
    ms_batch_free(&b);
    free(s.p);
}

/* A byte after a closing quote other than a delimiter, blank, LF or a
 * doubled quote is a row error at its line and field; the record ends at
 * the next LF, whatever quotes follow, so the records after it are read
 * unchanged by the parser (both paths) and cut alike by the scanner. */
static void test_stray_quote(void)
{
    static const char *const names[] = {"id", "x"};
    static const int feat[] = {-1, 0};
    ms_csv_layout L = {',', 2, feat, 0, 1, 0, "data.csv", (char *const *)names};
    ms_error err;
    const char *d = "\"a\"b,1\nc,2\n\"d\",3\n\"6\" ruler,4\n\"He said \\\"hi\\\"\",5\n"
                    "e,\"6\" \"\n\"f\nf\",7\n\"g\"\"\",8\n";
    const char *want_errors =
        "data.csv,1,id,\"column \"\"id\"\": unexpected character 'b' after a closing quote "
        "(character 4)\",\"\"\"a\"\"b,1\"\n"
        "data.csv,4,id,\"column \"\"id\"\": unexpected character 'r' after a closing quote "
        "(character 5)\",\"\"\"6\"\" ruler,4\"\n"
        "data.csv,5,id,\"column \"\"id\"\": unexpected character 'h' after a closing quote "
        "(character 12)\",\"\"\"He said \\\"\"hi\\\"\"\"\",5\"\n"
        "data.csv,6,x,\"column \"\"x\"\": unexpected character '\"\"' after a closing quote "
        "(character 7)\",\"e,\"\"6\"\" \"\"\"\n";
    for (int lib = 0; lib < 2; lib++) {
        ms_batch b;
        ms_batch_init(&b, 1, F32S, 1);
        ms_status st = lib ? ms_csv_parse_chunk_libcsv(d, strlen(d), 1, &L, &b, &err)
                           : ms_csv_parse_chunk(d, strlen(d), 1, &L, &b, &err);
        CHECK_FATAL(st == MS_OK);
        CHECK_FATAL(b.n_rows == 8);
        CHECK(b.n_bad == 4 && b.bad[0] && !b.bad[1] && !b.bad[2] && b.bad[3] && b.bad[4] &&
              b.bad[5] && !b.bad[6] && !b.bad[7]);
        CHECK(bx(&b, 1) == 2.0f && bx(&b, 2) == 3.0f && bx(&b, 6) == 7.0f && bx(&b, 7) == 8.0f);
        CHECK(b.id_off[2] - b.id_off[1] == 1 && b.id_text[b.id_off[1]] == 'c');
        CHECK(b.id_off[7] - b.id_off[6] == 3 && memcmp(b.id_text + b.id_off[6], "f\nf", 3) == 0);
        CHECK(b.id_off[8] - b.id_off[7] == 2 && memcmp(b.id_text + b.id_off[7], "g\"", 2) == 0);
        CHECK_STREQ(b.first_error, "data.csv:1:1: column \"id\": unexpected character 'b' after "
                                   "a closing quote (character 4)");
        CHECK(b.errors_len == strlen(want_errors) &&
              memcmp(b.errors, want_errors, b.errors_len) == 0);
        if (b.errors_len != strlen(want_errors))
            fprintf(stderr, "%.*s", (int)b.errors_len, b.errors);
        ms_batch_free(&b);
    }

    /* the scanner cuts the same records, one per chunk: 8 records, and the
     * quote that a lenient reader would leave open never swallows an LF */
    char *path = NULL;
    size_t hl = strlen("id,x\n");
    char *file = malloc(hl + strlen(d) + 1);
    CHECK_FATAL(file != NULL);
    memcpy(file, "id,x\n", hl);
    strcpy(file + hl, d);
    path = (char *)write_str("stray.csv", file);
    free(file);
    ms_csv_header h;
    ms_csv_scanner *sc = NULL;
    ms_csv_chunk c;
    CHECK_FATAL(ms_csv_read_header(path, ',', &h, &err) == MS_OK);
    CHECK_FATAL(ms_csv_scanner_open(path, ',', h.data_offset, h.data_line, &sc, &err) == MS_OK);
    static const uint64_t first_lines[] = {2, 3, 4, 5, 6, 7, 8, 10};
    size_t k = 0;
    ms_status st;
    while ((st = ms_csv_scanner_next(sc, 1, 0, &c, &err)) == MS_OK) {
        CHECK_FATAL(k < 8);
        CHECK(c.n_records == 1 && c.first_line == first_lines[k]);
        k++;
    }
    CHECK(st == MS_EOF && k == 8);
    ms_csv_scanner_close(sc);
    ms_csv_header_free(&h);
}

int main(void)
{
    strcpy(tmpdir, "/tmp/test_csv_reader.XXXXXX");
    CHECK_FATAL(mkdtemp(tmpdir) != NULL);
    atexit(cleanup_tmp); /* CHECK_FATAL exits too */
    test_header();
    test_scanner();
    test_seps();
    test_fast_vs_libcsv();
    test_keep();
    test_errors();
    test_typed_columns();
    test_stray_quote();
    test_huge_field();
    test_garbage();
    bench();
    return ms_test_done("test_csv_reader");
}
