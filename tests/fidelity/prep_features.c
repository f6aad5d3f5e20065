/*
 * prep_features.c — the C preprocessing program over given input columns,
 * for the pipeline fidelity test: the features ms_prep_apply computes, to
 * compare with the reference evaluator and scikit-learn's own transform.
 *
 *   prep_features MODEL.h5 IN.txt OUT.txt
 *
 * IN.txt: the row count, then one line per model input (m->inputs order)
 * of that many values: numbers ("nan" = missing) for numeric inputs,
 * category codes for categorical ones (-1 missing, -2 unknown), as the
 * readers hand them over. OUT.txt: one line per row, the features in
 * float64 ("%.17g", comma-separated). Exit 3 if the model is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpiscore/model.h"
#include "mpiscore/prep.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: prep_features MODEL.h5 IN.txt OUT.txt\n");
        return 1;
    }
    ms_model *m = NULL;
    ms_error err;
    if (ms_model_load(argv[1], &m, &err) != MS_OK) {
        fprintf(stderr, "prep_features: %s\n", err.msg);
        return 3;
    }
    if (!m->prep) {
        fprintf(stderr, "prep_features: %s has no preprocessing program\n", argv[1]);
        return 3;
    }
    FILE *in = fopen(argv[2], "r"), *out = fopen(argv[3], "w");
    size_t n = 0;
    if (!in || !out || fscanf(in, "%zu", &n) != 1) {
        fprintf(stderr, "prep_features: cannot read %s\n", argv[2]);
        return 2;
    }
    m->precision = MS_PREC_F64;
    void **cols = calloc(m->n_inputs, sizeof *cols);
    for (size_t k = 0; k < m->n_inputs; k++) {
        m->inputs[k].prec = MS_PREC_F64;
        int cat = m->inputs[k].kind == MS_COL_CAT;
        cols[k] = malloc((n ? n : 1) * (cat ? sizeof(int32_t) : sizeof(double)));
        for (size_t r = 0; r < n; r++) {
            double v;
            if (fscanf(in, "%lf", &v) != 1) {
                fprintf(stderr, "prep_features: %s: input %zu row %zu unreadable\n", argv[2], k, r);
                return 2;
            }
            if (cat)
                ((int32_t *)cols[k])[r] = (int32_t)v;
            else
                ((double *)cols[k])[r] = v;
        }
    }
    double *x = malloc((n ? n : 1) * m->n_features * sizeof *x);
    ms_prep_apply(m, (const void *const *)cols, 0, n, x);
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < m->n_features; j++)
            fprintf(out, "%.17g%c", x[r * m->n_features + j], j + 1 < m->n_features ? ',' : '\n');
    fclose(in);
    fclose(out);
    for (size_t k = 0; k < m->n_inputs; k++)
        free(cols[k]);
    free(cols);
    free(x);
    ms_model_free(m);
    return 0;
}
