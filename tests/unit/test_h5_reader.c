/*
 * test_h5_reader.c — HDF5 input: float32/float64 datasets, names from the
 * attribute (variable or fixed-length strings) or the caller, integer and
 * string ids, row ranges, bad rows with their records, and every open error
 * with its exact message.
 *
 * Inputs are written with the HDF5 C API in the layouts h5py produces.
 * Runs in a scratch directory so messages carry the short name "in.h5".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp */
#endif
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "batch_util.h"
#include "mpiscore/h5_reader.h"

static char *abc[] = {"a", "b", "c"};

static hid_t create(const char *path)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(f >= 0);
    return f;
}

/* A dataset of `type` holding v (doubles, converted by HDF5 on write). */
static hid_t add_data(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims,
                      const double *v)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, type, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(d >= 0);
    if (v)
        CHECK_FATAL(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Sclose(sp);
    H5Pclose(lcpl);
    return d;
}

static void names_vlen(hid_t d, char *const *names, size_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hsize_t dims[1] = {n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t a = H5Acreate2(d, "feature_names", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(a >= 0 && H5Awrite(a, t, names) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

/* n strings of `size` bytes, padded with `pad` (NUL or space). */
static char *fixed_cells(char *const *v, size_t n, size_t size, char pad)
{
    char *buf = malloc(n * size);
    for (size_t i = 0; i < n; i++) {
        memset(buf + i * size, pad, size);
        memcpy(buf + i * size, v[i], strlen(v[i]));
    }
    return buf;
}

static hid_t fixed_type(size_t size, char pad)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, size);
    H5Tset_strpad(t, pad == ' ' ? H5T_STR_SPACEPAD : H5T_STR_NULLPAD);
    return t;
}

static void names_fixed(hid_t d, char *const *names, size_t n, size_t size)
{
    char *buf = fixed_cells(names, n, size, '\0');
    hid_t t = fixed_type(size, '\0');
    hsize_t dims[1] = {n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t a = H5Acreate2(d, "feature_names", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(a >= 0 && H5Awrite(a, t, buf) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    free(buf);
}

static void ids_int(hid_t f, const char *name, hid_t type, hid_t memtype, const void *v, size_t n)
{
    hsize_t dims[1] = {n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(d >= 0 && H5Dwrite(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
}

static void ids_vlen(hid_t f, const char *name, char *const *v, size_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    hsize_t dims[1] = {n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(d >= 0 && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Tclose(t);
}

static void ids_fixed(hid_t f, const char *name, char *const *v, size_t n, size_t size, char pad)
{
    char *buf = fixed_cells(v, n, size, pad);
    hid_t t = fixed_type(size, pad);
    hsize_t dims[1] = {n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK_FATAL(d >= 0 && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Tclose(t);
    free(buf);
}

static ms_h5_input *open_ok(const char *path, const char *ds, char *const *names, size_t n,
                            const char *ids, int line)
{
    ms_h5_input *in = NULL;
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_h5_input_open(path, ds, names, n, ids, &in, &err);
    CHECK_MSG(st == MS_OK, "line %d: %s", line, err.msg);
    if (st != MS_OK)
        exit(1);
    return in;
}
#define OPEN_OK(path, ds, names, n, ids) open_ok(path, ds, names, n, ids, __LINE__)

static void expect_open_error(const char *path, const char *ds, char *const *names, size_t n,
                              const char *ids, ms_status code, const char *msg, int line)
{
    ms_h5_input *in = (ms_h5_input *)1;
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_h5_input_open(path, ds, names, n, ids, &in, &err);
    CHECK_MSG(st == code, "line %d: status %d, expected %d (%s)", line, st, code, err.msg);
    CHECK_MSG(in == NULL, "line %d: *out not NULL on failure", line);
    CHECK_MSG(strcmp(err.msg, msg) == 0, "line %d: \"%s\" != \"%s\"", line, err.msg, msg);
    if (st == MS_OK)
        ms_h5_input_close(in);
}
#define OPEN_ERROR(path, ds, names, n, ids, code, msg)                                             \
    expect_open_error(path, ds, names, n, ids, code, msg, __LINE__)

static void check_id(const ms_batch *b, size_t r, const char *want)
{
    size_t n = b->id_off[r + 1] - b->id_off[r];
    CHECK_MSG(n == strlen(want) && memcmp(b->id_text + b->id_off[r], want, n) == 0,
              "row %zu: id \"%.*s\" != \"%s\"", r, (int)n, b->id_text + b->id_off[r], want);
}

/* 5 x 3: row 3 has a NaN in b, row 4 a +inf in c, row 5 a NaN in c. */
static const double grid[15] = {1,   2,    3,        //
                                4.5, 5,    6,        //
                                1.5, NAN,  2,        //
                                7,   8,    INFINITY, //
                                0.1, -0.0, NAN};

static void test_float32_attr_int_ids(void)
{
    hid_t f = create("in.h5");
    hsize_t dims[2] = {5, 3};
    hid_t d = add_data(f, "/features", H5T_IEEE_F32LE, 2, dims, grid);
    names_vlen(d, abc, 3);
    H5Dclose(d);
    int32_t ids[5] = {10, 11, 12, -13, 14};
    ids_int(f, "/ids", H5T_STD_I32LE, H5T_NATIVE_INT32, ids, 5);
    H5Fclose(f);

    ms_h5_input *in = OPEN_OK("in.h5", "/features", NULL, 0, "/ids");
    CHECK(ms_h5_input_rows(in) == 5);
    CHECK(ms_h5_input_cols(in) == 3);
    char *const *names = ms_h5_input_names(in);
    CHECK_STREQ(names[0], "a");
    CHECK_STREQ(names[2], "c");

    /* Model features (c, a): b is read but not used. */
    int col_feature[3] = {1, -1, 0};
    ms_batch b;
    ms_error err;
    ms_batch_init(&b, 2, F32S, 1);
    CHECK(ms_h5_input_read(in, 0, 3, col_feature, 0, &b, &err) == MS_OK);
    CHECK(b.n_rows == 3 && b.n_bad == 0);
    CHECK(bx(&b, 0) == 3 && bx(&b, 1) == 1);
    CHECK(bx(&b, 2) == 6 && bx(&b, 3) == 4.5f);
    CHECK(bx(&b, 4) == 2 && bx(&b, 5) == 1.5f); /* the NaN in b is ignored */
    check_id(&b, 0, "10");
    check_id(&b, 2, "12");

    /* Rows 4-5 appended to the same batch: +inf always refused; NaN refused
     * only where missing values are not allowed. */
    CHECK(ms_h5_input_read(in, 3, 2, col_feature, 0, &b, &err) == MS_OK);
    CHECK(b.n_rows == 5 && b.n_bad == 2);
    CHECK(b.bad[3] && b.bad[4] && !b.bad[2]);
    CHECK(isnan(bx(&b, 6)) && isnan(bx(&b, 7)) && isnan(bx(&b, 8)) && isnan(bx(&b, 9)));
    check_id(&b, 3, "-13");
    check_id(&b, 4, "14");
    CHECK_STREQ(b.first_error, "in.h5:4:3: column \"c\": infinite value");
    b.errors[b.errors_len] = '\0';
    CHECK_STREQ(b.errors, "in.h5,4,c,\"column \"\"c\"\": infinite value\",\"7,8,inf\"\n"
                          "in.h5,5,c,\"column \"\"c\"\": missing value\",\"0.1,-0,\"\n");

    ms_batch_reset(&b);
    CHECK(ms_h5_input_read(in, 2, 3, col_feature, 1, &b, &err) == MS_OK);
    CHECK(b.n_rows == 3 && b.n_bad == 1 && b.bad[1] && !b.bad[2]);
    CHECK(isnan(bx(&b, 4)) && bx(&b, 5) == 0.1f);

    /* With b used, row 3's NaN is a missing value. */
    int all[3] = {0, 1, 2};
    ms_batch c;
    ms_batch_init(&c, 3, F32S, 0);
    CHECK(ms_h5_input_read(in, 2, 1, all, 0, &c, &err) == MS_OK);
    CHECK(c.n_bad == 1);
    CHECK_STREQ(c.first_error, "in.h5:3:2: column \"b\": missing value");
    c.errors[c.errors_len] = '\0';
    CHECK_STREQ(c.errors, "in.h5,3,b,\"column \"\"b\"\": missing value\",\"1.5,,2\"\n");
    ms_batch_reset(&c);
    CHECK(ms_h5_input_read(in, 2, 1, all, 1, &c, &err) == MS_OK);
    CHECK(c.n_bad == 0 && bx(&c, 0) == 1.5f && isnan(bx(&c, 1)) && bx(&c, 2) == 2);

    /* Empty and out-of-range reads. */
    ms_batch_reset(&c);
    CHECK(ms_h5_input_read(in, 5, 0, all, 0, &c, &err) == MS_OK && c.n_rows == 0);
    CHECK(ms_h5_input_read(in, 4, 2, all, 0, &c, &err) == MS_EINPUT);
    CHECK_STREQ(err.msg, "in.h5: rows 5..6 are past the end (5 rows)");
    CHECK(ms_h5_input_read(in, UINT64_MAX, 2, all, 0, &c, &err) == MS_EINPUT);

    ms_batch_free(&b);
    ms_batch_free(&c);
    ms_h5_input_close(in);
}

static void test_float64_fixed_names_string_ids(void)
{
    static const double v[6] = {0.1, 1e-300, 3.4028235e38, -2.5, 1e39, 7};
    hid_t f = create("in.h5");
    hsize_t dims[2] = {3, 2};
    hid_t d = add_data(f, "/grp/x", H5T_IEEE_F64LE, 2, dims, v);
    names_fixed(d, (char *[]){"alpha", "beta"}, 2, 8);
    H5Dclose(d);
    ids_vlen(f, "/vid", (char *[]){"r1", "", "r,3"}, 3);
    ids_fixed(f, "/fid_nul", (char *[]){"x", "yy", "zzzz"}, 3, 4, '\0');
    ids_fixed(f, "/fid_sp", (char *[]){"x", "yy", "zzzz"}, 3, 6, ' ');
    uint64_t big[3] = {0, UINT64_MAX, 42};
    ids_int(f, "/uid", H5T_STD_U64LE, H5T_NATIVE_UINT64, big, 3);
    H5Fclose(f);

    int cf[2] = {0, 1};
    ms_error err;
    const char *idsets[] = {"/vid", "/fid_nul", "/fid_sp", "/uid"};
    const char *want[4][3] = {{"r1", "", "r,3"},
                              {"x", "yy", "zzzz"},
                              {"x", "yy", "zzzz"},
                              {"0", "18446744073709551615", "42"}};
    for (int k = 0; k < 4; k++) {
        ms_h5_input *in = OPEN_OK("in.h5", "/grp/x", NULL, 0, idsets[k]);
        CHECK_STREQ(ms_h5_input_names(in)[0], "alpha");
        CHECK_STREQ(ms_h5_input_names(in)[1], "beta");
        ms_batch b;
        ms_batch_init(&b, 2, F32S, 1);
        /* Two reads of one row each, then one of two: the buffers are reused. */
        CHECK(ms_h5_input_read(in, 0, 1, cf, 0, &b, &err) == MS_OK);
        CHECK(ms_h5_input_read(in, 1, 2, cf, 0, &b, &err) == MS_OK);
        CHECK(b.n_rows == 3);
        for (int r = 0; r < 3; r++)
            check_id(&b, (size_t)r, want[k][r]);
        /* float64 -> float32 rounds to nearest like strtof and numpy:
         * underflow to 0, 3.4028235e38 (FLT_MAX's text) to FLT_MAX, and a
         * value beyond float32 is a row error, not a silent inf. The record
         * shows the stored float64 values. */
        CHECK(bx(&b, 0) == 0.1f && bx(&b, 1) == 0.0f);
        CHECK(bx(&b, 2) == 3.40282347e38f && bx(&b, 3) == -2.5f);
        CHECK(b.bad[2] && b.n_bad == 1);
        CHECK_STREQ(b.first_error,
                    "in.h5:3:1: column \"alpha\": value out of float32 range: \"1e+39\"");
        b.errors[b.errors_len] = '\0';
        CHECK_STREQ(b.errors, "in.h5,3,alpha,\"column \"\"alpha\"\": value out of float32 range: "
                              "\"\"1e+39\"\"\",\"1e+39,7\"\n");
        ms_batch_free(&b);
        ms_h5_input_close(in);
    }
}

/* float64 data: NaN and inf keep their meaning through narrowing, halfway
 * cases round to even, records show the stored values; a chunked, deflated
 * dataset (how h5py users write large inputs) reads across chunk edges. */
static void test_float64_specials_chunked(void)
{
    enum { R = 7 };
    const double tie = 1.0 + 0x1p-24, up = 1.0 + 3 * 0x1p-24;
    double v[R * 3];
    for (int i = 0; i < R * 3; i++)
        v[i] = i * 0.25;
    v[0] = tie;
    v[1] = up;
    v[2] = -1e-320;    /* subnormal double: -0 in float */
    v[4] = NAN;        /* row 2: missing */
    v[6] = -INFINITY;  /* row 3: infinite */
    v[11] = 0.1 + 0.2; /* row 4 fine */
    hid_t f = create("in.h5");
    hsize_t dims[2] = {R, 3}, chunk[2] = {2, 3};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    CHECK_FATAL(H5Pset_chunk(dcpl, 2, chunk) >= 0 && H5Pset_deflate(dcpl, 4) >= 0);
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(f, "/features", H5T_IEEE_F64BE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CHECK_FATAL(d >= 0 && H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    names_vlen(d, abc, 3);
    H5Dclose(d);
    H5Sclose(sp);
    H5Pclose(dcpl);
    H5Fclose(f);

    ms_h5_input *in = OPEN_OK("in.h5", "/features", NULL, 0, NULL);
    int cf[3] = {0, 1, 2};
    ms_batch b;
    ms_error err;
    ms_batch_init(&b, 3, F32S, 0);
    CHECK(ms_h5_input_read(in, 0, 4, cf, 0, &b, &err) == MS_OK);
    CHECK(b.n_rows == 4 && b.n_bad == 2 && b.bad[1] && b.bad[2]);
    CHECK(bx(&b, 0) == 1.0f && bx(&b, 1) == 1.0f + 0x1p-22f);
    CHECK(bx(&b, 2) == 0.0f && signbit(bx(&b, 2)));
    CHECK(bx(&b, 11) == (float)(0.1 + 0.2));
    b.errors[b.errors_len] = '\0';
    CHECK_STREQ(b.errors, "in.h5,2,b,\"column \"\"b\"\": missing value\",\"0.75,,1.25\"\n"
                          "in.h5,3,a,\"column \"\"a\"\": infinite value\",\"-inf,1.75,2\"\n");
    /* With missing values allowed the NaN goes through. */
    ms_batch_reset(&b);
    CHECK(ms_h5_input_read(in, 1, 6, cf, 1, &b, &err) == MS_OK);
    CHECK(b.n_rows == 6 && b.n_bad == 1 && b.bad[1]);
    CHECK(bx(&b, 0) == 0.75f && isnan(bx(&b, 1)) && bx(&b, 2) == 1.25f);
    CHECK(bx(&b, 15) == 4.5f && bx(&b, 17) == 5.0f); /* file row 7, past the third chunk edge */
    ms_batch_free(&b);
    ms_h5_input_close(in);
}

static void test_caller_names_and_wide_rows(void)
{
    enum { W = 300 };
    double *v = malloc(2 * W * sizeof *v);
    for (int i = 0; i < 2 * W; i++)
        v[i] = 1.0 / 3.0 + i;
    v[W + 299] = -INFINITY;
    hid_t f = create("in.h5");
    hsize_t dims[2] = {2, W};
    H5Dclose(add_data(f, "/features", H5T_IEEE_F32LE, 2, dims, v));
    H5Fclose(f);
    free(v);

    char *names[W], buf[W][8];
    int cf[W];
    for (int i = 0; i < W; i++) {
        snprintf(buf[i], sizeof buf[i], "f%d", i % 1000);
        names[i] = buf[i];
        cf[i] = i;
    }
    ms_h5_input *in = OPEN_OK("in.h5", "/features", names, W, NULL);
    CHECK_STREQ(ms_h5_input_names(in)[299], "f299");
    ms_batch b;
    ms_error err;
    ms_batch_init(&b, W, F32S, 0);
    CHECK(ms_h5_input_read(in, 0, 2, cf, 0, &b, &err) == MS_OK);
    CHECK(b.n_bad == 1 && b.bad[1]);
    CHECK(bx(&b, 0) == (float)(1.0 / 3.0) && bx(&b, W - 1) == (float)(1.0 / 3.0 + 299));
    CHECK_STREQ(b.first_error, "in.h5:2:300: column \"f299\": infinite value");
    /* The record is cut, not the whole 300 values. */
    b.errors[b.errors_len] = '\0';
    const char *rec = strstr(b.errors, "value\",");
    CHECK_FATAL(rec != NULL);
    size_t len = strlen(rec + 7);
    CHECK_MSG(len > 900 && len <= 1024 + 4, "record length %zu", len);
    CHECK(strncmp(rec + 7, "\"300.33334,301.33334,", 21) == 0);
    CHECK(strcmp(b.errors + b.errors_len - 5, "...\"\n") == 0);
    ms_batch_free(&b);
    ms_h5_input_close(in);
}

static void test_open_errors(void)
{
    hsize_t d2[2] = {12, 4}, d3[3] = {2, 2, 2}, d1[1] = {12};
    hid_t f, d;

    FILE *t = fopen("in.h5", "w");
    CHECK_FATAL(t != NULL);
    fputs("a,b\n1,2\n", t);
    fclose(t);
    OPEN_ERROR("in.h5", "/features", NULL, 0, NULL, MS_EINPUT, "in.h5: not an HDF5 file");
    OPEN_ERROR("missing.h5", "/features", NULL, 0, NULL, MS_EIO,
               "missing.h5: No such file or directory");

    f = create("in.h5");
    H5Dclose(add_data(f, "/other", H5T_IEEE_F32LE, 2, d2, NULL));
    H5Dclose(add_data(f, "/cube", H5T_IEEE_F32LE, 3, d3, NULL));
    H5Dclose(add_data(f, "/vec", H5T_IEEE_F32LE, 1, d1, NULL));
    H5Dclose(add_data(f, "/ints", H5T_STD_I32LE, 2, d2, NULL));
    H5Gclose(H5Gcreate2(f, "/grp", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    d = add_data(f, "/named", H5T_IEEE_F64LE, 2, d2, NULL);
    names_vlen(d, (char *[]){"a", "b", "c", "d"}, 4);
    H5Dclose(d);
    d = add_data(f, "/three", H5T_IEEE_F64LE, 2, d2, NULL);
    names_vlen(d, abc, 3);
    H5Dclose(d);
    d = add_data(f, "/dup", H5T_IEEE_F64LE, 2, d2, NULL);
    names_vlen(d, (char *[]){"a", "b", "c", "b"}, 4);
    H5Dclose(d);
    d = add_data(f, "/fixed_empty", H5T_IEEE_F64LE, 2, d2, NULL);
    names_fixed(d, (char *[]){"a", "", "c", "d"}, 4, 4);
    H5Dclose(d);
    int32_t ids10[10] = {0}, ids12[12] = {0};
    ids_int(f, "/ids10", H5T_STD_I32LE, H5T_NATIVE_INT32, ids10, 10);
    ids_int(f, "/ids12", H5T_STD_I32LE, H5T_NATIVE_INT32, ids12, 12);
    H5Dclose(add_data(f, "/fids", H5T_IEEE_F64LE, 1, d1, NULL));
    H5Fclose(f);

    OPEN_ERROR("in.h5", "/features", NULL, 0, NULL, MS_EINPUT, "in.h5: no dataset \"/features\"");
    OPEN_ERROR("in.h5", "/nope/features", NULL, 0, NULL, MS_EINPUT,
               "in.h5: no dataset \"/nope/features\"");
    OPEN_ERROR("in.h5", "/grp", NULL, 0, NULL, MS_EINPUT, "in.h5: /grp is not a dataset");
    OPEN_ERROR("in.h5", "/cube", NULL, 0, NULL, MS_EINPUT,
               "in.h5: /cube is 3-D, expected 2-D (rows x features)");
    OPEN_ERROR("in.h5", "/vec", NULL, 0, NULL, MS_EINPUT,
               "in.h5: /vec is 1-D, expected 2-D (rows x features)");
    OPEN_ERROR("in.h5", "/ints", NULL, 0, NULL, MS_EINPUT,
               "in.h5: /ints is not a floating-point dataset");
    OPEN_ERROR("in.h5", "/other", NULL, 0, NULL, MS_EINPUT,
               "in.h5: /other has no feature_names attribute (use --features)");
    OPEN_ERROR("in.h5", "/three", NULL, 0, NULL, MS_EINPUT,
               "in.h5: /three has 4 columns but feature_names has 3 names");
    OPEN_ERROR("in.h5", "/other", abc, 3, NULL, MS_EINPUT,
               "in.h5: /other has 4 columns but 3 feature names were given");
    OPEN_ERROR("in.h5", "/dup", NULL, 0, NULL, MS_EINPUT,
               "in.h5: /dup: duplicate column name \"b\" (columns 2 and 4)");
    char *pqpq[] = {"p", "q", "p", "q"}, *pq_s[] = {"p", "q", "", "s"};
    OPEN_ERROR("in.h5", "/other", pqpq, 4, NULL, MS_EINPUT,
               "in.h5: /other: duplicate column name \"p\" (columns 1 and 3)");
    OPEN_ERROR("in.h5", "/other", pq_s, 4, NULL, MS_EINPUT,
               "in.h5: /other: column 3 has an empty name");
    OPEN_ERROR("in.h5", "/fixed_empty", NULL, 0, NULL, MS_EINPUT,
               "in.h5: /fixed_empty: column 2 has an empty name");
    /* Caller names also override a wrong attribute. */
    char *pqrs[] = {"p", "q", "r", "s"};
    ms_h5_input_close(OPEN_OK("in.h5", "/three", pqrs, 4, NULL));

    OPEN_ERROR("in.h5", "/named", NULL, 0, "/ids", MS_EINPUT, "in.h5: no dataset \"/ids\"");
    OPEN_ERROR("in.h5", "/named", NULL, 0, "/ids10", MS_EINPUT,
               "in.h5: /ids10 has 10 rows but /named has 12");
    OPEN_ERROR("in.h5", "/named", NULL, 0, "/fids", MS_EINPUT,
               "in.h5: /fids must be a 1-D integer or string dataset");
    OPEN_ERROR("in.h5", "/named", NULL, 0, "/other", MS_EINPUT,
               "in.h5: /other must be a 1-D integer or string dataset");
    OPEN_ERROR("in.h5", "/named", NULL, 0, "/grp", MS_EINPUT, "in.h5: /grp is not a dataset");
    ms_h5_input_close(OPEN_OK("in.h5", "/named", NULL, 0, "/ids12"));

    /* Cut short: the signature survives, the file cannot be opened. */
    f = create("cut.h5");
    H5Dclose(add_data(f, "/features", H5T_IEEE_F32LE, 2, d2, NULL));
    H5Fclose(f);
    CHECK_FATAL(truncate("cut.h5", 600) == 0);
    OPEN_ERROR("cut.h5", "/features", abc, 3, NULL, MS_EINPUT,
               "cut.h5: cannot open the HDF5 file (truncated or damaged?)");
    unlink("cut.h5");

    /* A NULL dataset means the default, /features. */
    f = create("in.h5");
    H5Dclose(add_data(f, "/features", H5T_IEEE_F32LE, 2, d2, NULL));
    H5Fclose(f);
    char *abcd[] = {"a", "b", "c", "d"};
    ms_h5_input *in = OPEN_OK("in.h5", NULL, abcd, 4, NULL);
    CHECK(ms_h5_input_rows(in) == 12 && ms_h5_input_cols(in) == 4);
    ms_h5_input_close(in);

    ms_h5_input_close(NULL);
}

static ms_h5_input *open_opts_ok(const char *path, const ms_h5_open_opts *o, int line)
{
    ms_h5_input *in = NULL;
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_h5_input_open_opts(path, o, &in, &err);
    CHECK_MSG(st == MS_OK, "line %d: %s", line, err.msg);
    if (st != MS_OK)
        exit(1);
    return in;
}

static void open_opts_error(const char *path, const ms_h5_open_opts *o, const char *msg, int line)
{
    ms_h5_input *in = (ms_h5_input *)1;
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_h5_input_open_opts(path, o, &in, &err);
    CHECK_MSG(st == MS_EINPUT && in == NULL, "line %d: status %d (%s)", line, st, err.msg);
    CHECK_MSG(strcmp(err.msg, msg) == 0, "line %d: \"%s\" != \"%s\"", line, err.msg, msg);
}

static void check_keep(const ms_batch *b, size_t k, size_t r, const char *want)
{
    const ms_textcol *t = &b->keep[k];
    size_t n = t->off[r + 1] - t->off[r];
    if (!want) {
        CHECK_MSG(t->null[r], "keep %zu row %zu: not null", k, r);
        return;
    }
    CHECK_MSG(!t->null[r] && n == strlen(want) && memcmp(t->text + t->off[r], want, n) == 0,
              "keep %zu row %zu: \"%.*s\" != \"%s\"", k, r, (int)n, t->text + t->off[r], want);
}

/* Model columns the matrix lacks come from 1-D datasets of their names:
 * variable and fixed-length strings (NUL- and space-padded) looked up in
 * the column's dictionary, integers as numbers; kept columns as text. */
static void test_columns_from_datasets(void)
{
    hsize_t d42[2] = {4, 2}, d4[1] = {4}, d3[1] = {3};
    const double m[8] = {1, 10, 2, 20, 3, 30, 4, 40};
    hid_t f = create("in.h5");
    hid_t d = add_data(f, "/features", H5T_IEEE_F64LE, 2, d42, m);
    names_vlen(d, (char *[]){"a", "b"}, 2);
    H5Dclose(d);
    ids_vlen(f, "/contract", (char *[]){"Month", "Two year", "", "Weekly"}, 4);
    ids_fixed(f, "/plan", (char *[]){"x", "y ", "x", "y "}, 4, 8, '\0');
    ids_fixed(f, "/region", (char *[]){"n", "s", "e", "n"}, 4, 6, ' ');
    int16_t age[4] = {30, -1, 45, 7};
    ids_int(f, "/age", H5T_STD_I16LE, H5T_NATIVE_INT16, age, 4);
    uint64_t tag[4] = {UINT64_MAX, 0, 7, 8};
    ids_int(f, "/tag", H5T_STD_U64LE, H5T_NATIVE_UINT64, tag, 4);
    float w[4] = {0.1f, NAN, 3e38f, -2};
    ids_int(f, "/w", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, w, 4);
    double w64[4] = {0.1, 1e300, NAN, 5};
    ids_int(f, "/w64", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, w64, 4);
    int32_t three[3] = {1, 2, 3};
    ids_int(f, "/short", H5T_STD_I32LE, H5T_NATIVE_INT32, three, 3);
    H5Dclose(add_data(f, "/m2", H5T_IEEE_F64LE, 2, d42, m));
    H5Fclose(f);

    ms_error err;
    ms_dict *dc = NULL, *dp = NULL, *dr = NULL;
    CHECK_FATAL(ms_dict_create_str((const char *[]){"Month", "Two year"}, 2, &dc, &err) == MS_OK);
    CHECK_FATAL(ms_dict_create_str((const char *[]){"x", "y "}, 2, &dp, &err) == MS_OK);
    CHECK_FATAL(ms_dict_create_str((const char *[]){"n", "s"}, 2, &dr, &err) == MS_OK);
    ms_colspec spec[5] = {
        {.name = "a", .kind = MS_COL_NUM, .prec = MS_PREC_F64},
        {.name = "contract", .kind = MS_COL_CAT, .dict = dc, .unknown_is_error = 1},
        {.name = "plan", .kind = MS_COL_CAT, .dict = dp},
        {.name = "region", .kind = MS_COL_CAT, .dict = dr},
        {.name = "age", .kind = MS_COL_NUM, .prec = MS_PREC_F32},
    };
    char *want[] = {"a", "contract", "plan", "region", "age", "absent"};
    char *keep[] = {"tag", "w", "w64", "contract"};
    ms_h5_open_opts o = {.want = want, .n_want = 6, .keep = keep, .n_keep = 4};
    ms_h5_input *in = open_opts_ok("in.h5", &o, __LINE__);
    CHECK(ms_h5_input_rows(in) == 4 && ms_h5_input_cols(in) == 6);
    char *const *names = ms_h5_input_names(in);
    const char *want_names[] = {"a", "b", "contract", "plan", "region", "age"};
    for (size_t c = 0; c < 6; c++)
        CHECK_STREQ(names[c], want_names[c]);
    CHECK(ms_h5_input_keep_type(in, 0) == MS_VAL_INT64 &&
          ms_h5_input_keep_type(in, 1) == MS_VAL_FLOAT &&
          ms_h5_input_keep_type(in, 2) == MS_VAL_DOUBLE &&
          ms_h5_input_keep_type(in, 3) == MS_VAL_TEXT);
    int cf[6] = {0, -1, 1, 2, 3, 4};
    CHECK(ms_h5_input_check_kinds(in, cf, spec, &err) == MS_OK);

    /* a plan's column list opens the same columns again (another rank) */
    ms_h5_open_opts p = {.names = names, .n_names = 6, .planned = 1, .keep = keep, .n_keep = 4};
    ms_h5_input *again = open_opts_ok("in.h5", &p, __LINE__);
    ms_batch b;
    ms_batch_init(&b, 5, spec, 0);
    CHECK_FATAL(ms_batch_set_keep(&b, 4, &err) == MS_OK);
    for (int pass = 0; pass < 2; pass++) {
        ms_batch_reset(&b);
        ms_error_clear(&err);
        CHECK(ms_h5_input_read(pass ? again : in, 0, 4, cf, 1, &b, &err) == MS_OK);
        CHECK(b.n_rows == 4 && b.n_bad == 1 && b.bad[3] && !b.bad[0] && !b.bad[1] && !b.bad[2]);
        CHECK_STREQ(b.first_error, "in.h5:4:3: unknown category \"Weekly\" in column \"contract\"");
        const int32_t *cc = ms_batch_codes(&b, 1), *pc = ms_batch_codes(&b, 2),
                      *rc = ms_batch_codes(&b, 3);
        CHECK(cc[0] == 0 && cc[1] == 1 && cc[2] == MS_CODE_MISSING);
        /* "y " keeps its space (NUL padding is dropped, not blanks) */
        CHECK(pc[0] == 0 && pc[1] == 1 && pc[2] == 0);
        /* space padding is dropped; "e" is unknown and allowed */
        CHECK(rc[0] == 0 && rc[1] == 1 && rc[2] == MS_CODE_UNKNOWN);
        CHECK(ms_batch_f32(&b, 4)[0] == 30.0f && ms_batch_f32(&b, 4)[1] == -1.0f);
        CHECK(ms_batch_f64(&b, 0)[2] == 3.0);
        check_keep(&b, 0, 0, "18446744073709551615");
        check_keep(&b, 0, 3, "8");
        check_keep(&b, 1, 0, "0.1");
        check_keep(&b, 1, 1, NULL);
        check_keep(&b, 1, 2, "3e+38");
        check_keep(&b, 2, 0, "0.1");
        check_keep(&b, 2, 1, "1e+300");
        check_keep(&b, 2, 2, NULL);
        check_keep(&b, 3, 1, "Two year");
        check_keep(&b, 3, 3, "Weekly"); /* a bad row keeps its kept columns */
    }
    ms_h5_input_close(again);

    /* a string dataset cannot feed a number, nor a number a string category */
    ms_colspec swapped[5];
    memcpy(swapped, spec, sizeof spec);
    swapped[1] = (ms_colspec){.name = "contract", .kind = MS_COL_NUM, .prec = MS_PREC_F64};
    CHECK(ms_h5_input_check_kinds(in, cf, swapped, &err) == MS_EINPUT);
    CHECK_STREQ(err.msg, "in.h5: /contract is a string dataset but the model reads column "
                         "\"contract\" as a number");
    memcpy(swapped, spec, sizeof spec);
    swapped[4] = (ms_colspec){.name = "age", .kind = MS_COL_CAT, .dict = dc};
    CHECK(ms_h5_input_check_kinds(in, cf, swapped, &err) == MS_EINPUT);
    CHECK_STREQ(err.msg,
                "in.h5: /age is a numeric dataset but the model's column \"age\" holds string "
                "categories");
    ms_h5_input_close(in);

    char *w_short[] = {"a", "short"}, *w_m2[] = {"m2"}, *w_none[] = {"nope"}, *k_no[] = {"nope"};
    o = (ms_h5_open_opts){.want = w_short, .n_want = 2};
    open_opts_error("in.h5", &o, "in.h5: /short has 3 rows but /features has 4", __LINE__);
    o = (ms_h5_open_opts){.want = w_m2, .n_want = 1};
    open_opts_error("in.h5", &o, "in.h5: /m2 must be a 1-D number or string dataset", __LINE__);
    o = (ms_h5_open_opts){.keep = k_no, .n_keep = 1};
    open_opts_error("in.h5", &o, "in.h5: no dataset \"/nope\" for column \"nope\" (--keep-columns)",
                    __LINE__);
    o = (ms_h5_open_opts){.dataset = "/gone", .want = w_none, .n_want = 1};
    open_opts_error("in.h5", &o,
                    "in.h5: no dataset \"/gone\" and no 1-D datasets named like the model's "
                    "columns",
                    __LINE__);

    /* no matrix: a table of 1-D datasets, the first one found sets the rows */
    f = create("in.h5");
    const double xs[3] = {0.5, NAN, 2};
    H5Dclose(add_data(f, "/x", H5T_IEEE_F64LE, 1, d3, xs));
    ids_vlen(f, "/contract", (char *[]){"Two year", "Month", "Month"}, 3);
    ids_vlen(f, "/ids", (char *[]){"r1", "r2", "r3"}, 3);
    H5Dclose(add_data(f, "/four", H5T_IEEE_F64LE, 1, d4, NULL));
    H5Fclose(f);
    ms_colspec tspec[2] = {{.name = "x", .kind = MS_COL_NUM, .prec = MS_PREC_F64},
                           {.name = "contract", .kind = MS_COL_CAT, .dict = dc}};
    char *tw[] = {"x", "contract"}, *tw4[] = {"x", "four"};
    o = (ms_h5_open_opts){.want = tw, .n_want = 2, .id_dataset = "/ids"};
    in = open_opts_ok("in.h5", &o, __LINE__);
    CHECK(ms_h5_input_rows(in) == 3 && ms_h5_input_cols(in) == 2);
    int tcf[2] = {0, 1};
    ms_batch t;
    ms_batch_init(&t, 2, tspec, 1);
    CHECK(ms_h5_input_read(in, 1, 2, tcf, 0, &t, &err) == MS_OK);
    CHECK(t.n_rows == 2 && t.n_bad == 1 && t.bad[0] && !t.bad[1]);
    CHECK_STREQ(t.first_error, "in.h5:2:1: column \"x\": missing value");
    CHECK(ms_batch_f64(&t, 0)[1] == 2.0 && ms_batch_codes(&t, 1)[1] == 0);
    check_id(&t, 1, "r3");
    ms_batch_free(&t);
    ms_h5_input_close(in);
    o = (ms_h5_open_opts){.want = tw4, .n_want = 2};
    open_opts_error("in.h5", &o, "in.h5: /four has 4 rows but /x has 3", __LINE__);

    ms_batch_free(&b);
    ms_dict_free(dc);
    ms_dict_free(dp);
    ms_dict_free(dr);
}

int main(void)
{
    char dir[] = "/tmp/test_h5_reader.XXXXXX";
    CHECK_FATAL(mkdtemp(dir) != NULL);
    CHECK_FATAL(chdir(dir) == 0);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    test_float32_attr_int_ids();
    test_float64_fixed_names_string_ids();
    test_float64_specials_chunked();
    test_caller_names_and_wide_rows();
    test_open_errors();
    test_columns_from_datasets();

    unlink("in.h5");
    CHECK(chdir("/") == 0);
    CHECK(rmdir(dir) == 0);
    return ms_test_done("test_h5_reader");
}
