/*
 * replay.c — runs a fuzz harness once on each stored input, without
 * libFuzzer, so the normal test suite (any compiler, with or without the
 * sanitizers) replays the seed corpus and every input that once crashed.
 *
 *   replay_<harness> DIR|FILE...    (ctest: fuzz.replay_<harness>)
 *
 * Folders are read in name order; hidden files are skipped. A harness
 * reports a failed property by aborting, so a regression fails the test
 * with the harness's own message. A missing folder is noted and skipped (a
 * harness that never failed has no regressions/ folder), but zero inputs in
 * total is a failure: an empty or misplaced corpus must not pass silently.
 *
 * Memory is capped as libFuzzer caps it (scripts/fuzz.sh: -malloc_limit_mb),
 * so an input that makes a parser allocate gigabytes from a few bytes fails
 * here too, as "out of memory", instead of passing slowly: under ASan one
 * allocation may not exceed 512 MiB, otherwise the data segment is limited
 * to 1 GiB.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_ASAN 1
#endif
#endif

#ifdef REPLAY_ASAN
/* read by the ASan runtime at start-up; ASAN_OPTIONS still adds to it */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=512";
}
#endif

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, len = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        return -1;
    }
    /* an exactly-sized copy, so ASan sees reads past the input's end */
    uint8_t *in = malloc(len ? len : 1);
    if (!in) {
        free(buf);
        return -1;
    }
    memcpy(in, buf, len);
    free(buf);
    fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(in, len);
    free(in);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_hidden(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    size_t n = 0;
#ifndef REPLAY_ASAN
    struct rlimit rl = {(rlim_t)1 << 30, (rlim_t)1 << 30};
    if (setrlimit(RLIMIT_DATA, &rl) != 0)
        perror("setrlimit");
#endif
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            /* a harness whose fuzzing never failed has no regressions/ folder */
            fprintf(stderr, "%s: not found, nothing replayed from it\n", argv[i]);
            continue;
        }
        if (!S_ISDIR(sb.st_mode)) {
            if (run_file(argv[i]) != 0)
                return 1;
            n++;
            continue;
        }
        struct dirent **ents;
        int k = scandir(argv[i], &ents, skip_hidden, by_name);
        if (k < 0) {
            perror(argv[i]);
            return 1;
        }
        for (int j = 0; j < k; j++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], ents[j]->d_name);
            if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
                if (run_file(path) != 0)
                    return 1;
                n++;
            }
            free(ents[j]);
        }
        free(ents);
    }
    if (n == 0) {
        fprintf(stderr, "no inputs to replay\n");
        return 1;
    }
    printf("replayed %zu inputs: no failure\n", n);
    return 0;
}
