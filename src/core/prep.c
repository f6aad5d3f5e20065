/*
 * prep.c — preprocessing programs (prep.h, docs/formats.md "Preprocessing"):
 * read and validate the container's /prep group, write it back, describe
 * it, and run it over row tiles of the input columns.
 *
 * The program works on slots: float64 columns of one row tile. Slots
 * 0..n_inputs-1 are the inputs (numbers, or category codes as numbers: NaN
 * missing, -1 unknown); every step appends its outputs as fresh slots, so a
 * step only reads slots defined before it (checked on load) and a program
 * cannot loop. The loader checks everything apply indexes with, so apply
 * checks nothing per row and never allocates: the tile lives on the stack,
 * which bounds the slots a program may have (MS_PREP_MAX_SLOTS).
 */
#include "mpiscore/prep.h"

#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "model_internal.h"

/* Stack tile: slots x rows doubles; a wide program gets fewer rows per tile. */
#define MS_PREP_TILE_DOUBLES 32768
#define MS_PREP_MAX_SLOTS MS_PREP_TILE_DOUBLES
#define MS_PREP_TILE_ROWS 256
#define MS_PREP_MAX_STEPS 65536
#define MS_PREP_MAX_DEGREE 64

typedef enum {
    OP_SCALE = 0,
    OP_IMPUTE,
    OP_INDICATOR,
    OP_ONEHOT,
    OP_LOOKUP,
    OP_BINS,
    OP_POLY,
    OP_FUNC,
    OP_NORMALIZE
} prep_op;

static const char *const op_names[] = {"scale", "impute", "indicator", "onehot",   "lookup",
                                       "bins",  "poly",   "func",      "normalize"};
#define N_OPS (int)(sizeof op_names / sizeof op_names[0])

static const char *const func_names[] = {"log1p", "log", "sqrt", "exp", "expm1", "abs"};
#define N_FUNCS (int)(sizeof func_names / sizeof func_names[0])
static const char *const norm_names[] = {"l1", "l2", "max"};
#define N_NORMS (int)(sizeof norm_names / sizeof norm_names[0])

typedef struct prep_step {
    prep_op op;
    size_t n_in, n_out;
    size_t *in;  /* n_in slots, each < out0 */
    size_t out0; /* outputs are slots out0 .. out0 + n_out - 1 */
    /* scale: center, divisor, factor, offset (n_in each); impute: fill;
     * bins: edges (n_par[0]); lookup: table (n_par[0]) */
    double *par[4];
    size_t n_par[4];
    /* onehot: map (n_ipar); bins: n_edges (n_in); poly: powers (n_out x n_in) */
    int64_t *ipar;
    size_t n_ipar;
    int64_t missing, unknown;        /* onehot */
    double missing_value, unknown_v; /* lookup */
    int which;                       /* func: func_names; normalize: norm_names */
    /* derived on load: bins' first edge per input (n_in + 1); poly's factor
     * slots per term, in evaluation order (fac_off: n_out + 1) */
    size_t *edge_off;
    size_t *fac, *fac_off;
} prep_step;

struct ms_prep {
    /* derived on load: no feature can be NaN whatever the inputs hold (every
     * path from an input imputes missing values away, no step can make a
     * NaN), so rows with missing cells can be scored by any estimator */
    int nan_free;
    size_t n_slots;
    size_t n_steps;
    prep_step *steps;
    size_t n_out;    /* = m->n_features */
    size_t *outputs; /* n_out slots, feature j = slot outputs[j] */
};

static int lookup_name(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

static void step_free(prep_step *s)
{
    free(s->in);
    for (int i = 0; i < 4; i++)
        free(s->par[i]);
    free(s->ipar);
    free(s->edge_off);
    free(s->fac);
    free(s->fac_off);
}

void ms_prep_free(ms_prep *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_steps; i++)
        step_free(&p->steps[i]);
    free(p->steps);
    free(p->outputs);
    free(p);
}

/* --- reading ----------------------------------------------------------- */

/* An int64 dataset as size_t slot numbers, each < limit. */
static ms_status read_slots(hid_t f, const char *path, const char *name, size_t limit, size_t **out,
                            size_t *n, const char *where, ms_error *err)
{
    int64_t *v = NULL;
    hsize_t hn = 0;
    ms_status st = ms_model_read_ints(f, path, name, &hn, &v, err);
    if (st != MS_OK)
        return st;
    *out = malloc((hn ? hn : 1) * sizeof **out);
    if (!*out) {
        free(v);
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    }
    for (hsize_t i = 0; i < hn; i++) {
        if (v[i] < 0 || (uint64_t)v[i] >= limit) {
            st = ms_error_set(err, MS_EMODEL, "%s: %s: %s[%llu] = %lld is not a slot defined here",
                              path, where, name, (unsigned long long)i, (long long)v[i]);
            free(*out);
            *out = NULL;
            break;
        }
        (*out)[i] = (size_t)v[i];
    }
    free(v);
    *n = (size_t)hn;
    return st;
}

/* A 1-D float64 parameter with exactly `want` values (want = SIZE_MAX: any). */
static ms_status read_par(hid_t f, const char *path, const char *base, const char *name,
                          size_t want, double **out, size_t *n, const char *where, ms_error *err)
{
    char full[128];
    hsize_t dims[2] = {0, 0};
    snprintf(full, sizeof full, "%s/%s", base, name);
    if (!ms_h5_exists(f, full))
        return ms_error_set(err, MS_EMODEL, "%s: %s: dataset %s is missing", path, where, name);
    ms_status st = ms_model_read_doubles(f, path, full, 1, dims, out, err);
    if (st != MS_OK)
        return st;
    *n = (size_t)dims[0];
    if (want != SIZE_MAX && *n != want)
        return ms_error_set(err, MS_EMODEL, "%s: %s: %s has %zu values, expected %zu", path, where,
                            name, *n, want);
    return MS_OK;
}

static ms_status read_one(hid_t f, const char *path, const char *base, const char *name, double *v,
                          const char *where, ms_error *err)
{
    double *a = NULL;
    size_t n = 0;
    ms_status st = read_par(f, path, base, name, 1, &a, &n, where, err);
    if (st == MS_OK)
        *v = a[0];
    free(a);
    return st;
}

/* The step's int64 parameter dataset `name` into s->ipar / s->n_ipar. */
static ms_status read_ipar(hid_t f, const char *path, const char *base, const char *name,
                           prep_step *s, const char *where, ms_error *err)
{
    char full[128];
    hsize_t n = 0;
    snprintf(full, sizeof full, "%s/%s", base, name);
    if (!ms_h5_exists(f, full))
        return ms_error_set(err, MS_EMODEL, "%s: %s: dataset %s is missing", path, where, name);
    ms_status st = ms_model_read_ints(f, path, full, &n, &s->ipar, err);
    s->n_ipar = (size_t)n;
    return st;
}

static ms_status read_group_int(hid_t g, const char *path, const char *name, long long *v,
                                const char *where, ms_error *err)
{
    if (H5Aexists(g, name) <= 0 || ms_h5_attr_int(g, name, v) != 0)
        return ms_error_set(err, MS_EMODEL, "%s: %s: integer attribute %s is missing", path, where,
                            name);
    return MS_OK;
}

static ms_status read_group_str(hid_t g, const char *path, const char *name,
                                const char *const *names, int n, int *which, const char *where,
                                ms_error *err)
{
    char *s = NULL;
    if (H5Aexists(g, name) <= 0 || ms_h5_attr_str(g, name, &s) != 0)
        return ms_error_set(err, MS_EMODEL, "%s: %s: string attribute %s is missing", path, where,
                            name);
    *which = lookup_name(s, names, n);
    ms_status st = MS_OK;
    if (*which < 0)
        st = ms_error_set(err, MS_EMODEL, "%s: %s: unknown %s \"%s\"", path, where, name, s);
    free(s);
    return st;
}

/* What each op needs beyond inputs and outputs; all of it checked here so
 * apply can index without looking. */
static ms_status read_params(hid_t f, hid_t g, const char *path, const char *base, prep_step *s,
                             const char *where, ms_error *err)
{
    ms_status st = MS_OK;
    long long v = 0;
    size_t k = s->n_in;
    int elementwise = s->op != OP_ONEHOT && s->op != OP_LOOKUP && s->op != OP_POLY;
    if (elementwise && s->n_out != k)
        return ms_error_set(err, MS_EMODEL, "%s: %s: %zu inputs but %zu outputs (must be equal)",
                            path, where, k, s->n_out);
    if ((s->op == OP_ONEHOT || s->op == OP_LOOKUP) && k != 1)
        return ms_error_set(err, MS_EMODEL, "%s: %s: %zu inputs, expected 1", path, where, k);
    switch (s->op) {
    case OP_SCALE: {
        static const char *const pn[4] = {"center", "divisor", "factor", "offset"};
        for (int i = 0; i < 4; i++) {
            MS_CHECK(read_par(f, path, base, pn[i], k, &s->par[i], &s->n_par[i], where, err));
            for (size_t j = 0; j < k; j++)
                if (!isfinite(s->par[i][j]) || (i == 1 && s->par[i][j] == 0))
                    return ms_error_set(err, MS_EMODEL, "%s: %s: %s[%zu] = %g is %s", path, where,
                                        pn[i], j, s->par[i][j],
                                        i == 1 ? "not a finite non-zero number"
                                               : "not a finite number");
        }
        break;
    }
    case OP_IMPUTE:
        MS_CHECK(read_par(f, path, base, "fill", k, &s->par[0], &s->n_par[0], where, err));
        for (size_t j = 0; j < k; j++)
            if (!isfinite(s->par[0][j]))
                return ms_error_set(err, MS_EMODEL, "%s: %s: fill[%zu] = %g is not a finite number",
                                    path, where, j, s->par[0][j]);
        break;
    case OP_INDICATOR:
        break;
    case OP_ONEHOT: {
        if (s->n_out == 0)
            return ms_error_set(err, MS_EMODEL, "%s: %s: no outputs", path, where);
        MS_CHECK(read_ipar(f, path, base, "map", s, where, err));
        MS_CHECK(read_group_int(g, path, "missing", &v, where, err));
        s->missing = v;
        MS_CHECK(read_group_int(g, path, "unknown", &v, where, err));
        s->unknown = v;
        for (size_t i = 0; i <= s->n_ipar + 1; i++) {
            int64_t e = i < s->n_ipar ? s->ipar[i] : i == s->n_ipar ? s->missing : s->unknown;
            if (e < -2 || e >= (int64_t)s->n_out) {
                if (i < s->n_ipar)
                    return ms_error_set(err, MS_EMODEL,
                                        "%s: %s: map[%zu] = %lld is not an output (-2..%zu)", path,
                                        where, i, (long long)e, s->n_out - 1);
                return ms_error_set(err, MS_EMODEL, "%s: %s: %s = %lld is not an output (-2..%zu)",
                                    path, where, i == s->n_ipar ? "missing" : "unknown",
                                    (long long)e, s->n_out - 1);
            }
        }
        break;
    }
    case OP_LOOKUP:
        if (s->n_out != 1)
            return ms_error_set(err, MS_EMODEL, "%s: %s: %zu outputs, expected 1", path, where,
                                s->n_out);
        MS_CHECK(read_par(f, path, base, "table", SIZE_MAX, &s->par[0], &s->n_par[0], where, err));
        MS_CHECK(read_one(f, path, base, "missing_value", &s->missing_value, where, err));
        MS_CHECK(read_one(f, path, base, "unknown_value", &s->unknown_v, where, err));
        for (size_t i = 0; i <= s->n_par[0] + 1; i++) {
            double e = i < s->n_par[0]    ? s->par[0][i]
                       : i == s->n_par[0] ? s->missing_value
                                          : s->unknown_v;
            if (isinf(e))
                return ms_error_set(err, MS_EMODEL, "%s: %s: an infinite value in the table", path,
                                    where);
        }
        break;
    case OP_BINS: {
        size_t total = 0;
        MS_CHECK(read_ipar(f, path, base, "n_edges", s, where, err));
        if (s->n_ipar != k)
            return ms_error_set(err, MS_EMODEL, "%s: %s: n_edges has %zu values, expected %zu",
                                path, where, s->n_ipar, k);
        if (!(s->edge_off = malloc((k + 1) * sizeof *s->edge_off)))
            return ms_error_set(err, MS_EINTERNAL, "out of memory");
        for (size_t j = 0; j < k; j++) {
            if (s->ipar[j] < 0 || s->ipar[j] > (1 << 24))
                return ms_error_set(err, MS_EMODEL, "%s: %s: n_edges[%zu] = %lld is out of range",
                                    path, where, j, (long long)s->ipar[j]);
            s->edge_off[j] = total;
            total += (size_t)s->ipar[j];
        }
        s->edge_off[k] = total;
        MS_CHECK(read_par(f, path, base, "edges", total, &s->par[0], &s->n_par[0], where, err));
        for (size_t j = 0; j < k; j++)
            for (size_t e = s->edge_off[j]; e < s->edge_off[j + 1]; e++)
                if (!isfinite(s->par[0][e]) ||
                    (e > s->edge_off[j] && s->par[0][e] < s->par[0][e - 1]))
                    return ms_error_set(err, MS_EMODEL,
                                        "%s: %s: the edges of input %zu are not finite and "
                                        "non-decreasing",
                                        path, where, j);
        break;
    }
    case OP_POLY: {
        size_t total = 0;
        MS_CHECK(read_ipar(f, path, base, "powers", s, where, err));
        if (k == 0 || s->n_out == 0 || s->n_ipar / k != s->n_out || s->n_ipar % k)
            return ms_error_set(err, MS_EMODEL,
                                "%s: %s: powers has %zu values, expected %zu outputs x %zu inputs",
                                path, where, s->n_ipar, s->n_out, k);
        if (!(s->fac_off = malloc((s->n_out + 1) * sizeof *s->fac_off)))
            return ms_error_set(err, MS_EINTERNAL, "out of memory");
        for (size_t t = 0; t < s->n_out; t++) {
            int64_t deg = 0;
            for (size_t j = 0; j < k; j++) {
                int64_t p = s->ipar[t * k + j];
                if (p < 0 || p > MS_PREP_MAX_DEGREE || (deg += p) > MS_PREP_MAX_DEGREE)
                    return ms_error_set(err, MS_EMODEL,
                                        "%s: %s: powers[%zu][%zu] = %lld: a term's degree must be "
                                        "0..%d",
                                        path, where, t, j, (long long)p, MS_PREP_MAX_DEGREE);
            }
            s->fac_off[t] = total;
            total += (size_t)deg;
        }
        s->fac_off[s->n_out] = total;
        if (!(s->fac = malloc((total ? total : 1) * sizeof *s->fac)))
            return ms_error_set(err, MS_EINTERNAL, "out of memory");
        for (size_t t = 0, at = 0; t < s->n_out; t++)
            for (size_t j = 0; j < k; j++)
                for (int64_t p = 0; p < s->ipar[t * k + j]; p++)
                    s->fac[at++] = s->in[j];
        break;
    }
    case OP_FUNC:
        st = read_group_str(g, path, "name", func_names, N_FUNCS, &s->which, where, err);
        break;
    case OP_NORMALIZE:
        st = read_group_str(g, path, "norm", norm_names, N_NORMS, &s->which, where, err);
        break;
    }
done:
    return st;
}

static ms_status read_step(hid_t f, const char *path, size_t i, prep_step *s, size_t *next,
                           ms_error *err)
{
    ms_status st = MS_OK;
    char base[64], where[96], name[96];
    char *op = NULL;
    size_t *out = NULL, n_out = 0;
    hid_t g = H5I_INVALID_HID;
    snprintf(base, sizeof base, "/prep/step_%zu", i);
    snprintf(where, sizeof where, "/prep step %zu", i);
    if (!ms_h5_exists(f, base) || (g = H5Gopen2(f, base, H5P_DEFAULT)) < 0) {
        st = ms_error_set(err, MS_EMODEL, "%s: %s: group %s is missing", path, where, base);
        goto done;
    }
    if (H5Aexists(g, "op") <= 0 || ms_h5_attr_str(g, "op", &op) != 0) {
        st = ms_error_set(err, MS_EMODEL, "%s: %s: string attribute op is missing", path, where);
        goto done;
    }
    int o = lookup_name(op, op_names, N_OPS);
    if (o < 0) {
        st = ms_error_set(err, MS_EMODEL, "%s: %s: unknown op \"%s\"", path, where, op);
        goto done;
    }
    s->op = (prep_op)o;
    snprintf(where, sizeof where, "/prep step %zu (%s)", i, op);
    snprintf(name, sizeof name, "%s/inputs", base);
    if (!ms_h5_exists(f, name)) {
        st = ms_error_set(err, MS_EMODEL, "%s: %s: dataset inputs is missing", path, where);
        goto done;
    }
    MS_CHECK(read_slots(f, path, name, *next, &s->in, &s->n_in, where, err));
    snprintf(name, sizeof name, "%s/outputs", base);
    if (!ms_h5_exists(f, name)) {
        st = ms_error_set(err, MS_EMODEL, "%s: %s: dataset outputs is missing", path, where);
        goto done;
    }
    MS_CHECK(read_slots(f, path, name, SIZE_MAX, &out, &n_out, where, err));
    /* outputs are the next fresh slots, in order: a step never overwrites
     * a slot, so reading before writing is all the ordering there is */
    for (size_t j = 0; j < n_out; j++)
        if (out[j] != *next + j) {
            st = ms_error_set(err, MS_EMODEL,
                              "%s: %s: outputs[%zu] = %zu, expected %zu (the next unused slot)",
                              path, where, j, out[j], *next + j);
            goto done;
        }
    if (n_out > MS_PREP_MAX_SLOTS - *next) {
        st = ms_error_set(err, MS_EMODEL, "%s: %s: the program needs more than %d slots", path,
                          where, MS_PREP_MAX_SLOTS);
        goto done;
    }
    s->out0 = *next;
    s->n_out = n_out;
    MS_CHECK(read_params(f, g, path, base, s, where, err));
    *next += n_out;
done:
    free(out);
    free(op);
    if (g >= 0)
        H5Gclose(g);
    return st;
}

static ms_status read_input(hid_t f, const char *path, size_t k, ms_model *m, ms_error *err)
{
    ms_status st = MS_OK;
    char base[64], where[64];
    hid_t g = H5I_INVALID_HID;
    char **cats = NULL;
    size_t n_cats = 0;
    double *num = NULL;
    int kind = 0, unknown = 0;
    static const char *const kinds[] = {"numeric", "categorical"};
    static const char *const unknowns[] = {"code", "error"};
    ms_colspec *c = &m->inputs[k];
    snprintf(base, sizeof base, "/prep/input_%zu", k);
    snprintf(where, sizeof where, "/prep input %zu", k);
    if (!ms_h5_exists(f, base) || (g = H5Gopen2(f, base, H5P_DEFAULT)) < 0) {
        st = ms_error_set(err, MS_EMODEL, "%s: %s: group %s is missing", path, where, base);
        goto done;
    }
    if (H5Aexists(g, "name") <= 0 || ms_h5_attr_str(g, "name", &c->name) != 0 || !c->name[0]) {
        st =
            ms_error_set(err, MS_EMODEL, "%s: %s: attribute name is missing or empty", path, where);
        goto done;
    }
    MS_CHECK(read_group_str(g, path, "kind", kinds, 2, &kind, where, err));
    /* the library transforms float64 columns whatever its estimator's
     * precision (a forest casts the transformed matrix, not the raw one) */
    c->prec = MS_PREC_F64;
    if (kind == 0) {
        c->kind = MS_COL_NUM;
        goto done;
    }
    c->kind = MS_COL_CAT;
    MS_CHECK(read_group_str(g, path, "unknown", unknowns, 2, &unknown, where, err));
    c->unknown_is_error = unknown == 1;
    char dset[96];
    snprintf(dset, sizeof dset, "%s/categories", base);
    if (H5Aexists(g, "categories") > 0) {
        if (ms_h5_attr_strs(g, "categories", &cats, &n_cats) != 0) {
            st = ms_error_set(err, MS_EMODEL,
                              "%s: %s: attribute categories is not a list of "
                              "strings",
                              path, where);
            goto done;
        }
        st = ms_dict_create_str((const char *const *)cats, n_cats, &c->dict, err);
    } else if (ms_h5_exists(f, dset)) {
        hsize_t dims[2] = {0, 0};
        MS_CHECK(ms_model_read_doubles(f, path, dset, 1, dims, &num, err));
        n_cats = (size_t)dims[0];
        st = ms_dict_create_num(num, n_cats, &c->dict, err);
    } else {
        st = ms_error_set(err, MS_EMODEL, "%s: %s: a categorical input needs its categories", path,
                          where);
        goto done;
    }
    if (st != MS_OK) {
        char msg[MS_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        st = ms_error_set(err, st, "%s: %s (\"%s\"): %s", path, where, c->name, msg);
    }
done:
    ms_h5_free_strs(cats, n_cats);
    free(num);
    if (g >= 0)
        H5Gclose(g);
    return st;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(((const ms_colspec *)a)->name, ((const ms_colspec *)b)->name);
}

/* Which slots may hold a NaN, step by step, erring towards "may": an input
 * may be missing; imputers and indicators never give NaN; onehot and
 * lookup give one only where their tables say so; log, log1p and sqrt make
 * one of a negative number; the rest propagate their inputs'. */
static ms_status derive_nan_free(ms_prep *p, size_t n_inputs, ms_error *err)
{
    uint8_t *nan = malloc(p->n_slots ? p->n_slots : 1);
    if (!nan)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    memset(nan, 1, n_inputs);
    for (size_t i = 0; i < p->n_steps; i++) {
        const prep_step *s = &p->steps[i];
        uint8_t any_in = 0, table = 0;
        for (size_t j = 0; j < s->n_in; j++)
            any_in |= nan[s->in[j]];
        if (s->op == OP_ONEHOT) {
            table = s->missing == -2 || s->unknown == -2;
            for (size_t c = 0; c < s->n_ipar; c++)
                table |= s->ipar[c] == -2;
        } else if (s->op == OP_LOOKUP) {
            table = isnan(s->missing_value) || isnan(s->unknown_v);
            for (size_t c = 0; c < s->n_par[0]; c++)
                table |= isnan(s->par[0][c]) != 0;
        }
        for (size_t o = 0; o < s->n_out; o++) {
            uint8_t v;
            switch (s->op) {
            case OP_IMPUTE:
            case OP_INDICATOR:
                v = 0;
                break;
            case OP_ONEHOT:
            case OP_LOOKUP:
                v = table;
                break;
            case OP_POLY:
            case OP_NORMALIZE:
                v = any_in;
                break;
            case OP_FUNC:
                v = s->which <= 2 || nan[s->in[o]]; /* log1p, log, sqrt */
                break;
            default:
                v = nan[s->in[o]];
            }
            nan[s->out0 + o] = v;
        }
    }
    p->nan_free = 1;
    for (size_t j = 0; j < p->n_out; j++)
        if (nan[p->outputs[j]])
            p->nan_free = 0;
    free(nan);
    return MS_OK;
}

int ms_prep_nan_free(const ms_prep *p)
{
    return p && p->nan_free;
}

ms_status ms_prep_read(hid_t f, const char *path, ms_model *m, ms_error *err)
{
    ms_status st = MS_OK;
    ms_prep *p = NULL;
    long long ni = 0, ns = 0;
    hid_t g = H5I_INVALID_HID;
    ms_colspec *sorted = NULL;
    if (!ms_h5_exists(f, "/prep"))
        return MS_OK;
    if ((g = H5Gopen2(f, "/prep", H5P_DEFAULT)) < 0)
        return ms_error_set(err, MS_EMODEL, "%s: /prep is not a group", path);
    if (!(p = calloc(1, sizeof *p))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    MS_CHECK(read_group_int(g, path, "n_inputs", &ni, "/prep", err));
    MS_CHECK(read_group_int(g, path, "n_steps", &ns, "/prep", err));
    if (ni < 1 || ni > MS_PREP_MAX_SLOTS) {
        st = ms_error_set(err, MS_EMODEL, "%s: /prep: n_inputs = %lld, expected 1..%d", path, ni,
                          MS_PREP_MAX_SLOTS);
        goto done;
    }
    if (ns < 0 || ns > MS_PREP_MAX_STEPS) {
        st = ms_error_set(err, MS_EMODEL, "%s: /prep: n_steps = %lld, expected 0..%d", path, ns,
                          MS_PREP_MAX_STEPS);
        goto done;
    }
    ms_model_free_inputs(m);
    if (!(m->inputs = calloc((size_t)ni, sizeof *m->inputs)) ||
        !(p->steps = calloc(ns ? (size_t)ns : 1, sizeof *p->steps))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    m->n_inputs = (size_t)ni;
    for (size_t k = 0; k < m->n_inputs; k++)
        MS_CHECK(read_input(f, path, k, m, err));
    /* inputs are found by name in the reader's header: two with one name
     * would make that ambiguous */
    if (!(sorted = malloc(m->n_inputs * sizeof *sorted))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    memcpy(sorted, m->inputs, m->n_inputs * sizeof *sorted);
    qsort(sorted, m->n_inputs, sizeof *sorted, cmp_names);
    for (size_t k = 1; k < m->n_inputs; k++)
        if (!strcmp(sorted[k].name, sorted[k - 1].name)) {
            st = ms_error_set(err, MS_EMODEL, "%s: /prep: duplicate input name \"%s\"", path,
                              sorted[k].name);
            goto done;
        }
    size_t next = m->n_inputs;
    for (size_t i = 0; i < (size_t)ns; i++) {
        p->n_steps = i + 1; /* so a failure frees what this step holds */
        MS_CHECK(read_step(f, path, i, &p->steps[i], &next, err));
    }
    p->n_slots = next;
    size_t n_out = 0;
    if (!ms_h5_exists(f, "/prep/outputs")) {
        st = ms_error_set(err, MS_EMODEL, "%s: /prep: dataset outputs is missing", path);
        goto done;
    }
    MS_CHECK(read_slots(f, path, "/prep/outputs", p->n_slots, &p->outputs, &n_out, "/prep", err));
    p->n_out = n_out;
    if (n_out != m->n_features) {
        st = ms_error_set(err, MS_EMODEL,
                          "%s: /prep: outputs has %zu slots but the model has %zu features", path,
                          n_out, m->n_features);
        goto done;
    }
    if ((st = derive_nan_free(p, m->n_inputs, err)) != MS_OK)
        goto done;
done:
    free(sorted);
    if (g >= 0)
        H5Gclose(g);
    if (st != MS_OK) {
        ms_prep_free(p);
        ms_model_free_inputs(m);
        return st;
    }
    m->prep = p;
    return MS_OK;
}

ms_status ms_prep_create_passthrough(ms_model *m, ms_error *err)
{
    if (m->prep || m->n_inputs != m->n_features || !m->inputs)
        return ms_error_set(err, MS_EINTERNAL, "a passthrough program needs one input per feature");
    if (m->n_inputs > MS_PREP_MAX_SLOTS)
        return ms_error_set(err, MS_EMODEL, "%zu features are more than a program holds (%d)",
                            m->n_inputs, MS_PREP_MAX_SLOTS);
    ms_prep *p = calloc(1, sizeof *p);
    if (!p || !(p->outputs = malloc(m->n_inputs * sizeof *p->outputs)) ||
        !(p->steps = calloc(1, sizeof *p->steps))) {
        ms_prep_free(p);
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    }
    p->n_slots = p->n_out = m->n_inputs;
    for (size_t k = 0; k < m->n_inputs; k++)
        p->outputs[k] = k;
    ms_status st = derive_nan_free(p, m->n_inputs, err);
    if (st != MS_OK) {
        ms_prep_free(p);
        return st;
    }
    m->prep = p;
    return MS_OK;
}

/* --- writing ------------------------------------------------------------ */

/* Attribute `name` of group `group`: the string s, or the integer v when s
 * is NULL. */
static int write_group_attr(hid_t f, const char *group, const char *name, const char *s,
                            long long v)
{
    hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
    if (g < 0)
        return -1;
    int rc = s ? ms_h5_write_attr_str(g, name, s) : ms_h5_write_attr_int(g, name, v);
    H5Gclose(g);
    return rc;
}

static int write_group_str(hid_t f, const char *group, const char *name, const char *v)
{
    return write_group_attr(f, group, name, v, 0);
}

static int write_group_int(hid_t f, const char *group, const char *name, long long v)
{
    return write_group_attr(f, group, name, NULL, v);
}

static int make_group(hid_t f, const char *name)
{
    hid_t g = H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -1;
    H5Gclose(g);
    return 0;
}

static int write_i64(hid_t f, const char *name, size_t n, const int64_t *v)
{
    hsize_t d[1] = {n};
    hid_t sp = H5Screate_simple(1, d, NULL);
    hid_t ds = H5Dcreate2(f, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = ds < 0 || (n && H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0);
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(sp);
    return rc ? -1 : 0;
}

static int write_slots(hid_t f, const char *name, size_t n, const size_t *v, size_t first)
{
    int64_t *t = malloc((n ? n : 1) * sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < n; i++)
        t[i] = (int64_t)(v ? v[i] : first + i);
    int rc = write_i64(f, name, n, t);
    free(t);
    return rc;
}

static int write_dbl(hid_t f, const char *base, const char *name, size_t n, const double *v)
{
    char full[128];
    hsize_t d[1] = {n};
    snprintf(full, sizeof full, "%s/%s", base, name);
    return ms_model_write_doubles(f, full, 1, d, v);
}

int ms_prep_write(hid_t f, const ms_model *m)
{
    const ms_prep *p = m->prep;
    char base[64], name[128];
    int rc = 0;
    if (!p)
        return 0;
    rc |= make_group(f, "/prep");
    rc |= write_group_int(f, "/prep", "n_inputs", (long long)m->n_inputs);
    rc |= write_group_int(f, "/prep", "n_steps", (long long)p->n_steps);
    for (size_t k = 0; k < m->n_inputs && !rc; k++) {
        const ms_colspec *c = &m->inputs[k];
        snprintf(base, sizeof base, "/prep/input_%zu", k);
        rc |= make_group(f, base);
        rc |= write_group_str(f, base, "name", c->name);
        rc |= write_group_str(f, base, "kind", c->kind == MS_COL_CAT ? "categorical" : "numeric");
        if (c->kind != MS_COL_CAT || !c->dict)
            continue;
        rc |= write_group_str(f, base, "unknown", c->unknown_is_error ? "error" : "code");
        size_t n = ms_dict_size(c->dict);
        if (ms_dict_is_num(c->dict)) {
            double *v = malloc((n ? n : 1) * sizeof *v);
            if (!v)
                return -1;
            for (size_t i = 0; i < n; i++)
                v[i] = ms_dict_num(c->dict, i);
            rc |= write_dbl(f, base, "categories", n, v);
            free(v);
        } else {
            char **v = malloc((n ? n : 1) * sizeof *v);
            if (!v)
                return -1;
            for (size_t i = 0; i < n; i++)
                v[i] = (char *)ms_dict_str(c->dict, i);
            hid_t g = H5Gopen2(f, base, H5P_DEFAULT);
            rc |= g < 0 || ms_h5_write_attr_strs(g, "categories", v, n);
            if (g >= 0)
                H5Gclose(g);
            free(v);
        }
    }
    for (size_t i = 0; i < p->n_steps && !rc; i++) {
        const prep_step *s = &p->steps[i];
        snprintf(base, sizeof base, "/prep/step_%zu", i);
        rc |= make_group(f, base);
        rc |= write_group_str(f, base, "op", op_names[s->op]);
        snprintf(name, sizeof name, "%s/inputs", base);
        rc |= write_slots(f, name, s->n_in, s->in, 0);
        snprintf(name, sizeof name, "%s/outputs", base);
        rc |= write_slots(f, name, s->n_out, NULL, s->out0);
        switch (s->op) {
        case OP_SCALE:
            rc |= write_dbl(f, base, "center", s->n_in, s->par[0]);
            rc |= write_dbl(f, base, "divisor", s->n_in, s->par[1]);
            rc |= write_dbl(f, base, "factor", s->n_in, s->par[2]);
            rc |= write_dbl(f, base, "offset", s->n_in, s->par[3]);
            break;
        case OP_IMPUTE:
            rc |= write_dbl(f, base, "fill", s->n_in, s->par[0]);
            break;
        case OP_INDICATOR:
            break;
        case OP_ONEHOT:
            snprintf(name, sizeof name, "%s/map", base);
            rc |= write_i64(f, name, s->n_ipar, s->ipar);
            rc |= write_group_int(f, base, "missing", s->missing);
            rc |= write_group_int(f, base, "unknown", s->unknown);
            break;
        case OP_LOOKUP:
            rc |= write_dbl(f, base, "table", s->n_par[0], s->par[0]);
            rc |= write_dbl(f, base, "missing_value", 1, &s->missing_value);
            rc |= write_dbl(f, base, "unknown_value", 1, &s->unknown_v);
            break;
        case OP_BINS:
            snprintf(name, sizeof name, "%s/n_edges", base);
            rc |= write_i64(f, name, s->n_ipar, s->ipar);
            rc |= write_dbl(f, base, "edges", s->n_par[0], s->par[0]);
            break;
        case OP_POLY:
            snprintf(name, sizeof name, "%s/powers", base);
            rc |= write_i64(f, name, s->n_ipar, s->ipar);
            break;
        case OP_FUNC:
            rc |= write_group_str(f, base, "name", func_names[s->which]);
            break;
        case OP_NORMALIZE:
            rc |= write_group_str(f, base, "norm", norm_names[s->which]);
            break;
        }
    }
    if (!rc)
        rc |= write_slots(f, "/prep/outputs", p->n_out, p->outputs, 0);
    return rc ? -1 : 0;
}

void ms_prep_describe(const ms_model *m, FILE *out)
{
    const ms_prep *p = m->prep;
    if (!p)
        return;
    fprintf(out, "inputs:    %zu (", m->n_inputs);
    for (size_t k = 0; k < m->n_inputs && k < 10; k++) {
        const ms_colspec *c = &m->inputs[k];
        fprintf(out, "%s%s", k ? ", " : "", c->name);
        if (c->kind == MS_COL_CAT)
            fprintf(out, " [%zu categories%s]", ms_dict_size(c->dict),
                    c->unknown_is_error ? ", unknown = error" : "");
    }
    fprintf(out, "%s)\n", m->n_inputs > 10 ? ", ..." : "");
    fprintf(out, "prep:      %zu steps, %zu slots%s\n", p->n_steps, p->n_slots,
            p->nan_free ? ", imputes every missing value" : "");
    for (size_t i = 0; i < p->n_steps; i++) {
        const prep_step *s = &p->steps[i];
        fprintf(out, "  step %zu: %s", i, op_names[s->op]);
        if (s->op == OP_FUNC)
            fprintf(out, " %s", func_names[s->which]);
        else if (s->op == OP_NORMALIZE)
            fprintf(out, " %s", norm_names[s->which]);
        fprintf(out, " (%zu -> %zu)\n", s->n_in, s->n_out);
    }
}

/* --- applying ------------------------------------------------------------ */

static double apply_func(int which, double v)
{
    switch (which) {
    case 0:
        return log1p(v);
    case 1:
        return log(v);
    case 2:
        return sqrt(v);
    case 3:
        return exp(v);
    case 4:
        return expm1(v);
    default:
        return fabs(v);
    }
}

/* What a onehot map says for value v: the output to set, -1 none, -2 NaN. */
static int64_t onehot_entry(const prep_step *s, double v)
{
    if (isnan(v))
        return s->missing;
    if (v >= 0 && v < (double)s->n_ipar && v == floor(v))
        return s->ipar[(size_t)v];
    return s->unknown;
}

/* One step over a tile: slot q row r is b[q * T + r]. Values flow as they
 * do in numpy: NaN propagates through arithmetic, no step fuses
 * operations (no fma), so results are the library's to the last bit where
 * the library computes in the same order. */
static void run_step(const prep_step *s, double *b, size_t T, size_t tn)
{
    double *y0 = b + s->out0 * T;
    switch (s->op) {
    case OP_SCALE:
        for (size_t j = 0; j < s->n_in; j++) {
            const double *x = b + s->in[j] * T;
            double *y = y0 + j * T, c = s->par[0][j], d = s->par[1][j], f = s->par[2][j],
                   o = s->par[3][j];
            for (size_t r = 0; r < tn; r++) {
                double t = (x[r] - c) / d;
                t = t * f;
                y[r] = t + o;
            }
        }
        break;
    case OP_IMPUTE:
        for (size_t j = 0; j < s->n_in; j++) {
            const double *x = b + s->in[j] * T;
            double *y = y0 + j * T, fill = s->par[0][j];
            for (size_t r = 0; r < tn; r++)
                y[r] = isnan(x[r]) ? fill : x[r];
        }
        break;
    case OP_INDICATOR:
        for (size_t j = 0; j < s->n_in; j++) {
            const double *x = b + s->in[j] * T;
            double *y = y0 + j * T;
            for (size_t r = 0; r < tn; r++)
                y[r] = isnan(x[r]) ? 1.0 : 0.0;
        }
        break;
    case OP_ONEHOT: {
        const double *x = b + s->in[0] * T;
        for (size_t o = 0; o < s->n_out; o++)
            memset(y0 + o * T, 0, tn * sizeof *y0);
        for (size_t r = 0; r < tn; r++) {
            int64_t e = onehot_entry(s, x[r]);
            if (e >= 0)
                y0[(size_t)e * T + r] = 1.0;
            else if (e == -2)
                for (size_t o = 0; o < s->n_out; o++)
                    y0[o * T + r] = NAN;
        }
        break;
    }
    case OP_LOOKUP: {
        const double *x = b + s->in[0] * T;
        for (size_t r = 0; r < tn; r++) {
            double v = x[r];
            if (isnan(v))
                y0[r] = s->missing_value;
            else if (v >= 0 && v < (double)s->n_par[0] && v == floor(v))
                y0[r] = s->par[0][(size_t)v];
            else
                y0[r] = s->unknown_v;
        }
        break;
    }
    case OP_BINS:
        for (size_t j = 0; j < s->n_in; j++) {
            const double *x = b + s->in[j] * T, *e = s->par[0] + s->edge_off[j];
            size_t ne = s->edge_off[j + 1] - s->edge_off[j];
            double *y = y0 + j * T;
            for (size_t r = 0; r < tn; r++) {
                double v = x[r];
                if (isnan(v)) {
                    y[r] = NAN;
                    continue;
                }
                size_t lo = 0, hi = ne; /* edges <= v: numpy's searchsorted(side="right") */
                while (lo < hi) {
                    size_t mid = lo + (hi - lo) / 2;
                    if (e[mid] <= v)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                y[r] = (double)lo;
            }
        }
        break;
    case OP_POLY:
        for (size_t t = 0; t < s->n_out; t++) {
            double *y = y0 + t * T;
            size_t f0 = s->fac_off[t], f1 = s->fac_off[t + 1];
            for (size_t r = 0; r < tn; r++)
                y[r] = 1.0;
            /* from the last factor: x_a * (x_b * x_c), as scikit-learn
             * builds a degree-d term from a degree d-1 one */
            for (size_t q = f1; q > f0; q--) {
                const double *x = b + s->fac[q - 1] * T;
                if (q == f1)
                    memcpy(y, x, tn * sizeof *y);
                else
                    for (size_t r = 0; r < tn; r++)
                        y[r] = x[r] * y[r];
            }
        }
        break;
    case OP_FUNC:
        for (size_t j = 0; j < s->n_in; j++) {
            const double *x = b + s->in[j] * T;
            double *y = y0 + j * T;
            for (size_t r = 0; r < tn; r++)
                y[r] = apply_func(s->which, x[r]);
        }
        break;
    case OP_NORMALIZE:
        for (size_t r = 0; r < tn; r++) {
            double n = 0;
            for (size_t j = 0; j < s->n_in; j++) {
                double v = b[s->in[j] * T + r];
                if (s->which == 0)
                    n += fabs(v);
                else if (s->which == 1)
                    n += v * v;
                else
                    n = fabs(v) > n || isnan(v) ? fabs(v) : n;
            }
            if (s->which == 1)
                n = sqrt(n);
            if (n == 0)
                n = 1;
            for (size_t j = 0; j < s->n_in; j++)
                y0[j * T + r] = b[s->in[j] * T + r] / n;
        }
        break;
    }
}

void ms_prep_apply(const ms_model *m, const void *const *col, size_t r0, size_t n, void *x)
{
    const ms_prep *p = m->prep;
    double b[MS_PREP_TILE_DOUBLES];
    size_t T = MS_PREP_TILE_DOUBLES / p->n_slots, nf = p->n_out;
    if (T > MS_PREP_TILE_ROWS)
        T = MS_PREP_TILE_ROWS;
    for (size_t t0 = 0; t0 < n; t0 += T) {
        size_t tn = n - t0 < T ? n - t0 : T, at = r0 + t0;
        for (size_t k = 0; k < m->n_inputs; k++) {
            const ms_colspec *c = &m->inputs[k];
            double *s = b + k * T;
            if (c->kind == MS_COL_CAT) {
                /* codes as numbers: missing NaN, unknown -1 (never an index) */
                const int32_t *v = (const int32_t *)col[k] + at;
                for (size_t r = 0; r < tn; r++)
                    s[r] = v[r] == MS_CODE_MISSING ? NAN : v[r] < 0 ? -1.0 : (double)v[r];
            } else if (c->prec == MS_PREC_F64) {
                memcpy(s, (const double *)col[k] + at, tn * sizeof *s);
            } else {
                const float *v = (const float *)col[k] + at;
                for (size_t r = 0; r < tn; r++)
                    s[r] = (double)v[r];
            }
        }
        for (size_t i = 0; i < p->n_steps; i++)
            run_step(&p->steps[i], b, T, tn);
        if (m->precision == MS_PREC_F64) {
            double *y = (double *)x + t0 * nf;
            for (size_t j = 0; j < nf; j++) {
                const double *s = b + p->outputs[j] * T;
                for (size_t r = 0; r < tn; r++)
                    y[r * nf + j] = s[r];
            }
        } else {
            float *y = (float *)x + t0 * nf;
            for (size_t j = 0; j < nf; j++) {
                const double *s = b + p->outputs[j] * T;
                for (size_t r = 0; r < tn; r++)
                    y[r * nf + j] = (float)s[r];
            }
        }
    }
}
