/*
 * test_model.c — the model container: save/load round trips, every refusal
 * with its exact message, containers written the way h5py writes them
 * (fixed-length strings, int32/float attributes, float64 weights).
 *
 * Broken containers are made by saving a good model and then editing one
 * attribute or dataset with the HDF5 C API, so each case differs from a
 * valid file in exactly one way. Runs in a scratch directory so messages
 * carry the short name "m.h5".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream, mkdtemp */
#endif
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "h5edit.h"
#include "mpiscore/model.h"

static char *names3[] = {"a", "b", "c"};
static char *names4[] = {"a", "b", "c", "d"};
static char *bin_outputs[] = {"p_no", "p_yes"};
static char *bin_classes[] = {"no", "yes"};
static float bin_coef[] = {0.5f, -1.25f, 2.0f};
static float bin_icpt[] = {0.125f};

/* Binary logistic classifier over a, b, c: the base every broken case edits. */
static ms_model binary_model(void)
{
    ms_model m;
    memset(&m, 0, sizeof m);
    m.kind = MS_KIND_LINEAR;
    m.link = MS_LINK_LOGISTIC;
    m.n_features = 3;
    m.feature_names = names3;
    m.n_raw = 1;
    m.n_outputs = 2;
    m.output_names = bin_outputs;
    m.n_classes = 2;
    m.class_labels = bin_classes;
    m.source = "scikit-learn 1.2.1";
    m.linear.coef = bin_coef;
    m.linear.intercept = bin_icpt;
    return m;
}

static char *reg_outputs[] = {"score_0", "score_1"};
static float reg_coef[] = {1, 2, 3, 4, 5, 6};
static float reg_icpt[] = {-1, 1};

/* Two-target regressor: n_raw 2, no classes, no source. */
static ms_model regressor(void)
{
    ms_model m;
    memset(&m, 0, sizeof m);
    m.kind = MS_KIND_LINEAR;
    m.link = MS_LINK_IDENTITY;
    m.n_features = 3;
    m.feature_names = names3;
    m.n_raw = 2;
    m.n_outputs = 2;
    m.output_names = reg_outputs;
    m.linear.coef = reg_coef;
    m.linear.intercept = reg_icpt;
    return m;
}

static void save_ok(const ms_model *m, const char *path)
{
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_model_save(m, path, &err);
    CHECK_MSG(st == MS_OK, "save %s: %s", path, err.msg);
    if (st != MS_OK)
        exit(1);
}

/* Load `path` expecting failure with exactly `code` and `msg`. */
static void expect_load_error(const char *path, ms_status code, const char *msg, int line)
{
    ms_model *m = (ms_model *)1;
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_model_load(path, &m, &err);
    CHECK_MSG(st == code, "line %d: status %d, expected %d (%s)", line, st, code, err.msg);
    CHECK_MSG(m == NULL, "line %d: *out not NULL on failure", line);
    CHECK_MSG(strcmp(err.msg, msg) == 0, "line %d: \"%s\" != \"%s\"", line, err.msg, msg);
    if (st == MS_OK)
        ms_model_free(m);
}
#define LOAD_ERROR(path, code, msg) expect_load_error(path, code, msg, __LINE__)

static void expect_invalid(const ms_model *m, const char *msg, int line)
{
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_model_validate(m, "m.h5", &err);
    CHECK_MSG(st == MS_EMODEL, "line %d: status %d (%s)", line, st, err.msg);
    CHECK_MSG(strcmp(err.msg, msg) == 0, "line %d: \"%s\" != \"%s\"", line, err.msg, msg);
}
#define INVALID(m, msg) expect_invalid(&(m), msg, __LINE__)

/* Invalid in memory, saved anyway, then refused by the loader with the
 * same message: save must not validate, load must. */
static void expect_saved_invalid(const ms_model *m, const char *msg, int line)
{
    expect_invalid(m, msg, line);
    save_ok(m, "m.h5");
    expect_load_error("m.h5", MS_EMODEL, msg, line);
}
#define SAVED_INVALID(m, msg) expect_saved_invalid(&(m), msg, __LINE__)

/* --- raw HDF5 edits of a saved container ------------------------------- */

static void del_attr(hid_t f, const char *name)
{
    if (H5Aexists(f, name) > 0)
        CHECK_FATAL(H5Adelete(f, name) >= 0);
}

static void put_int_attr(hid_t f, const char *name, hid_t type, long long v)
{
    del_attr(f, name);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(a >= 0 && H5Awrite(a, H5T_NATIVE_LLONG, &v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
}

static void put_double_attr(hid_t f, const char *name, double v)
{
    del_attr(f, name);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(a >= 0 && H5Awrite(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
}

/* Variable-length scalar string, as h5py writes a Python str. */
static void put_vstr_attr(hid_t f, const char *name, const char *v)
{
    del_attr(f, name);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(a >= 0 && H5Awrite(a, t, &v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void put_vstrs_attr(hid_t f, const char *name, char *const *v, size_t n)
{
    del_attr(f, name);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    hsize_t d[1] = {n};
    hid_t sp = H5Screate_simple(1, d, NULL);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(a >= 0 && H5Awrite(a, t, v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

/* Fixed-length strings of `size` bytes with the given padding, as h5py
 * writes numpy bytes arrays (np.bytes_ / dtype "S"). rank 0 = scalar. */
static void put_fstrs_attr(hid_t f, const char *name, const char *const *v, size_t n, int rank,
                           size_t size, H5T_str_t pad)
{
    del_attr(f, name);
    char *buf = calloc(n, size);
    for (size_t i = 0; i < n; i++) {
        memset(buf + i * size, pad == H5T_STR_SPACEPAD ? ' ' : '\0', size);
        memcpy(buf + i * size, v[i], strlen(v[i]));
    }
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, size);
    H5Tset_strpad(t, pad);
    hsize_t d[1] = {n};
    hid_t sp = rank ? H5Screate_simple(1, d, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(a >= 0 && H5Awrite(a, t, buf) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    free(buf);
}

/* Replace a dataset with float64 values of the given shape. */
static void put_f64_dataset(hid_t f, const char *name, int rank, const hsize_t *dims,
                            const double *v)
{
    if (H5Lexists(f, name, H5P_DEFAULT) > 0)
        CHECK_FATAL(H5Ldelete(f, name, H5P_DEFAULT) >= 0);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(d >= 0 && H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
}

static void put_i32_dataset(hid_t f, const char *name, int rank, const hsize_t *dims, const int *v)
{
    if (H5Lexists(f, name, H5P_DEFAULT) > 0)
        CHECK_FATAL(H5Ldelete(f, name, H5P_DEFAULT) >= 0);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(d >= 0 && H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
}

/* A fresh copy of the binary model at m.h5, opened for editing. */
static hid_t fresh(void)
{
    ms_model m = binary_model();
    save_ok(&m, "m.h5");
    return open_rw("m.h5");
}

static ms_model *load_ok(const char *path, int line)
{
    ms_model *m = NULL;
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_model_load(path, &m, &err);
    CHECK_MSG(st == MS_OK, "line %d: load %s: %s", line, path, err.msg);
    if (st != MS_OK)
        exit(1);
    return m;
}
#define LOAD_OK(path) load_ok(path, __LINE__)

static void check_same(const ms_model *a, const ms_model *b)
{
    CHECK(a->kind == b->kind);
    CHECK(a->link == b->link);
    CHECK(a->n_features == b->n_features);
    CHECK(a->n_raw == b->n_raw);
    CHECK(a->n_outputs == b->n_outputs);
    CHECK(a->n_classes == b->n_classes);
    for (size_t i = 0; i < a->n_features && i < b->n_features; i++)
        CHECK_STREQ(a->feature_names[i], b->feature_names[i]);
    for (size_t i = 0; i < a->n_outputs && i < b->n_outputs; i++)
        CHECK_STREQ(a->output_names[i], b->output_names[i]);
    for (size_t i = 0; i < a->n_classes && i < b->n_classes; i++)
        CHECK_STREQ(a->class_labels[i], b->class_labels[i]);
    CHECK((a->source == NULL) == (b->source == NULL));
    if (a->source && b->source)
        CHECK_STREQ(a->source, b->source);
    if (a->n_raw == b->n_raw && a->n_features == b->n_features) {
        for (size_t i = 0; i < a->n_raw * a->n_features; i++)
            CHECK(a->linear.coef[i] == b->linear.coef[i]);
        for (size_t i = 0; i < a->n_raw; i++)
            CHECK(a->linear.intercept[i] == b->linear.intercept[i]);
    }
}

static char *describe(const ms_model *m)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    CHECK_FATAL(f != NULL);
    ms_model_describe(m, f);
    fclose(f);
    return s;
}

static void test_round_trip(void)
{
    ms_model want = binary_model();
    save_ok(&want, "m.h5");
    ms_model *got = LOAD_OK("m.h5");
    check_same(&want, got);
    char *d = describe(got);
    CHECK_MSG(strstr(d, "kind:      linear\n") != NULL, "%s", d);
    CHECK_MSG(strstr(d, "link:      logistic\n") != NULL, "%s", d);
    CHECK_MSG(strstr(d, "features:  3 (a, b, c)\n") != NULL, "%s", d);
    CHECK_MSG(strstr(d, "outputs:   2 (p_no, p_yes)\n") != NULL, "%s", d);
    CHECK_MSG(strstr(d, "classes:   2 (no, yes)\n") != NULL, "%s", d);
    CHECK_MSG(strstr(d, "source:    scikit-learn 1.2.1\n") != NULL, "%s", d);
    free(d);
    ms_model_free(got);

    want = regressor();
    save_ok(&want, "r.h5");
    got = LOAD_OK("r.h5");
    check_same(&want, got);
    d = describe(got);
    CHECK_MSG(strstr(d, "classes") == NULL && strstr(d, "source") == NULL, "%s", d);
    free(d);
    ms_model_free(got);

    /* Long feature lists are cut after 10 names. */
    char *many[12], buf[12][16];
    float coef[12] = {0}, icpt[1] = {0};
    char *score[] = {"score"};
    for (int i = 0; i < 12; i++) {
        snprintf(buf[i], sizeof buf[i], "x%d", i);
        many[i] = buf[i];
    }
    ms_model wide = regressor();
    wide.n_features = 12;
    wide.feature_names = many;
    wide.n_raw = wide.n_outputs = 1;
    wide.output_names = score;
    wide.linear.coef = coef;
    wide.linear.intercept = icpt;
    d = describe(&wide);
    CHECK_MSG(strstr(d, "features:  12 (x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, ...)\n"), "%s", d);
    free(d);

    ms_model_free(NULL);
    CHECK_STREQ(ms_kind_name(MS_KIND_LINEAR), "linear");
    CHECK_STREQ(ms_kind_name(MS_KIND_TREES), "tree_ensemble");
    CHECK_STREQ(ms_kind_name(MS_KIND_MLP), "mlp");
    CHECK_STREQ(ms_link_name(MS_LINK_IDENTITY), "identity");
    CHECK_STREQ(ms_link_name(MS_LINK_LOGISTIC), "logistic");
    CHECK_STREQ(ms_link_name(MS_LINK_SOFTMAX), "softmax");
    CHECK_STREQ(ms_link_name(MS_LINK_OVR), "ovr");
    CHECK_STREQ(ms_link_name(MS_LINK_EXP), "exp");
    CHECK_STREQ(ms_link_name(MS_LINK_STEP), "step");
}

/* Containers as h5py writes them from numpy values, not as ms_model_save
 * does: the loader must accept every representation. */
static void test_h5py_variants(void)
{
    hid_t f = fresh();
    const char *fmt[] = {MS_MODEL_FORMAT}, *kind[] = {"linear"}, *link[] = {"logistic"};
    const char *fn[] = {"a", "b", "c"}, *outs[] = {"p_no", "p_yes"};
    put_fstrs_attr(f, "format", fmt, 1, 0, 14, H5T_STR_NULLPAD);
    put_fstrs_attr(f, "kind", kind, 1, 0, 10, H5T_STR_NULLPAD);  /* padded with NULs */
    put_fstrs_attr(f, "link", link, 1, 1, 12, H5T_STR_SPACEPAD); /* 1-element array */
    put_fstrs_attr(f, "feature_names", fn, 3, 1, 1, H5T_STR_NULLPAD);
    put_fstrs_attr(f, "output_names", outs, 2, 1, 8, H5T_STR_SPACEPAD);
    put_int_attr(f, "format_version", H5T_STD_I32BE, 1);
    put_int_attr(f, "n_features", H5T_STD_U8LE, 3);
    double coef[] = {0.1, 0.2, 0.3}, icpt[] = {-0.5};
    hsize_t cd[2] = {1, 3}, id[1] = {1};
    put_f64_dataset(f, "/linear/coef", 2, cd, coef);
    put_f64_dataset(f, "/linear/intercept", 1, id, icpt);
    H5Fclose(f);
    ms_model *m = LOAD_OK("m.h5");
    CHECK_STREQ(m->feature_names[2], "c");
    CHECK_STREQ(m->output_names[1], "p_yes");
    CHECK(m->link == MS_LINK_LOGISTIC);
    CHECK(m->linear.coef[1] == 0.2f && m->linear.intercept[0] == -0.5f);
    ms_model_free(m);

    /* float64 weights are rounded to nearest like numpy's astype(float32):
     * 3.4028235e38 (how FLT_MAX prints) is FLT_MAX, not inf; tiny values
     * underflow to 0. Class labels as fixed-length strings. */
    f = fresh();
    {
        double cv[3] = {3.4028235e38, -3.4028235e38, 1e-50}, iv[1] = {0.1};
        put_f64_dataset(f, "/linear/coef", 2, cd, cv);
        put_f64_dataset(f, "/linear/intercept", 1, id, iv);
        const char *cl[] = {"no", "yes"};
        put_fstrs_attr(f, "class_labels", cl, 2, 1, 3, H5T_STR_NULLPAD);
    }
    H5Fclose(f);
    m = LOAD_OK("m.h5");
    CHECK(m->linear.coef[0] == 3.40282347e38f && m->linear.coef[1] == -3.40282347e38f);
    CHECK(m->linear.coef[2] == 0.0f && m->linear.intercept[0] == 0.1f);
    CHECK(m->n_classes == 2);
    CHECK_STREQ(m->class_labels[1], "yes");
    ms_model_free(m);

    /* A float attribute holding an integer (numpy float64 written by mistake). */
    f = fresh();
    put_double_attr(f, "format_version", 1.0);
    H5Fclose(f);
    ms_model_free(LOAD_OK("m.h5"));
}

static void test_load_errors(void)
{
    hid_t f;
    FILE *t = fopen("text.h5", "w");
    CHECK_FATAL(t != NULL);
    fputs("a,b,c\n1,2,3\n", t);
    fclose(t);
    LOAD_ERROR("text.h5", MS_EMODEL, "text.h5: not an HDF5 file");
    LOAD_ERROR("missing.h5", MS_EIO, "missing.h5: No such file or directory");

    /* A data file, not a model. */
    f = H5Fcreate("data.h5", H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(f >= 0);
    H5Fclose(f);
    LOAD_ERROR("data.h5", MS_EMODEL,
               "data.h5: not an mpiscore model (attribute format is missing)");

    f = fresh();
    put_vstr_attr(f, "format", "something-else");
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL,
               "m.h5: not an mpiscore model (attribute format is not \"mpiscore-model\")");

    f = fresh();
    put_int_attr(f, "format_version", H5T_STD_I64LE, 2);
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: format_version 2 is not supported (this build reads 1)");

    f = fresh();
    del_attr(f, "format_version");
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: attribute format_version is missing");

    f = fresh();
    put_vstr_attr(f, "format_version", "1");
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: attribute format_version is not an integer");

    f = fresh();
    put_vstr_attr(f, "kind", "foo");
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: unknown kind \"foo\"");

    f = fresh();
    put_int_attr(f, "kind", H5T_STD_I64LE, 0);
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: attribute kind is not a string");

    f = fresh();
    put_vstr_attr(f, "kind", "tree_ensemble");
    H5Fclose(f);
    /* a linear container relabelled: the kind's own attributes are asked for */
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: attribute split_rule is missing");

    f = fresh();
    put_vstr_attr(f, "kind", "mlp");
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: attribute activation is missing");

    f = fresh();
    put_vstr_attr(f, "link", "bar");
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: unknown link \"bar\"");

    f = fresh();
    del_attr(f, "link");
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: attribute link is missing");

    f = fresh();
    put_int_attr(f, "n_features", H5T_STD_I64LE, 4);
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: attribute n_features = 4 but feature_names has 3 names");

    f = fresh();
    put_int_attr(f, "n_features", H5T_STD_I64LE, 0);
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: attribute n_features = 0, expected at least 1");

    f = fresh();
    del_attr(f, "feature_names");
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: attribute feature_names is missing");

    f = fresh();
    put_int_attr(f, "n_features", H5T_STD_I64LE, 4);
    put_vstrs_attr(f, "feature_names", names4, 4);
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: attribute n_features = 4 but /linear/coef has 3 columns");

    f = fresh();
    put_vstrs_attr(f, "feature_names", (char *[]){"a", "b", "a"}, 3);
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: duplicate feature name \"a\"");

    f = fresh();
    put_vstrs_attr(f, "output_names", (char *[]){"p"}, 1);
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL,
               "m.h5: output_names has 1 names but the model produces 2 outputs");

    f = fresh();
    del_attr(f, "output_names");
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: attribute output_names is missing");

    f = fresh();
    put_int_attr(f, "class_labels", H5T_STD_I64LE, 0);
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: attribute class_labels is not a list of strings");

    {
        ms_model r = regressor();
        save_ok(&r, "m.h5");
    }
    f = open_rw("m.h5");
    put_vstrs_attr(f, "class_labels", (char *[]){"x", "y", "z"}, 3);
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: class_labels has 3 labels but the model has 2 outputs");

    f = fresh();
    CHECK_FATAL(H5Ldelete(f, "/linear/coef", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: dataset /linear/coef is missing");

    f = fresh();
    CHECK_FATAL(H5Ldelete(f, "/linear", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: dataset /linear/coef is missing");

    f = fresh();
    {
        int v[3] = {1, 2, 3};
        hsize_t d[2] = {1, 3};
        put_i32_dataset(f, "/linear/coef", 2, d, v);
    }
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: /linear/coef must be a 2-D floating-point dataset");

    f = fresh();
    {
        double v[3] = {1, 2, 3};
        hsize_t d[1] = {3};
        put_f64_dataset(f, "/linear/coef", 1, d, v);
    }
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: /linear/coef must be a 2-D floating-point dataset");

    f = fresh();
    {
        double v[2] = {0, 0};
        hsize_t d[1] = {2};
        put_f64_dataset(f, "/linear/intercept", 1, d, v);
    }
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL,
               "m.h5: /linear/intercept has 2 values but /linear/coef has 1 rows");

    /* float64 weights beyond float32's range would become inf: refused by
     * position and value, not scored with. */
    f = fresh();
    {
        double v[3] = {0, 1e300, 0};
        hsize_t d[2] = {1, 3};
        put_f64_dataset(f, "/linear/coef", 2, d, v);
    }
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: /linear/coef[0][1] = 1e+300 is out of float32 range");

    f = fresh();
    {
        double v[1] = {-1e39};
        hsize_t d[1] = {1};
        put_f64_dataset(f, "/linear/intercept", 1, d, v);
    }
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: /linear/intercept[0] = -1e+39 is out of float32 range");

    /* NaN and inf stored in the file (float64) are named the same way as in
     * memory. */
    f = fresh();
    {
        double v[3] = {0, 0, NAN};
        hsize_t d[2] = {1, 3};
        put_f64_dataset(f, "/linear/coef", 2, d, v);
    }
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: /linear/coef[0][2] is not finite");

    f = fresh();
    {
        double v[1] = {-INFINITY};
        hsize_t d[1] = {1};
        put_f64_dataset(f, "/linear/intercept", 1, d, v);
    }
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: /linear/intercept[0] is not finite");

    f = fresh();
    put_vstrs_attr(f, "output_names", (char *[]){"p", "p"}, 2);
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: duplicate output name \"p\"");

    f = fresh();
    put_vstrs_attr(f, "feature_names", (char *[]){"a", "", "c"}, 3);
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: feature 2 has an empty name");

    f = fresh();
    put_vstr_attr(f, "source", "x");
    del_attr(f, "format");
    H5Fclose(f);
    LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: not an mpiscore model (attribute format is missing)");

    /* A directory is an I/O problem, not a malformed model. */
    CHECK_FATAL(mkdir("adir.h5", 0700) == 0);
    LOAD_ERROR("adir.h5", MS_EIO, "adir.h5: Is a directory");
    CHECK(rmdir("adir.h5") == 0);

    /* A sealed container cut short fails its checksum; an unsealed one keeps
     * its signature but cannot be opened. */
    {
        ms_model m = binary_model();
        save_ok(&m, "m.h5");
        CHECK_FATAL(truncate("m.h5", 1000) == 0);
        LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: checksum mismatch: the file is damaged");
        unseal("m.h5");
        LOAD_ERROR("m.h5", MS_EMODEL, "m.h5: cannot open the HDF5 file (truncated or damaged?)");
    }
}

static void test_validate(void)
{
    ms_model m = binary_model();
    ms_error err;
    CHECK(ms_model_validate(&m, "m.h5", &err) == MS_OK);
    m = regressor();
    CHECK(ms_model_validate(&m, "m.h5", &err) == MS_OK);

    /* Binary decision function: one score, two labels. */
    char *decision[] = {"decision"};
    m = binary_model();
    m.link = MS_LINK_IDENTITY;
    m.n_outputs = 1;
    m.output_names = decision;
    CHECK(ms_model_validate(&m, "m.h5", &err) == MS_OK);
    m.n_classes = 3;
    m.class_labels = (char *[]){"x", "y", "z"};
    INVALID(m, "m.h5: class_labels has 3 labels but the model has 1 outputs");

    /* Logistic without labels: one probability per score. */
    m = binary_model();
    m.n_classes = 0;
    m.class_labels = NULL;
    SAVED_INVALID(m, "m.h5: output_names has 2 names but the model produces 1 outputs");

    m = binary_model();
    m.feature_names = (char *[]){"a", "b", "a"};
    SAVED_INVALID(m, "m.h5: duplicate feature name \"a\"");

    m = binary_model();
    m.feature_names = (char *[]){"a", "", "c"};
    SAVED_INVALID(m, "m.h5: feature 2 has an empty name");

    m = binary_model();
    m.n_outputs = 1;
    SAVED_INVALID(m, "m.h5: output_names has 1 names but the model produces 2 outputs");

    m = regressor();
    float coef[6] = {1, 2, 3, 4, 5, NAN};
    m.linear.coef = coef;
    SAVED_INVALID(m, "m.h5: /linear/coef[1][2] is not finite");
    coef[5] = -INFINITY;
    SAVED_INVALID(m, "m.h5: /linear/coef[1][2] is not finite");

    m = regressor();
    float icpt[2] = {0, INFINITY};
    m.linear.intercept = icpt;
    SAVED_INVALID(m, "m.h5: /linear/intercept[1] is not finite");

    m = regressor();
    m.link = MS_LINK_SOFTMAX;
    m.n_raw = m.n_outputs = 1;
    SAVED_INVALID(m, "m.h5: link softmax needs at least 2 scores");

    m = regressor();
    m.n_raw = 0;
    m.n_outputs = 0;
    INVALID(m, "m.h5: the model produces no scores");

    /* Probability links need labels to pick from; a rate has none. */
    m = regressor();
    m.link = MS_LINK_SOFTMAX;
    SAVED_INVALID(m, "m.h5: link softmax needs class_labels (one per output)");
    m.link = MS_LINK_OVR;
    SAVED_INVALID(m, "m.h5: link ovr needs class_labels (one per output)");
    m.n_classes = 2;
    m.class_labels = (char *[]){"x", "y"};
    CHECK(ms_model_validate(&m, "m.h5", &err) == MS_OK);
    m.link = MS_LINK_SOFTMAX;
    CHECK(ms_model_validate(&m, "m.h5", &err) == MS_OK);
    m.n_classes = 3;
    m.class_labels = (char *[]){"x", "y", "z"};
    SAVED_INVALID(m, "m.h5: class_labels has 3 labels but the model has 2 outputs");
    m.link = MS_LINK_EXP;
    m.n_classes = 2;
    SAVED_INVALID(m, "m.h5: link exp cannot have class_labels");
    m.n_classes = 0;
    m.class_labels = NULL;
    CHECK(ms_model_validate(&m, "m.h5", &err) == MS_OK);

    /* Logistic without labels: independent probabilities (multi-label). */
    m = regressor();
    m.link = MS_LINK_LOGISTIC;
    CHECK(ms_model_validate(&m, "m.h5", &err) == MS_OK);

    /* Identity with one label per score: a multi-class decision function. */
    m.link = MS_LINK_IDENTITY;
    m.n_classes = 2;
    m.class_labels = (char *[]){"x", "y"};
    CHECK(ms_model_validate(&m, "m.h5", &err) == MS_OK);
    m.n_classes = 1;
    INVALID(m, "m.h5: class_labels has 1 labels but the model has 2 outputs");

    /* Wide models take the sorted path: a late duplicate is still found,
     * distinct names still pass. */
    {
        enum { W = 200 };
        char *wn[W], wb[W][16];
        float *wc = calloc(W, sizeof *wc), wi[1] = {0};
        for (int i = 0; i < W; i++) {
            snprintf(wb[i], sizeof wb[i], "w%03d", (i * 7) % W);
            wn[i] = wb[i];
        }
        m = regressor();
        m.n_features = W;
        m.feature_names = wn;
        m.n_raw = m.n_outputs = 1;
        m.output_names = (char *[]){"score"};
        m.linear.coef = wc;
        m.linear.intercept = wi;
        CHECK(ms_model_validate(&m, "m.h5", &err) == MS_OK);
        snprintf(wb[W - 1], sizeof wb[W - 1], "w%03d", 123);
        INVALID(m, "m.h5: duplicate feature name \"w123\"");
        free(wc);
    }

    m = regressor();
    m.output_names = (char *[]){"s", "s"};
    SAVED_INVALID(m, "m.h5: duplicate output name \"s\"");
    m.output_names = (char *[]){"s", ""};
    SAVED_INVALID(m, "m.h5: output 2 has an empty name");

    m = binary_model();
    m.kind = MS_KIND_TREES;
    INVALID(m, "m.h5: the tree ensemble is incomplete");
    m.kind = (ms_model_kind)7;
    INVALID(m, "m.h5: unknown kind 7");

    m = binary_model();
    m.link = (ms_link)9;
    INVALID(m, "m.h5: unknown link 9");

    m = binary_model();
    m.n_features = 0;
    INVALID(m, "m.h5: the model has no features");

    m = binary_model();
    m.linear.coef = NULL;
    INVALID(m, "m.h5: the model has no weights");

    m = binary_model();
    m.feature_names = NULL;
    INVALID(m, "m.h5: the model has no feature names");
}

static void test_save_errors(void)
{
    ms_model m = binary_model();
    ms_error err;
    ms_error_clear(&err);
    CHECK(ms_model_save(&m, "no/such/dir/m.h5", &err) == MS_EIO);
    CHECK_STREQ(err.msg, "no/such/dir/m.h5: cannot create: No such file or directory");

    /* Counts with no array behind them cannot be written at all. */
    m.feature_names = NULL;
    CHECK(ms_model_save(&m, "m.h5", &err) == MS_EINTERNAL);
    CHECK_STREQ(err.msg, "m.h5: cannot save a model without feature_names");
    m = binary_model();
    m.linear.intercept = NULL;
    CHECK(ms_model_save(&m, "m.h5", &err) == MS_EINTERNAL);
    CHECK_STREQ(err.msg, "m.h5: cannot save a model without /linear/intercept");

    /* Saving over an existing model replaces it whole, leaving no
     * temporary file behind. */
    m = regressor();
    save_ok(&m, "m.h5");
    m = binary_model();
    save_ok(&m, "m.h5");
    ms_model *got = LOAD_OK("m.h5");
    check_same(&m, got);
    ms_model_free(got);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "m.h5.tmp%ld", (long)getpid());
    CHECK(access(tmp, F_OK) != 0);

    /* A directory where the file should go: nothing is left behind. */
    CHECK_FATAL(mkdir("d.h5", 0700) == 0);
    CHECK(ms_model_save(&m, "d.h5", &err) == MS_EIO);
    CHECK_STREQ(err.msg, "d.h5: cannot create: Is a directory");
    snprintf(tmp, sizeof tmp, "d.h5.tmp%ld", (long)getpid());
    CHECK(access(tmp, F_OK) != 0);
    CHECK(rmdir("d.h5") == 0);
}

/* A saved container is sealed; one flipped byte anywhere after the user
 * block is refused by the checksum before libhdf5 parses it. */
/* The root attribute precision: absent = float32 (older containers), saved
 * and shown by describe, float64 weights kept as the container's doubles
 * (not their float32 copies), anything else refused; inputs derived. */
static void test_precision(void)
{
    ms_model m = binary_model();
    save_ok(&m, "p32.h5");
    hid_t f = open_rw("p32.h5");
    del_attr(f, "precision");
    H5Fclose(f);
    ms_model *l = LOAD_OK("p32.h5");
    CHECK(l->precision == MS_PREC_F32 && l->linear.coef64 == NULL);
    CHECK(l->n_inputs == 3 && l->inputs && !strcmp(l->inputs[1].name, "b") &&
          l->inputs[1].kind == MS_COL_NUM && l->inputs[1].prec == MS_PREC_F32);
    ms_model_free(l);

    double c64[] = {0.1, -1.0 / 3, 2.000000001}, i64[] = {1e-9};
    m.precision = MS_PREC_F64;
    m.linear.coef64 = c64;
    m.linear.intercept64 = i64;
    save_ok(&m, "p64.h5");
    l = LOAD_OK("p64.h5");
    CHECK(l->precision == MS_PREC_F64 && l->linear.coef64 && l->linear.intercept64);
    CHECK(l->linear.coef64[0] == 0.1 && l->linear.coef64[1] == -1.0 / 3 &&
          l->linear.coef64[2] == 2.000000001 && l->linear.intercept64[0] == 1e-9);
    CHECK(l->inputs[0].prec == MS_PREC_F64);
    char *text = describe(l);
    CHECK(strstr(text, "precision: float64\n") != NULL);
    free(text);
    ms_model_free(l);

    f = open_rw("p64.h5");
    del_attr(f, "precision");
    put_vstr_attr(f, "precision", "float16");
    H5Fclose(f);
    LOAD_ERROR("p64.h5", MS_EMODEL,
               "p64.h5: attribute precision must be \"float32\" or \"float64\" (it is "
               "\"float16\")");
    unlink("p32.h5");
    unlink("p64.h5");
}

static void test_seal(void)
{
    ms_model m = binary_model();
    save_ok(&m, "s.h5");
    ms_model *l = LOAD_OK("s.h5");
    ms_model_free(l);
    FILE *fp = fopen("s.h5", "rb");
    CHECK_FATAL(fp != NULL);
    char head[80] = {0};
    CHECK(fread(head, 1, sizeof head - 1, fp) > 0);
    fclose(fp);
    CHECK(strncmp(head, MS_MODEL_SEAL_MAGIC "sha256=", strlen(MS_MODEL_SEAL_MAGIC) + 7) == 0);
    struct stat sb;
    CHECK_FATAL(stat("s.h5", &sb) == 0);
    long offs[] = {MS_MODEL_USERBLOCK, MS_MODEL_USERBLOCK + 100, (long)sb.st_size - 1};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        save_ok(&m, "s.h5");
        fp = fopen("s.h5", "r+b");
        CHECK_FATAL(fp != NULL);
        fseek(fp, offs[i], SEEK_SET);
        int c = fgetc(fp);
        fseek(fp, offs[i], SEEK_SET);
        fputc(c ^ 0x10, fp);
        fclose(fp);
        ms_model *bad = NULL;
        ms_error err;
        ms_error_clear(&err);
        CHECK(ms_model_load("s.h5", &bad, &err) == MS_EMODEL);
        CHECK_STREQ(err.msg, "s.h5: checksum mismatch: the file is damaged");
        CHECK(bad == NULL);
    }
    unlink("s.h5");
}

int main(void)
{
    char dir[] = "/tmp/test_model.XXXXXX";
    CHECK_FATAL(mkdtemp(dir) != NULL);
    CHECK_FATAL(chdir(dir) == 0);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    test_seal();
    test_precision();

    test_round_trip();
    test_h5py_variants();
    test_load_errors();
    test_validate();
    test_save_errors();

    const char *files[] = {"m.h5", "r.h5", "text.h5", "data.h5"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    CHECK(chdir("/") == 0);
    CHECK(rmdir(dir) == 0);
    return ms_test_done("test_model");
}
