/*
 * fuzz_model.c — the model container loader (model.h ms_model_load): every
 * check it makes on attributes and datasets, and the promise that a model it
 * accepts is safe for every kernel.
 *
 * Why the input is not the container's raw bytes: HDF5 1.10 itself reads
 * corrupted superblocks and object headers unsafely (out-of-bounds reads and
 * crashes inside H5F/H5O/H5HL code, several CVEs), so raw-byte fuzzing would
 * mostly find HDF5's bugs, not ours. Instead the input is a small program
 * that this harness turns into a well-formed HDF5 file with the HDF5 C API;
 * what the fuzzer controls is everything our validation looks at: which
 * attributes and datasets exist, their names, types, shapes and values.
 *
 * Input (multi-byte numbers little-endian; running out of bytes reads 0):
 *   flags (u8): bit 0 newest file format, bit 1 root attributes in dense
 *               storage (implies bit 0), bit 2 datasets chunked + deflate,
 *               bit 3 attribute creation order tracked
 *   then objects until the input ends (at most MAX_OBJECTS):
 *   op (u8): bits 0-1 0 = root attribute, 1 = attribute of the last
 *            dataset/group (root if none), 2 = dataset, 3 = group
 *   name: k (u8) < 128: NAMES[k] ("x<k>" past its end);
 *         k >= 128: k - 128 raw bytes (a NUL ends the name early)
 *   (groups end here)
 *   type (u8) then param (u8), by type % 5:
 *     0 variable-length string (param bit 0: UTF-8)
 *     1 fixed-length string, 1 + param % 64 bytes, padding param >> 6
 *       (0 NUL-terminated, 1 NUL-padded, else space-padded)
 *     2 integer: 1 << (param & 3) bytes, bit 2 unsigned, bit 3 big-endian
 *     3 float: bit 0 64-bit, bit 1 big-endian
 *     4 something else: param % 5 = compound {double}, opaque, enum,
 *       float32[2] array, bitfield
 *   shape (u8) & 7: 0 scalar, 1 null, 2 1-D (u8), 3 2-D (u8 u8), 4 1-D big
 *     (u32), 5 2-D big (u32 u32), 6 3-D (u8 u8 u8), 7 1-D empty.
 *     Big shapes make a chunked dataset that is never written (it reads as
 *     zeros), so a few bytes can claim billions of values; for attributes
 *     they fall back to the low byte of each dimension.
 *   values, one per element (not for big shapes): a variable-length string
 *     is k (u8) < 128: STRS[k]; else k - 128 raw bytes; any other type is
 *     its element's bytes as stored in the file.
 * tests/fuzz/make_corpus.py writes the seeds in this form from containers
 * that scripts/export_sklearn.py made.
 *
 * Properties: the loader never fails with anything but MS_EMODEL and one
 * line naming the file; a model it accepts passes ms_model_validate, prints
 * (ms_model_describe), saves and loads back to the same description, and
 * scores rows (zeros, extremes, NaN) on every ISA this CPU has without a
 * sanitizer report, with labels in range.
 */
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_model_check.h"
#include "fuzz_util.h"
#include "mpiscore/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OBJECTS 64
#define MAX_ELEMENTS 4096 /* values stored per attribute or small dataset */

/* Append only: an index's meaning must not change under the seeds. */
/* clang-format off */
static const char *const NAMES[] = {
    "format", "format_version", "kind", "link", "n_features", "feature_names", "output_names",
    "class_labels", "source", "/linear/coef", "/linear/intercept", "/linear", "split_rule",
    "missing", "aggregate", "accumulate", "/trees/node_offset", "/trees/feature",
    "/trees/threshold", "/trees/left", "/trees/right", "/trees/missing_left", "/trees/value",
    "/trees/tree_output", "/trees/base_score", "/trees", "activation", "n_layers",
    "/mlp/weight_0", "/mlp/bias_0", "/mlp/weight_1", "/mlp/bias_1", "/mlp/weight_2",
    "/mlp/bias_2", "/mlp", "precision", "/prep", "n_inputs", "n_steps", "name", "unknown",
    "categories", "op", "/prep/outputs", "/prep/input_0", "/prep/input_1", "/prep/input_2",
    "/prep/step_0", "/prep/step_1", "/prep/step_2", "/prep/step_0/inputs",
    "/prep/step_0/outputs", "/prep/step_1/inputs", "/prep/step_1/outputs", "/prep/step_2/inputs",
    "/prep/step_2/outputs"};
static const char *const STRS[] = {
    "mpiscore-model", "linear", "tree_ensemble", "mlp", "identity", "logistic", "softmax", "ovr",
    "exp", "lt", "le", "route", "error", "sum", "mean", "float32", "float64", "relu", "tanh", "",
    "a", "b", "c", "d", "p_0", "p_1", "p_2", "score", "0", "1", "2", "scikit-learn 1.2.1",
    "xgboost 1.7.4", "no", "yes", "score_0", "score_1", "decision", "numeric", "categorical",
    "code", "scale", "impute", "indicator", "onehot", "lookup", "bins", "poly", "func",
    "normalize", "log1p", "l2"};
/* clang-format on */
#define N_NAMES (sizeof NAMES / sizeof NAMES[0])
#define N_STRS (sizeof STRS / sizeof STRS[0])

typedef struct rd {
    const uint8_t *p;
    size_t n;
} rd;

static unsigned u8(rd *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static uint32_t u32(rd *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)u8(r) << (8 * i);
    return v;
}

/* n bytes into out, zeros past the input's end */
static void bytes(rd *r, void *out, size_t n)
{
    size_t k = n < r->n ? n : r->n;
    memcpy(out, r->p, k);
    memset((char *)out + k, 0, n - k);
    r->p += k;
    r->n -= k;
}

/* A name or string: dictionary entry or raw bytes, into buf (NUL-terminated). */
static void text(rd *r, const char *const *dict, size_t n_dict, const char *unknown, char *buf,
                 size_t cap)
{
    unsigned k = u8(r);
    if (k < 128) {
        if (k < n_dict)
            snprintf(buf, cap, "%s", dict[k]);
        else
            snprintf(buf, cap, "%s%u", unknown, k);
        return;
    }
    size_t n = k - 128;
    if (n >= cap)
        n = cap - 1;
    bytes(r, buf, n);
    buf[n] = '\0';
}

/* The file type for (type, param); *vlen tells whether values are char *. */
static hid_t make_type(unsigned type, unsigned param, int *vlen)
{
    hid_t t;
    *vlen = 0;
    switch (type % 5) {
    case 0:
        t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, param & 1 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
        *vlen = 1;
        return t;
    case 1:
        t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, 1 + param % 64);
        H5Tset_strpad(t, (param >> 6) == 0   ? H5T_STR_NULLTERM
                         : (param >> 6) == 1 ? H5T_STR_NULLPAD
                                             : H5T_STR_SPACEPAD);
        return t;
    case 2: {
        static const hid_t *const le[2][4] = {
            {&H5T_STD_I8LE_g, &H5T_STD_I16LE_g, &H5T_STD_I32LE_g, &H5T_STD_I64LE_g},
            {&H5T_STD_U8LE_g, &H5T_STD_U16LE_g, &H5T_STD_U32LE_g, &H5T_STD_U64LE_g}};
        static const hid_t *const be[2][4] = {
            {&H5T_STD_I8BE_g, &H5T_STD_I16BE_g, &H5T_STD_I32BE_g, &H5T_STD_I64BE_g},
            {&H5T_STD_U8BE_g, &H5T_STD_U16BE_g, &H5T_STD_U32BE_g, &H5T_STD_U64BE_g}};
        H5open(); /* the H5T_* globals are set up by the library's init */
        return H5Tcopy(*(param & 8 ? be : le)[param >> 2 & 1][param & 3]);
    }
    case 3:
        H5open();
        return H5Tcopy(param & 1 ? (param & 2 ? H5T_IEEE_F64BE : H5T_IEEE_F64LE)
                                 : (param & 2 ? H5T_IEEE_F32BE : H5T_IEEE_F32LE));
    default:
        switch (param % 5) {
        case 0:
            t = H5Tcreate(H5T_COMPOUND, sizeof(double));
            H5Tinsert(t, "x", 0, H5T_NATIVE_DOUBLE);
            return t;
        case 1:
            t = H5Tcreate(H5T_OPAQUE, 8);
            H5Tset_tag(t, "fuzz");
            return t;
        case 2: {
            t = H5Tenum_create(H5T_NATIVE_INT);
            int zero = 0, one = 1;
            H5Tenum_insert(t, "no", &zero);
            H5Tenum_insert(t, "yes", &one);
            return t;
        }
        case 3: {
            hsize_t two = 2;
            return H5Tarray_create2(H5T_IEEE_F32LE, 1, &two);
        }
        default:
            return H5Tcopy(H5T_STD_B8LE);
        }
    }
}

/* Element values for n elements of type t: raw bytes, or char * strings
 * (vlen) pointing into `pool`. */
static void *make_values(rd *r, hid_t t, int vlen, size_t n, char **pool)
{
    if (!vlen) {
        size_t sz = H5Tget_size(t);
        void *v = malloc(n * sz + 1);
        FUZZ_ASSERT(v != NULL, "out of memory");
        bytes(r, v, n * sz);
        return v;
    }
    char **v = calloc(n + 1, sizeof *v);
    *pool = malloc(n * 128 + 1);
    FUZZ_ASSERT(v != NULL && *pool != NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        v[i] = *pool + i * 128;
        text(r, STRS, N_STRS, "s", v[i], 128);
    }
    return v;
}

/* One object of the program; *last is the last dataset/group made. */
static void make_object(rd *r, hid_t f, unsigned flags, hid_t *last)
{
    char name[128];
    unsigned op = u8(r) & 3;
    text(r, NAMES, N_NAMES, "x", name, sizeof name);
    if (name[0] == '\0')
        return;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    if (op == 3) {
        hid_t g = H5Gcreate2(f, name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (g >= 0) {
            if (*last >= 0)
                H5Oclose(*last);
            *last = g;
        }
        H5Pclose(lcpl);
        return;
    }
    unsigned type = u8(r), param = u8(r), shape = u8(r) & 7;
    int vlen, big = 0, rank = 0;
    hsize_t dims[3] = {0, 0, 0};
    hid_t sp;
    switch (shape) {
    case 0:
        sp = H5Screate(H5S_SCALAR);
        break;
    case 1:
        sp = H5Screate(H5S_NULL);
        break;
    case 2:
    case 3:
    case 6:
        rank = shape == 2 ? 1 : shape == 3 ? 2 : 3;
        for (int i = 0; i < rank; i++)
            dims[i] = u8(r);
        sp = H5Screate_simple(rank, dims, NULL);
        break;
    case 4:
    case 5:
        rank = shape == 4 ? 1 : 2;
        for (int i = 0; i < rank; i++)
            dims[i] = u32(r);
        big = op == 2;
        if (!big)
            for (int i = 0; i < rank; i++)
                dims[i] &= 0xff;
        sp = H5Screate_simple(rank, dims, NULL);
        break;
    default:
        rank = 1;
        sp = H5Screate_simple(1, dims, NULL);
        break;
    }
    hid_t t = make_type(type, param, &vlen);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    size_t n = shape == 1 || np < 0 ? 0 : (size_t)np;
    if (!big && n > MAX_ELEMENTS) {
        /* too many values to spell out: keep the shape, store zeros past
         * the cap by making it a never-written dataset, or drop an attribute */
        big = op == 2;
        if (!big)
            goto done;
    }
    char *pool = NULL;
    void *vals = big || n == 0 ? NULL : make_values(r, t, vlen, n, &pool);
    if (op == 2) {
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        if ((big || (flags & 4)) && rank > 0) {
            hsize_t chunk[3];
            for (int i = 0; i < rank; i++)
                chunk[i] = dims[i] == 0 ? 1 : dims[i] < 64 ? dims[i] : 64;
            H5Pset_chunk(dcpl, rank, chunk);
            if (flags & 4)
                H5Pset_deflate(dcpl, 1);
        }
        hid_t d = H5Dcreate2(f, name, t, sp, lcpl, dcpl, H5P_DEFAULT);
        if (d >= 0) {
            if (vals)
                H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, vals);
            if (*last >= 0)
                H5Oclose(*last);
            *last = d;
        }
        H5Pclose(dcpl);
    } else {
        hid_t obj = op == 1 && *last >= 0 ? *last : f;
        hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0) {
            if (vals)
                H5Awrite(a, t, vals);
            H5Aclose(a);
        }
    }
    free(vals);
    free(pool);
done:
    H5Tclose(t);
    H5Sclose(sp);
    H5Pclose(lcpl);
}

static void build_container(const char *path, const uint8_t *data, size_t size)
{
    rd r = {data, size};
    unsigned flags = u8(&r);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (flags & 3)
        H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    if (flags & 2)
        H5Pset_attr_phase_change(fcpl, 0, 0);
    if (flags & 8)
        H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    FUZZ_ASSERT(f >= 0, "cannot create %s", path);
    hid_t last = H5I_INVALID_HID;
    for (int i = 0; i < MAX_OBJECTS && r.n > 0; i++)
        make_object(&r, f, flags, &last);
    if (last >= 0)
        H5Oclose(last);
    FUZZ_ASSERT(H5Fclose(f) >= 0, "cannot write %s", path);
    H5Pclose(fcpl);
    H5Pclose(fapl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512], path2[512];
    fuzz_tmp_path(path, sizeof path, "model.h5");
    fuzz_tmp_path(path2, sizeof path2, "model2.h5");
    static int hdf5_ready;
    if (!hdf5_ready) {
        /* HDF5 keeps freed blocks on its own free lists, which libFuzzer's
         * leak check sees as a leak after every input and re-runs it under
         * LeakSanitizer: with no free lists, what HDF5 frees is freed */
        H5set_free_list_limits(-1, -1, -1, -1, -1, -1);
        hdf5_ready = 1;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    build_container(path, data, size);
    ms_model *m = NULL;
    ms_error e;
    ms_error_clear(&e);
    ms_status st = ms_model_load(path, &m, &e);
    if (getenv("MPISCORE_FUZZ_VERBOSE")) /* what an input builds, when reading one by hand */
        fprintf(stderr, "fuzz_model: %s\n", st == MS_OK ? ms_kind_name(m->kind) : e.msg);
    check_load_result(st, m, &e, path, path2, data, size);
    unlink(path);
    unlink(path2);
    return 0;
}
