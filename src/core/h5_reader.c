/*
 * h5_reader.c — HDF5 input (h5_reader.h): row ranges of a 2-D float
 * dataset read by hyperslab, narrowed to float32 the way strtof rounds,
 * mapped onto the model's features like a CSV file's columns (same name
 * rules, same row-error reasons, so an input converted from CSV to HDF5
 * scores and fails identically).
 *
 * Invariants: an open ms_h5_input holds the file, the data dataset and (when
 * asked for) the id dataset open for its whole life, so a rank reading many
 * ranges pays the open cost once; buf and idbuf only grow, so steady-state
 * reads allocate nothing.
 */
#include "mpiscore/h5_reader.h"

#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5util.h"
#include "mpiscore/floatconv.h"

/* How the id dataset is read back as text. */
typedef enum { ID_NONE = 0, ID_INT, ID_UINT, ID_VLEN, ID_FIXED } id_kind;

/* A 1-D dataset read as one column: a model input the matrix lacks, or a
 * kept column. Numbers feeding the model are read as double; kept numbers
 * in their own width, so their text is the stored value's. */
typedef enum { X_INT, X_UINT, X_F32, X_F64, X_VLEN, X_FIXED } x_kind;

typedef struct {
    char *dset; /* its path ("/contract"), for messages */
    hid_t d;
    hid_t strtype; /* memory type of strings (a copy of the file's), or -1 */
    x_kind kind;
    size_t size;   /* bytes per fixed-length string */
    H5T_str_t pad; /* a fixed-length string's padding */
    char *buf;     /* the last read block, reused */
    size_t cap;
    int vlen_live; /* buf holds strings HDF5 allocated, to reclaim */
} h5_col;

struct ms_h5_input {
    char *path;
    char *dset_name, *id_name; /* as given, for messages */
    hid_t file, data, ids;
    hid_t id_type; /* memory type for string ids (ID_VLEN, ID_FIXED) */
    id_kind id_kind;
    size_t id_size; /* bytes per fixed-length id */
    uint64_t rows;
    size_t cols; /* columns of the matrix (0: a table of 1-D datasets) */
    size_t n_x;  /* columns from 1-D datasets, numbered cols.. */
    h5_col *x;   /* n_x */
    size_t n_keep;
    h5_col *keep; /* n_keep */
    char **names; /* cols + n_x entries */
    int wide;     /* stored wider than float32: read as double, narrowed here */
    void *buf;    /* room for buf_rows x cols doubles (or floats), reused */
    size_t buf_rows;
    char *idbuf; /* raw ids of the last read, reused */
    size_t idbuf_cap;
};

/* Record text for the errors file is capped: a 10,000-column row would
 * otherwise make every error line enormous. */
#define RECORD_MAX 1024
#define NAME_EXCERPT_MAX 128 /* column name bytes quoted in a reason */

static void col_close(h5_col *x)
{
    if (x->strtype >= 0)
        H5Tclose(x->strtype);
    if (x->d >= 0)
        H5Dclose(x->d);
    free(x->dset);
    free(x->buf);
}

void ms_h5_input_close(ms_h5_input *in)
{
    if (!in)
        return;
    for (size_t j = 0; j < in->n_x; j++)
        col_close(&in->x[j]);
    for (size_t k = 0; k < in->n_keep; k++)
        col_close(&in->keep[k]);
    free(in->x);
    free(in->keep);
    if (in->id_type >= 0)
        H5Tclose(in->id_type);
    if (in->ids >= 0)
        H5Dclose(in->ids);
    if (in->data >= 0)
        H5Dclose(in->data);
    if (in->file >= 0)
        H5Fclose(in->file);
    ms_h5_free_strs(in->names, in->cols + in->n_x);
    free(in->path);
    free(in->dset_name);
    free(in->id_name);
    free(in->buf);
    free(in->idbuf);
    free(in);
}

/* A path can exist and still not be a dataset (a group, a named type). */
static hid_t open_dataset(hid_t file, const char *name)
{
    if (!ms_h5_exists(file, name))
        return H5I_INVALID_HID;
    return H5Dopen2(file, name, H5P_DEFAULT);
}

/* Common third-party filters by id (https://portal.hdfgroup.org/documentation/
 * "Registered filter plugins"), for a message a user recognises. */
static const char *filter_label(H5Z_filter_t id, const char *stored)
{
    switch (id) {
    case 32000:
        return "LZF";
    case 32001:
        return "Blosc";
    case 32004:
        return "LZ4";
    case 32008:
        return "bitshuffle";
    case 32015:
        return "Zstandard";
    case 307:
        return "bzip2";
    default:
        return stored && *stored ? stored : NULL;
    }
}

/* A dataset compressed with a filter this libhdf5 lacks (h5py's LZF is the
 * common one: h5py carries it, libhdf5 does not) would fail at the first
 * compressed chunk, mid-run; it is refused while planning, by name. Every
 * filter is checked, optional ones too: an optional filter skips only the
 * chunks it could not shrink, the others still need it. */
static ms_status check_filters(const char *path, hid_t d, const char *dataset, ms_error *err)
{
    hid_t dcpl = H5Dget_create_plist(d);
    if (dcpl < 0)
        return ms_error_set(err, MS_EINPUT, "%s: %s: cannot read its storage properties", path,
                            dataset);
    ms_status st = MS_OK;
    int n = H5Pget_nfilters(dcpl);
    for (int i = 0; i < n && st == MS_OK; i++) {
        unsigned flags = 0, cfg = 0;
        size_t nvals = 0;
        char name[64] = "";
        H5Z_filter_t id =
            H5Pget_filter2(dcpl, (unsigned)i, &flags, &nvals, NULL, sizeof name, name, &cfg);
        name[sizeof name - 1] = '\0';
        if (id < 0) {
            st = ms_error_set(err, MS_EINPUT, "%s: %s: cannot read its filter pipeline", path,
                              dataset);
        } else if (H5Zfilter_avail(id) <= 0) {
            const char *label = filter_label(id, name);
            char what[96];
            if (label)
                snprintf(what, sizeof what, "%s (filter id %d)", label, (int)id);
            else
                snprintf(what, sizeof what, "id %d", (int)id);
            st = ms_error_set(err, MS_EINPUT,
                              "%s: %s: filter %s is not available in this HDF5 library; rewrite "
                              "the dataset with gzip (compression=\"gzip\") or uncompressed",
                              path, dataset, what);
        }
    }
    H5Pclose(dcpl);
    return st;
}

static ms_status open_data(ms_h5_input *in, const char *dataset, ms_error *err)
{
    const char *path = in->path;
    if (!ms_h5_exists(in->file, dataset))
        return ms_error_set(err, MS_EINPUT, "%s: no dataset \"%s\"", path, dataset);
    if ((in->data = open_dataset(in->file, dataset)) < 0)
        return ms_error_set(err, MS_EINPUT, "%s: %s is not a dataset", path, dataset);
    hid_t sp = H5Dget_space(in->data), t = H5Dget_type(in->data);
    int rank = H5Sget_simple_extent_ndims(sp);
    H5T_class_t cls = H5Tget_class(t);
    /* float64 (and wider) is narrowed by us, not by HDF5: HDF5 maps every
     * value above FLT_MAX to inf, even 3.4028235e38, which rounds to FLT_MAX
     * in strtof, numpy and the CSV reader. */
    in->wide = H5Tget_size(t) > sizeof(float);
    hsize_t dims[2] = {0, 0};
    if (rank == 2)
        H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    H5Tclose(t);
    if (rank != 2)
        return ms_error_set(err, MS_EINPUT, "%s: %s is %d-D, expected 2-D (rows x features)", path,
                            dataset, rank < 0 ? 0 : rank);
    if (cls != H5T_FLOAT)
        return ms_error_set(err, MS_EINPUT, "%s: %s is not a floating-point dataset", path,
                            dataset);
    if (dims[1] == 0)
        return ms_error_set(err, MS_EINPUT, "%s: %s has no columns", path, dataset);
    ms_status st = check_filters(path, in->data, dataset, err);
    if (st != MS_OK)
        return st;
    in->rows = dims[0];
    in->cols = (size_t)dims[1];
    return MS_OK;
}

typedef struct {
    const char *name;
    size_t idx;
} name_ref;

static int name_ref_cmp(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Columns are matched to model features by name, as CSV header columns are,
 * so the same rules apply: no empty name, no name twice (the first repeat
 * in column order is reported). Sorting keeps 10^5 columns cheap. */
static ms_status check_names(const ms_h5_input *in, const char *dataset, ms_error *err)
{
    char q[NAME_EXCERPT_MAX * 4 + 8];
    for (size_t i = 0; i < in->cols; i++)
        if (in->names[i][0] == '\0')
            return ms_error_set(err, MS_EINPUT, "%s: %s: column %zu has an empty name", in->path,
                                dataset, i + 1);
    name_ref *refs = malloc((in->cols ? in->cols : 1) * sizeof *refs);
    if (!refs)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    for (size_t i = 0; i < in->cols; i++)
        refs[i] = (name_ref){in->names[i], i};
    qsort(refs, in->cols, sizeof *refs, name_ref_cmp);
    size_t dup = SIZE_MAX, first = 0;
    for (size_t i = 1; i < in->cols; i++)
        if (!strcmp(refs[i].name, refs[i - 1].name) &&
            (i == 1 || strcmp(refs[i - 1].name, refs[i - 2].name) != 0) && refs[i].idx < dup) {
            dup = refs[i].idx;
            first = refs[i - 1].idx;
        }
    free(refs);
    if (dup == SIZE_MAX)
        return MS_OK;
    ms_quote_excerpt(in->names[dup], strlen(in->names[dup]), NAME_EXCERPT_MAX, q, sizeof q);
    return ms_error_set(err, MS_EINPUT,
                        "%s: %s: duplicate column name \"%s\" (columns %zu and %zu)", in->path,
                        dataset, q, first + 1, dup + 1);
}

/* Caller names (--features) win over the attribute, so a file without
 * names, or with wrong ones, can still be read. */
static ms_status load_names(ms_h5_input *in, const char *dataset, char *const *names,
                            size_t n_names, ms_error *err)
{
    char **v = NULL;
    size_t n = 0;
    if (n_names > 0) {
        if (n_names != in->cols)
            return ms_error_set(err, MS_EINPUT,
                                "%s: %s has %zu columns but %zu feature names were given", in->path,
                                dataset, in->cols, n_names);
        if (!(v = calloc(n_names, sizeof *v)))
            return ms_error_set(err, MS_EINTERNAL, "out of memory");
        for (n = 0; n < n_names; n++)
            if (!(v[n] = strdup(names[n] ? names[n] : ""))) {
                ms_h5_free_strs(v, n);
                return ms_error_set(err, MS_EINTERNAL, "out of memory");
            }
    } else {
        if (H5Aexists(in->data, "feature_names") <= 0)
            return ms_error_set(err, MS_EINPUT,
                                "%s: %s has no feature_names attribute (use --features)", in->path,
                                dataset);
        if (ms_h5_attr_strs(in->data, "feature_names", &v, &n) != 0)
            return ms_error_set(err, MS_EINPUT,
                                "%s: %s: attribute feature_names is not a list of strings",
                                in->path, dataset);
        if (n != in->cols) {
            ms_h5_free_strs(v, n);
            return ms_error_set(err, MS_EINPUT,
                                "%s: %s has %zu columns but feature_names has %zu names", in->path,
                                dataset, in->cols, n);
        }
    }
    in->names = v;
    return check_names(in, dataset, err);
}

/* The rank of dataset d, and its length in *n when it is 1-D. */
static int vector_rank(hid_t d, hsize_t *n)
{
    hid_t sp = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank == 1)
        H5Sget_simple_extent_dims(sp, n, NULL);
    H5Sclose(sp);
    return rank;
}

static ms_status open_ids(ms_h5_input *in, const char *dataset, const char *id_dataset,
                          ms_error *err)
{
    const char *path = in->path;
    if (!ms_h5_exists(in->file, id_dataset))
        return ms_error_set(err, MS_EINPUT, "%s: no dataset \"%s\"", path, id_dataset);
    if ((in->ids = open_dataset(in->file, id_dataset)) < 0)
        return ms_error_set(err, MS_EINPUT, "%s: %s is not a dataset", path, id_dataset);
    hid_t t = H5Dget_type(in->ids);
    hsize_t dims[1] = {0};
    int rank = vector_rank(in->ids, dims);
    H5T_class_t cls = H5Tget_class(t);
    ms_status st = MS_OK;
    if (rank != 1 || (cls != H5T_INTEGER && cls != H5T_STRING)) {
        st = ms_error_set(err, MS_EINPUT, "%s: %s must be a 1-D integer or string dataset", path,
                          id_dataset);
    } else if (dims[0] != in->rows) {
        st = ms_error_set(err, MS_EINPUT, "%s: %s has %llu rows but %s has %llu", path, id_dataset,
                          (unsigned long long)dims[0], dataset, (unsigned long long)in->rows);
    } else if (cls == H5T_INTEGER) {
        /* Unsigned ids above INT64_MAX would be clipped by a signed read. */
        in->id_kind = H5Tget_sign(t) == H5T_SGN_NONE ? ID_UINT : ID_INT;
    } else {
        in->id_kind = H5Tis_variable_str(t) > 0 ? ID_VLEN : ID_FIXED;
        in->id_size = H5Tget_size(t);
        in->id_type = H5Tcopy(t);
        if (in->id_type < 0)
            st = ms_error_set(err, MS_EINPUT, "%s: cannot read the type of %s", path, id_dataset);
    }
    H5Tclose(t);
    if (st == MS_OK)
        st = check_filters(path, in->ids, id_dataset, err);
    return st;
}

/* The dataset path of column `name`: "/name" (or name when it is a path). */
static char *col_path(const char *name)
{
    size_t len = strlen(name) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s%s", name[0] == '/' ? "" : "/", name);
    return p;
}

/* Open the 1-D dataset `dset` as a column. `as_stored`: kept columns read
 * numbers in their own width (their text is the stored value's); model
 * columns read them as double. The row count must be the file's, or sets
 * it when the file has no matrix yet (ref names what set it). */
static ms_status col_open(ms_h5_input *in, const char *dset, int as_stored, const char *ref,
                          h5_col *x, ms_error *err)
{
    const char *path = in->path;
    ms_status st = MS_OK;
    x->d = x->strtype = H5I_INVALID_HID;
    if (!(x->dset = strdup(dset)))
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    if ((x->d = open_dataset(in->file, dset)) < 0)
        return ms_error_set(err, MS_EINPUT, "%s: %s is not a dataset", path, dset);
    hid_t t = H5Dget_type(x->d);
    hsize_t dims[1] = {0};
    int rank = vector_rank(x->d, dims);
    H5T_class_t cls = H5Tget_class(t);
    if (rank != 1 || (cls != H5T_INTEGER && cls != H5T_FLOAT && cls != H5T_STRING)) {
        st = ms_error_set(err, MS_EINPUT, "%s: %s must be a 1-D number or string dataset", path,
                          dset);
    } else if (ref && dims[0] != in->rows) {
        st = ms_error_set(err, MS_EINPUT, "%s: %s has %llu rows but %s has %llu", path, dset,
                          (unsigned long long)dims[0], ref, (unsigned long long)in->rows);
    } else if (cls == H5T_STRING) {
        x->kind = H5Tis_variable_str(t) > 0 ? X_VLEN : X_FIXED;
        x->size = H5Tget_size(t);
        x->pad = H5Tget_strpad(t);
        if ((x->strtype = H5Tcopy(t)) < 0)
            st = ms_error_set(err, MS_EINPUT, "%s: cannot read the type of %s", path, dset);
    } else if (cls == H5T_INTEGER) {
        x->kind = !as_stored ? X_F64 : H5Tget_sign(t) == H5T_SGN_NONE ? X_UINT : X_INT;
    } else {
        x->kind = as_stored && H5Tget_size(t) <= sizeof(float) ? X_F32 : X_F64;
    }
    H5Tclose(t);
    if (st == MS_OK && !ref)
        in->rows = dims[0];
    return st == MS_OK ? check_filters(path, x->d, dset, err) : st;
}

/* Add column `name` from its 1-D dataset (numbered after the matrix and
 * the columns before it). `required`: a missing dataset is an error, else
 * the column is left out. */
static ms_status add_col(ms_h5_input *in, const char *name, int required, const char **ref,
                         ms_error *err)
{
    ms_status st = MS_OK;
    char *dset = col_path(name), *nm = strdup(name);
    h5_col *nx = realloc(in->x, (in->n_x + 1) * sizeof *nx);
    char **nn = realloc(in->names, (in->cols + in->n_x + 1) * sizeof *nn);
    if (nx)
        in->x = nx;
    if (nn)
        in->names = nn;
    if (!dset || !nm || !nx || !nn) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    if (!ms_h5_exists(in->file, dset)) {
        if (required)
            st = ms_error_set(err, MS_EINPUT, "%s: no dataset \"%s\"", in->path, dset);
        goto done;
    }
    h5_col *x = &in->x[in->n_x];
    memset(x, 0, sizeof *x);
    st = col_open(in, dset, 0, *ref, x, err);
    in->names[in->cols + in->n_x] = nm;
    in->n_x++; /* closed with the input, opened or not */
    nm = NULL;
    if (st == MS_OK && !*ref)
        *ref = x->dset;
done:
    free(dset);
    free(nm);
    return st;
}

/* 1 if name is a column of the matrix. */
static int in_matrix(const ms_h5_input *in, const char *name)
{
    for (size_t c = 0; c < in->cols; c++)
        if (!strcmp(in->names[c], name))
            return 1;
    return 0;
}

static ms_status open_keep(ms_h5_input *in, const ms_h5_open_opts *o, const char **ref,
                           ms_error *err)
{
    if (!o->n_keep)
        return MS_OK;
    if (!(in->keep = calloc(o->n_keep, sizeof *in->keep)))
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    for (size_t k = 0; k < o->n_keep; k++) {
        char *dset = col_path(o->keep[k]);
        if (!dset)
            return ms_error_set(err, MS_EINTERNAL, "out of memory");
        ms_status st = MS_OK;
        if (!ms_h5_exists(in->file, dset)) {
            st = ms_error_set(err, MS_EINPUT,
                              "%s: no dataset \"%s\" for column \"%s\" (--keep-columns)", in->path,
                              dset, o->keep[k]);
        } else {
            st = col_open(in, dset, 1, *ref, &in->keep[k], err);
            in->n_keep = k + 1;
            if (st == MS_OK && !*ref)
                *ref = in->keep[k].dset;
        }
        free(dset);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}

ms_status ms_h5_input_open_opts(const char *path, const ms_h5_open_opts *o, ms_h5_input **out,
                                ms_error *err)
{
    ms_status st = MS_OK;
    struct stat sb;
    ms_h5_input *in = NULL;
    const char *dataset = o->dataset ? o->dataset : "/features";
    *out = NULL;
    /* Errors reach the user through err; HDF5's stack dumps would repeat
     * them on stderr from every rank. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (access(path, R_OK) != 0)
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(EISDIR));
    if (H5Fis_hdf5(path) <= 0)
        return ms_error_set(err, MS_EINPUT, "%s: not an HDF5 file", path);
    in = calloc(1, sizeof *in);
    if (!in || !(in->path = strdup(path))) {
        free(in);
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    }
    in->file = in->data = in->ids = in->id_type = H5I_INVALID_HID;
    if (!(in->dset_name = strdup(dataset)) ||
        (o->id_dataset && !(in->id_name = strdup(o->id_dataset)))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    in->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (in->file < 0) {
        st = ms_error_set(err, MS_EINPUT, "%s: cannot open the HDF5 file (truncated or damaged?)",
                          path);
        goto done;
    }
    /* the row count's reference: the matrix, else the first 1-D dataset */
    const char *ref = NULL;
    size_t first_x = 0; /* planned: where the 1-D datasets start in o->names */
    int table = !ms_h5_exists(in->file, dataset) &&
                (o->planned || (o->n_names == 0 && (o->n_want > 0 || o->n_keep > 0)));
    if (!table) {
        MS_CHECK(open_data(in, dataset, err));
        ref = dataset;
        if (o->planned && o->n_names < in->cols) {
            st = ms_error_set(err, MS_EINPUT, "%s: %s has changed since the run started", path,
                              dataset);
            goto done;
        }
        MS_CHECK(load_names(in, dataset, o->names, o->planned ? in->cols : o->n_names, err));
        first_x = in->cols;
    }
    if (o->planned) {
        for (size_t j = first_x; j < o->n_names; j++)
            MS_CHECK(add_col(in, o->names[j], 1, &ref, err));
    } else {
        for (size_t j = 0; j < o->n_want; j++)
            if (!in_matrix(in, o->want[j]))
                MS_CHECK(add_col(in, o->want[j], 0, &ref, err));
    }
    MS_CHECK(open_keep(in, o, &ref, err));
    if (!ref) {
        st =
            ms_error_set(err, MS_EINPUT,
                         "%s: no dataset \"%s\" and no 1-D datasets named like the model's columns",
                         path, dataset);
        goto done;
    }
    if (o->id_dataset)
        MS_CHECK(open_ids(in, ref, o->id_dataset, err));
done:
    if (st != MS_OK) {
        ms_h5_input_close(in);
        return st;
    }
    *out = in;
    return MS_OK;
}

ms_status ms_h5_input_open(const char *path, const char *dataset, char *const *names,
                           size_t n_names, const char *id_dataset, ms_h5_input **out, ms_error *err)
{
    ms_h5_open_opts o = {
        .dataset = dataset, .names = names, .n_names = n_names, .id_dataset = id_dataset};
    return ms_h5_input_open_opts(path, &o, out, err);
}

uint64_t ms_h5_input_rows(const ms_h5_input *in)
{
    return in->rows;
}

size_t ms_h5_input_cols(const ms_h5_input *in)
{
    return in->cols + in->n_x;
}

char *const *ms_h5_input_names(const ms_h5_input *in)
{
    return in->names;
}

ms_val_type ms_h5_input_keep_type(const ms_h5_input *in, size_t k)
{
    switch (in->keep[k].kind) {
    case X_INT:
    case X_UINT:
        return MS_VAL_INT64;
    case X_F32:
        return MS_VAL_FLOAT;
    case X_F64:
        return MS_VAL_DOUBLE;
    default:
        return MS_VAL_TEXT;
    }
}

ms_status ms_h5_input_check_kinds(const ms_h5_input *in, const int *col_feature,
                                  const ms_colspec *spec, ms_error *err)
{
    for (size_t j = 0; j < in->n_x; j++) {
        int fi = col_feature[in->cols + j];
        if (fi < 0)
            continue;
        const h5_col *x = &in->x[j];
        int str = x->kind == X_VLEN || x->kind == X_FIXED;
        const ms_colspec *sp = &spec[fi];
        if (str && sp->kind == MS_COL_NUM)
            return ms_error_set(err, MS_EINPUT,
                                "%s: %s is a string dataset but the model reads column \"%s\" as "
                                "a number",
                                in->path, x->dset, sp->name);
        if (!str && sp->kind == MS_COL_CAT && !ms_dict_is_num(sp->dict))
            return ms_error_set(err, MS_EINPUT,
                                "%s: %s is a numeric dataset but the model's column \"%s\" holds "
                                "string categories",
                                in->path, x->dset, sp->name);
    }
    return MS_OK;
}

static herr_t find_pline(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    if (e->maj_num == H5E_PLINE)
        *(int *)data = 1;
    return 0;
}

/* Rows [first, first + count) of a 1-D (cols == 0) or 2-D dataset: 0, or
 * -1 on failure, -2 when a filter failed (the error stack says so only until
 * the next API call, hence here). */
static int read_rows(hid_t d, hid_t memtype, uint64_t first, size_t count, size_t cols, void *buf)
{
    int rank = cols ? 2 : 1;
    hsize_t start[2] = {first, 0}, cnt[2] = {count, cols};
    hid_t fs = H5Dget_space(d);
    hid_t ms = H5Screate_simple(rank, cnt, NULL);
    int rc = fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL) < 0
                 ? -1
                 : 0;
    if (rc == 0 && H5Dread(d, memtype, ms, fs, H5P_DEFAULT, buf) < 0) {
        int pline = 0;
        H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, find_pline, &pline);
        rc = pline ? -2 : -1;
    }
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return rc;
}

/* A failed read of rows first+1..first+count of dataset. A filter that
 * failed (a damaged compressed chunk: inflate refused its bytes) is an input
 * error; anything else (the disk, the network) an I/O error, which the
 * loader may retry. Both name the file, the dataset and the rows. */
static ms_status read_failed(const ms_h5_input *in, int rc, const char *what, const char *dataset,
                             uint64_t first, size_t count, ms_error *err)
{
    if (rc == -2)
        return ms_error_set(err, MS_EINPUT,
                            "%s: %s: cannot read %s %llu..%llu: a compressed chunk is damaged "
                            "(its filter failed to decode it)",
                            in->path, dataset, what, (unsigned long long)first + 1,
                            (unsigned long long)(first + count));
    return ms_error_set(err, MS_EIO, "%s: %s: cannot read %s %llu..%llu", in->path, dataset, what,
                        (unsigned long long)first + 1, (unsigned long long)(first + count));
}

/* Shortest "%.Ng" text that reads back as exactly d: the value the file
 * holds, which is what a user looks for in the errors file. Error path
 * only, so strtod per attempt is fine. */
static size_t format_f64(double d, char *out, size_t outsz)
{
    if (isnan(d))
        return 0;
    if (isinf(d))
        return (size_t)snprintf(out, outsz, "%s", d < 0 ? "-inf" : "inf");
    int n = 0;
    for (int prec = 9; prec <= 17; prec++) {
        n = snprintf(out, outsz, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    return (size_t)n;
}

/* The row as CSV-like text for the errors file: NaN as an empty field (as a
 * CSV input would have shown it), infinities as "inf"/"-inf", float32 data
 * in its shortest text, float64 data as stored (before narrowing). Cut with
 * "..." at RECORD_MAX bytes. */
static size_t row_text(const ms_h5_input *in, const void *row, int as_double, char *out)
{
    size_t o = 0;
    for (size_t j = 0; j < in->cols; j++) {
        if (o + 1 + 32 + 3 > RECORD_MAX) {
            memcpy(out + o, "...", 3);
            return o + 3;
        }
        if (j)
            out[o++] = ',';
        if (in->wide)
            o += format_f64(((const double *)row)[j], out + o, 32);
        else if (as_double) /* float32 data widened for a float64 column */
            o += ms_format_f32((float)((const double *)row)[j], out + o);
        else
            o += ms_format_f32(((const float *)row)[j], out + o);
    }
    return o;
}

static ms_status read_ids(ms_h5_input *in, uint64_t first, size_t count, ms_error *err)
{
    size_t each = in->id_kind == ID_FIXED  ? in->id_size
                  : in->id_kind == ID_VLEN ? sizeof(char *)
                                           : sizeof(uint64_t);
    ms_status st = ms_buf_reserve(&in->idbuf, &in->idbuf_cap, count * each, err);
    if (st != MS_OK)
        return st;
    hid_t mt = in->id_kind == ID_INT    ? H5T_NATIVE_INT64
               : in->id_kind == ID_UINT ? H5T_NATIVE_UINT64
                                        : in->id_type;
    int rc = read_rows(in->ids, mt, first, count, 0, in->idbuf);
    if (rc < 0)
        return read_failed(in, rc, "ids", in->id_name, first, count, err);
    return MS_OK;
}

/* Text of id r of the last read_ids; tmp holds formatted integers. */
static const char *id_text(const ms_h5_input *in, size_t r, char *tmp, size_t tmpsz, size_t *n)
{
    const char *s;
    switch (in->id_kind) {
    case ID_INT:
        *n = (size_t)snprintf(tmp, tmpsz, "%" PRId64, ((const int64_t *)(void *)in->idbuf)[r]);
        return tmp;
    case ID_UINT:
        *n = (size_t)snprintf(tmp, tmpsz, "%" PRIu64, ((const uint64_t *)(void *)in->idbuf)[r]);
        return tmp;
    case ID_VLEN:
        s = ((char *const *)(void *)in->idbuf)[r];
        s = s ? s : "";
        *n = strlen(s);
        return s;
    case ID_FIXED:
        /* h5py writes numpy "S" ids NUL-padded; Fortran-style writers pad
         * with spaces. Neither padding is part of the id. */
        s = in->idbuf + r * in->id_size;
        *n = 0;
        while (*n < in->id_size && s[*n])
            (*n)++;
        while (*n > 0 && s[*n - 1] == ' ')
            (*n)--;
        return s;
    case ID_NONE:
        break;
    }
    *n = 0;
    return "";
}

/* Store one row's used columns into the batch's columns; on a value the
 * layout refuses, mark the row bad and stop. The row was read as double
 * when the file or a column is wider than float32 (HDF5 widens float32
 * exactly), so a float32 column gets (float) of the double (round to
 * nearest), as pandas + numpy's astype(float32) do; a finite value too
 * large for float32 is reported the way the CSV reader reports "1e39". */
static ms_status take_row(ms_h5_input *in, const void *row, int as_double, uint64_t line,
                          const int *col_feature, int allow_missing, ms_batch *b, ms_error *err)
{
    const float *rf = row;
    const double *rd = row;
    size_t r = b->n_rows - 1;
    for (size_t c = 0; c < in->cols; c++) {
        int fi = col_feature[c];
        if (fi < 0)
            continue;
        double d = as_double ? rd[c] : (double)rf[c];
        int f64 = b->spec[fi].kind == MS_COL_NUM && b->spec[fi].prec == MS_PREC_F64;
        float v = (float)d;
        if (b->spec[fi].kind == MS_COL_NUM && (f64 ? isfinite(d) : isfinite(v))) {
            if (f64)
                ms_batch_f64(b, (size_t)fi)[r] = d;
            else
                ms_batch_f32(b, (size_t)fi)[r] = v;
            continue;
        }
        if (isnan(d) && allow_missing)
            continue; /* the cell is missing already */
        const char *why = NULL;
        if (b->spec[fi].kind == MS_COL_CAT && !isnan(d) &&
            !(why = ms_batch_put_num(b, (size_t)fi, r, d)))
            continue;
        char reason[MS_ERROR_MSG_MAX], rec[RECORD_MAX + 1], name[NAME_EXCERPT_MAX * 4 + 8], val[40];
        ms_quote_excerpt(in->names[c], strlen(in->names[c]), NAME_EXCERPT_MAX, name, sizeof name);
        if (isnan(d)) {
            snprintf(reason, sizeof reason, "column \"%s\": missing value", name);
        } else if (why) {
            format_f64(d, val, sizeof val);
            snprintf(reason, sizeof reason, "column \"%s\": %s: \"%s\"", name, why, val);
        } else if (isfinite(d)) {
            format_f64(d, val, sizeof val);
            snprintf(reason, sizeof reason, "column \"%s\": value out of float32 range: \"%s\"",
                     name, val);
        } else {
            snprintf(reason, sizeof reason, "column \"%s\": infinite value", name);
        }
        size_t rl = row_text(in, row, as_double, rec);
        return ms_batch_mark_bad(b, in->path, line, c + 1, in->names[c], reason, rec, rl, err);
    }
    return MS_OK;
}

/* Rows [first, first + count) of the 1-D column x into x->buf. */
static ms_status col_read(ms_h5_input *in, h5_col *x, uint64_t first, size_t count, ms_error *err)
{
    size_t each = x->kind == X_FIXED ? x->size : x->kind == X_VLEN ? sizeof(char *) : 8;
    ms_status st = ms_buf_reserve(&x->buf, &x->cap, count * each + 1, err);
    if (st != MS_OK)
        return st;
    hid_t mt = x->kind == X_INT    ? H5T_NATIVE_INT64
               : x->kind == X_UINT ? H5T_NATIVE_UINT64
               : x->kind == X_F32  ? H5T_NATIVE_FLOAT
               : x->kind == X_F64  ? H5T_NATIVE_DOUBLE
                                   : x->strtype;
    int rc = read_rows(x->d, mt, first, count, 0, x->buf);
    if (rc < 0)
        return read_failed(in, rc, "rows", x->dset, first, count, err);
    x->vlen_live = x->kind == X_VLEN;
    return MS_OK;
}

/* vlen strings point into memory HDF5 allocated during the read. */
static void col_reclaim(h5_col *x, size_t count)
{
    if (!x->vlen_live)
        return;
    hsize_t d1[1] = {count};
    hid_t sp = H5Screate_simple(1, d1, NULL);
    H5Dvlen_reclaim(x->strtype, sp, H5P_DEFAULT, x->buf);
    H5Sclose(sp);
    x->vlen_live = 0;
}

/* String r of the last read, its padding dropped as numpy decodes it
 * (trailing NULs; a space-padded type's trailing spaces; a NUL-terminated
 * one ends at its NUL); NULL for a null variable-length string. */
static const char *col_str(const h5_col *x, size_t r, size_t *n)
{
    if (x->kind == X_VLEN) {
        const char *s = ((char *const *)(void *)x->buf)[r];
        *n = s ? strlen(s) : 0;
        return s;
    }
    const char *s = x->buf + r * x->size;
    size_t len = x->size;
    if (x->pad == H5T_STR_NULLTERM)
        len = strnlen(s, x->size);
    else
        while (len > 0 && s[len - 1] == (x->pad == H5T_STR_SPACEPAD ? ' ' : '\0'))
            len--;
    *n = len;
    return s;
}

/* Cell r of the 1-D column x into model column fi of the last row: a
 * string category by exact lookup ("" and a null string are missing),
 * other strings as the CSV reader takes text, numbers as numbers. A value
 * refused is a row error at the column, its text the record. */
static ms_status take_extra(ms_h5_input *in, size_t j, size_t r, size_t fi, uint64_t line,
                            ms_batch *b, ms_error *err)
{
    const h5_col *x = &in->x[j];
    const ms_colspec *sp = &b->spec[fi];
    size_t row = b->n_rows - 1, n = 0;
    const char *why, *s;
    char num[MS_F64_TEXT_MAX + 1];
    if (x->kind == X_VLEN || x->kind == X_FIXED) {
        s = col_str(x, r, &n);
        if (!s || n == 0) {
            why = ms_batch_put_num(b, fi, row, NAN);
        } else if (sp->kind == MS_COL_CAT && !ms_dict_is_num(sp->dict)) {
            int32_t code = ms_dict_find_str(sp->dict, s, n);
            why = code == MS_CODE_UNKNOWN && sp->unknown_is_error ? "unknown category" : NULL;
            ms_batch_codes(b, fi)[row] = why ? MS_CODE_MISSING : code;
        } else {
            why = ms_batch_put_text(b, fi, row, s, n);
        }
    } else {
        double d = ((const double *)(const void *)x->buf)[r];
        why = ms_batch_put_num(b, fi, row, d);
        s = num;
        n = why ? format_f64(d, num, sizeof num) : 0;
    }
    if (!why)
        return MS_OK;
    const char *col = in->names[in->cols + j];
    char name[NAME_EXCERPT_MAX * 4 + 8], val[NAME_EXCERPT_MAX * 4 + 8];
    char reason[sizeof name + sizeof val + 64];
    ms_quote_excerpt(col, strlen(col), NAME_EXCERPT_MAX, name, sizeof name);
    ms_quote_excerpt(s ? s : "", n, NAME_EXCERPT_MAX, val, sizeof val);
    if (!strcmp(why, "missing value") || !strcmp(why, "infinite value"))
        snprintf(reason, sizeof reason, "column \"%s\": %s", name, why);
    else if (!strcmp(why, "unknown category"))
        snprintf(reason, sizeof reason, "unknown category \"%s\" in column \"%s\"", val, name);
    else
        snprintf(reason, sizeof reason, "column \"%s\": %s: \"%s\"", name, why, val);
    return ms_batch_mark_bad(b, in->path, line, in->cols + j + 1, col, reason, s ? s : "", n, err);
}

/* Kept columns of row r of the last read into the batch's last row, as
 * text: integers in decimal, floats in their shortest round-trip text,
 * strings as stored; NaN and null strings are null. */
static ms_status keep_row(ms_h5_input *in, size_t r, ms_batch *b, ms_error *err)
{
    for (size_t k = 0; k < in->n_keep; k++) {
        const h5_col *x = &in->keep[k];
        char tmp[MS_F64_TEXT_MAX + 1];
        const char *s = tmp;
        size_t n = 0;
        float f;
        double d;
        switch (x->kind) {
        case X_INT:
            n = (size_t)snprintf(tmp, sizeof tmp, "%" PRId64, ((const int64_t *)(void *)x->buf)[r]);
            break;
        case X_UINT:
            n = (size_t)snprintf(tmp, sizeof tmp, "%" PRIu64,
                                 ((const uint64_t *)(void *)x->buf)[r]);
            break;
        case X_F32:
            f = ((const float *)(void *)x->buf)[r];
            s = isnan(f) ? NULL : tmp;
            n = s ? ms_format_f32(f, tmp) : 0;
            break;
        case X_F64:
            d = ((const double *)(void *)x->buf)[r];
            s = isnan(d) ? NULL : tmp;
            n = s ? ms_format_f64(d, tmp) : 0;
            break;
        default:
            s = col_str(x, r, &n);
            break;
        }
        ms_status st = ms_batch_set_last_keep(b, k, s, n, err);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}

ms_status ms_h5_input_read(ms_h5_input *in, uint64_t first, size_t count, const int *col_feature,
                           int allow_missing, ms_batch *b, ms_error *err)
{
    ms_status st = MS_OK;
    int have_vlen = 0;
    /* float64 columns need the file's values as doubles; a float32 file
     * feeding float32 columns only is read as it is stored */
    b->file = in->path;
    int as_double = in->wide;
    for (size_t c = 0; c < in->cols && !as_double; c++)
        as_double = col_feature[c] >= 0 && (b->spec[col_feature[c]].kind != MS_COL_NUM ||
                                            b->spec[col_feature[c]].prec == MS_PREC_F64);
    size_t elem = as_double ? sizeof(double) : sizeof(float);
    if (first > in->rows || count > in->rows - first)
        return ms_error_set(err, MS_EINPUT, "%s: rows %llu..%llu are past the end (%llu rows)",
                            in->path, (unsigned long long)first + 1,
                            (unsigned long long)(first + count), (unsigned long long)in->rows);
    if (count == 0)
        return MS_OK;
    if (b->n_keep != in->n_keep)
        return ms_error_set(err, MS_EINTERNAL, "%s: the batch carries %zu kept columns, not %zu",
                            in->path, b->n_keep, in->n_keep);
    if (in->cols && count > in->buf_rows) {
        void *nb = count <= SIZE_MAX / sizeof(double) / in->cols
                       ? realloc(in->buf, count * in->cols * sizeof(double))
                       : NULL;
        if (!nb)
            return ms_error_set(err, MS_EINTERNAL, "out of memory (%zu rows x %zu columns)", count,
                                in->cols);
        in->buf = nb;
        in->buf_rows = count;
    }
    int rc = in->cols ? read_rows(in->data, as_double ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT, first,
                                  count, in->cols, in->buf)
                      : 0;
    if (rc < 0)
        return read_failed(in, rc, "rows", in->dset_name, first, count, err);
    for (size_t j = 0; j < in->n_x; j++)
        if (col_feature[in->cols + j] >= 0)
            MS_CHECK(col_read(in, &in->x[j], first, count, err));
    for (size_t k = 0; k < in->n_keep; k++)
        MS_CHECK(col_read(in, &in->keep[k], first, count, err));
    if (in->id_kind != ID_NONE) {
        MS_CHECK(read_ids(in, first, count, err));
        have_vlen = in->id_kind == ID_VLEN;
    }
    MS_CHECK(ms_batch_reserve(b, b->n_rows + count, err));
    b->refuse_missing = !allow_missing;
    /* Numbers go column by column straight into the batch; a row is then
     * taken as it is when every used cell is acceptable, and otherwise
     * through take_row, which reports it. Category columns (numeric
     * dictionaries) take take_row for every row. */
    int fast = 1;
    size_t r0 = b->n_rows;
    /* bad[] past the batch's rows flags the rows take_row must see */
    uint8_t *flag = b->bad + r0;
    memset(flag, 0, count);
    for (size_t c = 0; c < in->cols; c++) {
        int fi = col_feature[c];
        if (fi < 0)
            continue;
        if (b->spec[fi].kind != MS_COL_NUM) {
            fast = 0;
            continue;
        }
        if (b->spec[fi].prec == MS_PREC_F64) {
            double *dst = ms_batch_f64(b, (size_t)fi) + r0;
            const double *src = (const double *)in->buf + c; /* as_double here */
            for (size_t r = 0; r < count; r++) {
                dst[r] = src[r * in->cols];
                flag[r] |= !(isfinite(dst[r]) || (isnan(dst[r]) && allow_missing));
            }
        } else {
            float *dst = ms_batch_f32(b, (size_t)fi) + r0;
            const double *sd = (const double *)in->buf + c;
            const float *sf = (const float *)in->buf + c;
            for (size_t r = 0; r < count; r++) {
                dst[r] = as_double ? (float)sd[r * in->cols] : sf[r * in->cols];
                flag[r] |= !(isfinite(dst[r]) || (isnan(dst[r]) && allow_missing));
            }
        }
    }
    for (size_t r = 0; r < count; r++) {
        int ok = fast && !flag[r];
        MS_CHECK(ok ? ms_batch_add_row_set(b, err) : ms_batch_add_row(b, err));
        b->row_line[b->n_rows - 1] = first + r + 1;
        if (in->id_kind != ID_NONE) {
            char tmp[32];
            size_t n;
            const char *s = id_text(in, r, tmp, sizeof tmp, &n);
            MS_CHECK(ms_batch_set_last_id(b, s, n, err));
        }
        if (!ok)
            MS_CHECK(take_row(in, (const char *)in->buf + r * in->cols * elem, as_double,
                              first + r + 1, col_feature, allow_missing, b, err));
        for (size_t j = 0; j < in->n_x && !b->bad[b->n_rows - 1]; j++)
            if (col_feature[in->cols + j] >= 0)
                MS_CHECK(
                    take_extra(in, j, r, (size_t)col_feature[in->cols + j], first + r + 1, b, err));
        if (in->n_keep)
            MS_CHECK(keep_row(in, r, b, err));
    }
done:
    for (size_t j = 0; j < in->n_x; j++)
        col_reclaim(&in->x[j], count);
    for (size_t k = 0; k < in->n_keep; k++)
        col_reclaim(&in->keep[k], count);
    /* vlen ids point into memory HDF5 allocated during the read. */
    if (have_vlen) {
        hsize_t d1[1] = {count};
        hid_t sp = H5Screate_simple(1, d1, NULL);
        H5Dvlen_reclaim(in->id_type, sp, H5P_DEFAULT, in->idbuf);
        H5Sclose(sp);
    }
    return st;
}
