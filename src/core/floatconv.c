/*
 * floatconv.c — CSV text <-> float32 (floatconv.h): the parser on the ingest
 * hot path and the shortest printer used by the output writer.
 *
 * Invariant: ms_parse_f32 returns bit for bit what strtof returns for the
 * same (validated) text, and ms_format_f32's output read by strtof is v.
 *
 * Parsing gathers up to 19 significant digits into w and a decimal exponent
 * k, then scales in double:
 *   - w < 2^53, |k| <= 22, nothing dropped: w and 10^k are exact doubles, so
 *     one multiply/divide is the correctly rounded double d. Rounding d to
 *     float can differ from rounding the true value only when d is exactly a
 *     float midpoint (a double rounding cannot cross a point it can
 *     represent), and midpoints are detected.
 *   - otherwise, |k| <= 64: d = (double)w * RN(10^k) is within 3.03 double
 *     ulps of the true value (three roundings of 2^-53 plus < 1e-18 for the
 *     digits dropped after the 19th), so when no float midpoint lies within
 *     4 ulps of d, the true value and d round to the same float.
 *   - anything undecided goes to strtof on a canonical copy "DIGITSeEXP".
 *     The copy keeps 120 significant digits plus a sticky '1' for a nonzero
 *     tail: a float32 midpoint has at most 113 significant digits, so no
 *     midpoint lies strictly between the truncated value and the sticky
 *     one, and both round like the full text. No heap, any field length, and
 *     no '.' so the C locale's decimal point cannot matter.
 *
 * Printing searches the digit count p (1..9) by bisection — a p-digit
 * decimal that reads back is also a (p+1)-digit one, so "some p-digit
 * decimal reads back" is monotonic in p — and tests the two p-digit
 * neighbours of v with the exact conversion above. When both read back the
 * nearer wins, decided exactly (small bignum) when doubles cannot tell.
 */
#include "mpiscore/floatconv.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Correctly rounded by the compiler; pow10_tab[k + 64] = 10^k. Entries with
 * |k| <= 22 are exact. */
static const double pow10_tab[129] = {
    1e-64, 1e-63, 1e-62, 1e-61, 1e-60, 1e-59, 1e-58, 1e-57, 1e-56, 1e-55, 1e-54, 1e-53, 1e-52,
    1e-51, 1e-50, 1e-49, 1e-48, 1e-47, 1e-46, 1e-45, 1e-44, 1e-43, 1e-42, 1e-41, 1e-40, 1e-39,
    1e-38, 1e-37, 1e-36, 1e-35, 1e-34, 1e-33, 1e-32, 1e-31, 1e-30, 1e-29, 1e-28, 1e-27, 1e-26,
    1e-25, 1e-24, 1e-23, 1e-22, 1e-21, 1e-20, 1e-19, 1e-18, 1e-17, 1e-16, 1e-15, 1e-14, 1e-13,
    1e-12, 1e-11, 1e-10, 1e-9,  1e-8,  1e-7,  1e-6,  1e-5,  1e-4,  1e-3,  1e-2,  1e-1,  1e0,
    1e1,   1e2,   1e3,   1e4,   1e5,   1e6,   1e7,   1e8,   1e9,   1e10,  1e11,  1e12,  1e13,
    1e14,  1e15,  1e16,  1e17,  1e18,  1e19,  1e20,  1e21,  1e22,  1e23,  1e24,  1e25,  1e26,
    1e27,  1e28,  1e29,  1e30,  1e31,  1e32,  1e33,  1e34,  1e35,  1e36,  1e37,  1e38,  1e39,
    1e40,  1e41,  1e42,  1e43,  1e44,  1e45,  1e46,  1e47,  1e48,  1e49,  1e50,  1e51,  1e52,
    1e53,  1e54,  1e55,  1e56,  1e57,  1e58,  1e59,  1e60,  1e61,  1e62,  1e63,  1e64};

static const uint64_t ipow10[10] = {1,      10,      100,      1000,      10000,
                                    100000, 1000000, 10000000, 100000000, 1000000000};

/* Significant digits kept for strtof; must exceed 113 (see top). */
#define SLOW_DIGITS 120
/* Exponents beyond this are clamped: with <= 121 digits the value is then
 * far outside float range either way. */
#define EXP_CLAMP 999999
#define EXP_SATURATE 1000000000000000ll /* 1e15 */

typedef enum { SCALE_OK, SCALE_RANGE, SCALE_UNSURE } scale_result;

/* w * 10^k (w > 0; `tail`: nonzero digits were dropped after w's 19) rounded
 * to float, when doubles can decide it. */
static inline scale_result scale_to_f32(uint64_t w, int64_t k, int tail, float *f)
{
    double d;
    uint64_t tol;
    if (!tail && w < (1ull << 53) && k >= -22 && k <= 22) {
        d = k >= 0 ? (double)w * pow10_tab[k + 64] : (double)w / pow10_tab[-k + 64];
        tol = 0; /* d is correctly rounded: only an exact midpoint misleads */
    } else if (k >= -64 && k <= 64) {
        d = (double)w * pow10_tab[k + 64];
        tol = 4; /* |d - true| < 3.03 ulp(d) */
    } else {
        return SCALE_UNSURE;
    }
    if (d >= 0x1p128)
        return SCALE_RANGE; /* even 4 ulps lower it is past FLT_MAX + ulp/2 */
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    int be = (int)(bits >> 52) - 1023; /* d >= 1e-64 is a normal double */
    int shift;                         /* double mantissa bits below the float ulp at d */
    if (be >= -126)
        shift = 29;
    else if (be >= -149)
        shift = -97 - be; /* subnormal floats: ulp 2^-149 */
    else
        return SCALE_UNSURE; /* near or below half the smallest subnormal */
    uint64_t low = bits & ((1ull << shift) - 1), half = 1ull << (shift - 1);
    if ((low > half ? low - half : half - low) <= tol)
        return SCALE_UNSURE;
    *f = (float)d;
    return isinf(*f) ? SCALE_RANGE : SCALE_OK;
}

/* strtof on text this file built (digits, 'e', exponent; no '.'). */
static scale_result strtof_canonical(const char *buf, float *f)
{
    int saved = errno;
    errno = 0;
    *f = strtof(buf, NULL);
    int range = errno == ERANGE && isinf(*f);
    errno = saved;
    return range ? SCALE_RANGE : SCALE_OK;
}

static size_t put_exp(char *o, int64_t e)
{
    if (e > EXP_CLAMP)
        e = EXP_CLAMP;
    if (e < -EXP_CLAMP)
        e = -EXP_CLAMP;
    return (size_t)sprintf(o, "e%d", (int)e);
}

/* The undecided case: m..end is the validated mantissa without its sign
 * (digits and at most one '.'), e10 its explicit exponent. */
static scale_result parse_slow(const char *m, const char *end, int64_t e10, float *f)
{
    char buf[SLOW_DIGITS + 1 + 16];
    size_t o = 0, kept = 0;
    int after_point = 0, sticky = 0;
    int64_t scale = e10; /* value = kept digits * 10^scale */
    for (; m < end; m++) {
        if (*m == '.') {
            after_point = 1;
        } else if (kept == 0 && *m == '0') {
            scale -= after_point;
        } else if (kept < SLOW_DIGITS) {
            buf[o++] = *m;
            kept++;
            scale -= after_point;
        } else {
            sticky |= *m != '0';
            scale += !after_point;
        }
    }
    if (sticky) {
        buf[o++] = '1';
        scale--;
    }
    o += put_exp(buf + o, scale);
    return strtof_canonical(buf, f);
}

static int word_is(const char *s, size_t n, const char *word, int any_case)
{
    if (n != strlen(word))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (any_case && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return 0;
    }
    return 1;
}

/* pandas' default missing spellings (STR_NA_VALUES in pandas/_libs/parsers.pyx,
 * with pandas 2's "None"), exact case, besides the nan family handled in
 * parse_word. Checked only once a field failed to parse as a number, so
 * the digit path never pays for them. */
static const char *const na_words[] = {"NA",      "N/A",    "n/a",     "#N/A",    "#N/A N/A",
                                       "#NA",     "<NA>",   "NULL",    "null",    "None",
                                       "-1.#IND", "1.#IND", "1.#QNAN", "-1.#QNAN"};

static int is_na_word(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof na_words / sizeof na_words[0]; i++)
        if (word_is(s, n, na_words[i], 0))
            return 1;
    return 0;
}

/* Not a number: missing if it is one of pandas' spellings. */
static ms_num_result invalid(const char *s, size_t n, float *out)
{
    *out = NAN;
    return is_na_word(s, n) ? MS_NUM_MISSING : MS_NUM_INVALID;
}

/* Fields with no digits: the words that mean missing or infinite. The
 * missing spellings are pandas' defaults (na_words) plus any-case nan
 * (strtof reads "nan" in any case, with a sign, and C writes "-nan"). */
static ms_num_result parse_word(const char *s, size_t n, float *out)
{
    *out = NAN;
    if (n == 0 || is_na_word(s, n))
        return MS_NUM_MISSING;
    int neg = *s == '-';
    if (*s == '+' || *s == '-') {
        s++;
        n--;
    }
    if (word_is(s, n, "nan", 1))
        return MS_NUM_MISSING;
    if (word_is(s, n, "inf", 1) || word_is(s, n, "infinity", 1)) {
        *out = neg ? -INFINITY : INFINITY;
        return MS_NUM_INFINITE;
    }
    return MS_NUM_INVALID;
}

/* 1 if the 8 bytes are all ASCII digits (SWAR test as in simdjson/fast_float). */
static inline int eight_digits(uint64_t v)
{
    return ((v & 0xF0F0F0F0F0F0F0F0ull) |
            (((v + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) == 0x3333333333333333ull;
}

/* Value of 8 ASCII digits loaded little-endian, in three multiplies. */
static inline uint32_t eight_value(uint64_t v)
{
    const uint64_t mask = 0x000000FF000000FFull;
    const uint64_t mul1 = 0x000F424000000064ull; /* 100 + (1000000 << 32) */
    const uint64_t mul2 = 0x0000271000000001ull; /* 1 + (10000 << 32) */
    v -= 0x3030303030303030ull;
    v = (v * 10) + (v >> 8);
    v = (((v & mask) * mul1) + (((v >> 16) & mask) * mul2)) >> 32;
    return (uint32_t)v;
}

/* Append at most `room` digits from p to *w; *taken says how many. */
static inline const char *take_digits(const char *p, const char *end, uint64_t *w, int *taken,
                                      int room)
{
    int t = 0;
    while (room - t >= 8 && end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        if (!eight_digits(v))
            break;
        *w = *w * 100000000ull + eight_value(v);
        p += 8;
        t += 8;
    }
    while (t < room && p < end && (unsigned)(*p - '0') < 10) {
        *w = *w * 10 + (uint64_t)(*p - '0');
        p++;
        t++;
    }
    *taken = t;
    return p;
}

static inline int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

ms_num_result ms_parse_f32(const char *s, size_t n, float *out)
{
    if (n && (is_blank(s[0]) || is_blank(s[n - 1]))) {
        while (n > 0 && is_blank(*s)) {
            s++;
            n--;
        }
        while (n > 0 && is_blank(s[n - 1]))
            n--;
    }
    const char *p = s, *end = s + n;
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    const char *mant = p;
    uint64_t w = 0;
    int64_t k = 0; /* int64: a field of billions of digits must not overflow it */
    int digits, t, tail = 0, any;
    /* Leading zeros carry no information; w holds significant digits only,
     * so 19 of them always fit in 64 bits. */
    while (p < end && *p == '0')
        p++;
    any = p > mant;
    p = take_digits(p, end, &w, &t, 19);
    digits = t;
    any |= t > 0;
    for (; p < end && (unsigned)(*p - '0') < 10; p++) {
        tail |= *p != '0';
        k++;
        any = 1;
    }
    if (p < end && *p == '.') {
        p++;
        const char *f = p;
        if (digits == 0) {
            while (p < end && *p == '0')
                p++;
            k -= p - f;
        }
        p = take_digits(p, end, &w, &t, 19 - digits);
        k -= t;
        for (; p < end && (unsigned)(*p - '0') < 10; p++)
            tail |= *p != '0';
        any |= p > f;
    }
    if (!any)
        return parse_word(s, n, out);
    const char *mant_end = p;
    int64_t e10 = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p == end || (unsigned)(*p - '0') >= 10)
            return invalid(s, n, out);
        /* Saturated far beyond any field length, so a huge exponent still
         * outweighs every digit count it is added to, and int64 is safe. */
        for (; p < end && (unsigned)(*p - '0') < 10; p++)
            if (e10 < EXP_SATURATE)
                e10 = e10 * 10 + (*p - '0');
        k += eneg ? -e10 : e10;
        e10 = eneg ? -e10 : e10;
    }
    if (p != end)
        return invalid(s, n, out);
    if (w == 0) {
        *out = neg ? -0.0f : 0.0f;
        return MS_NUM_OK;
    }
    float f;
    scale_result r = scale_to_f32(w, k, tail, &f);
    if (r == SCALE_UNSURE)
        r = parse_slow(mant, mant_end, e10, &f);
    if (r == SCALE_RANGE) {
        *out = neg ? -INFINITY : INFINITY;
        return MS_NUM_RANGE;
    }
    *out = neg ? -f : f;
    return MS_NUM_OK;
}

/* ---- shortest printing ---------------------------------------------------- */

/* Does d * 10^e read back exactly as v (v > 0, finite)? */
static int round_trips(uint64_t d, int e, float v)
{
    float f;
    scale_result r = scale_to_f32(d, e, 0, &f);
    if (r == SCALE_UNSURE) {
        char buf[48];
        snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)d, e);
        r = strtof_canonical(buf, &f);
    }
    return r == SCALE_OK && f == v;
}

/* Unsigned integer with 32-bit limbs, least significant first, no leading
 * zero limb. 10 limbs hold every product below (< 2^160). */
typedef struct {
    uint32_t limb[10];
    int n;
} bignum;

static void big_set(bignum *b, uint64_t v)
{
    b->n = 0;
    for (; v; v >>= 32)
        b->limb[b->n++] = (uint32_t)v;
}

static void big_mul(bignum *b, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        carry += (uint64_t)b->limb[i] * m;
        b->limb[i] = (uint32_t)carry;
        carry >>= 32;
    }
    if (carry)
        b->limb[b->n++] = (uint32_t)carry;
}

static void big_mul_pow5(bignum *b, int e)
{
    for (; e >= 13; e -= 13)
        big_mul(b, 1220703125u); /* 5^13, the largest power of 5 below 2^32 */
    uint32_t m = 1;
    for (; e > 0; e--)
        m *= 5;
    big_mul(b, m);
}

static void big_shl(bignum *b, int s)
{
    int words = s / 32, bits = s % 32;
    if (b->n == 0)
        return;
    if (bits) {
        uint32_t carry = 0;
        for (int i = 0; i < b->n; i++) {
            uint32_t x = b->limb[i];
            b->limb[i] = (x << bits) | carry;
            carry = x >> (32 - bits);
        }
        if (carry)
            b->limb[b->n++] = carry;
    }
    if (words) {
        memmove(b->limb + words, b->limb, (size_t)b->n * sizeof b->limb[0]);
        memset(b->limb, 0, (size_t)words * sizeof b->limb[0]);
        b->n += words;
    }
}

static int big_cmp(const bignum *a, const bignum *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->limb[i] != b->limb[i])
            return a->limb[i] < b->limb[i] ? -1 : 1;
    return 0;
}

/* Sign of v - (lo + 1/2) * 10^e, exactly: < 0 when lo * 10^e is the nearer. */
static int cmp_to_midpoint(float v, uint64_t lo, int e)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint32_t ef = bits >> 23 & 0xFF, m = bits & 0x7FFFFF;
    int q = ef ? (int)ef - 150 : -149;
    if (ef)
        m |= 1u << 23;
    /* 2 m 2^q vs (2 lo + 1) 2^e 5^e, powers moved to whichever side keeps
     * them nonnegative. Sizes: m 5^53 < 2^148, (2 lo + 1) 5^38 < 2^120,
     * shifts < 2^96 on the side they land. */
    bignum a, b;
    big_set(&a, m);
    big_set(&b, 2 * lo + 1);
    if (e >= 0)
        big_mul_pow5(&b, e);
    else
        big_mul_pow5(&a, -e);
    int s = q + 1 - e;
    if (s >= 0)
        big_shl(&a, s);
    else
        big_shl(&b, -s);
    return big_cmp(&a, &b);
}

/* The p-digit decimal nearest v that reads back as v, if any, as digits and
 * exponent. scaled9 ~ v * 10^(8 - e10) in [1e8, 1e9), d9 its floor; both may
 * be off by a few 1e-7 — then the true floor/ceil pair differs from lo/hi
 * only when v sits within 1e-6 of a p-digit decimal, which is then one of
 * lo/hi, reads back, and is the nearer, so the answer is the same. */
static int candidate(float v, double scaled9, uint64_t d9, int e10, int p, uint64_t *dout,
                     int *eout)
{
    int e = e10 - p + 1;
    uint64_t lo = d9 / ipow10[9 - p], hi = lo + 1;
    int ok_lo = lo > 0 && round_trips(lo, e, v);
    int ok_hi = round_trips(hi, e, v);
    if (ok_lo && ok_hi) {
        /* sp is within 3.4e-7 of v * 10^-e, so a margin of 1e-5 decides */
        double sp = scaled9 / (double)ipow10[9 - p];
        double diff = 2 * sp - (double)(lo + hi);
        int c = diff < -1e-5 ? -1 : diff > 1e-5 ? 1 : cmp_to_midpoint(v, lo, e);
        *dout = c < 0 ? lo : c > 0 ? hi : (lo % 2 == 0 ? lo : hi); /* tie: even */
    } else if (ok_lo) {
        *dout = lo;
    } else if (ok_hi) {
        *dout = hi;
    } else {
        return 0;
    }
    *eout = e;
    return 1;
}

/* Writes digits[0..nd) (no trailing zeros) whose first digit has decimal
 * exponent dexp: plain notation when dexp is in [-4, plain_hi), otherwise
 * scientific with at least two exponent digits, as Python's repr does. */
static size_t lay_out(const char *digits, int nd, int dexp, int plain_hi, char *out)
{
    size_t o = 0;
    if (dexp >= -4 && dexp < plain_hi) {
        if (dexp < 0) { /* 0.000ddd */
            out[o++] = '0';
            out[o++] = '.';
            for (int i = -1; i > dexp; i--)
                out[o++] = '0';
            memcpy(out + o, digits, (size_t)nd);
            o += (size_t)nd;
        } else if (nd <= dexp + 1) { /* ddd000 */
            memcpy(out + o, digits, (size_t)nd);
            o += (size_t)nd;
            for (int i = nd; i <= dexp; i++)
                out[o++] = '0';
        } else { /* ddd.ddd */
            memcpy(out + o, digits, (size_t)dexp + 1);
            o += (size_t)dexp + 1;
            out[o++] = '.';
            memcpy(out + o, digits + dexp + 1, (size_t)(nd - dexp - 1));
            o += (size_t)(nd - dexp - 1);
        }
        return o;
    }
    out[o++] = digits[0];
    if (nd > 1) {
        out[o++] = '.';
        memcpy(out + o, digits + 1, (size_t)nd - 1);
        o += (size_t)nd - 1;
    }
    out[o++] = 'e';
    out[o++] = dexp < 0 ? '-' : '+';
    int ae = dexp < 0 ? -dexp : dexp;
    if (ae >= 100)
        out[o++] = (char)('0' + ae / 100);
    out[o++] = (char)('0' + ae / 10 % 10);
    out[o++] = (char)('0' + ae % 10);
    return o;
}

size_t ms_format_f32(float v, char *out)
{
    if (isnan(v))
        return 0;
    size_t o = 0;
    if (signbit(v)) {
        out[o++] = '-';
        v = -v;
    }
    if (isinf(v)) {
        memcpy(out + o, "inf", 3);
        return o + 3;
    }
    if (v == 0) {
        out[o++] = '0';
        return o;
    }
    int e2;
    frexpf(v, &e2);
    int e10 = (int)floor((e2 - 1) * 0.30102999566398120);
    /* No float lies between 10^e and its double rounding (the test checks
     * every power's neighbours), so these comparisons are exact in effect. */
    while ((double)v < pow10_tab[e10 + 64])
        e10--;
    while ((double)v >= pow10_tab[e10 + 1 + 64])
        e10++;
    double scaled9 = (double)v * pow10_tab[8 - e10 + 64];
    uint64_t d9 = (uint64_t)scaled9;
    uint64_t best_d = 0, cand_d;
    int best_e = 0, best_p = 0, cand_e;
    int lo = 1, hi = 9;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (candidate(v, scaled9, d9, e10, mid, &cand_d, &cand_e)) {
            hi = mid;
            best_p = mid;
            best_d = cand_d;
            best_e = cand_e;
        } else {
            lo = mid + 1;
        }
    }
    if (best_p != lo && candidate(v, scaled9, d9, e10, lo, &cand_d, &cand_e)) {
        best_d = cand_d;
        best_e = cand_e;
    }
    /* best_d > 0: nine digits always read back. hi may have carried to 10^p. */
    while (best_d % 10 == 0 && best_d > 0) {
        best_d /= 10;
        best_e++;
    }
    char buf[20];
    char *digits = buf + sizeof buf;
    do {
        *--digits = (char)('0' + best_d % 10);
        best_d /= 10;
    } while (best_d);
    int nd = (int)(buf + sizeof buf - digits);
    return o + lay_out(digits, nd, best_e + nd - 1, 9, out + o);
}

/* float64: a correct first version (strtod / printf with a round-trip
 * check); the grammar is ms_parse_f32's, so both precisions accept and
 * refuse exactly the same texts. */
ms_num_result ms_parse_f64(const char *s, size_t n, double *out)
{
    float f;
    ms_num_result r = ms_parse_f32(s, n, &f);
    if (r != MS_NUM_OK && r != MS_NUM_RANGE) {
        *out = (double)f;
        return r;
    }
    while (n && is_blank(*s)) {
        s++;
        n--;
    }
    while (n && is_blank(s[n - 1]))
        n--;
    char small[256];
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf) { /* out of memory: the float result, widened, is the best we have */
        *out = (double)f;
        return r;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    double d = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    *out = d;
    return isinf(d) ? MS_NUM_RANGE : MS_NUM_OK;
}

size_t ms_format_f64(double v, char *out)
{
    if (isnan(v))
        return 0;
    size_t o = 0;
    if (signbit(v)) {
        out[o++] = '-';
        v = -v;
    }
    if (isinf(v)) {
        memcpy(out + o, "inf", 3);
        return o + 3;
    }
    if (v == 0) {
        out[o++] = '0';
        return o;
    }
    char tmp[40];
    int p;
    for (p = 1; p < 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
    /* tmp = d[.ddd]e[+-]XX */
    char digits[20];
    int nd = 0;
    const char *q = tmp;
    for (; *q && *q != 'e'; q++)
        if (*q != '.')
            digits[nd++] = *q;
    int dexp = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    return o + lay_out(digits, nd, dexp, 16, out + o);
}
