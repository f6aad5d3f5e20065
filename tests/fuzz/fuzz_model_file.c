/*
 * fuzz_model_file.c — the model container loader through whole files
 * (model.h ms_model_load_image), as a user's damaged model.h5 reaches it.
 *
 * fuzz_model.c builds well-formed files through the HDF5 API; this one
 * hands the loader container images byte for byte, mutated from sealed
 * containers as the exporters write them (tests/fuzz/corpus/model_file,
 * written by make_corpus.py). libhdf5 1.10 may crash on such bytes, which is
 * why the loader never parses an unverified image in its own process: a
 * sealed image is checked byte for byte first, an unsealed one is parsed in
 * a child process first. Both ways are fuzzed:
 *
 * Input: mode (u8) then the image. mode & 1:
 *   0 the image as it is (the seal check on): a sealed seed loads; any
 *     mutation after the user block, or of the seal line, is "checksum
 *     mismatch";
 *   1 the seal erased, user block zeroed (the check off): the loader parses
 *     the mutated bytes in its checking child, then itself if the child
 *     survived, so libhdf5 meets the damage in the child. (Resealing the
 *     mutated bytes instead would make the loader trust them and parse them
 *     in this process: exactly what the seal is there to prevent, and
 *     libhdf5 would crash the harness on ~1.5% of inputs.)
 *
 * Properties: the harness process never crashes or hangs (a crash in
 * libhdf5 happens in the child); the loader returns MS_OK with a model that
 * validates, saves, loads back identically and scores on every ISA, or
 * MS_EMODEL with one line naming the file; in mode 0 a sealed image that
 * does not verify is refused with exactly "PATH: checksum mismatch: the
 * file is damaged".
 */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_model_check.h"
#include "fuzz_util.h"
#include "mpiscore/model.h"
#include "mpiscore/sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libhdf5 1.10 leaks on its error paths when it reads damaged bytes (an
 * object header H5O_protect loaded when H5Aexists then fails, and more;
 * H5Fclose does not free them). That is HDF5's leak, only on damaged files,
 * which only this harness feeds it; the stacks end inside libhdf5 (no frame
 * pointers there), so the module is what can be matched. Leaks of memory
 * libhdf5 allocates for us on sound files (vlen strings and the like) are
 * fuzz_model.c's to catch, which suppresses nothing. Read by LeakSanitizer
 * at start-up; unused without it. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libhdf5_serial.so\nleak:libhdf5.so\n";
}

/* the seal line as ms_model_save writes it, over img[512..n): the
 * reference the loader's verdict is checked against */
static void reseal(unsigned char *img, size_t n)
{
    char hex[MS_SHA256_HEX_LEN + 1];
    ms_sha256_buf_hex(img + MS_MODEL_USERBLOCK, n - MS_MODEL_USERBLOCK, hex);
    memset(img, 0, MS_MODEL_USERBLOCK);
    snprintf((char *)img, MS_MODEL_USERBLOCK, MS_MODEL_SEAL_MAGIC "sha256=%s length=%llu\n", hex,
             (unsigned long long)(n - MS_MODEL_USERBLOCK));
}

/* 1 if img[0..n) carries a seal line that verifies */
static int seal_verifies(const unsigned char *img, size_t n)
{
    if (n < MS_MODEL_USERBLOCK)
        return 0;
    unsigned char block[MS_MODEL_USERBLOCK];
    unsigned char *copy = malloc(n);
    FUZZ_ASSERT(copy != NULL, "out of memory");
    memcpy(copy, img, n);
    reseal(copy, n);
    memcpy(block, copy, sizeof block);
    free(copy);
    /* the loader reads the line up to its LF; the rest of the block is free */
    const unsigned char *lf = memchr(block, '\n', sizeof block);
    size_t l = lf ? (size_t)(lf - block) + 1 : sizeof block;
    return memcmp(block, img, l) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        /* as in fuzz_model.c: no HDF5 free lists for the leak checker; and
         * a hang in the checking child costs seconds, not the default 30 */
        H5set_free_list_limits(-1, -1, -1, -1, -1, -1);
        setenv("MPISCORE_MODEL_CHECK_TIMEOUT", "5", 1);
        ready = 1;
    }
    if (size < 1)
        return 0;
    unsigned mode = data[0] & 1;
    size_t n = size - 1;
    unsigned char *img = malloc(n ? n : 1);
    FUZZ_ASSERT(img != NULL, "out of memory");
    memcpy(img, data + 1, n);
    if (mode == 1)
        memset(img, 0, n < MS_MODEL_USERBLOCK ? n : MS_MODEL_USERBLOCK);

    char path[512], path2[512];
    fuzz_tmp_path(path, sizeof path, "model_file.h5");
    fuzz_tmp_path(path2, sizeof path2, "model_file2.h5");
    const size_t ml = sizeof MS_MODEL_SEAL_MAGIC - 1;
    int sealed = n >= ml && memcmp(img, MS_MODEL_SEAL_MAGIC, ml) == 0;
    int verifies = sealed && seal_verifies(img, n);
    ms_model *m = NULL;
    ms_error e;
    ms_error_clear(&e);
    ms_status st = ms_model_load_image(path, img, n, &m, &e);
    if (getenv("MPISCORE_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_model_file: mode %u, %s: %s\n", mode,
                sealed ? (verifies ? "sealed" : "seal broken") : "unsealed",
                st == MS_OK ? ms_kind_name(m->kind) : e.msg);
    if (sealed && !verifies) {
        char want[sizeof path + 64];
        snprintf(want, sizeof want, "%s: checksum mismatch: the file is damaged", path);
        FUZZ_ASSERT(st == MS_EMODEL && strcmp(e.msg, want) == 0,
                    "a seal that does not verify gave status %d: %s", st, e.msg);
    }
    check_load_result(st, m, &e, path, path2, data, size);
    free(img);
    unlink(path);
    unlink(path2);
    return 0;
}
