/*
 * fuzz_model_check.h — what every harness that ends with a model checks on
 * it (fuzz_model.c: the container loader, fuzz_xgb.c: the XGBoost
 * importer): a model mpiscore accepts passes ms_model_validate, prints
 * (ms_model_describe), saves and loads back to the same description, and
 * (as loaded from a file) scores rows (zeros, extremes, NaN where the model takes missing values)
 * on every ISA this CPU has without a sanitizer report, labels in range.
 */
#ifndef MS_FUZZ_MODEL_CHECK_H
#define MS_FUZZ_MODEL_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "mpiscore/kernels.h"
#include "mpiscore/model.h"
#include "mpiscore/prep.h"

static inline char *describe(const ms_model *m, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    FUZZ_ASSERT(f != NULL, "open_memstream");
    ms_model_describe(m, f);
    fclose(f);
    return text;
}

/* The preprocessing program over rows of every kind of cell (numbers from
 * 0 to extremes and NaN, every code a reader can produce): no sanitizer
 * report. (NaN-freedom is not asserted: finite extremes can overflow to
 * infinity inside a program, and inf - inf is NaN.) */
static inline void apply_prep(const ms_model *m)
{
    static const double nums[] = {0.0, 1.0, -1.0, 0.5, 1e308, -1e308, 5e-324, NAN, 3.0, 1e-300};
    enum { ROWS = sizeof nums / sizeof nums[0] };
    void **col = calloc(m->n_inputs ? m->n_inputs : 1, sizeof *col);
    size_t xsize = m->precision == MS_PREC_F64 ? sizeof(double) : sizeof(float);
    void *x = malloc(ROWS * m->n_features * xsize + 1);
    FUZZ_ASSERT(col && x, "out of memory");
    for (size_t k = 0; k < m->n_inputs; k++) {
        const ms_colspec *c = &m->inputs[k];
        if (c->kind == MS_COL_CAT) {
            int32_t *v = malloc(ROWS * sizeof *v);
            FUZZ_ASSERT(v != NULL, "out of memory");
            size_t nc = c->dict ? ms_dict_size(c->dict) : 0;
            for (size_t r = 0; r < ROWS; r++)
                v[r] = r % 4 == 0   ? MS_CODE_MISSING
                       : r % 4 == 1 ? (c->unknown_is_error ? MS_CODE_MISSING : MS_CODE_UNKNOWN)
                       : nc         ? (int32_t)((r * 7 + k) % nc)
                                    : MS_CODE_MISSING;
            col[k] = v;
        } else if (c->prec == MS_PREC_F64) {
            double *v = malloc(ROWS * sizeof *v);
            FUZZ_ASSERT(v != NULL, "out of memory");
            for (size_t r = 0; r < ROWS; r++)
                v[r] = nums[(r + k) % ROWS];
            col[k] = v;
        } else {
            float *v = malloc(ROWS * sizeof *v);
            FUZZ_ASSERT(v != NULL, "out of memory");
            for (size_t r = 0; r < ROWS; r++)
                v[r] = (float)nums[(r + k) % ROWS];
            col[k] = v;
        }
    }
    /* once whole, once from a middle row: r0 offsets the columns */
    ms_prep_apply(m, (const void *const *)col, 0, ROWS, x);
    ms_prep_apply(m, (const void *const *)col, 3, ROWS - 3, x);
    for (size_t k = 0; k < m->n_inputs; k++)
        free(col[k]);
    free(col);
    free(x);
}

static inline void score_rows(const ms_model *m)
{
    if (m->prep)
        apply_prep(m);
    static const float row_values[] = {0.0f,          1.0f,           -1.0f,  0.5f,
                                       3.4028235e38f, -3.4028235e38f, 1e-45f, NAN};
    const size_t nf = m->n_features;
    /* wide models (up to 2^24 features) get one row, within the malloc limit */
    const size_t n_rows = nf > 65536 ? 1 : sizeof row_values / sizeof row_values[0];
    int missing_ok = ms_model_allows_missing(m);
    float *x = malloc(n_rows * nf * sizeof *x);
    float *out = malloc(n_rows * m->n_outputs * sizeof *out + 1);
    float *scratch = malloc(ms_predict_scratch_floats(m, n_rows) * sizeof *scratch + 1);
    FUZZ_ASSERT(x && out && scratch, "out of memory");
    for (size_t i = 0; i < n_rows; i++)
        for (size_t j = 0; j < nf; j++) {
            /* the row of NaN only for models that take missing values: the
             * readers never hand others a NaN */
            float v = row_values[(i + j) % (sizeof row_values / sizeof row_values[0])];
            x[i * nf + j] = isnan(v) && !missing_ok ? 2.0f : v;
        }
    for (int isa = 0; isa < MS_ISA_COUNT; isa++) {
        if (!ms_isa_supported((ms_isa)isa))
            continue;
        ms_predict(m, (ms_isa)isa, x, n_rows, out, scratch);
        if (m->n_classes)
            for (size_t i = 0; i < n_rows; i++) {
                size_t lab = ms_predict_label(m, out + i * m->n_outputs);
                FUZZ_ASSERT(lab < m->n_classes, "label %zu of %zu classes", lab, m->n_classes);
            }
    }
    free(x);
    free(out);
    free(scratch);
}

/* m as ms_model_load returns it (loaded = 1: it is scored too), or as an
 * importer does (not compiled for the tree kernels: only the copy saved
 * and loaded back is scored, which is how a user gets to score it). */
static inline void check_accepted(ms_model *m, int loaded, const char *path, const char *path2)
{
    ms_error e;
    FUZZ_ASSERT(ms_model_validate(m, path, &e) == MS_OK, "loaded, then invalid: %s", e.msg);
    FUZZ_ASSERT(m->n_features > 0 && m->n_outputs > 0 && m->n_raw > 0, "empty model accepted");
    size_t l1, l2;
    char *d1 = describe(m, &l1);
    FUZZ_ASSERT(ms_model_save(m, path2, &e) == MS_OK, "an accepted model cannot be saved: %s",
                e.msg);
    ms_model *m2;
    FUZZ_ASSERT(ms_model_load(path2, &m2, &e) == MS_OK, "a saved model does not load: %s", e.msg);
    char *d2 = describe(m2, &l2);
    FUZZ_ASSERT(l1 == l2 && memcmp(d1, d2, l1) == 0, "saved and loaded back differently:\n%s\n%s",
                d1, d2);
    free(d1);
    free(d2);
    score_rows(m2);
    ms_model_free(m2);
    if (loaded)
        score_rows(m);
}

/* The verdict of a load: MS_OK with a model that passes check_accepted, or
 * MS_EMODEL with no model and one line naming the file. Frees the model. */
static inline void check_load_result(ms_status st, ms_model *m, const ms_error *e, const char *path,
                                     const char *path2, const void *input, size_t input_len)
{
    if (st == MS_OK) {
        FUZZ_ASSERT(m != NULL, "MS_OK without a model");
        check_accepted(m, 1, path, path2);
        ms_model_free(m);
    } else {
        FUZZ_ASSERT(m == NULL, "a refused model was handed out");
        FUZZ_ASSERT(st == MS_EMODEL, "status %d (%s): %s", st, ms_strerror(st), e->msg);
        fuzz_check_message(e->msg, path, input, input_len);
    }
}

#endif
