/*
 * link.c — raw scores to outputs (the link table in model.h), for every
 * kernel kind and ISA.
 *
 * Everything is computed in double (float64 models keep the double; float32
 * models round it to float once at the end), so the probabilities agree with
 * scikit-learn's float64 arithmetic. Relies on the loader's shape invariants: n_outputs == n_raw,
 * except for the binary logistic form (n_raw == 1, n_outputs == 2).
 * A NaN raw score gives NaN in every output of its row.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpiscore/kernels.h"

/* Rows with up to this many classes keep their exponentials on the stack;
 * wider ones recompute them rather than allocate. */
#define LINK_STACK_CLASSES 64

/* Exactly scipy.special.expit's formula, so p matches scikit-learn bit for
 * bit before the final rounding. It is also branch-free (raw scores have
 * random signs) and saturates cleanly: exp(800) = inf gives 0, not NaN. */
static inline double expit(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

static void link64_identity(const double *raw, size_t n, size_t kr, double *out)
{
    if (out != raw)
        memmove(out, raw, n * kr * sizeof *out);
}

static void link64_logistic(const double *raw, size_t n, size_t kr, size_t ko, double *out)
{
    if (kr == 1 && ko == 2) {
        /* scikit-learn's predict_proba: [1 - expit(d), expit(d)], the
         * subtraction in double as numpy does it. */
        for (size_t r = 0; r < n; r++) {
            double p = expit(raw[r]);
            out[2 * r] = 1.0 - p;
            out[2 * r + 1] = p;
        }
        return;
    }
    for (size_t i = 0; i < n * kr; i++)
        out[i] = expit(raw[i]);
}

static void link64_exp(const double *raw, size_t n, size_t kr, double *out)
{
    for (size_t i = 0; i < n * kr; i++)
        out[i] = exp(raw[i]);
}

/* TransformedTargetRegressor's inverses: numpy's expm1 and square. */
static void link64_expm1(const double *raw, size_t n, size_t kr, double *out)
{
    for (size_t i = 0; i < n * kr; i++)
        out[i] = expm1(raw[i]);
}

static void link64_square(const double *raw, size_t n, size_t kr, double *out)
{
    for (size_t i = 0; i < n * kr; i++)
        out[i] = raw[i] * raw[i];
}

/* XGBoost's binary:hinge prediction: 1 for a positive margin, else 0 (NaN
 * stays NaN). */
static void link64_step(const double *raw, size_t n, size_t kr, double *out)
{
    for (size_t i = 0; i < n * kr; i++)
        out[i] = isnan(raw[i]) ? raw[i] : raw[i] > 0 ? 1.0 : 0.0;
}

/* Largest entry of z. Branch-free (compiles to maxss): scores are random,
 * so a data-dependent branch would mispredict half the time. NaN needs no
 * care: a NaN entry or max makes the row's sum NaN, hence every output. */
static inline double row_max64(const double *z, size_t kr)
{
    double mx = z[0];
    for (size_t k = 1; k < kr; k++)
        mx = z[k] > mx ? z[k] : mx;
    return mx;
}

/* scikit-learn's softmax: subtract the row max so exp never overflows. */
static void link64_softmax(const double *raw, size_t n, size_t kr, double *out)
{
    double e[LINK_STACK_CLASSES];
    int keep = kr <= LINK_STACK_CLASSES;
    for (size_t r = 0; r < n; r++) {
        const double *z = raw + r * kr;
        double *o = out + r * kr;
        double mx = row_max64(z, kr), sum = 0;
        for (size_t k = 0; k < kr; k++) {
            double v = exp(z[k] - mx);
            if (keep)
                e[k] = v;
            sum += v;
        }
        for (size_t k = 0; k < kr; k++)
            o[k] = (keep ? e[k] : exp(z[k] - mx)) / sum;
    }
}

/* One-vs-rest weight of class k, scaled by a per-row constant. When the
 * largest score is >= 0 the row's sum of expits is >= 1/2, so plain expit
 * is safe. Otherwise every expit may underflow (scores < -745 would give
 * 0/0 in scikit-learn): divide numerator and denominator by e^mx, i.e.
 * e^(z-mx) / (1 + e^z), where no term overflows and the largest is > 1/2. */
static inline double ovr_weight(double z, double mx)
{
    return mx >= 0 ? expit(z) : exp(z - mx) / (1.0 + exp(z));
}

/* scikit-learn's one-vs-rest probabilities: expit(z_k) / sum_j expit(z_j). */
static void link64_ovr(const double *raw, size_t n, size_t kr, double *out)
{
    double s[LINK_STACK_CLASSES];
    int keep = kr <= LINK_STACK_CLASSES;
    for (size_t r = 0; r < n; r++) {
        const double *z = raw + r * kr;
        double *o = out + r * kr;
        double mx = row_max64(z, kr), sum = 0;
        for (size_t k = 0; k < kr; k++) {
            double v = ovr_weight(z[k], mx);
            if (keep)
                s[k] = v;
            sum += v;
        }
        for (size_t k = 0; k < kr; k++)
            o[k] = (keep ? s[k] : ovr_weight(z[k], mx)) / sum;
    }
}

void ms_apply_link64(const ms_model *m, const double *raw, size_t n_rows, double *out)
{
    size_t kr = m->n_raw, ko = m->n_outputs;
    if (n_rows == 0 || kr == 0)
        return;
    switch (m->link) {
    case MS_LINK_IDENTITY:
        link64_identity(raw, n_rows, kr, out);
        break;
    case MS_LINK_LOGISTIC:
        link64_logistic(raw, n_rows, kr, ko, out);
        break;
    case MS_LINK_SOFTMAX:
        link64_softmax(raw, n_rows, kr, out);
        break;
    case MS_LINK_OVR:
        link64_ovr(raw, n_rows, kr, out);
        break;
    case MS_LINK_EXP:
        link64_exp(raw, n_rows, kr, out);
        break;
    case MS_LINK_STEP:
        link64_step(raw, n_rows, kr, out);
        break;
    case MS_LINK_EXPM1:
        link64_expm1(raw, n_rows, kr, out);
        break;
    case MS_LINK_SQUARE:
        link64_square(raw, n_rows, kr, out);
        break;
    }
}

/* float32 models: the raw scores widened, the double link, each output
 * rounded to float once, a chunk of rows at a time through a stack buffer
 * (one heap buffer per call for rows wider than it). */
#define LINK_CHUNK 1024

void ms_apply_link(const ms_model *m, const float *raw, size_t n_rows, float *out)
{
    size_t kr = m->n_raw, ko = m->n_outputs, w = kr > ko ? kr : ko;
    if (n_rows == 0 || kr == 0)
        return;
    double stack[2 * LINK_CHUNK], *buf = stack;
    size_t rows = LINK_CHUNK / w;
    if (rows == 0) {
        rows = 1;
        if (!(buf = malloc(2 * w * sizeof *buf))) {
            fputs("mpiscore: out of memory in the link\n", stderr);
            abort();
        }
    }
    double *in = buf, *res = buf + rows * w;
    for (size_t r0 = 0; r0 < n_rows; r0 += rows) {
        size_t n = n_rows - r0 < rows ? n_rows - r0 : rows;
        for (size_t i = 0; i < n * kr; i++)
            in[i] = raw[r0 * kr + i];
        ms_apply_link64(m, in, n, res);
        for (size_t i = 0; i < n * ko; i++)
            out[r0 * ko + i] = (float)res[i];
    }
    if (buf != stack)
        free(buf);
}
