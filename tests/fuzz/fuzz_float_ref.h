/*
 * fuzz_float_ref.h — the reference floatconv.c is checked against in the
 * fuzz harnesses (fuzz_csv.c, fuzz_floatconv.c).
 *
 * ms_parse_f32 is re-specified here from floatconv.h alone: a small grammar
 * decides what is a number, and strtof (glibc, correctly rounded) gives its
 * value; the words for missing and infinite values are matched by hand.
 * ms_format_f32 must print text that reads back to the same bits, with the
 * fewest significant digits any decimal that reads back has (found by
 * trying the nearest p-digit decimal and its two neighbours with strtof).
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

/* What ms_parse_f32(s, n) must return, and its value. */
static inline ms_num_result ref_parse(const char *s, size_t n, float *out)
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
        float f = strtof(buf, &end);
        int range = errno == ERANGE && isinf(f);
        FUZZ_ASSERT(end == buf + n, "strtof stopped early on a valid number \"%s\"", buf);
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

/* ms_parse_f32 agrees with the reference, bit for bit. */
static inline void ref_check_parse(const char *s, size_t n)
{
    float got, want;
    ms_num_result r = ms_parse_f32(s, n, &got);
    ms_num_result w = ref_parse(s, n, &want);
    char show[160];
    ms_quote_excerpt(s, n, 64, show, sizeof show);
    FUZZ_ASSERT(r == w, "ms_parse_f32(\"%s\") = %s, expected %s", show, ref_result_name(r),
                ref_result_name(w));
    if (w == MS_NUM_MISSING || w == MS_NUM_INVALID)
        FUZZ_ASSERT(isnan(got), "ms_parse_f32(\"%s\"): %s but *out = %a is not NaN", show,
                    ref_result_name(r), (double)got);
    else
        FUZZ_ASSERT(ref_bits(got) == ref_bits(want), "ms_parse_f32(\"%s\") = %a, strtof gives %a",
                    show, (double)got, (double)want);
}

/* Fewest significant digits of a decimal that strtof reads back as v
 * (v finite, > 0). */
static inline int ref_shortest_digits(float v)
{
    for (int p = 1; p <= 9; p++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.*e", p - 1, (double)v);
        /* d.ddde[+-]X: the p digits as an integer, and the exponent */
        uint64_t m = 0;
        const char *c = buf;
        for (; *c && *c != 'e'; c++)
            if (ref_is_digit(*c))
                m = m * 10 + (uint64_t)(*c - '0');
        int e = atoi(c + 1) - (p - 1);
        for (int k = -1; k <= 1; k++) {
            if (m == 0 && k < 0)
                continue;
            snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)(m + (uint64_t)(int64_t)k), e);
            if (strtof(buf, NULL) == v)
                return p;
        }
    }
    return 10; /* never: 9 digits always read back */
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

#endif
