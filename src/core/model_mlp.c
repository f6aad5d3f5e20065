/*
 * model_mlp.c — the mlp part of the model container (docs/formats.md):
 * root attributes activation and n_layers, datasets /mlp/weight_L (out x in)
 * and /mlp/bias_L (out).
 *
 * The struct keeps one width per layer boundary (ms_mlp.width), so the
 * reader checks that the datasets' shapes chain (weight_l's columns are
 * weight_{l-1}'s rows, bias_l has weight_l's rows) while it still has
 * them; validation then checks what the struct alone can say (width[0] is
 * n_features, width[L] is n_raw, every array present, every weight
 * finite), for loaded and in-memory models alike.
 */
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "model_internal.h"

#define LAST_ACTIVATION MS_ACT_LOGISTIC

static int lookup_activation(const char *s)
{
    for (int a = 0; a <= (int)LAST_ACTIVATION; a++)
        if (!strcmp(s, ms_activation_name((ms_activation)a)))
            return a;
    return -1;
}

/* Layer l's dataset names: "/mlp/weight_12" fits 32 bytes for any size_t. */
static void layer_name(char *buf, size_t size, const char *what, unsigned long long l)
{
    snprintf(buf, size, "/mlp/%s_%llu", what, l);
}

ms_status ms_mlp_read(hid_t f, const char *path, ms_model *m, ms_error *err)
{
    ms_status st = MS_OK;
    ms_mlp *p = &m->mlp;
    char *s = NULL, name[48];
    long long nl = 0;
    int act;

    MS_CHECK(ms_model_req_str(f, path, "activation", &s, err));
    if ((act = lookup_activation(s)) < 0) {
        st = ms_error_set(err, MS_EMODEL, "%s: unknown activation \"%s\"", path, s);
        goto done;
    }
    p->activation = (ms_activation)act;
    MS_CHECK(ms_model_req_int(f, path, "n_layers", &nl, err));
    if (nl < 1) {
        st = ms_error_set(err, MS_EMODEL, "%s: attribute n_layers = %lld, expected at least 1",
                          path, nl);
        goto done;
    }
    /* n_layers and the datasets must agree both ways: a count that is too
     * small would silently score with a truncated network. Checking the
     * last layer first also keeps a huge count from reaching malloc. */
    layer_name(name, sizeof name, "weight", (unsigned long long)nl - 1);
    if (!ms_h5_exists(f, name)) {
        st = ms_error_set(err, MS_EMODEL, "%s: attribute n_layers = %lld but dataset %s is missing",
                          path, nl, name);
        goto done;
    }
    layer_name(name, sizeof name, "weight", (unsigned long long)nl);
    if (ms_h5_exists(f, name)) {
        st = ms_error_set(err, MS_EMODEL, "%s: attribute n_layers = %lld but the file also has %s",
                          path, nl, name);
        goto done;
    }
    layer_name(name, sizeof name, "bias", (unsigned long long)nl);
    if (ms_h5_exists(f, name)) {
        st = ms_error_set(err, MS_EMODEL, "%s: attribute n_layers = %lld but the file also has %s",
                          path, nl, name);
        goto done;
    }

    size_t n = (size_t)nl;
    /* owned by m from here on: ms_model_free releases a partial read */
    p->n_layers = n;
    p->width = calloc(n + 1, sizeof *p->width);
    p->weight = calloc(n, sizeof *p->weight);
    p->bias = calloc(n, sizeof *p->bias);
    if (!p->width || !p->weight || !p->bias) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory (%zu MLP layers)", n);
        goto done;
    }
    for (size_t l = 0; l < n; l++) {
        hsize_t wd[2] = {0, 0}, bd[1] = {0};
        char bname[48];
        layer_name(name, sizeof name, "weight", l);
        layer_name(bname, sizeof bname, "bias", l);
        if (!ms_h5_exists(f, name)) {
            st = ms_error_set(err, MS_EMODEL,
                              "%s: attribute n_layers = %lld but dataset %s is missing", path, nl,
                              name);
            goto done;
        }
        MS_CHECK(ms_model_read_floats(f, path, name, 2, wd, &p->weight[l], err));
        MS_CHECK(ms_model_read_floats(f, path, bname, 1, bd, &p->bias[l], err));
        if (m->precision == MS_PREC_F64) {
            hsize_t wd2[2], bd2[1];
            if (!p->weight64 && (!(p->weight64 = calloc(n, sizeof *p->weight64)) ||
                                 !(p->bias64 = calloc(n, sizeof *p->bias64)))) {
                st = ms_error_set(err, MS_EINTERNAL, "out of memory (%zu MLP layers)", n);
                goto done;
            }
            MS_CHECK(ms_model_read_doubles(f, path, name, 2, wd2, &p->weight64[l], err));
            MS_CHECK(ms_model_read_doubles(f, path, bname, 1, bd2, &p->bias64[l], err));
        }
        if (l == 0) {
            p->width[0] = (size_t)wd[1];
        } else if (wd[1] != p->width[l]) {
            st = ms_error_set(err, MS_EMODEL,
                              "%s: %s has %llu columns but /mlp/weight_%zu has %zu rows", path,
                              name, (unsigned long long)wd[1], l - 1, p->width[l]);
            goto done;
        }
        if (bd[0] != wd[0]) {
            st = ms_error_set(err, MS_EMODEL, "%s: %s has %llu values but %s has %llu rows", path,
                              bname, (unsigned long long)bd[0], name, (unsigned long long)wd[0]);
            goto done;
        }
        p->width[l + 1] = (size_t)wd[0];
    }
    m->n_raw = p->width[n];
done:
    free(s);
    return st;
}

/* In-memory models (importers, tests) come here too, so nothing about the
 * struct is assumed: enum range, NULL arrays, widths, then every weight. */
ms_status ms_mlp_validate(const ms_model *m, const char *path, ms_error *err)
{
    const ms_mlp *p = &m->mlp;
    if ((unsigned)p->activation > (unsigned)LAST_ACTIVATION)
        return ms_error_set(err, MS_EMODEL, "%s: unknown activation %d", path, (int)p->activation);
    if (p->n_layers == 0)
        return ms_error_set(err, MS_EMODEL, "%s: the model has no layers", path);
    if (!p->width || !p->weight || !p->bias)
        return ms_error_set(err, MS_EMODEL, "%s: the model has no weights", path);
    size_t n = p->n_layers;
    if (p->width[0] != m->n_features)
        return ms_error_set(err, MS_EMODEL,
                            "%s: attribute n_features = %zu but /mlp/weight_0 has %zu columns",
                            path, m->n_features, p->width[0]);
    if (p->width[n] != m->n_raw)
        return ms_error_set(err, MS_EMODEL,
                            "%s: the model produces %zu scores but /mlp/weight_%zu has %zu rows",
                            path, m->n_raw, n - 1, p->width[n]);
    for (size_t l = 0; l < n; l++) {
        size_t in = p->width[l], out = p->width[l + 1];
        /* a zero-width hidden layer would make every later layer constant */
        if (out == 0)
            return ms_error_set(err, MS_EMODEL, "%s: /mlp/weight_%zu has no rows", path, l);
        if (in > SIZE_MAX / sizeof(float) / out)
            return ms_error_set(err, MS_EMODEL, "%s: /mlp/weight_%zu is too large", path, l);
        if (!p->weight[l])
            return ms_error_set(err, MS_EMODEL, "%s: the model has no /mlp/weight_%zu", path, l);
        if (!p->bias[l])
            return ms_error_set(err, MS_EMODEL, "%s: the model has no /mlp/bias_%zu", path, l);
        for (size_t o = 0; o < out; o++)
            for (size_t j = 0; j < in; j++)
                if (!isfinite(p->weight[l][o * in + j]))
                    return ms_error_set(err, MS_EMODEL,
                                        "%s: /mlp/weight_%zu[%zu][%zu] is not finite", path, l, o,
                                        j);
        for (size_t o = 0; o < out; o++)
            if (!isfinite(p->bias[l][o]))
                return ms_error_set(err, MS_EMODEL, "%s: /mlp/bias_%zu[%zu] is not finite", path, l,
                                    o);
    }
    return MS_OK;
}

/* Save does not validate (model.c): whatever the struct says is written,
 * so a test can produce a container the loader must refuse. Only arrays
 * that are not there at all make the write fail. */
int ms_mlp_write(hid_t f, const ms_model *m)
{
    const ms_mlp *p = &m->mlp;
    char name[48];
    if (p->n_layers && (!p->width || !p->weight || !p->bias))
        return -1;
    int rc = 0;
    rc |= ms_h5_write_attr_str(f, "activation", ms_activation_name(p->activation));
    rc |= ms_h5_write_attr_int(f, "n_layers", (long long)p->n_layers);
    for (size_t l = 0; l < p->n_layers && rc == 0; l++) {
        if (!p->weight[l] || !p->bias[l])
            return -1;
        hsize_t wd[2] = {p->width[l + 1], p->width[l]}, bd[1] = {p->width[l + 1]};
        layer_name(name, sizeof name, "weight", l);
        if (p->weight64 && p->weight64[l])
            rc |= ms_model_write_doubles(f, name, 2, wd, p->weight64[l]);
        else
            rc |= ms_model_write_floats(f, name, 2, wd, p->weight[l]);
        layer_name(name, sizeof name, "bias", l);
        if (p->bias64 && p->bias64[l])
            rc |= ms_model_write_doubles(f, name, 1, bd, p->bias64[l]);
        else
            rc |= ms_model_write_floats(f, name, 1, bd, p->bias[l]);
    }
    return rc;
}

void ms_mlp_free(ms_mlp *p)
{
    for (size_t l = 0; l < p->n_layers; l++) {
        if (p->weight)
            free(p->weight[l]);
        if (p->bias)
            free(p->bias[l]);
        if (p->weight64)
            free(p->weight64[l]);
        if (p->bias64)
            free(p->bias64[l]);
    }
    free(p->weight);
    free(p->bias);
    free(p->weight64);
    free(p->bias64);
    free(p->width);
    memset(p, 0, sizeof *p);
}

/* "layers:    30 -> 64 -> 32 -> 3 (relu)": the activation is named only
 * when there are hidden layers for it to act on. */
void ms_mlp_describe(const ms_model *m, FILE *out)
{
    const ms_mlp *p = &m->mlp;
    if (!p->width || p->n_layers == 0)
        return;
    fprintf(out, "layers:    %zu", p->width[0]);
    for (size_t l = 1; l <= p->n_layers; l++)
        fprintf(out, " -> %zu", p->width[l]);
    if (p->n_layers > 1)
        fprintf(out, " (%s)", ms_activation_name(p->activation));
    size_t params = 0;
    for (size_t l = 0; l < p->n_layers; l++)
        params += (p->width[l] + 1) * p->width[l + 1];
    fprintf(out, "\nweights:   %zu parameters\n", params);
}

/* In-memory float64 models (tests) get their double layers widened from
 * the float ones; a loaded one read them from the container. */
ms_status ms_mlp_derive64(ms_model *m, ms_error *err)
{
    ms_mlp *p = &m->mlp;
    if (p->weight64 || !p->n_layers)
        return MS_OK;
    p->weight64 = calloc(p->n_layers, sizeof *p->weight64);
    p->bias64 = calloc(p->n_layers, sizeof *p->bias64);
    if (!p->weight64 || !p->bias64)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    for (size_t l = 0; l < p->n_layers; l++) {
        size_t in = p->width[l], out = p->width[l + 1];
        p->weight64[l] = malloc((in * out > 0 ? in * out : 1) * sizeof(double));
        p->bias64[l] = malloc((out ? out : 1) * sizeof(double));
        if (!p->weight64[l] || !p->bias64[l])
            return ms_error_set(err, MS_EINTERNAL, "out of memory");
        for (size_t i = 0; i < in * out; i++)
            p->weight64[l][i] = p->weight[l][i];
        for (size_t i = 0; i < out; i++)
            p->bias64[l][i] = p->bias[l][i];
    }
    return MS_OK;
}
