/*
 * fuzz_util.h — what every harness in tests/fuzz shares: scratch files and
 * the property check that turns a wrong answer into a crash.
 *
 * A harness is a libFuzzer entry point (LLVMFuzzerTestOneInput) that feeds
 * one input to a parser and checks what came back against an independent
 * reference or an invariant. Memory and UB errors are the sanitizers' job;
 * a wrong answer is FUZZ_ASSERT's: it prints why and aborts, which libFuzzer
 * (and replay.c, in the normal test suite) reports as a crash.
 *
 * Scratch files live in $MPISCORE_FUZZ_TMPDIR (scripts/fuzz.sh points it at
 * a folder it removes afterwards), else /dev/shm, else /tmp, one name per
 * process and purpose, rewritten by every input.
 */
#ifndef MS_FUZZ_UTIL_H
#define MS_FUZZ_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_ASSERT(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz property failed: %s: ", __FILE__, __LINE__, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Path of this process's scratch file `tag` (a static buffer per call site
 * is enough: each harness asks for a fixed set of tags). */
static inline void fuzz_tmp_path(char *out, size_t cap, const char *tag)
{
    const char *dir = getenv("MPISCORE_FUZZ_TMPDIR");
    struct stat sb;
    if (!dir || !*dir)
        dir = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(out, cap, "%s/mpiscore-fuzz-%ld-%s", dir, (long)getpid(), tag);
}

/* Replace `path` with data[0..n); aborts if the scratch folder is unusable
 * (that is the machine's problem, not an input's). */
static inline void fuzz_write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    FUZZ_ASSERT(fd >= 0, "cannot create scratch file %s", path);
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        FUZZ_ASSERT(w > 0, "cannot write scratch file %s", path);
        p += w;
        n -= (size_t)w;
    }
    close(fd);
}

/* Whole file into a malloc'd buffer (NUL-terminated for convenience). */
static inline char *fuzz_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    FUZZ_ASSERT(f != NULL, "cannot reopen scratch file %s", path);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    FUZZ_ASSERT(buf != NULL, "out of memory");
    size_t got;
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            FUZZ_ASSERT(buf != NULL, "out of memory");
        }
    }
    fclose(f);
    buf[len] = '\0';
    *n = len;
    return buf;
}

/* 1 if s[0..n) contains word. By hand: libFuzzer watches strstr and memmem
 * and would feed their needles back into its inputs. */
static inline int fuzz_contains(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++) {
        size_t k = 0;
        while (k < w && s[i + k] == word[k])
            k++;
        if (k == w)
            return 1;
    }
    return 0;
}

/* An error message the CLI can print as is: one line, non-empty, starting
 * with `prefix` (the file it is about) when given, and no "(null)" from a
 * NULL string passed to printf (unless the input itself holds that text). */
static inline void fuzz_check_message(const char *msg, const char *prefix, const void *input,
                                      size_t input_len)
{
    FUZZ_ASSERT(msg[0] != '\0', "empty error message");
    FUZZ_ASSERT(strchr(msg, '\n') == NULL && strchr(msg, '\r') == NULL,
                "error message spans lines: %s", msg);
    FUZZ_ASSERT(!fuzz_contains(msg, strlen(msg), "(null)") ||
                    fuzz_contains(input, input_len, "(null)"),
                "error message prints a NULL string: %s", msg);
    if (prefix)
        FUZZ_ASSERT(strncmp(msg, prefix, strlen(prefix)) == 0,
                    "error message does not start with \"%s\": %s", prefix, msg);
}

#endif
