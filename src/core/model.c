/*
 * model.c — the model container: load, validate, save, describe (model.h).
 *
 * Validation is complete before a model leaves ms_model_load: every shape a
 * kernel indexes with and every weight it multiplies is checked here, so
 * kernels never check anything per row.
 */
#include "mpiscore/model.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "h5util.h"
#include "mpiscore/sha256.h"
#include "model_internal.h"
#include "mpiscore/prep.h"

/* Indexed by ms_model_kind / ms_link: the container stores these names. */
static const char *const kind_names[] = {"linear", "tree_ensemble", "mlp"};
static const char *const link_names[] = {"identity", "logistic", "softmax", "ovr",
                                         "exp",      "step",     "expm1",   "square"};
static const char *const activation_names[] = {"identity", "relu", "tanh", "logistic"};
#define N_KINDS (int)(sizeof kind_names / sizeof kind_names[0])
#define N_LINKS (int)(sizeof link_names / sizeof link_names[0])

const char *ms_kind_name(ms_model_kind k)
{
    return (unsigned)k < (unsigned)N_KINDS ? kind_names[k] : "?";
}

const char *ms_link_name(ms_link l)
{
    return (unsigned)l < (unsigned)N_LINKS ? link_names[l] : "?";
}

const char *ms_activation_name(ms_activation a)
{
    return (unsigned)a < sizeof activation_names / sizeof activation_names[0] ? activation_names[a]
                                                                              : "?";
}

int ms_model_allows_missing(const ms_model *m)
{
    /* A program takes missing cells: where one still reaches a feature the
     * estimator cannot take (a passthrough column, no imputer on its path),
     * the scorer refuses that row by the feature (scorer.c refuse_nan_rows);
     * a missing cell the program imputes is scored, as scikit-learn does. */
    if (m->prep)
        return 1;
    return m->kind == MS_KIND_TREES && !m->trees.missing_is_error;
}

void ms_model_free(ms_model *m)
{
    if (!m)
        return;
    ms_h5_free_strs(m->feature_names, m->n_features);
    ms_h5_free_strs(m->output_names, m->n_outputs);
    ms_h5_free_strs(m->class_labels, m->n_classes);
    free(m->source);
    free(m->linear.coef);
    free(m->linear.intercept);
    ms_trees_free(&m->trees);
    ms_mlp_free(&m->mlp);
    free(m->linear.coef64);
    free(m->linear.intercept64);
    ms_prep_free(m->prep);
    ms_model_free_inputs(m);
    free(m);
}

void ms_model_free_inputs(ms_model *m)
{
    for (size_t k = 0; m->inputs && k < m->n_inputs; k++) {
        free(m->inputs[k].name);
        ms_dict_free(m->inputs[k].dict);
    }
    free(m->inputs);
    m->inputs = NULL;
    m->n_inputs = 0;
}

static const char *const precision_names[] = {"float32", "float64"};

const char *ms_precision_name(ms_precision p)
{
    return (unsigned)p < 2 ? precision_names[p] : "?";
}

int ms_precision_parse(const char *s, ms_precision *out)
{
    for (int p = 0; p < 2; p++)
        if (!strcmp(s, precision_names[p])) {
            *out = (ms_precision)p;
            return 0;
        }
    return -1;
}

ms_status ms_model_derive(ms_model *m, ms_error *err)
{
    if (m->precision == MS_PREC_F64 && m->kind == MS_KIND_LINEAR && !m->linear.coef64) {
        size_t nw = m->n_raw * m->n_features;
        m->linear.coef64 = malloc((nw ? nw : 1) * sizeof(double));
        m->linear.intercept64 = malloc((m->n_raw ? m->n_raw : 1) * sizeof(double));
        if (!m->linear.coef64 || !m->linear.intercept64)
            return ms_error_set(err, MS_EINTERNAL, "out of memory");
        for (size_t i = 0; i < nw; i++)
            m->linear.coef64[i] = m->linear.coef[i];
        for (size_t i = 0; i < m->n_raw; i++)
            m->linear.intercept64[i] = m->linear.intercept[i];
    }
    if (m->precision == MS_PREC_F64 && m->kind == MS_KIND_MLP) {
        ms_status st = ms_mlp_derive64(m, err);
        if (st != MS_OK)
            return st;
    }
    if (m->inputs || m->prep)
        return MS_OK;
    /* no program: input k is feature k, a number in the model's precision */
    m->inputs = calloc(m->n_features ? m->n_features : 1, sizeof *m->inputs);
    if (!m->inputs)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    m->n_inputs = m->n_features;
    for (size_t k = 0; k < m->n_features; k++) {
        m->inputs[k].kind = MS_COL_NUM;
        m->inputs[k].prec = m->precision;
        if (!(m->inputs[k].name = strdup(m->feature_names[k]))) {
            ms_model_free_inputs(m);
            return ms_error_set(err, MS_EINTERNAL, "out of memory");
        }
    }
    return MS_OK;
}

static size_t outputs_for(const ms_model *m)
{
    if (m->link == MS_LINK_LOGISTIC && m->n_raw == 1 && m->n_classes == 2)
        return 2;
    return m->n_raw;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A name that appears twice in v (all non-NULL), or NULL. Sorting keeps
 * wide models (hashed text features: 10^5 names and more) fast to load;
 * short lists, the common case, are compared pairwise without allocating. */
static const char *find_duplicate(char *const *v, size_t n)
{
    char **s = n > 64 ? malloc(n * sizeof *s) : NULL;
    if (!s) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (!strcmp(v[i], v[j]))
                    return v[i];
        return NULL;
    }
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_str);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (!strcmp(s[i], s[i - 1]))
            dup = s[i];
    free(s);
    return dup;
}

/* Models built in memory (importers, tests) pass through here as well as
 * loaded ones, so nothing is assumed about the struct: enum values, NULL
 * arrays and name lists are all checked before a kernel can touch them. */
ms_status ms_model_validate(const ms_model *m, const char *path, ms_error *err)
{
    if ((unsigned)m->kind >= (unsigned)N_KINDS)
        return ms_error_set(err, MS_EMODEL, "%s: unknown kind %d", path, (int)m->kind);
    if ((unsigned)m->link >= (unsigned)N_LINKS)
        return ms_error_set(err, MS_EMODEL, "%s: unknown link %d", path, (int)m->link);
    if (m->n_features == 0)
        return ms_error_set(err, MS_EMODEL, "%s: the model has no features", path);
    if (!m->feature_names)
        return ms_error_set(err, MS_EMODEL, "%s: the model has no feature names", path);
    if (m->n_outputs && !m->output_names)
        return ms_error_set(err, MS_EMODEL, "%s: the model has no output names", path);
    if (m->n_classes && !m->class_labels)
        return ms_error_set(err, MS_EMODEL, "%s: the model has no class labels", path);
    /* Inputs map columns to features by name, so an empty or repeated name
     * would make that mapping ambiguous; output names become output columns
     * and need the same care. */
    const char *dup;
    for (size_t i = 0; i < m->n_features; i++)
        if (!m->feature_names[i] || !m->feature_names[i][0])
            return ms_error_set(err, MS_EMODEL, "%s: feature %zu has an empty name", path, i + 1);
    if ((dup = find_duplicate(m->feature_names, m->n_features)))
        return ms_error_set(err, MS_EMODEL, "%s: duplicate feature name \"%s\"", path, dup);
    for (size_t i = 0; i < m->n_outputs; i++)
        if (!m->output_names[i] || !m->output_names[i][0])
            return ms_error_set(err, MS_EMODEL, "%s: output %zu has an empty name", path, i + 1);
    if ((dup = find_duplicate(m->output_names, m->n_outputs)))
        return ms_error_set(err, MS_EMODEL, "%s: duplicate output name \"%s\"", path, dup);
    for (size_t i = 0; i < m->n_classes; i++)
        if (!m->class_labels[i])
            return ms_error_set(err, MS_EMODEL, "%s: class label %zu is missing", path, i + 1);
    if (m->n_raw == 0)
        return ms_error_set(err, MS_EMODEL, "%s: the model produces no scores", path);
    size_t want = outputs_for(m);
    if (m->n_outputs != want)
        return ms_error_set(err, MS_EMODEL,
                            "%s: output_names has %zu names but the model produces %zu outputs",
                            path, m->n_outputs, want);
    if (m->link == MS_LINK_SOFTMAX || m->link == MS_LINK_OVR) {
        if (m->n_raw < 2)
            return ms_error_set(err, MS_EMODEL, "%s: link %s needs at least 2 scores", path,
                                ms_link_name(m->link));
    }
    /* softmax and ovr only make sense as class probabilities, so the label
     * column must be writable; exp (a rate) has no classes to pick from.
     * identity and logistic serve both regressors and classifiers. */
    if ((m->link == MS_LINK_SOFTMAX || m->link == MS_LINK_OVR) && m->n_classes == 0)
        return ms_error_set(err, MS_EMODEL, "%s: link %s needs class_labels (one per output)", path,
                            ms_link_name(m->link));
    if ((m->link == MS_LINK_EXP || m->link == MS_LINK_EXPM1 || m->link == MS_LINK_SQUARE) &&
        m->n_classes)
        return ms_error_set(err, MS_EMODEL, "%s: link %s cannot have class_labels", path,
                            ms_link_name(m->link));
    if (m->n_classes) {
        int binary_decision = (m->link == MS_LINK_IDENTITY || m->link == MS_LINK_STEP) &&
                              m->n_raw == 1 && m->n_classes == 2;
        if (!binary_decision && m->n_classes != m->n_outputs)
            return ms_error_set(err, MS_EMODEL,
                                "%s: class_labels has %zu labels but the model has %zu outputs",
                                path, m->n_classes, m->n_outputs);
    }
    if (m->kind == MS_KIND_TREES)
        return ms_trees_validate(m, path, err);
    if (m->kind == MS_KIND_MLP)
        return ms_mlp_validate(m, path, err);
    if (m->kind == MS_KIND_LINEAR) {
        if (!m->linear.coef || !m->linear.intercept)
            return ms_error_set(err, MS_EMODEL, "%s: the model has no weights", path);
        for (size_t k = 0; k < m->n_raw; k++) {
            if (!isfinite(m->linear.intercept[k]))
                return ms_error_set(err, MS_EMODEL, "%s: /linear/intercept[%zu] is not finite",
                                    path, k);
            for (size_t j = 0; j < m->n_features; j++)
                if (!isfinite(m->linear.coef[k * m->n_features + j]))
                    return ms_error_set(err, MS_EMODEL, "%s: /linear/coef[%zu][%zu] is not finite",
                                        path, k, j);
        }
    }
    return MS_OK;
}

/* A damaged or hostile file can declare a dataset far larger than what it
 * holds; refuse before allocating for it. Uncompressed data must be fully
 * stored; filtered (compressed) data may be smaller, within reason. */
static ms_status check_stored(hid_t d, hid_t t, hsize_t n, const char *path, const char *name,
                              ms_error *err)
{
    if (n == 0)
        return MS_OK;
    hsize_t stored = H5Dget_storage_size(d), need = n * (hsize_t)H5Tget_size(t);
    hid_t pl = H5Dget_create_plist(d);
    int filtered = pl >= 0 && H5Pget_nfilters(pl) > 0;
    if (pl >= 0)
        H5Pclose(pl);
    if (stored == 0 || (!filtered && stored < need) || (filtered && need / 4096 > stored))
        return ms_error_set(err, MS_EMODEL,
                            "%s: %s declares %llu values but the file stores only %llu bytes", path,
                            name, (unsigned long long)n, (unsigned long long)stored);
    return MS_OK;
}

/* Read a float dataset of rank 1 or 2 into a malloc'd float buffer.
 * Values are read as double and narrowed here rather than by HDF5: HDF5's
 * conversion turns anything above FLT_MAX into inf (even 3.4028235e38, which
 * rounds to FLT_MAX), where a C cast, numpy and strtof round to nearest. A
 * finite weight that still does not fit a float is refused by name. */
static ms_status read_values(hid_t f, const char *path, const char *name, int rank, hsize_t *dims,
                             float **out, double **out_d, ms_error *err)
{
    ms_status st = MS_OK;
    double *tmp = NULL;
    hid_t d = H5I_INVALID_HID, sp = H5I_INVALID_HID, t = H5I_INVALID_HID;
    float *fl = NULL;
    if (out)
        *out = NULL;
    if (out_d)
        *out_d = NULL;
    if (!ms_h5_exists(f, name))
        return ms_error_set(err, MS_EMODEL, "%s: dataset %s is missing", path, name);
    d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d >= 0) {
        sp = H5Dget_space(d);
        t = H5Dget_type(d);
    }
    if (d < 0 || H5Sget_simple_extent_ndims(sp) != rank || H5Tget_class(t) != H5T_FLOAT) {
        st = ms_error_set(err, MS_EMODEL, "%s: %s must be a %d-D floating-point dataset", path,
                          name, rank);
        goto done;
    }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    size_t cols = rank == 2 ? (size_t)dims[1] : 1;
    hsize_t n = dims[0] * cols;
    if (cols && dims[0] > (hsize_t)SIZE_MAX / sizeof(double) / cols) {
        st = ms_error_set(err, MS_EMODEL, "%s: %s is too large", path, name);
        goto done;
    }
    if ((st = check_stored(d, t, n, path, name, err)) != MS_OK)
        goto done;
    fl = out ? malloc((n ? n : 1) * sizeof *fl) : NULL;
    tmp = malloc((n ? n : 1) * sizeof *tmp);
    if ((out && !fl) || !tmp) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory (%s: %llu values)", name,
                          (unsigned long long)n);
        goto done;
    }
    if (n && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) < 0) {
        st = ms_error_set(err, MS_EMODEL, "%s: cannot read %s", path, name);
        goto done;
    }
    if (!out) {
        *out_d = tmp;
        tmp = NULL;
        goto done;
    }
    for (hsize_t i = 0; i < n; i++) {
        float v = (float)tmp[i];
        if (isinf(v) && isfinite(tmp[i])) {
            if (rank == 2)
                st = ms_error_set(err, MS_EMODEL, "%s: %s[%llu][%llu] = %g is out of float32 range",
                                  path, name, (unsigned long long)(i / cols),
                                  (unsigned long long)(i % cols), tmp[i]);
            else
                st = ms_error_set(err, MS_EMODEL, "%s: %s[%llu] = %g is out of float32 range", path,
                                  name, (unsigned long long)i, tmp[i]);
            goto done;
        }
        fl[i] = v;
    }
done:
    free(tmp);
    if (st != MS_OK)
        free(fl);
    else if (out)
        *out = fl;
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return st;
}

ms_status ms_model_read_floats(hid_t f, const char *path, const char *name, int rank, hsize_t *dims,
                               float **out, ms_error *err)
{
    return read_values(f, path, name, rank, dims, out, NULL, err);
}

ms_status ms_model_read_doubles(hid_t f, const char *path, const char *name, int rank,
                                hsize_t *dims, double **out, ms_error *err)
{
    return read_values(f, path, name, rank, dims, NULL, out, err);
}

ms_status ms_model_read_ints(hid_t f, const char *path, const char *name, hsize_t *n, int64_t **out,
                             ms_error *err)
{
    ms_status st = MS_OK;
    hid_t d = H5I_INVALID_HID, sp = H5I_INVALID_HID, t = H5I_INVALID_HID;
    *out = NULL;
    if (!ms_h5_exists(f, name))
        return ms_error_set(err, MS_EMODEL, "%s: dataset %s is missing", path, name);
    d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d >= 0) {
        sp = H5Dget_space(d);
        t = H5Dget_type(d);
    }
    if (d < 0 || H5Sget_simple_extent_ndims(sp) != 1 || H5Tget_class(t) != H5T_INTEGER) {
        st = ms_error_set(err, MS_EMODEL, "%s: %s must be a 1-D integer dataset", path, name);
        goto done;
    }
    H5Sget_simple_extent_dims(sp, n, NULL);
    if (*n > (hsize_t)SIZE_MAX / sizeof(int64_t)) {
        st = ms_error_set(err, MS_EMODEL, "%s: %s is too large", path, name);
        goto done;
    }
    if ((st = check_stored(d, t, *n, path, name, err)) != MS_OK)
        goto done;
    *out = malloc((*n ? *n : 1) * sizeof **out);
    if (!*out) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory (%s: %llu values)", name,
                          (unsigned long long)*n);
        goto done;
    }
    if (*n && H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0) {
        st = ms_error_set(err, MS_EMODEL, "%s: cannot read %s", path, name);
        goto done;
    }
done:
    if (st != MS_OK) {
        free(*out);
        *out = NULL;
    }
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return st;
}

static int lookup(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

/* Required string attribute: "missing" and "wrong type" are told apart
 * because both happen with hand-written containers. */
ms_status ms_model_req_str(hid_t f, const char *path, const char *name, char **out, ms_error *err)
{
    if (H5Aexists(f, name) <= 0)
        return ms_error_set(err, MS_EMODEL, "%s: attribute %s is missing", path, name);
    if (ms_h5_attr_str(f, name, out) != 0)
        return ms_error_set(err, MS_EMODEL, "%s: attribute %s is not a string", path, name);
    return MS_OK;
}

static ms_status req_strs(hid_t f, const char *path, const char *name, char ***out, size_t *n,
                          ms_error *err)
{
    if (H5Aexists(f, name) <= 0)
        return ms_error_set(err, MS_EMODEL, "%s: attribute %s is missing", path, name);
    if (ms_h5_attr_strs(f, name, out, n) != 0)
        return ms_error_set(err, MS_EMODEL, "%s: attribute %s is not a list of strings", path,
                            name);
    return MS_OK;
}

ms_status ms_model_req_int(hid_t f, const char *path, const char *name, long long *out,
                           ms_error *err)
{
    if (H5Aexists(f, name) <= 0)
        return ms_error_set(err, MS_EMODEL, "%s: attribute %s is missing", path, name);
    if (ms_h5_attr_int(f, name, out) != 0)
        return ms_error_set(err, MS_EMODEL, "%s: attribute %s is not an integer", path, name);
    return MS_OK;
}

/* The container's bytes are read once, verified, and parsed from memory: the
 * bytes checked are exactly the bytes libhdf5 sees (a file replaced between a
 * check and an H5Fopen cannot slip through), and rank 0 can hand the same
 * image to every worker. */
ms_status ms_model_read_container(const char *path, unsigned char **buf, size_t *len, ms_error *err)
{
    ms_status st = MS_OK;
    struct stat sb;
    unsigned char *b = NULL;
    size_t n = 0;
    *buf = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fileno(fp), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        st = ms_error_set(err, MS_EIO, "%s: %s", path, strerror(EISDIR));
        goto done;
    }
    /* read to EOF rather than trust st_size: the file may be growing */
    size_t cap = sb.st_size > 0 ? (size_t)sb.st_size + 1 : 4096;
    for (;;) {
        if (n == cap || !b) {
            unsigned char *nb = realloc(b, b ? cap * 2 : cap);
            if (!nb) {
                st = ms_error_set(err, MS_EINTERNAL, "%s: out of memory reading the model", path);
                goto done;
            }
            if (b)
                cap *= 2;
            b = nb;
        }
        size_t got = fread(b + n, 1, cap - n, fp);
        n += got;
        if (got == 0) {
            if (ferror(fp)) {
                st = ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
                goto done;
            }
            break;
        }
    }
done:
    fclose(fp);
    if (st != MS_OK) {
        free(b);
        return st;
    }
    *buf = b;
    *len = n;
    return MS_OK;
}

static const unsigned char h5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/* libhdf5 looks for its signature at 0, 512, 1024, 2048, ... */
static int has_h5_signature(const unsigned char *b, size_t n)
{
    for (size_t at = 0; at + 8 <= n; at = at ? at * 2 : 512)
        if (!memcmp(b + at, h5_signature, 8))
            return 1;
    return 0;
}

/* The seal: the user block's first line, sha256 and length of every byte
 * after the user block. *sealed is 0 for a container without one (older
 * exports, hand-made files); a seal that does not match is MS_EMODEL. */
static ms_status check_seal(const char *path, const unsigned char *b, size_t n, int *sealed,
                            ms_error *err)
{
    const size_t ml = sizeof MS_MODEL_SEAL_MAGIC - 1;
    *sealed = 0;
    if (n < ml || memcmp(b, MS_MODEL_SEAL_MAGIC, ml) != 0)
        return MS_OK;
    *sealed = 1;
    char line[160];
    size_t i = 0;
    while (i < sizeof line - 1 && i < n && i < MS_MODEL_USERBLOCK && b[i] != '\n') {
        line[i] = (char)b[i];
        i++;
    }
    line[i] = '\0';
    char hex[MS_SHA256_HEX_LEN + 1], want[MS_SHA256_HEX_LEN + 1];
    unsigned long long length = 0;
    int used = 0;
    if (n < MS_MODEL_USERBLOCK ||
        sscanf(line, MS_MODEL_SEAL_MAGIC "sha256=%64[0-9a-f] length=%llu%n", want, &length,
               &used) != 2 ||
        (size_t)used != i || strlen(want) != MS_SHA256_HEX_LEN ||
        length != (unsigned long long)(n - MS_MODEL_USERBLOCK))
        return ms_error_set(err, MS_EMODEL, "%s: checksum mismatch: the file is damaged", path);
    ms_sha256_buf_hex(b + MS_MODEL_USERBLOCK, n - MS_MODEL_USERBLOCK, hex);
    if (strcmp(hex, want) != 0)
        return ms_error_set(err, MS_EMODEL, "%s: checksum mismatch: the file is damaged", path);
    return MS_OK;
}

/* libhdf5's core driver refuses to open an image under a name that exists
 * on disk, so the image gets a name of its own (never touched). */
static hid_t open_image(const unsigned char *b, size_t n)
{
    static unsigned counter;
    char name[96];
    snprintf(name, sizeof name, "/nonexistent/mpiscore-model-image-%ld-%u", (long)getpid(),
             counter++);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return H5I_INVALID_HID;
    hid_t f = H5I_INVALID_HID;
    if (H5Pset_fapl_core(fapl, 64 * 1024, 0) >= 0 && H5Pset_file_image(fapl, (void *)b, n) >= 0)
        f = H5Fopen(name, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    return f;
}

static ms_status parse(hid_t f, const char *path, ms_model **out, ms_error *err);

/* An unsealed container is parsed first in a child process: libhdf5 1.10
 * can crash or loop on a damaged file, and only a process boundary keeps
 * that from taking the run (or an MPI rank, whose crash handler may then
 * deadlock) with it. The child's verdict is only "survived or not": the
 * parent then parses the same bytes itself, for the model or the message. */
static ms_status probe_in_child(const char *path, const unsigned char *b, size_t n, ms_error *err)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return ms_error_set(err, MS_EINTERNAL, "%s: cannot check the model: fork: %s", path,
                            strerror(errno));
    if (pid == 0) {
        /* The child dies of a crash silently, by the default action: a
         * crash handler inherited from the run (one line naming the rank)
         * or a sanitizer's (a report, then exit 1) would speak for it. */
        static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
        for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
            signal(fatal[i], SIG_DFL);
        /* Silent too: glibc's "free(): invalid size" or a sanitizer report
         * would add lines to the parent's one; its verdict is the status.
         * LIBC_FATAL_STDERR_ keeps glibc from writing to /dev/tty instead. */
        setenv("LIBC_FATAL_STDERR_", "1", 1);
        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        ms_error e;
        ms_model *m = NULL;
        hid_t f = open_image(b, n);
        if (f >= 0) {
            (void)parse(f, path, &m, &e);
            H5Fclose(f);
        }
        ms_model_free(m);
        /* 0 whatever parse said: the parent parses again for the model or
         * the message, so any other ending (a sanitizer's exit 1) is a crash */
        _exit(0);
    }
    const char *t = getenv("MPISCORE_MODEL_CHECK_TIMEOUT");
    double limit = t && *t ? atof(t) : 30.0, waited = 0;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return ms_error_set(err, MS_EINTERNAL, "%s: cannot check the model: waitpid: %s", path,
                                strerror(errno));
        if (waited >= limit) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return ms_error_set(err, MS_EMODEL,
                                "%s: cannot be read: the file is damaged (libhdf5 hung reading "
                                "it); re-export it",
                                path);
        }
        /* short at first: a small model is checked in a millisecond or two */
        double step = waited < 0.05 ? 0.0005 : 0.01;
        struct timespec ts = {0, (long)(step * 1e9)};
        nanosleep(&ts, NULL);
        waited += step;
    }
    if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
        return ms_error_set(err, MS_EMODEL,
                            "%s: cannot be read: the file is damaged (libhdf5 crashed reading "
                            "it); re-export it",
                            path);
    return MS_OK;
}

ms_status ms_model_load_image(const char *path, const unsigned char *buf, size_t len,
                              ms_model **out, ms_error *err)
{
    int sealed = 0;
    *out = NULL;
    /* The library reports through err; HDF5's own stack dumps would only
     * duplicate that on stderr. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    ms_status st = check_seal(path, buf, len, &sealed, err);
    if (st != MS_OK)
        return st;
    if (!has_h5_signature(buf, len))
        return ms_error_set(err, MS_EMODEL, "%s: not an HDF5 file", path);
    if (!sealed && (st = probe_in_child(path, buf, len, err)) != MS_OK)
        return st;
    hid_t f = open_image(buf, len);
    if (f < 0)
        return ms_error_set(err, MS_EMODEL, "%s: cannot open the HDF5 file (truncated or damaged?)",
                            path);
    st = parse(f, path, out, err);
    H5Fclose(f);
    if (st == MS_OK) {
        static _Atomic uint64_t next_serial = 1;
        (*out)->serial = next_serial++;
    }
    return st;
}

ms_status ms_model_load(const char *path, ms_model **out, ms_error *err)
{
    unsigned char *b = NULL;
    size_t n = 0;
    *out = NULL;
    ms_status st = ms_model_read_container(path, &b, &n, err);
    if (st == MS_OK)
        st = ms_model_load_image(path, b, n, out, err);
    free(b);
    return st;
}

static ms_status parse(hid_t f, const char *path, ms_model **out, ms_error *err)
{
    ms_status st = MS_OK;
    ms_model *m = NULL;
    char *s = NULL;
    long long ver = 0, nf = 0;
    int kind, link;
    hsize_t cd[2] = {0, 0}, id[1] = {0};
    *out = NULL;
    m = calloc(1, sizeof *m);
    if (!m) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    if (H5Aexists(f, "format") <= 0 || ms_h5_attr_str(f, "format", &s) != 0 ||
        strcmp(s, MS_MODEL_FORMAT) != 0) {
        st = ms_error_set(err, MS_EMODEL, "%s: not an mpiscore model (attribute format %s)", path,
                          H5Aexists(f, "format") <= 0 ? "is missing"
                                                      : "is not \"" MS_MODEL_FORMAT "\"");
        goto done;
    }
    free(s);
    s = NULL;
    MS_CHECK(ms_model_req_int(f, path, "format_version", &ver, err));
    if (ver != MS_MODEL_FORMAT_VERSION) {
        st = ms_error_set(err, MS_EMODEL,
                          "%s: format_version %lld is not supported (this build reads %d)", path,
                          ver, MS_MODEL_FORMAT_VERSION);
        goto done;
    }
    MS_CHECK(ms_model_req_str(f, path, "kind", &s, err));
    if ((kind = lookup(s, kind_names, N_KINDS)) < 0) {
        st = ms_error_set(err, MS_EMODEL, "%s: unknown kind \"%s\"", path, s);
        goto done;
    }
    m->kind = (ms_model_kind)kind;
    free(s);
    s = NULL;
    MS_CHECK(ms_model_req_str(f, path, "link", &s, err));
    if ((link = lookup(s, link_names, N_LINKS)) < 0) {
        st = ms_error_set(err, MS_EMODEL, "%s: unknown link \"%s\"", path, s);
        goto done;
    }
    m->link = (ms_link)link;
    free(s);
    s = NULL;
    MS_CHECK(ms_model_req_int(f, path, "n_features", &nf, err));
    if (nf <= 0) {
        st = ms_error_set(err, MS_EMODEL, "%s: attribute n_features = %lld, expected at least 1",
                          path, nf);
        goto done;
    }
    MS_CHECK(req_strs(f, path, "feature_names", &m->feature_names, &m->n_features, err));
    if ((long long)m->n_features != nf) {
        st = ms_error_set(err, MS_EMODEL,
                          "%s: attribute n_features = %lld but feature_names has %zu names", path,
                          nf, m->n_features);
        goto done;
    }
    MS_CHECK(req_strs(f, path, "output_names", &m->output_names, &m->n_outputs, err));
    /* class_labels and source are optional: regressors have no classes and
     * hand-made containers may not say where they came from. */
    if (H5Aexists(f, "class_labels") > 0 &&
        ms_h5_attr_strs(f, "class_labels", &m->class_labels, &m->n_classes) != 0) {
        st = ms_error_set(err, MS_EMODEL, "%s: attribute class_labels is not a list of strings",
                          path);
        goto done;
    }
    if (H5Aexists(f, "source") > 0 && ms_h5_attr_str(f, "source", &m->source) != 0) {
        st = ms_error_set(err, MS_EMODEL, "%s: attribute source is not a string", path);
        goto done;
    }
    m->precision = MS_PREC_F32; /* containers from before the attribute */
    if (H5Aexists(f, "precision") > 0) {
        if (ms_h5_attr_str(f, "precision", &s) != 0 || ms_precision_parse(s, &m->precision) != 0) {
            st = ms_error_set(err, MS_EMODEL,
                              "%s: attribute precision must be \"float32\" or \"float64\"%s%s%s",
                              path, s ? " (it is \"" : "", s ? s : "", s ? "\")" : "");
            goto done;
        }
        free(s);
        s = NULL;
    }
    if (ms_h5_exists(f, "/missing_value")) {
        float *mv = NULL;
        hsize_t md[1] = {0};
        MS_CHECK(ms_model_read_floats(f, path, "/missing_value", 1, md, &mv, err));
        m->missing_value = mv[0];
        free(mv);
        if (md[0] != 1 || isnan(m->missing_value)) {
            st = ms_error_set(err, MS_EMODEL,
                              "%s: /missing_value must hold one number (NaN is always missing)",
                              path);
            goto done;
        }
        m->has_missing_value = 1;
    }
    MS_CHECK(ms_prep_read(f, path, m, err));
    if (m->kind == MS_KIND_TREES) {
        MS_CHECK(ms_trees_read(f, path, m, err));
        MS_CHECK(ms_model_validate(m, path, err));
        MS_CHECK(ms_trees_compile(m, err));
        MS_CHECK(ms_model_derive(m, err));
        goto done;
    }
    if (m->kind == MS_KIND_MLP) {
        MS_CHECK(ms_mlp_read(f, path, m, err));
        MS_CHECK(ms_model_validate(m, path, err));
        MS_CHECK(ms_model_derive(m, err));
        goto done;
    }
    MS_CHECK(ms_model_read_floats(f, path, "/linear/coef", 2, cd, &m->linear.coef, err));
    MS_CHECK(ms_model_read_floats(f, path, "/linear/intercept", 1, id, &m->linear.intercept, err));
    if (cd[1] != m->n_features) {
        st = ms_error_set(err, MS_EMODEL,
                          "%s: attribute n_features = %zu but /linear/coef has %llu columns", path,
                          m->n_features, (unsigned long long)cd[1]);
        goto done;
    }
    if (id[0] != cd[0]) {
        st = ms_error_set(err, MS_EMODEL,
                          "%s: /linear/intercept has %llu values but /linear/coef has %llu rows",
                          path, (unsigned long long)id[0], (unsigned long long)cd[0]);
        goto done;
    }
    m->n_raw = (size_t)cd[0];
    if (m->precision == MS_PREC_F64) {
        /* the weights as exported (float64), not their float32 copies */
        MS_CHECK(ms_model_read_doubles(f, path, "/linear/coef", 2, cd, &m->linear.coef64, err));
        MS_CHECK(ms_model_read_doubles(f, path, "/linear/intercept", 1, id, &m->linear.intercept64,
                                       err));
    }
    MS_CHECK(ms_model_validate(m, path, err));
    MS_CHECK(ms_model_derive(m, err));
done:
    free(s);
    if (st != MS_OK) {
        ms_model_free(m);
        return st;
    }
    *out = m;
    return MS_OK;
}

static int write_array(hid_t f, const char *name, int rank, const hsize_t *dims, hid_t file_type,
                       hid_t mem_type, const void *v)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d = H5Dcreate2(f, name, file_type, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    int rc = d < 0 || H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0 ? -1 : 0;
    if (d >= 0)
        H5Dclose(d);
    H5Pclose(lcpl);
    H5Sclose(sp);
    return rc;
}

int ms_model_write_floats(hid_t f, const char *name, int rank, const hsize_t *dims, const float *v)
{
    return write_array(f, name, rank, dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, v);
}

int ms_model_write_doubles(hid_t f, const char *name, int rank, const hsize_t *dims,
                           const double *v)
{
    return write_array(f, name, rank, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v);
}

int ms_model_write_ints(hid_t f, const char *name, hsize_t n, const int32_t *v)
{
    return write_array(f, name, 1, &n, H5T_STD_I32LE, H5T_NATIVE_INT32, v);
}

int ms_model_write_i64(hid_t f, const char *name, hsize_t n, const int64_t *v)
{
    return write_array(f, name, 1, &n, H5T_STD_I64LE, H5T_NATIVE_INT64, v);
}

int ms_model_write_u32(hid_t f, const char *name, hsize_t n, const uint32_t *v)
{
    return write_array(f, name, 1, &n, H5T_STD_U32LE, H5T_NATIVE_UINT32, v);
}

/* The first array a count promises but the struct does not hold. */
static const char *absent_array(const ms_model *m)
{
    if (m->n_features && !m->feature_names)
        return "feature_names";
    if (m->n_outputs && !m->output_names)
        return "output_names";
    if (m->n_classes && !m->class_labels)
        return "class_labels";
    if (m->kind == MS_KIND_LINEAR && m->n_raw && m->n_features && !m->linear.coef)
        return "/linear/coef";
    if (m->kind == MS_KIND_LINEAR && m->n_raw && !m->linear.intercept)
        return "/linear/intercept";
    if (m->kind == MS_KIND_MLP && (!m->mlp.weight || !m->mlp.bias || !m->mlp.width))
        return "/mlp";
    for (size_t l = 0;
         m->kind == MS_KIND_MLP && m->mlp.weight && m->mlp.bias && l < m->mlp.n_layers; l++)
        if (!m->mlp.weight[l] || !m->mlp.bias[l])
            return !m->mlp.weight[l] ? "an /mlp/weight layer" : "an /mlp/bias layer";
    if (m->kind == MS_KIND_TREES &&
        (!m->trees.node_offset || !m->trees.feature || !m->trees.threshold || !m->trees.left ||
         !m->trees.right || !m->trees.missing_left || !m->trees.value || !m->trees.base_score))
        return "/trees";
    if (m->prep && (!m->inputs || !m->n_inputs))
        return "the inputs of its preprocessing program";
    return NULL;
}

/* The seal goes into the user block of the closed file, which libhdf5 never
 * reads: "mpiscore-model-checksum v1 sha256=HEX length=N\n", zero-padded,
 * over every byte after the block (docs/formats.md). */
static ms_status write_seal(const char *tmp, const char *path, ms_error *err)
{
    unsigned char *b = NULL;
    size_t n = 0;
    ms_status st = ms_model_read_container(tmp, &b, &n, err);
    if (st != MS_OK)
        return st;
    if (n < MS_MODEL_USERBLOCK) {
        free(b);
        return ms_error_set(err, MS_EIO, "%s: cannot write the model: short file", path);
    }
    char hex[MS_SHA256_HEX_LEN + 1], block[MS_MODEL_USERBLOCK];
    ms_sha256_buf_hex(b + MS_MODEL_USERBLOCK, n - MS_MODEL_USERBLOCK, hex);
    free(b);
    memset(block, 0, sizeof block);
    snprintf(block, sizeof block, MS_MODEL_SEAL_MAGIC "sha256=%s length=%llu\n", hex,
             (unsigned long long)(n - MS_MODEL_USERBLOCK));
    FILE *fp = fopen(tmp, "r+b");
    if (!fp || fwrite(block, 1, sizeof block, fp) != sizeof block || fclose(fp) != 0) {
        int e = errno;
        st = ms_error_set(err, MS_EIO, "%s: cannot write the model: %s", path, strerror(e));
    }
    return st;
}

/* Save does not validate: tests and importers must be able to write a
 * refusable container and see the loader refuse it. It does refuse what it
 * cannot write at all (a count with no array behind it). The file is built
 * under a temporary name and renamed, so a reader (or a registry copying
 * it) never sees half a model. */
ms_status ms_model_save(const ms_model *m, const char *path, ms_error *err)
{
    ms_status st = MS_OK;
    char *tmp = NULL;
    hid_t f = H5I_INVALID_HID;
    const char *absent = absent_array(m);
    if (absent)
        return ms_error_set(err, MS_EINTERNAL, "%s: cannot save a model without %s", path, absent);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    size_t tl = strlen(path) + 32;
    if (!(tmp = malloc(tl)))
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    snprintf(tmp, tl, "%s.tmp%ld", path, (long)getpid());
    /* HDF5's POSIX driver leaves open(2)'s errno in place: the only way to
     * tell the user "No such file or directory" rather than just "failed". */
    errno = 0;
    /* the 1.8 object header format: the default one holds at most 64 KiB of
     * attributes, about 4,000 feature names */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    /* the user block holds the seal (see write_seal) */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_userblock(fcpl, MS_MODEL_USERBLOCK);
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    H5Pclose(fcpl);
    H5Pclose(fapl);
    if (f < 0) {
        st = ms_error_set(err, MS_EIO, "%s: cannot create: %s", path,
                          errno ? strerror(errno) : "HDF5 error");
        goto done;
    }
    int rc = 0;
    rc |= ms_h5_write_attr_str(f, "format", MS_MODEL_FORMAT);
    rc |= ms_h5_write_attr_int(f, "format_version", MS_MODEL_FORMAT_VERSION);
    rc |= ms_h5_write_attr_str(f, "kind", ms_kind_name(m->kind));
    rc |= ms_h5_write_attr_str(f, "link", ms_link_name(m->link));
    rc |= ms_h5_write_attr_int(f, "n_features", (long long)m->n_features);
    rc |= ms_h5_write_attr_strs(f, "feature_names", m->feature_names, m->n_features);
    rc |= ms_h5_write_attr_strs(f, "output_names", m->output_names, m->n_outputs);
    if (m->n_classes)
        rc |= ms_h5_write_attr_strs(f, "class_labels", m->class_labels, m->n_classes);
    if (m->source)
        rc |= ms_h5_write_attr_str(f, "source", m->source);
    rc |= ms_h5_write_attr_str(f, "precision", ms_precision_name(m->precision));
    if (m->has_missing_value) {
        hsize_t md[1] = {1};
        rc |= ms_model_write_floats(f, "/missing_value", 1, md, &m->missing_value);
    }
    if (m->kind == MS_KIND_LINEAR) {
        hsize_t cd[2] = {m->n_raw, m->n_features}, id[1] = {m->n_raw};
        if (m->linear.coef64 && m->linear.intercept64) {
            rc |= ms_model_write_doubles(f, "/linear/coef", 2, cd, m->linear.coef64);
            rc |= ms_model_write_doubles(f, "/linear/intercept", 1, id, m->linear.intercept64);
        } else {
            rc |= ms_model_write_floats(f, "/linear/coef", 2, cd, m->linear.coef);
            rc |= ms_model_write_floats(f, "/linear/intercept", 1, id, m->linear.intercept);
        }
    } else if (m->kind == MS_KIND_TREES) {
        rc |= ms_trees_write(f, m);
    } else if (m->kind == MS_KIND_MLP) {
        rc |= ms_mlp_write(f, m);
    }
    rc |= ms_prep_write(f, m);
    errno = 0;
    if (H5Fclose(f) < 0)
        rc = -1;
    f = H5I_INVALID_HID;
    if (rc != 0) {
        st = ms_error_set(err, MS_EIO, "%s: cannot write the model%s%s", path, errno ? ": " : "",
                          errno ? strerror(errno) : "");
        goto done;
    }
    if ((st = write_seal(tmp, path, err)) != MS_OK)
        goto done;
    if (rename(tmp, path) != 0)
        st = ms_error_set(err, MS_EIO, "%s: cannot create: %s", path, strerror(errno));
done:
    if (f >= 0)
        H5Fclose(f);
    if (st != MS_OK && tmp)
        unlink(tmp);
    free(tmp);
    return st;
}

void ms_model_describe(const ms_model *m, FILE *out)
{
    fprintf(out, "kind:      %s\n", ms_kind_name(m->kind));
    fprintf(out, "link:      %s\n", ms_link_name(m->link));
    fprintf(out, "precision: %s\n", ms_precision_name(m->precision));
    fprintf(out, "features:  %zu (", m->n_features);
    for (size_t i = 0; i < m->n_features && i < 10; i++)
        fprintf(out, "%s%s", i ? ", " : "", m->feature_names[i]);
    fprintf(out, "%s)\n", m->n_features > 10 ? ", ..." : "");
    fprintf(out, "outputs:   %zu (", m->n_outputs);
    for (size_t i = 0; i < m->n_outputs; i++)
        fprintf(out, "%s%s", i ? ", " : "", m->output_names[i]);
    fprintf(out, ")\n");
    if (m->n_classes) {
        fprintf(out, "classes:   %zu (", m->n_classes);
        for (size_t i = 0; i < m->n_classes && i < 20; i++)
            fprintf(out, "%s%s", i ? ", " : "", m->class_labels[i]);
        fprintf(out, "%s)\n", m->n_classes > 20 ? ", ..." : "");
    }
    if (m->kind == MS_KIND_LINEAR)
        fprintf(out, "weights:   %zu x %zu\n", m->n_raw, m->n_features);
    else if (m->kind == MS_KIND_TREES)
        ms_trees_describe(m, out);
    else if (m->kind == MS_KIND_MLP)
        ms_mlp_describe(m, out);
    ms_prep_describe(m, out);
    if (m->source)
        fprintf(out, "source:    %s\n", m->source);
    if (m->has_missing_value)
        fprintf(out, "missing:   inputs equal to %.9g are missing values\n",
                (double)m->missing_value);
}
