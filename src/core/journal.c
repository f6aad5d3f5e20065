/*
 * journal.c — resume journal (journal.h).
 */
#include "mpiscore/journal.h"

#include "mpiscore/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JOURNAL_MAGIC "mpiscore-journal 1\n"

struct ms_journal {
    int fd;
    char *path;
};

static uint64_t fnv64(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

ms_status ms_file_fnv64(const char *path, char out[17], ms_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    uint64_t h = 0xcbf29ce484222325ull;
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        h = fnv64(buf, (size_t)n, h);
    close(fd);
    if (n < 0)
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    snprintf(out, 17, "%016" PRIx64, h);
    return MS_OK;
}

ms_status ms_file_sha256(const char *path, char out[65], ms_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    ms_sha256 c;
    ms_sha256_init(&c);
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        ms_sha256_update(&c, buf, (size_t)n);
    close(fd);
    if (n < 0)
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    unsigned char d[MS_SHA256_LEN];
    ms_sha256_final(&c, d);
    ms_sha256_hex(d, out);
    return MS_OK;
}

static ms_status write_all(int fd, const char *s, size_t n, const char *path, ms_error *err)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
        s += w;
        n -= (size_t)w;
    }
    return MS_OK;
}

static ms_journal *journal_new(const char *path, int fd)
{
    ms_journal *j = calloc(1, sizeof *j);
    if (j && !(j->path = strdup(path))) {
        free(j);
        j = NULL;
    }
    if (j)
        j->fd = fd;
    return j;
}

ms_status ms_journal_create(const char *path, const char *fingerprint, ms_journal **out,
                            ms_error *err)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    ms_status st = write_all(fd, JOURNAL_MAGIC, strlen(JOURNAL_MAGIC), path, err);
    if (st == MS_OK)
        st = write_all(fd, fingerprint, strlen(fingerprint), path, err);
    if (st == MS_OK && fingerprint[0] && fingerprint[strlen(fingerprint) - 1] != '\n')
        st = write_all(fd, "\n", 1, path, err);
    if (st == MS_OK)
        st = write_all(fd, "end\n", 4, path, err);
    if (st == MS_OK && fsync(fd) != 0)
        st = ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    ms_journal *j = st == MS_OK ? journal_new(path, fd) : NULL;
    if (!j) {
        close(fd);
        return st != MS_OK ? st : ms_error_set(err, MS_EINTERNAL, "out of memory");
    }
    *out = j;
    return MS_OK;
}

static void format_rec(const ms_journal_rec *r, char *line, size_t cap)
{
    char body[256];
    int n = snprintf(body, sizeof body,
                     "R %" PRIu64 " %" PRIu32 " %" PRId64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                     " %" PRIu64 " %" PRIu64 " %" PRIu64,
                     r->next_seq, r->file, r->offset, r->line, r->rows, r->bad, r->out_bytes,
                     r->err_bytes, r->units);
    snprintf(line, cap, "%s %016" PRIx64 "\n", body, fnv64(body, (size_t)n, 0xcbf29ce484222325ull));
}

ms_status ms_journal_append(ms_journal *j, const ms_journal_rec *r, ms_error *err)
{
    char line[320];
    format_rec(r, line, sizeof line);
    ms_status st = write_all(j->fd, line, strlen(line), j->path, err);
    if (st == MS_OK && fdatasync(j->fd) != 0)
        st = ms_error_set(err, MS_EIO, "%s: %s", j->path, strerror(errno));
    return st;
}

/* Parse one record line (without its newline); 1 if intact. */
static int parse_rec(const char *s, ms_journal_rec *r)
{
    ms_journal_rec t;
    uint64_t sum;
    int used = 0;
    if (sscanf(s,
               "R %" SCNu64 " %" SCNu32 " %" SCNd64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
               " %" SCNu64 " %" SCNu64 "%n",
               &t.next_seq, &t.file, &t.offset, &t.line, &t.rows, &t.bad, &t.out_bytes,
               &t.err_bytes, &t.units, &used) != 9)
        return 0;
    if (sscanf(s + used, " %" SCNx64, &sum) != 1)
        return 0;
    char check[320];
    format_rec(&t, check, sizeof check);
    size_t len = strlen(s);
    if (strncmp(check, s, len) != 0 || check[len] != '\n')
        return 0;
    *r = t;
    return 1;
}

ms_status ms_journal_resume(const char *path, const char *fingerprint, ms_journal_rec *last,
                            ms_journal **out, ms_error *err)
{
    return ms_journal_resume_named(path, fingerprint, NULL, last, out, err);
}

/* The refusal for a journal header line that differs from this run's:
 * "inputs N" lines say both counts; other lines are named by their key and
 * the display name of this run's line (else the journal line's first word). */
static ms_status mismatch(const char *path, char *line, const char *fp, const char *name,
                          ms_error *err)
{
    line[strcspn(line, "\n")] = '\0';
    unsigned long had, has;
    if (sscanf(line, "inputs %lu", &had) == 1 && sscanf(fp, "inputs %lu", &has) == 1)
        return ms_error_set(err, MS_EINPUT,
                            "%s: inputs differ: the journal has %lu input%s, this run has %lu; "
                            "start again without --resume",
                            path, had, had == 1 ? "" : "s", has);
    char *sp = strchr(line, ' ');
    if (sp) {
        *sp = '\0';
        if (!name) {
            char *w = sp + 1 + strspn(sp + 1, " ");
            w[strcspn(w, " ")] = '\0';
            name = *w ? w : NULL;
        }
    }
    return ms_error_set(err, MS_EINPUT,
                        "%s: %s%s%s changed since the interrupted run; start again without "
                        "--resume",
                        path, line, name ? " " : "", name ? name : "");
}

ms_status ms_journal_resume_named(const char *path, const char *fingerprint,
                                  const char *const *names, ms_journal_rec *last, ms_journal **out,
                                  ms_error *err)
{
    size_t line_no = 0;
    memset(last, 0, sizeof *last);
    FILE *f = fopen(path, "r");
    if (!f)
        return ms_error_set(err, MS_EINPUT, "%s: %s (nothing to resume: run without --resume)",
                            path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    ms_status st = MS_OK;
    const char *fp = fingerprint;
    int in_header = 0, header_done = 0;
    long good_end = 0;
    if ((n = getline(&line, &cap, f)) < 0 || strcmp(line, JOURNAL_MAGIC) != 0) {
        st = ms_error_set(err, MS_EINPUT, "%s: not an mpiscore journal", path);
        goto done;
    }
    in_header = 1;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (in_header) {
            if (strcmp(line, "end\n") == 0) {
                if (*fp) {
                    st = ms_error_set(err, MS_EINPUT,
                                      "%s: the run now has more inputs or options than the "
                                      "interrupted one; start again without --resume",
                                      path);
                    goto done;
                }
                in_header = 0;
                header_done = 1;
                good_end = ftell(f);
                continue;
            }
            /* ms_journal_create ends the fingerprint's last line with an LF
             * even when the fingerprint has none */
            const char *nl = strchr(fp, '\n');
            size_t fl = nl ? (size_t)(nl - fp) + 1 : strlen(fp);
            size_t want = nl || fl == 0 ? fl : fl + 1;
            if ((size_t)n != want || strncmp(fp, line, fl) != 0 || line[want - 1] != '\n') {
                st = mismatch(path, line, fp, names ? names[line_no] : NULL, err);
                goto done;
            }
            fp += fl;
            line_no++;
            continue;
        }
        if (line[n - 1] != '\n' || strlen(line) != (size_t)n)
            break; /* torn last line, or a NUL byte a C string would hide */
        line[n - 1] = '\0';
        ms_journal_rec r;
        if (!parse_rec(line, &r))
            break;
        *last = r;
        good_end = ftell(f);
    }
    if (!header_done) {
        st = ms_error_set(err, MS_EINPUT,
                          "%s: journal header is incomplete; start again without "
                          "--resume",
                          path);
        goto done;
    }
done:
    free(line);
    fclose(f);
    if (st != MS_OK)
        return st;
    /* drop a torn tail so appends follow the last intact record */
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ftruncate(fd, good_end) != 0 || lseek(fd, 0, SEEK_END) < 0) {
        st = ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return st;
    }
    ms_journal *j = journal_new(path, fd);
    if (!j) {
        close(fd);
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    }
    *out = j;
    return MS_OK;
}

void ms_journal_close(ms_journal *j, int remove)
{
    if (!j)
        return;
    close(j->fd);
    if (remove)
        unlink(j->path);
    free(j->path);
    free(j);
}
