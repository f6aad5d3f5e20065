/*
 * test_kernels.c — the kernel module (kernels.h): every ISA this CPU has
 * against the scalar reference, on random and edge inputs and for every
 * link; the links against a double-precision reference written here;
 * labels; MPISCORE_ISA handling and its error messages.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "mpiscore/kernels.h"
#include "../../src/core/kernels/kernels_internal.h"

#define CANARY 12345.678f

static const ms_link all_links[] = {MS_LINK_IDENTITY, MS_LINK_LOGISTIC, MS_LINK_SOFTMAX,
                                    MS_LINK_OVR, MS_LINK_EXP};
static const char *const link_names[] = {"identity", "logistic", "softmax", "ovr", "exp"};

static double urand(void)
{
    return (double)rand() / RAND_MAX;
}

/* Shapes as the loader makes them: a logistic model with one raw score is a
 * binary classifier with outputs [1 - s, s]. */
static ms_model make_linear(size_t f, size_t kr, ms_link link, float scale)
{
    ms_model m;
    memset(&m, 0, sizeof m);
    m.kind = MS_KIND_LINEAR;
    m.link = link;
    m.n_features = f;
    m.n_raw = kr;
    m.n_outputs = (link == MS_LINK_LOGISTIC && kr == 1) ? 2 : kr;
    m.n_classes = (link == MS_LINK_IDENTITY || link == MS_LINK_EXP) ? 0 : m.n_outputs;
    m.linear.coef = malloc(f * kr * sizeof(float));
    m.linear.intercept = malloc(kr * sizeof(float));
    CHECK_FATAL(m.linear.coef && m.linear.intercept);
    for (size_t i = 0; i < f * kr; i++)
        m.linear.coef[i] = (float)((urand() - 0.5) * scale);
    for (size_t k = 0; k < kr; k++)
        m.linear.intercept[k] = (float)(urand() - 0.5);
    return m;
}

static void free_linear(ms_model *m)
{
    free(m->linear.coef);
    free(m->linear.intercept);
}

/* Rows with edge values: all-zero rows, large and tiny magnitudes, exact
 * integers, negatives. */
static void fill_rows(float *x, size_t n, size_t f)
{
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < f; j++) {
            double u = urand();
            float v = (float)((urand() - 0.5) * 4);
            if (r % 7 == 0)
                v = 0;
            else if (u < 0.03)
                v = (float)((urand() - 0.5) * 1e6);
            else if (u < 0.06)
                v = (float)((urand() - 0.5) * 1e-30);
            else if (u < 0.1)
                v = (float)(int)(v * 10);
            x[r * f + j] = v;
        }
}

static float *alloc_floats(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    CHECK_FATAL(p);
    return p;
}

static ms_linear_fn linear_fn(ms_isa isa)
{
    return isa == MS_ISA_AVX512 ? ms_linear_avx512
           : isa == MS_ISA_AVX2 ? ms_linear_avx2
                                : ms_linear_scalar;
}

/* Sum order differs between variants; both accumulate in double, so they
 * may differ by the float rounding of nearly equal doubles (relative 1e-5
 * is generous) plus double reordering error, bounded by F * 2^-53 times
 * the sum of |terms| (1e-12 covers F up to 10000). */
static double raw_tol(const ms_model *m, const float *xr, size_t k, double ref)
{
    double sumabs = fabs(m->linear.intercept[k]);
    for (size_t j = 0; j < m->n_features; j++)
        sumabs += fabs((double)m->linear.coef[k * m->n_features + j] * xr[j]);
    return 1e-5 * fabs(ref) + 1e-12 * sumabs;
}

static int same_float(float a, float b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* Every ISA's raw scores and outputs against scalar, for one shape. */
static void compare_shape(size_t f, size_t kr, ms_link link, size_t n)
{
    ms_model m = make_linear(f, kr, link, 2.0f);
    size_t ko = m.n_outputs;
    float *x = alloc_floats(n * f);
    float *ref = alloc_floats(n * kr), *got = alloc_floats(n * kr + 1);
    float *ref_out = alloc_floats(n * ko), *out = alloc_floats(n * ko + 1);
    float *scratch = alloc_floats(ms_predict_scratch_floats(&m, n) + 1);
    fill_rows(x, n, f);

    ms_linear_scalar(&m, x, n, ref);
    /* the reference itself against a plain double sum, exactly */
    for (size_t r = 0; r < n; r++)
        for (size_t k = 0; k < kr; k++) {
            double acc = m.linear.intercept[k];
            for (size_t j = 0; j < f; j++)
                acc += (double)m.linear.coef[k * f + j] * x[r * f + j];
            CHECK(ref[r * kr + k] == (float)acc);
        }
    ms_predict(&m, MS_ISA_SCALAR, x, n, ref_out, scratch);

    for (int isa = MS_ISA_SCALAR; isa < MS_ISA_COUNT; isa++) {
        if (!ms_isa_supported((ms_isa)isa))
            continue;
        const char *name = ms_isa_name((ms_isa)isa);
        got[n * kr] = CANARY;
        linear_fn((ms_isa)isa)(&m, x, n, got);
        CHECK_MSG(got[n * kr] == CANARY, "%s wrote past raw", name);
        for (size_t i = 0; i < n * kr; i++) {
            double tol = raw_tol(&m, x + i / kr * f, i % kr, ref[i]);
            CHECK_MSG(fabs((double)got[i] - ref[i]) <= tol, "%s f=%zu kr=%zu i=%zu: %.9g vs %.9g",
                      name, f, kr, i, got[i], ref[i]);
        }

        out[n * ko] = CANARY;
        scratch[ms_predict_scratch_floats(&m, n)] = CANARY;
        ms_predict(&m, (ms_isa)isa, x, n, out, scratch);
        CHECK_MSG(out[n * ko] == CANARY, "%s wrote past out", name);
        CHECK_MSG(scratch[ms_predict_scratch_floats(&m, n)] == CANARY, "%s wrote past scratch",
                  name);
        for (size_t i = 0; i < n * ko; i++) {
            double d = fabs((double)out[i] - ref_out[i]), tol;
            if (link == MS_LINK_IDENTITY)
                tol = raw_tol(&m, x + i / ko * f, i % ko, ref_out[i]);
            else if (link == MS_LINK_EXP) /* e^raw: raw's absolute error becomes relative */
                tol =
                    fabs(ref_out[i]) * (1.01 * raw_tol(&m, x + i / ko * f, i % ko, ref[i]) + 1e-6);
            else
                tol = 1e-6;
            CHECK_MSG(d <= tol || same_float(out[i], ref_out[i]),
                      "%s %s f=%zu kr=%zu i=%zu: %.9g vs %.9g", name, link_names[link], f, kr, i,
                      out[i], ref_out[i]);
        }

        /* a row scores the same wherever it sits in a batch: alone, or
         * starting at each offset of a SIMD block */
        for (size_t start = 0; start < 5 && start < n; start++) {
            size_t len = n - start < 6 ? n - start : 6;
            linear_fn((ms_isa)isa)(&m, x + start * f, len, got);
            for (size_t r = 0; r < len; r++) {
                float one[8];
                linear_fn((ms_isa)isa)(&m, x + (start + r) * f, 1, one);
                for (size_t k = 0; k < kr; k++)
                    CHECK_MSG(same_float(got[r * kr + k], one[k]),
                              "%s f=%zu kr=%zu row %zu depends on its batch position", name, f, kr,
                              start + r);
            }
        }
    }
    free(x);
    free(ref);
    free(got);
    free(ref_out);
    free(out);
    free(scratch);
    free_linear(&m);
}

static void compare_isas(void)
{
    static const size_t feats[] = {1, 2, 3, 7, 8, 15, 16, 17, 30, 33, 100, 10000};
    static const size_t raws[] = {1, 3, 7};
    static const size_t rows[] = {1, 2, 3, 4, 5, 53};
    for (size_t fi = 0; fi < sizeof feats / sizeof *feats; fi++)
        for (size_t ri = 0; ri < sizeof raws / sizeof *raws; ri++)
            for (size_t li = 0; li < sizeof all_links / sizeof *all_links; li++) {
                size_t f = feats[fi];
                /* all batch sizes on one link; the rest on a block and a tail */
                for (size_t ni = 0; ni < sizeof rows / sizeof *rows; ni++)
                    if (li == 0 || rows[ni] == 53)
                        compare_shape(f, raws[ri], all_links[li], f > 1000 ? 9 : rows[ni]);
            }
}

/* NaN in a row makes that row's outputs NaN (kernels.h) and leaves its
 * neighbours in the same SIMD block alone; infinities propagate as IEEE says. */
static void check_nan_rows(void)
{
    size_t f = 30, n = 8;
    for (size_t li = 0; li < sizeof all_links / sizeof *all_links; li++) {
        ms_model m = make_linear(f, 3, all_links[li], 1.0f);
        size_t ko = m.n_outputs;
        float *x = alloc_floats(n * f), *out = alloc_floats(n * ko), *ref = alloc_floats(n * ko);
        float *scratch = alloc_floats(ms_predict_scratch_floats(&m, n));
        fill_rows(x, n, f);
        x[1 * f + 29] = NAN; /* in the masked tail of a vector step */
        x[2 * f + 0] = NAN;
        x[5 * f + 3] = INFINITY;
        ms_predict(&m, MS_ISA_SCALAR, x, n, ref, scratch);
        for (int isa = MS_ISA_SCALAR; isa < MS_ISA_COUNT; isa++) {
            if (!ms_isa_supported((ms_isa)isa))
                continue;
            ms_predict(&m, (ms_isa)isa, x, n, out, scratch);
            for (size_t r = 0; r < n; r++)
                for (size_t k = 0; k < ko; k++) {
                    float v = out[r * ko + k];
                    if (r == 1 || r == 2)
                        CHECK_MSG(isnan(v), "%s %s row %zu: %g", ms_isa_name((ms_isa)isa),
                                  link_names[li], r, v);
                    else if (r == 5)
                        CHECK(same_float(v, ref[r * ko + k]));
                    else /* accuracy is compare_shape's business */
                        CHECK_MSG(same_float(v, ref[r * ko + k]) ||
                                      fabs(v - ref[r * ko + k]) <=
                                          1e-4 * fabs(ref[r * ko + k]) + 1e-6,
                                  "%s %s row %zu: %g vs %g", ms_isa_name((ms_isa)isa),
                                  link_names[li], r, v, ref[r * ko + k]);
                }
        }
        free(x);
        free(out);
        free(ref);
        free(scratch);
        free_linear(&m);
    }
}

/* ---- links against a double reference ---- */

static double expit(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* log(expit(z)) without underflow, for the one-vs-rest reference */
static double log_expit(double z)
{
    return z >= 0 ? -log1p(exp(-z)) : z - log1p(exp(z));
}

static float raw_value(void)
{
    double u = urand();
    if (u < 0.1)
        return (float)((urand() - 0.5) * 2000); /* saturating */
    if (u < 0.15)
        return 0.0f;
    return (float)((urand() - 0.5) * 20);
}

static void link_model(ms_model *m, ms_link link, size_t kr)
{
    memset(m, 0, sizeof *m);
    m->kind = MS_KIND_LINEAR;
    m->link = link;
    m->n_raw = kr;
    m->n_outputs = (link == MS_LINK_LOGISTIC && kr == 1) ? 2 : kr;
    m->n_classes = m->n_outputs;
}

static void check_links_random(void)
{
    static const size_t raws[] = {1, 2, 3, 7, 10, 65, 100};
    for (size_t ri = 0; ri < sizeof raws / sizeof *raws; ri++) {
        size_t kr = raws[ri], n = 200;
        float *raw = alloc_floats(n * kr), *out = alloc_floats(n * (kr + 1));
        for (size_t i = 0; i < n * kr; i++)
            raw[i] = raw_value();
        /* rows every class of which saturates (one-vs-rest 0/0 in float64) */
        for (size_t k = 0; k < kr; k++) {
            raw[k] = -800.0f - (float)k;
            raw[kr + k] = 800.0f + (float)k;
        }
        ms_model m;
        for (size_t li = 0; li < sizeof all_links / sizeof *all_links; li++) {
            ms_link link = all_links[li];
            link_model(&m, link, kr);
            size_t ko = m.n_outputs;
            ms_apply_link(&m, raw, n, out);
            for (size_t r = 0; r < n; r++) {
                const float *z = raw + r * kr;
                const float *o = out + r * ko;
                double mx = z[0], sum = 0, lsum = 0, osum = 0;
                for (size_t k = 1; k < kr; k++)
                    mx = fmax(mx, z[k]);
                for (size_t k = 0; k < kr; k++) {
                    sum += exp(z[k] - mx);
                    lsum += exp(log_expit(z[k]) - log_expit(mx));
                }
                for (size_t k = 0; k < ko; k++) {
                    double want;
                    switch (link) {
                    case MS_LINK_IDENTITY:
                        want = z[k];
                        break;
                    case MS_LINK_LOGISTIC:
                        /* bit-exact: scipy's expit, 1 - p in double */
                        want = kr == 1 ? (k == 0 ? 1.0 - expit(z[0]) : expit(z[0])) : expit(z[k]);
                        CHECK_MSG(o[k] == (float)want, "logistic kr=%zu r=%zu k=%zu", kr, r, k);
                        break;
                    case MS_LINK_SOFTMAX:
                        want = exp(z[k] - mx) / sum;
                        break;
                    case MS_LINK_OVR:
                        want = exp(log_expit(z[k]) - log_expit(mx)) / lsum;
                        break;
                    case MS_LINK_EXP:
                    default:
                        want = exp(z[k]);
                        break;
                    }
                    double tol = (link == MS_LINK_EXP || link == MS_LINK_IDENTITY)
                                     ? 1e-7 * fabs(want)
                                     : 1e-7;
                    CHECK_MSG(fabs(o[k] - want) <= tol || o[k] == (float)want,
                              "%s kr=%zu r=%zu k=%zu: %.9g vs %.9g", link_names[li], kr, r, k, o[k],
                              want);
                    osum += o[k];
                }
                if (link == MS_LINK_SOFTMAX || link == MS_LINK_OVR ||
                    (link == MS_LINK_LOGISTIC && kr == 1))
                    CHECK_MSG(fabs(osum - 1) < 1e-5, "%s kr=%zu r=%zu: sum %.9g", link_names[li],
                              kr, r, osum);
            }
        }
        free(raw);
        free(out);
    }
}

static void check_links_fixed(void)
{
    float raw[3] = {0.5f, -2.0f, 3.0f}, out[3];
    ms_model m;

    link_model(&m, MS_LINK_LOGISTIC, 1);
    float out2[2];
    ms_apply_link(&m, raw, 1, out2);
    CHECK(out2[1] == (float)expit(0.5) && out2[0] == (float)(1 - expit(0.5)));
    float big[2] = {-800.0f, 800.0f};
    ms_apply_link(&m, &big[0], 1, out2);
    CHECK(out2[1] == 0.0f && out2[0] == 1.0f); /* no overflow to NaN */
    ms_apply_link(&m, &big[1], 1, out2);
    CHECK(out2[1] == 1.0f && out2[0] == 0.0f);
    float tiny = 1e-10f; /* 1 - p rounds in double first, as in numpy */
    ms_apply_link(&m, &tiny, 1, out2);
    CHECK(out2[0] == (float)(1.0 - expit(1e-10f)) && out2[1] == (float)expit(1e-10f));

    link_model(&m, MS_LINK_LOGISTIC, 3); /* multi-label: one sigmoid each */
    ms_apply_link(&m, raw, 1, out);
    CHECK(out[0] == (float)expit(0.5) && out[1] == (float)expit(-2) && out[2] == (float)expit(3));

    link_model(&m, MS_LINK_SOFTMAX, 3);
    ms_apply_link(&m, raw, 1, out);
    double s = exp(0.5) + exp(-2.0) + exp(3.0);
    CHECK(fabs(out[0] - exp(0.5) / s) < 1e-7 && fabs(out[2] - exp(3.0) / s) < 1e-7);
    float huge[3] = {1000, 999, -1000};
    ms_apply_link(&m, huge, 1, out);
    CHECK(isfinite(out[0]) && fabs(out[0] + out[1] + out[2] - 1) < 1e-6 && out[2] == 0);

    link_model(&m, MS_LINK_OVR, 3);
    ms_apply_link(&m, raw, 1, out);
    double t = expit(0.5) + expit(-2.0) + expit(3.0);
    CHECK(out[0] == (float)(expit(0.5) / t) && out[1] == (float)(expit(-2.0) / t));
    float low[3] = {-800, -801, -900}; /* every expit underflows to 0 in double */
    ms_apply_link(&m, low, 1, out);
    CHECK(fabs(out[0] - 1 / (1 + exp(-1.0))) < 1e-7 && fabs(out[1] - 1 / (1 + exp(1.0))) < 1e-7);
    CHECK(out[2] >= 0 && out[2] < 1e-40);
    float nan_row[3] = {0.5f, NAN, 3.0f};
    for (int l = MS_LINK_LOGISTIC; l <= MS_LINK_OVR; l++) {
        link_model(&m, (ms_link)l, 3);
        ms_apply_link(&m, nan_row, 1, out);
        CHECK(isnan(out[1]));
        if (l != MS_LINK_LOGISTIC)
            CHECK(isnan(out[0]) && isnan(out[2]));
    }

    link_model(&m, MS_LINK_EXP, 3);
    ms_apply_link(&m, raw, 1, out);
    CHECK(out[2] == (float)exp(3.0));
    float over = 100.0f;
    m.n_raw = m.n_outputs = 1;
    ms_apply_link(&m, &over, 1, out);
    CHECK(isinf(out[0]) && out[0] > 0);

    link_model(&m, MS_LINK_IDENTITY, 3);
    ms_apply_link(&m, raw, 1, out);
    CHECK(out[0] == 0.5f && out[1] == -2.0f && out[2] == 3.0f);
    memcpy(out, raw, sizeof raw); /* in place */
    link_model(&m, MS_LINK_SOFTMAX, 3);
    ms_apply_link(&m, out, 1, out);
    CHECK(fabs(out[0] - exp(0.5) / s) < 1e-7 && fabs(out[2] - exp(3.0) / s) < 1e-7);
    ms_apply_link(&m, raw, 0, out); /* empty batch */
}

static void check_labels(void)
{
    ms_model m;
    memset(&m, 0, sizeof m);
    m.n_outputs = 3, m.n_classes = 3, m.link = MS_LINK_SOFTMAX;
    float a[3] = {0.2f, 0.5f, 0.3f}, tie[3] = {0.4f, 0.4f, 0.2f}, late[3] = {0.2f, 0.3f, 0.5f};
    CHECK(ms_predict_label(&m, a) == 1);
    CHECK(ms_predict_label(&m, tie) == 0); /* first wins, like numpy argmax */
    CHECK(ms_predict_label(&m, late) == 2);
    float tie_late[3] = {0.1f, 0.45f, 0.45f};
    CHECK(ms_predict_label(&m, tie_late) == 1);
    float nan1[3] = {0.9f, NAN, 0.95f}, nan0[3] = {NAN, 0.5f, 0.6f};
    CHECK(ms_predict_label(&m, nan1) == 1); /* numpy: the first NaN is the max */
    CHECK(ms_predict_label(&m, nan0) == 0);

    m.n_outputs = 2, m.n_classes = 2, m.link = MS_LINK_LOGISTIC; /* [1 - s, s] */
    float p[2] = {0.3f, 0.7f}, half[2] = {0.5f, 0.5f};
    CHECK(ms_predict_label(&m, p) == 1);
    CHECK(ms_predict_label(&m, half) == 0);

    m.n_outputs = 1, m.n_classes = 2, m.link = MS_LINK_IDENTITY; /* decision function */
    float pos = 0.1f, zero = 0.0f, negz = -0.0f, neg = -0.1f, tiny = 1e-38f, nan = NAN;
    CHECK(ms_predict_label(&m, &pos) == 1);
    CHECK(ms_predict_label(&m, &tiny) == 1);
    CHECK(ms_predict_label(&m, &zero) == 0);
    CHECK(ms_predict_label(&m, &negz) == 0);
    CHECK(ms_predict_label(&m, &neg) == 0);
    CHECK(ms_predict_label(&m, &nan) == 0); /* numpy: NaN > 0 is False */
}

static void check_select(void)
{
    ms_isa isa;
    ms_error err;

    CHECK_STREQ(ms_isa_name(MS_ISA_SCALAR), "scalar");
    CHECK_STREQ(ms_isa_name(MS_ISA_AVX2), "avx2");
    CHECK_STREQ(ms_isa_name(MS_ISA_AVX512), "avx512");
    CHECK_STREQ(ms_isa_name(MS_ISA_COUNT), "?");
    CHECK(ms_isa_supported(MS_ISA_SCALAR));
    CHECK(!ms_isa_supported(MS_ISA_COUNT));
    /* best = the widest supported, and AVX-512 implies AVX2 here */
    ms_isa best = ms_isa_best();
    CHECK(ms_isa_supported(best));
    for (int i = best + 1; i < MS_ISA_COUNT; i++)
        CHECK(!ms_isa_supported((ms_isa)i));
    if (ms_isa_supported(MS_ISA_AVX512))
        CHECK(ms_isa_supported(MS_ISA_AVX2));

    /* the environment, on this CPU */
    unsetenv("MPISCORE_ISA");
    CHECK(ms_isa_select(&isa, &err) == MS_OK && isa == best);
    setenv("MPISCORE_ISA", "", 1);
    CHECK(ms_isa_select(&isa, &err) == MS_OK && isa == best);
    setenv("MPISCORE_ISA", "scalar", 1);
    CHECK(ms_isa_select(&isa, &err) == MS_OK && isa == MS_ISA_SCALAR);
    for (int i = MS_ISA_AVX2; i < MS_ISA_COUNT; i++) {
        setenv("MPISCORE_ISA", ms_isa_name((ms_isa)i), 1);
        ms_error_clear(&err);
        if (ms_isa_supported((ms_isa)i)) {
            CHECK(ms_isa_select(&isa, &err) == MS_OK && isa == (ms_isa)i);
        } else {
            CHECK(ms_isa_select(&isa, &err) == MS_EUSAGE);
            CHECK(strstr(err.msg, "this CPU does not support") != NULL);
        }
    }
    static const char *const bad[] = {"foo", "AVX512", "avx-512", " avx2", "sse"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("MPISCORE_ISA", bad[i], 1);
        isa = MS_ISA_COUNT;
        CHECK(ms_isa_select(&isa, &err) == MS_EUSAGE && err.code == MS_EUSAGE);
        CHECK(isa == MS_ISA_COUNT); /* untouched on error */
        char want[128];
        snprintf(want, sizeof want, "MPISCORE_ISA=%s: expected scalar, avx2 or avx512", bad[i]);
        CHECK_STREQ(err.msg, want);
    }
    CHECK(ms_isa_select(&isa, NULL) == MS_EUSAGE); /* err is optional */
    unsetenv("MPISCORE_ISA");

    /* CPUs this machine is not: the messages for an unsupported ISA */
    unsigned scalar_only = 1u << MS_ISA_SCALAR, no512 = scalar_only | 1u << MS_ISA_AVX2;
    CHECK(ms_isa_select_from("avx512", no512, &isa, &err) == MS_EUSAGE);
    CHECK_STREQ(err.msg, "MPISCORE_ISA=avx512: this CPU does not support AVX-512");
    CHECK(ms_isa_select_from("avx2", scalar_only, &isa, &err) == MS_EUSAGE);
    CHECK_STREQ(err.msg, "MPISCORE_ISA=avx2: this CPU does not support AVX2");
    CHECK(ms_isa_select_from("avx2", no512, &isa, &err) == MS_OK && isa == MS_ISA_AVX2);
    CHECK(ms_isa_select_from(NULL, no512, &isa, &err) == MS_OK && isa == MS_ISA_AVX2);
    CHECK(ms_isa_select_from(NULL, scalar_only, &isa, &err) == MS_OK && isa == MS_ISA_SCALAR);
    CHECK(ms_isa_select_from("scalar", 0, &isa, &err) == MS_OK && isa == MS_ISA_SCALAR);
    unsigned all = (1u << MS_ISA_COUNT) - 1;
    CHECK(ms_isa_select_from("", all, &isa, &err) == MS_OK && isa == MS_ISA_AVX512);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Information only: a loaded machine makes these noisy, so best of 10. */
static void timing(void)
{
    size_t n = 65536, f = 30;
    ms_model m = make_linear(f, 1, MS_LINK_LOGISTIC, 1.0f);
    float *x = alloc_floats(n * f), *out = alloc_floats(n * m.n_outputs);
    float *scratch = alloc_floats(ms_predict_scratch_floats(&m, n));
    /* typical data: fill_rows' subnormals would time the CPU's microcode
     * assists for them, not the kernels */
    for (size_t i = 0; i < n * f; i++)
        x[i] = (float)((urand() - 0.5) * 4);
    for (int isa = 0; isa < MS_ISA_COUNT; isa++) {
        if (!ms_isa_supported((ms_isa)isa))
            continue;
        double best = 1e30;
        for (int rep = 0; rep < 10; rep++) {
            double t0 = now();
            ms_predict(&m, (ms_isa)isa, x, n, out, scratch);
            double t = now() - t0;
            best = t < best ? t : best;
        }
        printf("logistic, 30 features, %s: %.1f ns/row (information only)\n",
               ms_isa_name((ms_isa)isa), best / (double)n * 1e9);
    }
    free(x);
    free(out);
    free(scratch);
    free_linear(&m);
}

/* float64 models: every ISA's double kernels against the scalar reference
 * (reassociation only: within 1e-13 relative of the sum of |terms|), a NaN
 * or inf input giving NaN / inf only in its own row, links in double (no
 * rounding to float: 1 - p keeps its last bits). */
static void compare_isas64(void)
{
    static const size_t feats[] = {1, 3, 4, 5, 8, 13, 30, 64};
    static const size_t rowsn[] = {1, 3, 4, 7, 33};
    for (size_t fi = 0; fi < sizeof feats / sizeof *feats; fi++) {
        size_t f = feats[fi];
        ms_model m = make_linear(f, 3, MS_LINK_SOFTMAX, 2.0f);
        m.precision = MS_PREC_F64;
        m.linear.coef64 = malloc(f * 3 * sizeof(double));
        m.linear.intercept64 = malloc(3 * sizeof(double));
        CHECK_FATAL(m.linear.coef64 && m.linear.intercept64);
        for (size_t i = 0; i < f * 3; i++) /* bits a float cannot hold */
            m.linear.coef64[i] = m.linear.coef[i] + urand() * 1e-9;
        for (size_t k = 0; k < 3; k++)
            m.linear.intercept64[k] = m.linear.intercept[k];
        for (size_t ri = 0; ri < sizeof rowsn / sizeof *rowsn; ri++) {
            size_t n = rowsn[ri];
            double *x = malloc(n * f * sizeof *x), *ref = malloc(n * 3 * sizeof *ref),
                   *got = malloc(n * 3 * sizeof *got), *bound = malloc(n * 3 * sizeof *bound);
            CHECK_FATAL(x && ref && got && bound);
            for (size_t i = 0; i < n * f; i++)
                x[i] = (urand() - 0.5) * 1e3 + 1e-7 * urand();
            if (n > 2)
                x[f] = NAN; /* row 1 */
            ms_linear64_scalar(&m, x, n, ref);
            for (size_t r = 0; r < n; r++)
                for (size_t k = 0; k < 3; k++) {
                    double b = fabs(m.linear.intercept64[k]);
                    for (size_t j = 0; j < f; j++)
                        b += fabs(m.linear.coef64[k * f + j] * x[r * f + j]);
                    bound[r * 3 + k] = b * 1e-13;
                }
            for (int isa = 1; isa < MS_ISA_COUNT; isa++) {
                if (!ms_isa_supported((ms_isa)isa))
                    continue;
                (isa == MS_ISA_AVX2 ? ms_linear64_avx2 : ms_linear64_avx512)(&m, x, n, got);
                int bad = 0;
                for (size_t i = 0; i < n * 3; i++) {
                    int nan_row = n > 2 && i / 3 == 1;
                    bad += nan_row ? !isnan(got[i])
                                   : isnan(got[i]) || fabs(got[i] - ref[i]) > bound[i];
                }
                CHECK_MSG(bad == 0, "linear64 %s f=%zu n=%zu: %d values off", ms_isa_name(isa), f,
                          n, bad);
            }
            free(x);
            free(ref);
            free(got);
            free(bound);
        }
        free(m.linear.coef64);
        free(m.linear.intercept64);
        free_linear(&m);
    }
    /* the binary logistic link in double: 1 - p is not rounded to float */
    ms_model b = make_linear(1, 1, MS_LINK_LOGISTIC, 1.0f);
    double raw = 30.0, out[2];
    ms_apply_link64(&b, &raw, 1, out);
    CHECK(out[1] == 1.0 / (1.0 + exp(-30.0)) && out[0] == 1.0 - out[1] && out[0] > 0 &&
          out[0] < 1e-12);
    free_linear(&b);
}

int main(void)
{
    srand(12345);
    compare_isas();
    compare_isas64();
    check_nan_rows();
    check_links_random();
    check_links_fixed();
    check_labels();
    check_select();
    timing();
    return ms_test_done("test_kernels");
}
