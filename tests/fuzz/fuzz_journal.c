/*
 * fuzz_journal.c — the resume journal reader (journal.h).
 *
 * Input: the bytes of an OUTPUT.journal. The reference it is checked
 * against is a strict reader written here from docs/formats.md: line 1
 * "mpiscore-journal 1", fingerprint lines up to "end", then records
 * "R NEXT_SEQ FILE OFFSET LINE ROWS BAD OUT_BYTES ERR_BYTES UNITS CHECKSUM"
 * in canonical decimal (FILE fits 32 bits, OFFSET may be negative), the
 * checksum 16 lowercase hex digits of FNV-1a 64 over the text before it;
 * the first line that is torn or not such a record ends the journal.
 * Properties, each a crash when it fails:
 *  1. ms_journal_resume with the fingerprint the input's own header holds
 *     (so every input with a header reaches the records) returns the last
 *     record the reference accepts, and cuts the file right after it; a
 *     broken magic line or header is refused with one line naming the file.
 *  2. Resuming the cut file again changes nothing (same record, same bytes).
 *  3. A record built from the input's bytes (any values, extremes included)
 *     appended to the cut file is what the next resume returns.
 *  4. Against a fixed fingerprint, the journal is either accepted (its
 *     header is exactly that fingerprint) or refused with one line naming
 *     the file, and then the file is left byte for byte as it was.
 *  5. ms_journal_create then ms_journal_resume with the same fingerprint
 *     (lines taken from the input) gives a journal with no record.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "mpiscore/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAGIC "mpiscore-journal 1\n"
#define FIXED_FP                                                                                   \
    "model /data/m.h5 fnv64=00000000000000ff\n"                                                    \
    "input /data/in.csv size=3 mtime_ns=4\n"                                                       \
    "options --mini-batch-rows/--id-column/--delimiter/--dataset/--on-error rows=10 bytes=0 "      \
    "id=row_id delim=44 dataset=/features continue=0\n"

/* ---- reference reader ------------------------------------------------------ */

typedef struct ref_journal {
    int ok;         /* magic line and a complete header */
    const char *fp; /* header lines (between the magic line and "end") */
    size_t fp_len;
    int has_rec;
    ms_journal_rec rec;
    size_t good_end; /* bytes a resume keeps */
} ref_journal;

static uint64_t fnv64(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Canonical unsigned decimal p[0..n) (no sign, no leading zero) <= max. */
static int ref_u64(const char *p, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 20 || (n > 1 && p[0] == '0'))
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (v > max)
        return 0;
    *out = v;
    return 1;
}

static int ref_i64(const char *p, size_t n, int64_t *out)
{
    uint64_t v;
    if (n > 0 && p[0] == '-') {
        if (!ref_u64(p + 1, n - 1, (uint64_t)INT64_MAX + 1, &v) || v == 0)
            return 0;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
        return 1;
    }
    if (!ref_u64(p, n, INT64_MAX, &v))
        return 0;
    *out = (int64_t)v;
    return 1;
}

/* One record line p[0..n) without its LF. */
static int ref_record(const char *p, size_t n, ms_journal_rec *r)
{
    const char *tok[11];
    size_t tl[11], k = 0, s = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != ' ')
            continue;
        if (k == 11)
            return 0;
        tok[k] = p + s;
        tl[k++] = i - s;
        s = i + 1;
    }
    if (k != 11 || tl[0] != 1 || tok[0][0] != 'R' || tl[10] != 16)
        return 0;
    uint64_t v[9] = {0}, file = 0;
    for (int i = 1; i <= 9; i++) {
        if (i == 2) {
            if (!ref_u64(tok[i], tl[i], UINT32_MAX, &file))
                return 0;
        } else if (i == 3) {
            int64_t off;
            if (!ref_i64(tok[i], tl[i], &off))
                return 0;
            v[i - 1] = (uint64_t)off;
        } else if (!ref_u64(tok[i], tl[i], UINT64_MAX, &v[i - 1])) {
            return 0;
        }
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < 16; i++) {
        char c = tok[10][i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                            : 16u;
        if (d == 16)
            return 0;
        sum = sum << 4 | d;
    }
    if (sum != fnv64(p, (size_t)(tok[10] - 1 - p)))
        return 0;
    r->next_seq = v[0];
    r->file = (uint32_t)file;
    r->offset = (int64_t)v[2];
    r->line = v[3];
    r->rows = v[4];
    r->bad = v[5];
    r->out_bytes = v[6];
    r->err_bytes = v[7];
    r->units = v[8];
    return 1;
}

static void ref_read(const char *b, size_t n, ref_journal *j)
{
    memset(j, 0, sizeof *j);
    size_t ml = strlen(MAGIC);
    if (n < ml || memcmp(b, MAGIC, ml) != 0)
        return;
    size_t p = ml;
    j->fp = b + p;
    for (;;) { /* header lines up to "end" */
        const char *nl = memchr(b + p, '\n', n - p);
        if (!nl)
            return;
        size_t e = (size_t)(nl - b) + 1;
        if (e - p == 4 && memcmp(b + p, "end\n", 4) == 0) {
            j->fp_len = (size_t)(b + p - j->fp);
            p = e;
            break;
        }
        p = e;
    }
    j->ok = 1;
    j->good_end = p;
    for (;;) {
        const char *nl = memchr(b + p, '\n', n - p);
        ms_journal_rec r;
        if (!nl || !ref_record(b + p, (size_t)(nl - b) - p, &r))
            break;
        j->rec = r;
        j->has_rec = 1;
        p = (size_t)(nl - b) + 1;
        j->good_end = p;
    }
}

/* ---- checks ---------------------------------------------------------------- */

static int rec_eq(const ms_journal_rec *a, const ms_journal_rec *b)
{
    return a->next_seq == b->next_seq && a->file == b->file && a->offset == b->offset &&
           a->line == b->line && a->rows == b->rows && a->bad == b->bad &&
           a->out_bytes == b->out_bytes && a->err_bytes == b->err_bytes && a->units == b->units;
}

static int rec_zero(const ms_journal_rec *r)
{
    ms_journal_rec z;
    memset(&z, 0, sizeof z);
    return rec_eq(r, &z);
}

/* Resume `path` with fp; on success the journal is closed again. */
static ms_status resume(const char *path, const char *fp, ms_journal_rec *last, ms_error *e)
{
    ms_journal *j = NULL;
    ms_status st = ms_journal_resume(path, fp, last, &j, e);
    if (st == MS_OK) {
        FUZZ_ASSERT(j != NULL, "resume ok without a journal");
        ms_journal_close(j, 0);
    }
    return st;
}

/* The file holds exactly want[0..n). */
static void file_is(const char *path, const char *want, size_t n, const char *what)
{
    size_t got_n;
    char *got = fuzz_read_file(path, &got_n);
    FUZZ_ASSERT(got_n == n && memcmp(got, want, n) == 0, "%s: file has %zu bytes, expected %zu",
                what, got_n, n);
    free(got);
}

/* Values for a record: from the input's bytes, extremes mixed in. */
static uint64_t pick(const uint8_t *d, size_t n, size_t *at)
{
    static const uint64_t special[4] = {0, 1, UINT64_MAX, (uint64_t)INT64_MIN};
    uint64_t v = 0;
    for (int i = 0; i < 9; i++, (*at)++)
        v = v << 8 | (n ? d[*at % n] : 0);
    /* the first byte picked decides: a special value or the other eight */
    uint8_t sel = n ? d[(*at - 9) % n] : 0;
    return sel < 32 ? special[sel & 3] : v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    char path[512];
    fuzz_tmp_path(path, sizeof path, "journal");
    ref_journal ref;
    ref_read(in, size, &ref);
    ms_journal_rec last;
    ms_error e;

    /* 1-3: the input's own fingerprint */
    char *fp = NULL;
    if (ref.ok) {
        fp = malloc(ref.fp_len + 1);
        FUZZ_ASSERT(fp != NULL, "out of memory");
        memcpy(fp, ref.fp, ref.fp_len);
        fp[ref.fp_len] = '\0';
    }
    int fp_usable = fp && strlen(fp) == ref.fp_len; /* a NUL cuts the C string short */
    fuzz_write_file(path, data, size);
    ms_status st = resume(path, fp_usable ? fp : "", &last, &e);
    if (!fp_usable) {
        FUZZ_ASSERT(st == MS_EINPUT, "a journal without a usable header was accepted (%d)", st);
        fuzz_check_message(e.msg, path, data, size);
        file_is(path, in, size, "refused journal");
    } else {
        FUZZ_ASSERT(st == MS_OK, "own fingerprint refused: %s", e.msg);
        FUZZ_ASSERT(ref.has_rec ? rec_eq(&last, &ref.rec) : rec_zero(&last),
                    "resume returned record seq %" PRIu64 ", the reference %s %" PRIu64,
                    last.next_seq, ref.has_rec ? "seq" : "none", ref.rec.next_seq);
        file_is(path, in, ref.good_end, "cut journal");
        ms_journal_rec again;
        FUZZ_ASSERT(resume(path, fp, &again, &e) == MS_OK && rec_eq(&again, &last),
                    "second resume differs: %s", e.msg);
        file_is(path, in, ref.good_end, "journal resumed twice");

        ms_journal_rec r;
        size_t at = 0;
        r.next_seq = pick(data, size, &at);
        r.file = (uint32_t)pick(data, size, &at);
        r.offset = (int64_t)pick(data, size, &at);
        r.line = pick(data, size, &at);
        r.rows = pick(data, size, &at);
        r.bad = pick(data, size, &at);
        r.out_bytes = pick(data, size, &at);
        r.err_bytes = pick(data, size, &at);
        r.units = pick(data, size, &at);
        ms_journal *j;
        FUZZ_ASSERT(ms_journal_resume(path, fp, &again, &j, &e) == MS_OK, "%s", e.msg);
        FUZZ_ASSERT(ms_journal_append(j, &r, &e) == MS_OK, "append: %s", e.msg);
        ms_journal_close(j, 0);
        FUZZ_ASSERT(resume(path, fp, &again, &e) == MS_OK && rec_eq(&again, &r),
                    "an appended record did not come back (seq %" PRIu64 " vs %" PRIu64 "): %s",
                    again.next_seq, r.next_seq, e.msg);
    }

    /* 4: a fingerprint that is not the input's */
    fuzz_write_file(path, data, size);
    st = resume(path, FIXED_FP, &last, &e);
    if (st == MS_OK) {
        FUZZ_ASSERT(ref.ok && ref.fp_len == strlen(FIXED_FP) &&
                        memcmp(ref.fp, FIXED_FP, ref.fp_len) == 0,
                    "a journal with another fingerprint was accepted");
    } else {
        FUZZ_ASSERT(st == MS_EINPUT, "status %d: %s", st, e.msg);
        fuzz_check_message(e.msg, path, data, size);
        file_is(path, in, size, "journal refused for its fingerprint");
    }

    /* 5: create, then resume with the same fingerprint: the input's bytes up
     * to the first NUL, unless a line of it reads "end" (the coordinator's
     * lines never do: they start with model, input or options) */
    size_t fl = strnlen(in, size);
    char *cfp = malloc(fl + 1);
    FUZZ_ASSERT(cfp != NULL, "out of memory");
    memcpy(cfp, in, fl);
    cfp[fl] = '\0';
    int has_end = 0;
    for (const char *l = cfp; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
        has_end |= strncmp(l, "end", 3) == 0 && (l[3] == '\n' || l[3] == '\0');
    if (!has_end) {
        ms_journal *j;
        FUZZ_ASSERT(ms_journal_create(path, cfp, &j, &e) == MS_OK, "create: %s", e.msg);
        ms_journal_close(j, 0);
        st = resume(path, cfp, &last, &e);
        FUZZ_ASSERT(st == MS_OK && rec_zero(&last), "a fresh journal does not resume: %s",
                    st == MS_OK ? "it has a record" : e.msg);
    }
    free(cfp);
    free(fp);
    unlink(path);
    return 0;
}
