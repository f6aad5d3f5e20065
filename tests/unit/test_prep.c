/*
 * test_prep.c — preprocessing programs (prep.h, docs/formats.md
 * "Preprocessing"): programs written with the HDF5 C API into a saved
 * container, loaded, applied to hand-made typed columns and checked op by
 * op against the formulas of the format; tiles (narrow and wide programs,
 * an r0 offset); save -> load round trips; and the refusals, each a valid
 * program changed in one way.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream, mkdtemp */
#endif
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "h5edit.h"
#include "mpiscore/model.h"
#include "mpiscore/prep.h"

/* --- writing programs ---------------------------------------------------- */

static void base_model(const char *path, size_t nf)
{
    ms_model m;
    memset(&m, 0, sizeof m);
    char **names = calloc(nf, sizeof *names);
    float *coef = calloc(nf, sizeof *coef), icpt = 0;
    CHECK_FATAL(names && coef);
    for (size_t i = 0; i < nf; i++) {
        names[i] = malloc(16);
        snprintf(names[i], 16, "x%zu", i);
        coef[i] = 1;
    }
    char *outs[] = {"score"};
    m.kind = MS_KIND_LINEAR;
    m.link = MS_LINK_IDENTITY;
    m.n_features = nf;
    m.feature_names = names;
    m.n_raw = 1;
    m.n_outputs = 1;
    m.output_names = outs;
    m.linear.coef = coef;
    m.linear.intercept = &icpt;
    ms_error err;
    CHECK_FATAL(ms_model_save(&m, path, &err) == MS_OK);
    for (size_t i = 0; i < nf; i++)
        free(names[i]);
    free(names);
    free(coef);
}

static void put_attr_int(hid_t f, const char *obj, const char *name, long long v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a =
        H5Acreate_by_name(f, obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(a >= 0 && H5Awrite(a, H5T_NATIVE_LLONG, &v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
}

static void put_attr_strs(hid_t f, const char *obj, const char *name, const char *const *v,
                          size_t n, int scalar)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hsize_t d[1] = {n};
    hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, d, NULL);
    hid_t a = H5Acreate_by_name(f, obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(a >= 0 && H5Awrite(a, t, v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void put_attr_str(hid_t f, const char *obj, const char *name, const char *v)
{
    put_attr_strs(f, obj, name, &v, 1, 1);
}

static void put_group(hid_t f, const char *name)
{
    hid_t g = H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(g >= 0);
    H5Gclose(g);
}

static void put_ints(hid_t f, const char *name, const long long *v, size_t n)
{
    hsize_t d[1] = {n};
    hid_t sp = H5Screate_simple(1, d, NULL);
    hid_t ds = H5Dcreate2(f, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(ds >= 0);
    if (n)
        CHECK_FATAL(H5Dwrite(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(ds);
    H5Sclose(sp);
}

static void put_dbls(hid_t f, const char *name, const double *v, size_t n)
{
    hsize_t d[1] = {n};
    hid_t sp = H5Screate_simple(1, d, NULL);
    hid_t ds = H5Dcreate2(f, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(ds >= 0);
    if (n)
        CHECK_FATAL(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(ds);
    H5Sclose(sp);
}

static char pbuf[128];
static const char *at(const char *fmt, size_t i, const char *leaf)
{
    snprintf(pbuf, sizeof pbuf, fmt, i);
    if (leaf) {
        size_t l = strlen(pbuf);
        snprintf(pbuf + l, sizeof pbuf - l, "/%s", leaf);
    }
    return pbuf;
}

static void prep_head(hid_t f, long long n_inputs, long long n_steps)
{
    put_group(f, "/prep");
    put_attr_int(f, "/prep", "n_inputs", n_inputs);
    put_attr_int(f, "/prep", "n_steps", n_steps);
}

static void input_num(hid_t f, size_t k, const char *name)
{
    put_group(f, at("/prep/input_%zu", k, NULL));
    put_attr_str(f, at("/prep/input_%zu", k, NULL), "name", name);
    put_attr_str(f, at("/prep/input_%zu", k, NULL), "kind", "numeric");
}

static void input_cat(hid_t f, size_t k, const char *name, const char *const *cats,
                      const double *num, size_t n, const char *unknown)
{
    put_group(f, at("/prep/input_%zu", k, NULL));
    put_attr_str(f, at("/prep/input_%zu", k, NULL), "name", name);
    put_attr_str(f, at("/prep/input_%zu", k, NULL), "kind", "categorical");
    put_attr_str(f, at("/prep/input_%zu", k, NULL), "unknown", unknown);
    if (cats)
        put_attr_strs(f, at("/prep/input_%zu", k, NULL), "categories", cats, n, 0);
    else
        put_dbls(f, at("/prep/input_%zu", k, "categories"), num, n);
}

/* step s: op over input slots in[0..k), outputs out0 .. out0 + n_out - 1 */
static void step(hid_t f, size_t s, const char *op, const long long *in, size_t k, long long out0,
                 size_t n_out)
{
    long long out[64];
    CHECK_FATAL(n_out <= 64);
    for (size_t j = 0; j < n_out; j++)
        out[j] = out0 + (long long)j;
    put_group(f, at("/prep/step_%zu", s, NULL));
    put_attr_str(f, at("/prep/step_%zu", s, NULL), "op", op);
    put_ints(f, at("/prep/step_%zu", s, "inputs"), in, k);
    put_ints(f, at("/prep/step_%zu", s, "outputs"), out, n_out);
}

static void sdbls(hid_t f, size_t s, const char *name, const double *v, size_t n)
{
    put_dbls(f, at("/prep/step_%zu", s, name), v, n);
}

static void sints(hid_t f, size_t s, const char *name, const long long *v, size_t n)
{
    put_ints(f, at("/prep/step_%zu", s, name), v, n);
}

/* --- the every-op program ------------------------------------------------ */

/* Inputs: 0 age, 1 income (numeric), 2 Contract (3 string categories,
 * unknown = code), 3 Senior (numeric categories 0, 1, unknown = error).
 * Slots 4.. as the steps below say; 17 features. */
#define FULL_NF 17
static const char *contracts[] = {"Month-to-month", "One year", "Two year"};

static void full_program(hid_t f, int variant)
{
    static const double senior[] = {0, 1};
    prep_head(f, 4, 10);
    input_num(f, 0, "age");
    input_num(f, 1, "income");
    input_cat(f, 2, "Contract", contracts, NULL, 3, "code");
    input_cat(f, 3, "Senior", NULL, senior, 2, "error");
    long long in01[] = {0, 1}, in45[] = {4, 5}, in0[] = {0}, in2[] = {2}, in3[] = {3}, in5[] = {5},
              in7[] = {7}, in78[] = {7, 8};
    step(f, 0, "impute", in01, 2, 4, 2);
    sdbls(f, 0, "fill", (double[]){30, 1000}, 2);
    step(f, 1, "indicator", in0, 1, 6, 1);
    step(f, 2, "scale", in45, 2, 7, 2);
    sdbls(f, 2, "center", (double[]){40, 500}, 2);
    sdbls(f, 2, "divisor", (double[]){10, variant == 1 ? 0 : 250}, 2);
    sdbls(f, 2, "factor", (double[]){1, 2}, 2);
    sdbls(f, 2, "offset", (double[]){0, 0.5}, 2);
    step(f, 3, "onehot", in2, 1, 9, 3);
    sints(f, 3, "map", (long long[]){0, -1, variant == 2 ? 7 : 1}, 3);
    put_attr_int(f, "/prep/step_3", "missing", 2);
    put_attr_int(f, "/prep/step_3", "unknown", -2);
    step(f, 4, "lookup", in3, 1, 12, 1);
    sdbls(f, 4, "table", (double[]){5, 7}, 2);
    sdbls(f, 4, "missing_value", (double[]){9}, 1);
    sdbls(f, 4, "unknown_value", (double[]){-3}, 1);
    step(f, 5, "bins", in01, 2, 13, 2);
    sints(f, 5, "n_edges", (long long[]){2, 1}, 2);
    sdbls(f, 5, "edges", (double[]){25, variant == 3 ? 20 : 50, 800}, 3);
    step(f, 6, "poly", in45, 2, 15, 4);
    sints(f, 6, "powers", (long long[]){0, 0, 2, 0, 1, 1, 1, 2}, variant == 4 ? 7 : 8);
    step(f, 7, "func", in5, 1, 19, 1);
    put_attr_str(f, "/prep/step_7", "name", "log1p");
    step(f, 8, "func", in7, 1, 20, 1);
    put_attr_str(f, "/prep/step_8", "name", variant == 5 ? "tanh" : "abs");
    step(f, 9, "normalize", in78, 2, 21, 2);
    put_attr_str(f, "/prep/step_9", "norm", "l2");
    long long outs[] = {7, 8, 6, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22};
    put_ints(f, "/prep/outputs", outs, variant == 6 ? FULL_NF - 1 : FULL_NF);
}

/* The features the format's formulas give for one row (NAN = missing). */
static void full_expected(double age, double income, int32_t contract, int32_t senior, double *y)
{
    double a = isnan(age) ? 30 : age, b = isnan(income) ? 1000 : income;
    double s0 = (a - 40) / 10 * 1 + 0, s1 = (b - 500) / 250 * 2 + 0.5;
    y[0] = s0;
    y[1] = s1;
    y[2] = isnan(age) ? 1 : 0;
    int e = contract == MS_CODE_MISSING ? 2 : contract < 0 ? -2 : (int[]){0, -1, 1}[contract];
    for (int o = 0; o < 3; o++)
        y[3 + o] = e == -2 ? NAN : e == o ? 1 : 0;
    y[6] = senior == MS_CODE_MISSING ? 9 : senior < 0 ? -3 : (double[]){5, 7}[senior];
    y[7] = isnan(age) ? NAN : (age >= 25) + (age >= 50);
    y[8] = isnan(income) ? NAN : (income >= 800);
    y[9] = 1;
    y[10] = a * a;
    y[11] = a * b;
    y[12] = a * (b * b);
    y[13] = log1p(b);
    y[14] = fabs(s0);
    double n = sqrt(s0 * s0 + s1 * s1);
    y[15] = s0 / n;
    y[16] = s1 / n;
}

static ms_model *load_ok(const char *path)
{
    ms_model *m = NULL;
    ms_error err;
    ms_status st = ms_model_load(path, &m, &err);
    CHECK_MSG(st == MS_OK, "%s", err.msg);
    CHECK_FATAL(m != NULL);
    return m;
}

static void to_f64(ms_model *m)
{
    m->precision = MS_PREC_F64;
    for (size_t k = 0; k < m->n_inputs; k++)
        m->inputs[k].prec = MS_PREC_F64;
}

#define NROWS 6
static const double ages[NROWS] = {20, NAN, 45, 60, 33, 50};
static const double incomes[NROWS] = {100, 2000, NAN, 500, 1250, 800};
static const int32_t codes_c[NROWS] = {0, 1, 2, MS_CODE_MISSING, MS_CODE_UNKNOWN, 2};
static const int32_t codes_s[NROWS] = {0, 1, MS_CODE_MISSING, 0, 1, 1};

static int same_value(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static void test_every_op(void)
{
    hid_t f;
    base_model("m.h5", FULL_NF);
    f = open_rw("m.h5");
    full_program(f, 0);
    H5Fclose(f);
    ms_model *m = load_ok("m.h5");
    CHECK_FATAL(m->prep && m->n_inputs == 4);
    CHECK_STREQ(m->inputs[0].name, "age");
    CHECK(m->inputs[0].kind == MS_COL_NUM && m->inputs[1].kind == MS_COL_NUM);
    /* numeric inputs are read as float64 even for a float32 model */
    CHECK(m->precision == MS_PREC_F32 && m->inputs[0].prec == MS_PREC_F64);
    CHECK(m->inputs[2].kind == MS_COL_CAT && !m->inputs[2].unknown_is_error);
    CHECK(m->inputs[3].kind == MS_COL_CAT && m->inputs[3].unknown_is_error);
    CHECK(ms_dict_size(m->inputs[2].dict) == 3 && !ms_dict_is_num(m->inputs[2].dict));
    CHECK(ms_dict_find_str(m->inputs[2].dict, "One year", 8) == 1);
    CHECK(ms_dict_find_str(m->inputs[2].dict, "one year", 8) == MS_CODE_UNKNOWN);
    CHECK(ms_dict_is_num(m->inputs[3].dict) && ms_dict_find_num(m->inputs[3].dict, 1.0) == 1);

    /* float64 model: every value as the formulas say, to the bit */
    to_f64(m);
    double want[NROWS][FULL_NF], got[NROWS][FULL_NF];
    const void *cols[4] = {ages, incomes, codes_c, codes_s};
    for (size_t r = 0; r < NROWS; r++)
        full_expected(ages[r], incomes[r], codes_c[r], codes_s[r], want[r]);
    ms_prep_apply(m, cols, 0, NROWS, got);
    for (size_t r = 0; r < NROWS; r++)
        for (size_t j = 0; j < FULL_NF; j++)
            CHECK_MSG(same_value(got[r][j], want[r][j]), "row %zu feature %zu: %.17g != %.17g", r,
                      j, got[r][j], want[r][j]);
    /* r0 offsets the columns, not the output */
    double part[2][FULL_NF];
    ms_prep_apply(m, cols, 3, 2, part);
    for (size_t j = 0; j < FULL_NF; j++)
        CHECK(same_value(part[0][j], want[3][j]) && same_value(part[1][j], want[4][j]));

    /* float32 model: float inputs widened, computed in double, then cast */
    m->precision = MS_PREC_F32;
    for (size_t k = 0; k < 2; k++)
        m->inputs[k].prec = MS_PREC_F32;
    float a32[NROWS], i32[NROWS], g32[NROWS][FULL_NF];
    for (size_t r = 0; r < NROWS; r++) {
        a32[r] = (float)ages[r];
        i32[r] = (float)incomes[r];
    }
    const void *cols32[4] = {a32, i32, codes_c, codes_s};
    ms_prep_apply(m, cols32, 0, NROWS, g32);
    for (size_t r = 0; r < NROWS; r++)
        for (size_t j = 0; j < FULL_NF; j++)
            CHECK_MSG(same_value(g32[r][j], (float)want[r][j]), "f32 row %zu feature %zu", r, j);

    /* save writes the program: the reloaded model computes the same */
    ms_error err;
    CHECK(ms_model_save(m, "r.h5", &err) == MS_OK);
    ms_model *r = load_ok("r.h5");
    CHECK(r->n_inputs == 4 && r->inputs[3].unknown_is_error && ms_dict_is_num(r->inputs[3].dict));
    CHECK_STREQ(ms_dict_str(r->inputs[2].dict, 2), "Two year");
    to_f64(r);
    double again[NROWS][FULL_NF];
    ms_prep_apply(r, cols, 0, NROWS, again);
    CHECK(memcmp(again, got, sizeof got) == 0);

    /* model info shows the program */
    char *text = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&text, &len);
    ms_model_describe(r, mf);
    fclose(mf);
    CHECK_MSG(strstr(text, "inputs:    4 (age, income, Contract [3 categories], Senior [2 "
                           "categories, unknown = error])") != NULL,
              "%s", text);
    CHECK_MSG(strstr(text, "prep:      10 steps, 23 slots") != NULL, "%s", text);
    CHECK_MSG(strstr(text, "step 6: poly (2 -> 4)") && strstr(text, "step 7: func log1p (1 -> 1)"),
              "%s", text);
    free(text);
    ms_model_free(r);
    ms_model_free(m);
}

/* Each function and norm, and a program so wide that a tile is one row:
 * many rows through it must come out as row-at-a-time does. */
static void test_funcs_norms_tiles(void)
{
    static const char *fn[] = {"log1p", "log", "sqrt", "exp", "expm1", "abs"};
    static const char *nm[] = {"l1", "l2", "max"};
    /* slot 0 = x, 1 = y; steps 0..5 funcs of x -> slots 2..7; 6..8 norms
     * of (x, y) -> 8..13; step 9 onehot of y with 30000 outputs */
    enum { WIDE = 30000, NF = 12 + 1 };
    base_model("m.h5", NF);
    hid_t f = open_rw("m.h5");
    prep_head(f, 2, 10);
    input_num(f, 0, "x");
    input_num(f, 1, "y");
    long long in0[] = {0}, in01[] = {0, 1}, in1[] = {1};
    for (size_t i = 0; i < 6; i++) {
        step(f, i, "func", in0, 1, 2 + (long long)i, 1);
        put_attr_str(f, at("/prep/step_%zu", i, NULL), "name", fn[i]);
    }
    for (size_t i = 0; i < 3; i++) {
        step(f, 6 + i, "normalize", in01, 2, 8 + 2 * (long long)i, 2);
        put_attr_str(f, at("/prep/step_%zu", 6 + i, NULL), "norm", nm[i]);
    }
    put_group(f, "/prep/step_9");
    put_attr_str(f, "/prep/step_9", "op", "onehot");
    put_ints(f, "/prep/step_9/inputs", in1, 1);
    long long *outs = malloc(WIDE * sizeof *outs), *map = malloc(WIDE * sizeof *map);
    for (long long j = 0; j < WIDE; j++) {
        outs[j] = 14 + j;
        map[j] = WIDE - 1 - j;
    }
    put_ints(f, "/prep/step_9/outputs", outs, WIDE);
    put_ints(f, "/prep/step_9/map", map, WIDE);
    put_attr_int(f, "/prep/step_9", "missing", -1);
    put_attr_int(f, "/prep/step_9", "unknown", -1);
    /* features: the 12 values, then one-hot output WIDE-1-7 (set by y = 7) */
    long long feat[NF] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 + WIDE - 1 - 7};
    put_ints(f, "/prep/outputs", feat, NF);
    H5Fclose(f);
    free(outs);
    free(map);
    ms_model *m = load_ok("m.h5");
    to_f64(m);
    enum { N = 700 };
    double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    double *got = malloc(N * NF * sizeof *got), one[NF];
    for (size_t r = 0; r < N; r++) {
        x[r] = r % 7 == 3 ? NAN : (double)r / 37.0 - 4.0;
        y[r] = (double)(r % 9); /* 7 hits the watched column, 8.5 none */
        if (r % 11 == 0)
            y[r] = 8.5;
    }
    const void *cols[2] = {x, y};
    ms_prep_apply(m, cols, 0, N, got);
    for (size_t r = 0; r < N; r++) {
        ms_prep_apply(m, cols, r, 1, one);
        double w[NF] = {log1p(x[r]), log(x[r]), sqrt(x[r]), exp(x[r]), expm1(x[r]), fabs(x[r])};
        double l1 = fabs(x[r]) + fabs(y[r]), l2 = sqrt(x[r] * x[r] + y[r] * y[r]);
        double mx = isnan(x[r]) ? NAN : fmax(fabs(x[r]), fabs(y[r]));
        l1 = l1 == 0 ? 1 : l1;
        l2 = l2 == 0 ? 1 : l2;
        mx = mx == 0 ? 1 : mx;
        w[6] = x[r] / l1, w[7] = y[r] / l1, w[8] = x[r] / l2, w[9] = y[r] / l2;
        w[10] = x[r] / mx, w[11] = y[r] / mx;
        w[12] = y[r] == 7 ? 1 : 0;
        for (size_t j = 0; j < NF; j++) {
            CHECK_MSG(same_value(got[r * NF + j], w[j]), "row %zu feature %zu: %.17g != %.17g", r,
                      j, got[r * NF + j], w[j]);
            CHECK(same_value(one[j], got[r * NF + j]));
        }
    }
    free(x);
    free(y);
    free(got);
    ms_model_free(m);
}

/* A program that imputes every missing value lets a linear model take rows
 * with missing cells (the readers then keep them); one NaN path anywhere
 * (an unimputed input, a log, a table with NaN) and it does not. */
static void nan_free_program(hid_t f, const char *func, double lookup_missing)
{
    static const char *cats[] = {"Yes", "No"};
    prep_head(f, 2, 4);
    input_num(f, 0, "a");
    input_cat(f, 1, "flag", cats, NULL, 2, "code");
    step(f, 0, "impute", (long long[]){0}, 1, 2, 1);
    sdbls(f, 0, "fill", (double[]){1.5}, 1);
    step(f, 1, "func", (long long[]){2}, 1, 3, 1);
    put_attr_str(f, "/prep/step_1", "name", func);
    step(f, 2, "onehot", (long long[]){1}, 1, 4, 2);
    sints(f, 2, "map", (long long[]){0, 1}, 2);
    put_attr_int(f, "/prep/step_2", "missing", -1);
    put_attr_int(f, "/prep/step_2", "unknown", -1);
    step(f, 3, "lookup", (long long[]){1}, 1, 6, 1);
    sdbls(f, 3, "table", (double[]){3, 4}, 2);
    sdbls(f, 3, "missing_value", (double[]){lookup_missing}, 1);
    sdbls(f, 3, "unknown_value", (double[]){-1}, 1);
    put_ints(f, "/prep/outputs", (long long[]){3, 4, 5, 6}, 4);
}

static void test_nan_free(void)
{
    struct {
        const char *func;
        double lookup_missing;
        int allows;
    } cases[] = {{"abs", 0, 1}, {"exp", 7, 1}, {"log", 0, 0}, {"abs", NAN, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        base_model("m.h5", 4);
        hid_t f = open_rw("m.h5");
        nan_free_program(f, cases[i].func, cases[i].lookup_missing);
        H5Fclose(f);
        ms_model *m = load_ok("m.h5");
        CHECK_MSG(ms_prep_nan_free(m->prep) == cases[i].allows, "case %zu", i);
        /* a program always takes missing cells: the scorer refuses the rows
         * where one still reaches a feature (scorer.c refuse_nan_rows) */
        CHECK_MSG(ms_model_allows_missing(m), "case %zu", i);
        ms_model_free(m);
    }
    /* the every-op program passes input "age" to bins unimputed */
    base_model("m.h5", FULL_NF);
    hid_t f = open_rw("m.h5");
    full_program(f, 0);
    H5Fclose(f);
    ms_model *m = load_ok("m.h5");
    CHECK(!ms_prep_nan_free(m->prep));
    ms_model_free(m);
}

/* --- refusals ------------------------------------------------------------ */

static void expect_refusal(const char *want)
{
    ms_model *m = NULL;
    ms_error err;
    ms_status st = ms_model_load("m.h5", &m, &err);
    CHECK_MSG(st == MS_EMODEL, "expected MS_EMODEL for \"%s\", got %d", want, (int)st);
    if (st != MS_OK)
        CHECK_MSG(!strcmp(err.msg, want), "\"%s\" != \"%s\"", err.msg, want);
    ms_model_free(m);
}

static void refuse_full(int variant, const char *want)
{
    base_model("m.h5", FULL_NF);
    hid_t f = open_rw("m.h5");
    full_program(f, variant);
    H5Fclose(f);
    expect_refusal(want);
}

typedef void (*edit_fn)(hid_t f);

static void refuse_edit(size_t nf, edit_fn fn, const char *want)
{
    base_model("m.h5", nf);
    hid_t f = open_rw("m.h5");
    fn(f);
    H5Fclose(f);
    expect_refusal(want);
}

static void one_input(hid_t f, long long n_steps)
{
    prep_head(f, 1, n_steps);
    input_num(f, 0, "a");
}

static void e_forward(hid_t f)
{
    one_input(f, 1);
    step(f, 0, "indicator", (long long[]){1}, 1, 1, 1);
    put_ints(f, "/prep/outputs", (long long[]){1}, 1);
}

static void e_not_next(hid_t f)
{
    one_input(f, 1);
    step(f, 0, "indicator", (long long[]){0}, 1, 2, 1);
    put_ints(f, "/prep/outputs", (long long[]){0}, 1);
}

static void e_unknown_op(hid_t f)
{
    one_input(f, 1);
    step(f, 0, "spline", (long long[]){0}, 1, 1, 1);
    put_ints(f, "/prep/outputs", (long long[]){1}, 1);
}

static void e_missing_step(hid_t f)
{
    one_input(f, 2);
    step(f, 0, "indicator", (long long[]){0}, 1, 1, 1);
    put_ints(f, "/prep/outputs", (long long[]){1}, 1);
}

static void e_dup_category(hid_t f)
{
    static const char *cats[] = {"Yes", "No", "Yes"};
    prep_head(f, 1, 0);
    input_cat(f, 0, "Partner", cats, NULL, 3, "code");
    put_ints(f, "/prep/outputs", (long long[]){0}, 1);
}

static void e_dup_input(hid_t f)
{
    prep_head(f, 2, 0);
    input_num(f, 0, "a");
    input_num(f, 1, "a");
    put_ints(f, "/prep/outputs", (long long[]){0}, 1);
}

static void e_no_inputs(hid_t f)
{
    prep_head(f, 0, 0);
    put_ints(f, "/prep/outputs", (long long[]){0}, 1);
}

static void e_bad_kind(hid_t f)
{
    prep_head(f, 1, 0);
    put_group(f, "/prep/input_0");
    put_attr_str(f, "/prep/input_0", "name", "a");
    put_attr_str(f, "/prep/input_0", "kind", "text");
    put_ints(f, "/prep/outputs", (long long[]){0}, 1);
}

static void e_no_categories(hid_t f)
{
    prep_head(f, 1, 0);
    put_group(f, "/prep/input_0");
    put_attr_str(f, "/prep/input_0", "name", "a");
    put_attr_str(f, "/prep/input_0", "kind", "categorical");
    put_attr_str(f, "/prep/input_0", "unknown", "code");
    put_ints(f, "/prep/outputs", (long long[]){0}, 1);
}

/* a dataset that promises a million slots and stores none */
static void e_hollow(hid_t f)
{
    one_input(f, 1);
    put_group(f, "/prep/step_0");
    put_attr_str(f, "/prep/step_0", "op", "indicator");
    hsize_t d[1] = {1000000};
    hid_t sp = H5Screate_simple(1, d, NULL);
    hid_t ds = H5Dcreate2(f, "/prep/step_0/inputs", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT);
    H5Dclose(ds);
    H5Sclose(sp);
    put_ints(f, "/prep/outputs", (long long[]){0}, 1);
}

static void e_float_slots(hid_t f)
{
    one_input(f, 1);
    put_group(f, "/prep/step_0");
    put_attr_str(f, "/prep/step_0", "op", "indicator");
    put_dbls(f, "/prep/step_0/inputs", (double[]){0}, 1);
    put_ints(f, "/prep/step_0/outputs", (long long[]){1}, 1);
    put_ints(f, "/prep/outputs", (long long[]){1}, 1);
}

static void e_too_many_slots(hid_t f)
{
    one_input(f, 1);
    put_group(f, "/prep/step_0");
    put_attr_str(f, "/prep/step_0", "op", "onehot");
    put_ints(f, "/prep/step_0/inputs", (long long[]){0}, 1);
    long long *outs = malloc(40000 * sizeof *outs);
    for (long long j = 0; j < 40000; j++)
        outs[j] = 1 + j;
    put_ints(f, "/prep/step_0/outputs", outs, 40000);
    free(outs);
    put_ints(f, "/prep/outputs", (long long[]){1}, 1);
}

static void e_impute_nan(hid_t f)
{
    one_input(f, 1);
    step(f, 0, "impute", (long long[]){0}, 1, 1, 1);
    sdbls(f, 0, "fill", (double[]){NAN}, 1);
    put_ints(f, "/prep/outputs", (long long[]){1}, 1);
}

static void e_lookup_two(hid_t f)
{
    prep_head(f, 2, 1);
    input_num(f, 0, "a");
    input_num(f, 1, "b");
    step(f, 0, "lookup", (long long[]){0, 1}, 2, 2, 1);
    put_ints(f, "/prep/outputs", (long long[]){2}, 1);
}

static void e_scale_short(hid_t f)
{
    one_input(f, 1);
    step(f, 0, "scale", (long long[]){0}, 1, 1, 1);
    sdbls(f, 0, "center", (double[]){0, 0}, 2);
    put_ints(f, "/prep/outputs", (long long[]){1}, 1);
}

static void test_refusals(void)
{
    refuse_full(1, "m.h5: /prep step 2 (scale): divisor[1] = 0 is not a finite non-zero number");
    refuse_full(2, "m.h5: /prep step 3 (onehot): map[2] = 7 is not an output (-2..2)");
    refuse_full(3, "m.h5: /prep step 5 (bins): the edges of input 0 are not finite and "
                   "non-decreasing");
    refuse_full(4, "m.h5: /prep step 6 (poly): powers has 7 values, expected 4 outputs x 2 "
                   "inputs");
    refuse_full(5, "m.h5: /prep step 8 (func): unknown name \"tanh\"");
    refuse_full(6, "m.h5: /prep: outputs has 16 slots but the model has 17 features");
    refuse_edit(1, e_forward,
                "m.h5: /prep step 0 (indicator): /prep/step_0/inputs[0] = 1 is not a slot "
                "defined here");
    refuse_edit(1, e_not_next,
                "m.h5: /prep step 0 (indicator): outputs[0] = 2, expected 1 (the next unused "
                "slot)");
    refuse_edit(1, e_unknown_op, "m.h5: /prep step 0: unknown op \"spline\"");
    refuse_edit(1, e_missing_step, "m.h5: /prep step 1: group /prep/step_1 is missing");
    refuse_edit(1, e_dup_category,
                "m.h5: /prep input 0 (\"Partner\"): category \"Yes\" is listed twice");
    refuse_edit(1, e_dup_input, "m.h5: /prep: duplicate input name \"a\"");
    refuse_edit(1, e_no_inputs, "m.h5: /prep: n_inputs = 0, expected 1..32768");
    refuse_edit(1, e_bad_kind, "m.h5: /prep input 0: unknown kind \"text\"");
    refuse_edit(1, e_no_categories,
                "m.h5: /prep input 0: a categorical input needs its categories");
    refuse_edit(1, e_hollow,
                "m.h5: /prep/step_0/inputs declares 1000000 values but the file stores only 0 "
                "bytes");
    refuse_edit(1, e_float_slots, "m.h5: /prep/step_0/inputs must be a 1-D integer dataset");
    refuse_edit(1, e_too_many_slots,
                "m.h5: /prep step 0 (onehot): the program needs more than 32768 slots");
    refuse_edit(1, e_impute_nan,
                "m.h5: /prep step 0 (impute): fill[0] = nan is not a finite number");
    refuse_edit(1, e_lookup_two, "m.h5: /prep step 0 (lookup): 2 inputs, expected 1");
    refuse_edit(1, e_scale_short, "m.h5: /prep step 0 (scale): center has 2 values, expected 1");
}

int main(void)
{
    char dir[] = "/tmp/test_prep.XXXXXX";
    CHECK_FATAL(mkdtemp(dir) != NULL);
    CHECK_FATAL(chdir(dir) == 0);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    test_every_op();
    test_funcs_norms_tiles();
    test_nan_free();
    test_refusals();
    unlink("m.h5");
    unlink("r.h5");
    CHECK(chdir("/") == 0);
    CHECK(rmdir(dir) == 0);
    return ms_test_done("test_prep");
}
