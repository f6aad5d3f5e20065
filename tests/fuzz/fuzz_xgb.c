/*
 * fuzz_xgb.c — the XGBoost JSON importer (xgb_import.h).
 *
 * Input: the text of a model file as Booster.save_model("m.json") writes it
 * (seeds: real XGBoost 1.7 models, tests/fuzz/make_corpus.py). Properties:
 * the importer refuses with MS_EMODEL and one line naming the file, or
 * returns a model that passes every check a loaded container must
 * (fuzz_model_check.h: validates, saves and loads back identically, scores
 * on every ISA); the same text imported twice gives the same model.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_model_check.h"
#include "fuzz_util.h"
#include "mpiscore/xgb_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    fuzz_tmp_path(path, sizeof path, "xgb.h5");
    /* an exactly-sized copy: the importer must not read past len (no NUL) */
    char *json = malloc(size ? size : 1);
    FUZZ_ASSERT(json != NULL, "out of memory");
    memcpy(json, data, size);
    ms_model *m = NULL;
    ms_xgb_summary sum;
    ms_error e;
    ms_error_clear(&e);
    ms_status st = ms_xgb_import(json, size, "m.json", NULL, &m, &sum, &e);
    if (getenv("MPISCORE_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_xgb: %s\n", st == MS_OK ? "imported" : e.msg);
    if (st == MS_OK) {
        FUZZ_ASSERT(m != NULL, "MS_OK without a model");
        FUZZ_ASSERT(sum.n_trees == m->trees.n_trees && sum.n_features == m->n_features,
                    "summary says %zu trees, %zu features; the model has %zu, %zu", sum.n_trees,
                    sum.n_features, m->trees.n_trees, m->n_features);
        ms_model *again = NULL;
        FUZZ_ASSERT(ms_xgb_import(json, size, "m.json", NULL, &again, NULL, &e) == MS_OK,
                    "a second import fails: %s", e.msg);
        size_t l1, l2;
        char *d1 = describe(m, &l1), *d2 = describe(again, &l2);
        FUZZ_ASSERT(l1 == l2 && memcmp(d1, d2, l1) == 0, "two imports differ");
        free(d1);
        free(d2);
        ms_model_free(again);
        check_accepted(m, 0, "m.json", path);
        ms_model_free(m);
    } else {
        FUZZ_ASSERT(m == NULL, "a refused model was handed out");
        FUZZ_ASSERT(st == MS_EMODEL, "status %d (%s): %s", st, ms_strerror(st), e.msg);
        fuzz_check_message(e.msg, "m.json", data, size);
    }
    free(json);
    unlink(path);
    return 0;
}
