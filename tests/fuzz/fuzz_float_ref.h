/*
 * fuzz_float_ref.h — the reference floatconv.c is checked against in the
 * fuzz harnesses (fuzz_csv.c, fuzz_floatconv.c).
 *
 * ms_parse_f32 / ms_parse_f64 are re-specified here from floatconv.h alone:
 * a small grammar decides what is a number, and strtof / strtod (glibc,
 * correctly rounded) give its value; the words for missing and infinite
 * values are matched by hand. ms_format_f32 / ms_format_f64 must print text
 * that reads back to the same bits, with the fewest significant digits any
 * decimal that reads back has (found by trying the nearest p-digit decimal
 * and its two neighbours with strtof / strtod), and for float64 the nearest
 * such decimal (ms_format_f64's first version, printf + strtod).
 */
#ifndef MS_FUZZ_FLOAT_REF_H
#define MS_FUZZ_FLOAT_REF_H

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "mpiscore/floatconv.h"
#include "mpiscore/status.h"

static inline uint32_t ref_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline int ref_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* s[0..n) equals word, ASCII case ignored when any_case. */
static inline int ref_word(const char *s, size_t n, const char *word, int any_case)
{
    if (n != strlen(word))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (any_case && c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != word[i])
            return 0;
    }
    return 1;
}

/* [+-]? (D+ (. D*)? | . D+) ([eE] [+-]? D+)? */
static inline int ref_is_number(const char *s, size_t n)
{
    size_t i = 0, d = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && ref_is_digit(s[i]))
        i++, d++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && ref_is_digit(s[i]))
            i++, d++;
    }
    if (d == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t e = 0;
        while (i < n && ref_is_digit(s[i]))
            i++, e++;
        if (e == 0)
            return 0;
    }
    return i == n;
}

static inline const char *ref_result_name(ms_num_result r)
{
    switch (r) {
    case MS_NUM_OK:
        return "OK";
    case MS_NUM_MISSING:
        return "MISSING";
    case MS_NUM_INVALID:
        return "INVALID";
    case MS_NUM_RANGE:
        return "RANGE";
    case MS_NUM_INFINITE:
        return "INFINITE";
    }
    return "?";
}

/* What ms_parse_f32(s, n) (f64 == 0) or ms_parse_f64 must return, and its
 * value. */
static inline ms_num_result ref_parse_prec(const char *s, size_t n, int f64, double *out)
{
    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    *out = NAN;
    /* pandas' default NA spellings (pandas/_libs/parsers.pyx STR_NA_VALUES, plus
     * pandas 2's "None"), exact case */
    static const char *const na[] = {"NA",      "N/A",    "n/a",     "#N/A",    "#N/A N/A",
                                     "#NA",     "<NA>",   "NULL",    "null",    "None",
                                     "-1.#IND", "1.#IND", "1.#QNAN", "-1.#QNAN"};
    if (n == 0)
        return MS_NUM_MISSING;
    for (size_t i = 0; i < sizeof na / sizeof na[0]; i++)
        if (ref_word(s, n, na[i], 0))
            return MS_NUM_MISSING;
    if (ref_is_number(s, n)) {
        char *buf = malloc(n + 1), *end;
        FUZZ_ASSERT(buf != NULL, "out of memory");
        memcpy(buf, s, n);
        buf[n] = '\0';
        errno = 0;
        double f = f64 ? strtod(buf, &end) : (double)strtof(buf, &end);
        int range = errno == ERANGE && isinf(f);
        FUZZ_ASSERT(end == buf + n, "strtod/strtof stopped early on a valid number \"%s\"", buf);
        free(buf);
        *out = f;
        return range ? MS_NUM_RANGE : MS_NUM_OK;
    }
    const char *w = s;
    size_t wn = n;
    if (*w == '+' || *w == '-')
        w++, wn--;
    if (ref_word(w, wn, "nan", 1))
        return MS_NUM_MISSING;
    if (ref_word(w, wn, "inf", 1) || ref_word(w, wn, "infinity", 1)) {
        *out = *s == '-' ? -INFINITY : INFINITY;
        return MS_NUM_INFINITE;
    }
    return MS_NUM_INVALID;
}

static inline ms_num_result ref_parse(const char *s, size_t n, float *out)
{
    double d;
    ms_num_result r = ref_parse_prec(s, n, 0, &d);
    *out = (float)d;
    return r;
}

static inline uint64_t ref_bits64(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* ms_parse_f32 (f64 == 0) or ms_parse_f64 agrees with the reference, bit
 * for bit (a float widened to double keeps its bits apart). */
static inline void ref_check_parse_prec(const char *s, size_t n, int f64)
{
    double got, want;
    float got32;
    ms_num_result r = f64 ? ms_parse_f64(s, n, &got) : ms_parse_f32(s, n, &got32);
    if (!f64)
        got = got32;
    ms_num_result w = ref_parse_prec(s, n, f64, &want);
    const char *fn = f64 ? "ms_parse_f64" : "ms_parse_f32";
    char show[160];
    ms_quote_excerpt(s, n, 64, show, sizeof show);
    FUZZ_ASSERT(r == w, "%s(\"%s\") = %s, expected %s", fn, show, ref_result_name(r),
                ref_result_name(w));
    if (w == MS_NUM_MISSING || w == MS_NUM_INVALID)
        FUZZ_ASSERT(isnan(got), "%s(\"%s\"): %s but *out = %a is not NaN", fn, show,
                    ref_result_name(r), got);
    else
        FUZZ_ASSERT(ref_bits64(got) == ref_bits64(want), "%s(\"%s\") = %a, %s gives %a", fn, show,
                    got, f64 ? "strtod" : "strtof", want);
}

static inline void ref_check_parse(const char *s, size_t n)
{
    ref_check_parse_prec(s, n, 0);
}

/* The shortest decimal that strtod (f64) or strtof reads back as v (finite,
 * > 0), nearest to v among those of its length: the p-digit decimal printf
 * rounds v to when it reads back, else its neighbour that does. Returns the
 * digit count; *m and *e: the digits as an integer and its last digit's
 * exponent. */
static inline int ref_shortest_prec(double v, int f64, uint64_t *m_out, int *e_out)
{
    for (int p = 1; p <= (f64 ? 17 : 9); p++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.*e", p - 1, v);
        uint64_t m = 0;
        const char *c = buf;
        for (; *c && *c != 'e'; c++)
            if (ref_is_digit(*c))
                m = m * 10 + (uint64_t)(*c - '0');
        int e = atoi(c + 1) - (p - 1);
        static const int order[3] = {0, -1, 1};
        for (int k = 0; k < 3; k++) {
            uint64_t cand = m + (uint64_t)(int64_t)order[k];
            if (cand == 0)
                continue;
            snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)cand, e);
            if (f64 ? ref_bits64(strtod(buf, NULL)) == ref_bits64(v)
                    : ref_bits(strtof(buf, NULL)) == ref_bits((float)v)) {
                while (cand % 10 == 0) {
                    cand /= 10;
                    e++;
                }
                *m_out = cand;
                *e_out = e;
                return p;
            }
        }
    }
    return f64 ? 18 : 10; /* never: 17 (9) digits always read back */
}

/* Fewest significant digits of a decimal that strtof reads back as v
 * (v finite, > 0). */
static inline int ref_shortest_digits(float v)
{
    uint64_t m;
    int e;
    return ref_shortest_prec((double)v, 0, &m, &e);
}

/* ms_format_f32(v) reads back as v (both through ms_parse_f32 and strtof)
 * and uses the fewest significant digits possible. */
static inline void ref_check_format(float v)
{
    char out[MS_F32_TEXT_MAX + 8];
    memset(out, 0x5a, sizeof out);
    size_t n = ms_format_f32(v, out);
    FUZZ_ASSERT(n <= MS_F32_TEXT_MAX, "ms_format_f32(%a) wrote %zu bytes", (double)v, n);
    FUZZ_ASSERT((unsigned char)out[MS_F32_TEXT_MAX] == 0x5a, "ms_format_f32(%a) wrote past %d",
                (double)v, MS_F32_TEXT_MAX);
    out[n] = '\0';
    if (isnan(v)) {
        FUZZ_ASSERT(n == 0, "ms_format_f32(NaN) = \"%s\", expected \"\"", out);
        return;
    }
    if (isinf(v)) {
        FUZZ_ASSERT(strcmp(out, v < 0 ? "-inf" : "inf") == 0, "ms_format_f32(%a) = \"%s\"",
                    (double)v, out);
        return;
    }
    float back;
    FUZZ_ASSERT(ms_parse_f32(out, n, &back) == MS_NUM_OK && ref_bits(back) == ref_bits(v),
                "ms_format_f32(%a) = \"%s\" does not read back (got %a)", (double)v, out,
                (double)back);
    FUZZ_ASSERT(ref_bits(strtof(out, NULL)) == ref_bits(v),
                "ms_format_f32(%a) = \"%s\": strtof reads %a", (double)v, out,
                (double)strtof(out, NULL));
    if (v == 0)
        return;
    /* significant digits of the text: mantissa digits without leading or
     * trailing zeros */
    char dig[32];
    int nd = 0;
    for (const char *c = out; *c && *c != 'e'; c++)
        if (ref_is_digit(*c) && (nd > 0 || *c != '0'))
            dig[nd++] = *c;
    while (nd > 0 && dig[nd - 1] == '0')
        nd--;
    int want = ref_shortest_digits(fabsf(v));
    FUZZ_ASSERT(nd == want, "ms_format_f32(%a) = \"%s\" has %d significant digits, %d suffice",
                (double)v, out, nd, want);
}

static inline void ref_check_parse64(const char *s, size_t n)
{
    ref_check_parse_prec(s, n, 1);
}

/* ms_format_f64(v) reads back as v (ms_parse_f64 and strtod) and has the
 * reference's digits and exponent. */
static inline void ref_check_format64(double v)
{
    char out[MS_F64_TEXT_MAX + 8];
    memset(out, 0x5a, sizeof out);
    size_t n = ms_format_f64(v, out);
    FUZZ_ASSERT(n <= MS_F64_TEXT_MAX, "ms_format_f64(%a) wrote %zu bytes", v, n);
    FUZZ_ASSERT((unsigned char)out[n] == 0x5a, "ms_format_f64(%a) wrote past its length", v);
    out[n] = '\0';
    if (isnan(v)) {
        FUZZ_ASSERT(n == 0, "ms_format_f64(NaN) = \"%s\", expected \"\"", out);
        return;
    }
    if (isinf(v)) {
        FUZZ_ASSERT(strcmp(out, v < 0 ? "-inf" : "inf") == 0, "ms_format_f64(%a) = \"%s\"", v, out);
        return;
    }
    double back;
    FUZZ_ASSERT(ms_parse_f64(out, n, &back) == MS_NUM_OK && ref_bits64(back) == ref_bits64(v),
                "ms_format_f64(%a) = \"%s\" does not read back (got %a)", v, out, back);
    FUZZ_ASSERT(ref_bits64(strtod(out, NULL)) == ref_bits64(v),
                "ms_format_f64(%a) = \"%s\": strtod reads %a", v, out, strtod(out, NULL));
    if (v == 0)
        return;
    /* the text's significant digits as an integer and its last digit's
     * exponent */
    uint64_t m = 0;
    int nd = 0, frac = 0, point = 0;
    const char *c = out;
    for (; *c && *c != 'e'; c++) {
        if (*c == '.') {
            point = 1;
        } else if (ref_is_digit(*c) && (nd > 0 || *c != '0')) {
            m = m * 10 + (uint64_t)(*c - '0');
            nd++;
            frac += point;
        } else if (*c == '0') {
            frac += point;
        }
    }
    int e = (*c == 'e' ? atoi(c + 1) : 0) - frac;
    while (m % 10 == 0) {
        m /= 10;
        e++;
        nd--;
    }
    uint64_t want_m = 0;
    int want_e = 0, want = ref_shortest_prec(fabs(v), 1, &want_m, &want_e);
    FUZZ_ASSERT(m == want_m && e == want_e,
                "ms_format_f64(%a) = \"%s\" (%d digits); the shortest nearest is %llue%d (%d)", v,
                out, nd, (unsigned long long)want_m, want_e, want);
}

#endif
