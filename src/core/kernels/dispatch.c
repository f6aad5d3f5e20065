/*
 * dispatch.c — which kernel variant runs, and the per-batch entry point.
 *
 * Owns the ISA choice (CPU features, MPISCORE_ISA) and ms_predict: the
 * model kind's raw-score kernel for the chosen ISA into scratch, then the
 * link into out. A forced ISA the CPU lacks is an error, never a silent
 * fallback, so a benchmark or a bug report always says what really ran.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_internal.h"

static const struct {
    const char *name;  /* MPISCORE_ISA value, logs, status file */
    const char *label; /* for people, in error messages */
} isa_names[MS_ISA_COUNT] = {
    [MS_ISA_SCALAR] = {"scalar", "scalar code"},
    [MS_ISA_AVX2] = {"avx2", "AVX2"},
    [MS_ISA_AVX512] = {"avx512", "AVX-512"},
};

static const ms_linear_fn linear_fns[MS_ISA_COUNT] = {
    [MS_ISA_SCALAR] = ms_linear_scalar,
    [MS_ISA_AVX2] = ms_linear_avx2,
    [MS_ISA_AVX512] = ms_linear_avx512,
};

static const ms_trees_fn trees_fns[MS_ISA_COUNT] = {
    [MS_ISA_SCALAR] = ms_trees_scalar,
    [MS_ISA_AVX2] = ms_trees_avx2,
    [MS_ISA_AVX512] = ms_trees_avx512,
};

static const ms_mlp_fn mlp_fns[MS_ISA_COUNT] = {
    [MS_ISA_SCALAR] = ms_mlp_scalar,
    [MS_ISA_AVX2] = ms_mlp_avx2,
    [MS_ISA_AVX512] = ms_mlp_avx512,
};

static const ms_linear64_fn linear64_fns[MS_ISA_COUNT] = {
    [MS_ISA_SCALAR] = ms_linear64_scalar,
    [MS_ISA_AVX2] = ms_linear64_avx2,
    [MS_ISA_AVX512] = ms_linear64_avx512,
};

/* the double MLP's work is its dot products, which 4-lane FMA already
 * keeps memory-bound: AVX-512 runs the AVX2 kernel */
static const ms_mlp64_fn mlp64_fns[MS_ISA_COUNT] = {
    [MS_ISA_SCALAR] = ms_mlp64_scalar,
    [MS_ISA_AVX2] = ms_mlp64_avx2,
    [MS_ISA_AVX512] = ms_mlp64_avx2,
};

const char *ms_isa_name(ms_isa isa)
{
    return (unsigned)isa < MS_ISA_COUNT ? isa_names[isa].name : "?";
}

int ms_isa_supported(ms_isa isa)
{
    __builtin_cpu_init();
    switch (isa) {
    case MS_ISA_SCALAR:
        return 1;
    case MS_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case MS_ISA_AVX512:
        /* the AVX-512 files are built with -mfma too, so require it as well
         * (every AVX-512 CPU has it; a hypervisor could still hide it) */
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("fma");
    default:
        return 0;
    }
}

static unsigned supported_mask(void)
{
    unsigned mask = 0;
    for (int i = 0; i < MS_ISA_COUNT; i++)
        if (ms_isa_supported((ms_isa)i))
            mask |= 1u << i;
    return mask;
}

static ms_isa best_of(unsigned supported)
{
    for (int i = MS_ISA_COUNT - 1; i > 0; i--)
        if (supported & (1u << i))
            return (ms_isa)i;
    return MS_ISA_SCALAR;
}

ms_isa ms_isa_best(void)
{
    return best_of(supported_mask());
}

ms_status ms_isa_select_from(const char *value, unsigned supported, ms_isa *isa, ms_error *err)
{
    if (!value || !*value) {
        *isa = best_of(supported);
        return MS_OK;
    }
    for (int i = 0; i < MS_ISA_COUNT; i++) {
        if (strcmp(value, isa_names[i].name) != 0)
            continue;
        if (i != MS_ISA_SCALAR && !(supported & (1u << i)))
            return ms_error_set(err, MS_EUSAGE, "MPISCORE_ISA=%s: this CPU does not support %s",
                                value, isa_names[i].label);
        *isa = (ms_isa)i;
        return MS_OK;
    }
    return ms_error_set(err, MS_EUSAGE, "MPISCORE_ISA=%s: expected scalar, avx2 or avx512", value);
}

ms_status ms_isa_select(ms_isa *isa, ms_error *err)
{
    return ms_isa_select_from(getenv("MPISCORE_ISA"), supported_mask(), isa, err);
}

size_t ms_predict_scratch_floats(const ms_model *m, size_t n_rows)
{
    /* the raw scores, then (MLP) the hidden layers' work space */
    size_t raw = n_rows * (m->n_raw ? m->n_raw : 1);
    if (m->kind == MS_KIND_MLP)
        raw += ms_mlp_work_floats(m, n_rows);
    return raw;
}

void ms_predict(const ms_model *m, ms_isa isa, const float *x, size_t n_rows, float *out,
                float *scratch)
{
    if (n_rows == 0)
        return;
    switch (m->kind) {
    case MS_KIND_LINEAR:
        linear_fns[isa](m, x, n_rows, scratch);
        break;
    case MS_KIND_TREES:
        /* a model built in memory and never compiled (ms_trees_compile)
         * still scores right, on the reference kernel; models with
         * categorical splits, which the compiled layout does not hold,
         * walk the container's arrays too (trees_cat.c) */
        if (m->trees.is_cat)
            (isa == MS_ISA_SCALAR ? ms_trees_scalar : ms_trees_cat_blocked)(m, x, n_rows, scratch);
        else
            (m->trees.compiled ? trees_fns[isa] : ms_trees_scalar)(m, x, n_rows, scratch);
        break;
    case MS_KIND_MLP:
        mlp_fns[isa](m, x, n_rows, scratch, scratch + n_rows * m->n_raw);
        break;
    default:
        /* ms_model_validate refuses kinds this build has no kernel for, so
         * reaching here is a bug; stop rather than write garbage scores */
        abort();
    }
    ms_apply_link(m, scratch, n_rows, out);
}

size_t ms_predict_label(const ms_model *m, const float *row_out)
{
    /* a binary classifier's decision function: scikit-learn's predict is
     * decision > 0 (expit(d) > 1/2 should a loader ever keep one probability) */
    if (m->n_classes == 2 && m->n_outputs == 1)
        return row_out[0] > (m->link == MS_LINK_LOGISTIC ? 0.5f : 0.0f) ? 1 : 0;
    /* numpy argmax: first maximum wins, and a NaN counts as the maximum */
    size_t best = 0;
    for (size_t k = 1; k < m->n_outputs && !isnan(row_out[best]); k++)
        if (row_out[k] > row_out[best] || isnan(row_out[k]))
            best = k;
    return best;
}

size_t ms_predict64_scratch(const ms_model *m, size_t n_rows)
{
    size_t raw = n_rows * (m->n_raw ? m->n_raw : 1);
    if (m->kind == MS_KIND_MLP)
        raw += ms_mlp64_work(m);
    return raw;
}

void ms_predict64(const ms_model *m, ms_isa isa, const double *x, size_t n_rows, double *out,
                  double *scratch)
{
    if (n_rows == 0)
        return;
    switch (m->kind) {
    case MS_KIND_LINEAR:
        linear64_fns[isa](m, x, n_rows, scratch);
        break;
    case MS_KIND_TREES:
        ms_trees64_scalar(m, x, n_rows, scratch);
        break;
    case MS_KIND_MLP:
        mlp64_fns[isa](m, x, n_rows, scratch, scratch + n_rows * m->n_raw);
        break;
    default:
        abort();
    }
    ms_apply_link64(m, scratch, n_rows, out);
}

size_t ms_predict_label64(const ms_model *m, const double *row_out)
{
    if (m->n_classes == 2 && m->n_outputs == 1)
        return row_out[0] > (m->link == MS_LINK_LOGISTIC ? 0.5 : 0.0) ? 1 : 0;
    size_t best = 0;
    for (size_t k = 1; k < m->n_outputs && !isnan(row_out[best]); k++)
        if (row_out[k] > row_out[best] || isnan(row_out[k]))
            best = k;
    return best;
}
