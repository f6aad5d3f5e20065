/*
 * floatconv.c — CSV text <-> float32/float64 (floatconv.h): the parsers on
 * the ingest hot path and the shortest printers used by the output writer.
 *
 * Invariants: ms_parse_f32/ms_parse_f64 return bit for bit what strtof/strtod
 * return for the same (validated) text; ms_format_f32/ms_format_f64 write
 * the shortest decimal that reads back to v, the nearest to v among those
 * of that length (ties to an even last digit), as Python's repr does.
 *
 * Parsing (both precisions share the scanner): the first 19 significant
 * digits are gathered into w (8 at a time, SWAR), with a decimal exponent k
 * and a flag for nonzero digits dropped after them. Then, in order:
 *   - Clinger's fast path: w < 2^53, |k| <= 22, nothing dropped: w and 10^k
 *     are exact doubles, so one multiply/divide is the correctly rounded
 *     double. For float32, rounding that double again can differ from
 *     rounding the true value only when it is exactly a float midpoint,
 *     which is detected and sent on.
 *   - Eisel-Lemire: w * 10^k = (w 2^lz) * 5^k * 2^(k - lz) with 5^k a 128-bit
 *     truncated significand (floatconv_tables.h); the high bits of the
 *     128-bit product are the result's significand plus rounding bits. The
 *     product is short of the truth by less than one unit of its low word,
 *     so only when that word is all ones could a carry change the rounding
 *     (fast_float's original fallback condition; exact for -27 <= k <= 55).
 *     When digits were dropped, the true value lies between w and w + 1
 *     times 10^k: both are converted and must agree.
 *   - anything undecided goes to strtof/strtod on a canonical copy
 *     "DIGITSeEXP" on the stack: it keeps SLOW_DIGITS significant digits
 *     plus a sticky '1' for a nonzero tail. A float32 (float64) midpoint has
 *     at most 113 (767) significant digits, so no midpoint lies strictly
 *     between the truncated value and the sticky one, and both round like
 *     the full text. No heap, any field length, and no '.' so the C
 *     locale's decimal point cannot matter. Only texts within a hair of a
 *     midpoint (exact ties with digits dropped, long exact expansions, an
 *     all-ones low product word) get here.
 *
 * Printing is Schubfach (Giulietti 2020): with v = c 2^q, its rounding
 * interval is [c - 1/2, c + 1/2] 2^q (a quarter below at a binade's
 * bottom); k = floor(log10 of the interval's width) makes at most one
 * multiple of 10^(k+1) and at least one of 10^k fall in it. Scaling
 * 4c 2^q and the interval's ends by 10^-k with 128-bit (float32: 64-bit)
 * g ~ 10^-k 2^-r, rounded to odd, keeps every comparison with those
 * multiples exact, so: the multiple of 10^(k+1) when one is inside, else
 * the one of floor/ceil(v / 10^k) that is inside, else the nearer of the
 * two (ties to even). Integers below 2^53 (2^24) print as themselves.
 */
#include "mpiscore/floatconv.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floatconv_tables.h"

/* 10^k for |k| <= 22: exact doubles (Clinger's fast path). */
static const double exact_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Significant digits kept for the slow path; must exceed 113 (float32) and
 * 767 (float64) (see top). */
#define SLOW_DIGITS_F32 120
#define SLOW_DIGITS_F64 800
/* Exponents beyond this are clamped: with <= 801 digits the value is then
 * far outside double range either way. */
#define EXP_CLAMP 999999
#define EXP_SATURATE 1000000000000000ll /* 1e15 */

typedef enum { SCALE_OK, SCALE_RANGE, SCALE_UNSURE } scale_result;

/* ---- the scanner ---------------------------------------------------------- */

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
static ms_num_result invalid(const char *s, size_t n, double *out)
{
    *out = NAN;
    return is_na_word(s, n) ? MS_NUM_MISSING : MS_NUM_INVALID;
}

/* Fields with no digits: the words that mean missing or infinite. The
 * missing spellings are pandas' defaults (na_words) plus any-case nan
 * (strtof reads "nan" in any case, with a sign, and C writes "-nan"). */
static ms_num_result parse_word(const char *s, size_t n, double *out)
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

/* A validated decimal: value = (w + t) 10^k with 0 <= t < 1, t > 0 iff
 * tail (nonzero digits dropped after w's 19 significant ones); mant ..
 * mant_end is the mantissa text without its sign, e10 the explicit
 * exponent (saturated). */
typedef struct {
    uint64_t w;
    int64_t k;
    int tail, neg;
    const char *mant, *mant_end;
    int64_t e10;
} decimal;

/* The common CSV number, [+-]digits[.digits] with at most 19 digits in
 * all (leading zeros included, so w cannot overflow) and nothing else:
 * one pass, the fraction 8 digits at a time. Returns 0 for anything else,
 * which scan() then reads in full (a longer text was only read once more). */
static inline __attribute__((always_inline)) int scan_plain(const char *s, size_t n, decimal *d)
{
    const char *p = s, *end = s + n;
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    const char *m = p;
    uint64_t w = 0;
    for (; p < end && (unsigned)(*p - '0') < 10; p++)
        w = w * 10 + (uint64_t)(*p - '0');
    size_t digits = (size_t)(p - m), frac = 0;
    if (p < end && *p == '.') {
        const char *f = ++p;
        uint64_t v;
        if (end - p >= 8 && (memcpy(&v, p, 8), eight_digits(v))) {
            w = w * 100000000ull + eight_value(v);
            p += 8;
        }
        for (; p < end && (unsigned)(*p - '0') < 10; p++)
            w = w * 10 + (uint64_t)(*p - '0');
        frac = (size_t)(p - f);
    }
    if (p != end || digits + frac == 0 || digits + frac > 19)
        return 0;
    d->w = w;
    d->k = -(int64_t)frac;
    d->tail = 0;
    d->neg = neg;
    d->mant = m;
    d->mant_end = end;
    d->e10 = 0;
    return 1;
}

/* MS_NUM_OK when s[0..n) is a number (described in *d); otherwise the
 * field's class, with its value (NaN or a signed infinity) in *special. */
static inline __attribute__((always_inline)) ms_num_result scan(const char *s, size_t n, decimal *d,
                                                                double *special)
{
    if (n && (is_blank(s[0]) || is_blank(s[n - 1]))) {
        while (n > 0 && is_blank(*s)) {
            s++;
            n--;
        }
        while (n > 0 && is_blank(s[n - 1]))
            n--;
    }
    if (scan_plain(s, n, d))
        return MS_NUM_OK;
    const char *p = s, *end = s + n;
    d->w = 0; /* read by the callers only on MS_NUM_OK; this quiets -Wmaybe-uninitialized */
    d->neg = 0;
    if (p < end && (*p == '+' || *p == '-')) {
        d->neg = *p == '-';
        p++;
    }
    d->mant = p;
    uint64_t w = 0;
    int64_t k = 0; /* int64: a field of billions of digits must not overflow it */
    int digits, t, tail = 0, any;
    /* Leading zeros carry no information; w holds significant digits only,
     * so 19 of them always fit in 64 bits. */
    while (p < end && *p == '0')
        p++;
    any = p > d->mant;
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
        return parse_word(s, n, special);
    d->mant_end = p;
    int64_t e10 = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p == end || (unsigned)(*p - '0') >= 10)
            return invalid(s, n, special);
        /* Saturated far beyond any field length, so a huge exponent still
         * outweighs every digit count it is added to, and int64 is safe. */
        for (; p < end && (unsigned)(*p - '0') < 10; p++)
            if (e10 < EXP_SATURATE)
                e10 = e10 * 10 + (*p - '0');
        if (eneg)
            e10 = -e10;
        k += e10;
    }
    if (p != end)
        return invalid(s, n, special);
    d->w = w;
    d->k = k;
    d->tail = tail;
    d->e10 = e10;
    return MS_NUM_OK;
}

/* ---- the slow path -------------------------------------------------------- */

static size_t put_exp(char *o, int64_t e)
{
    if (e > EXP_CLAMP)
        e = EXP_CLAMP;
    if (e < -EXP_CLAMP)
        e = -EXP_CLAMP;
    return (size_t)sprintf(o, "e%d", (int)e);
}

/* The undecided case: strtof (f64 == 0) or strtod on the canonical copy of
 * d's mantissa (see top); *out receives the value, widened for float32. */
static scale_result parse_slow(const decimal *d, int f64, double *out)
{
    char buf[SLOW_DIGITS_F64 + 1 + 16];
    const size_t max_digits = f64 ? SLOW_DIGITS_F64 : SLOW_DIGITS_F32;
    size_t o = 0, kept = 0;
    int after_point = 0, sticky = 0;
    int64_t scale = d->e10; /* value = kept digits * 10^scale */
    for (const char *m = d->mant; m < d->mant_end; m++) {
        if (*m == '.') {
            after_point = 1;
        } else if (kept == 0 && *m == '0') {
            scale -= after_point;
        } else if (kept < max_digits) {
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
    int saved = errno;
    errno = 0;
    int range;
    if (f64) {
        *out = strtod(buf, NULL);
        range = errno == ERANGE && isinf(*out);
    } else {
        float f = strtof(buf, NULL);
        range = errno == ERANGE && isinf(f);
        *out = f;
    }
    errno = saved;
    return range ? SCALE_RANGE : SCALE_OK;
}

/* ---- Eisel-Lemire --------------------------------------------------------- */

/* An IEEE binary format: explicit significand bits, exponent bias - 1 (as
 * fast_float's minimum_exponent), the all-ones biased exponent, the decimal
 * exponents outside which w 10^q (w < 2^64) is surely 0 or infinite, and
 * those within which a product can be an exact tie (5^q < 2^64 and the
 * tie needs a low product word of 0 or 1). */
typedef struct {
    int mbits, min_exp, inf_exp, q_min, q_max, tie_q_min, tie_q_max;
} ieee_fmt;

static const ieee_fmt FMT_F32 = {23, -127, 0xFF, -64, 38, -17, 10};
static const ieee_fmt FMT_F64 = {52, -1023, 0x7FF, -342, 308, -4, 23};

/* w 10^q (w > 0) correctly rounded, as the IEEE bits without sign; -1 when
 * the 128-bit product cannot decide. Inlined with a constant format. */
static inline int64_t eisel_lemire(uint64_t w, int64_t q, const ieee_fmt *f)
{
    if (q < f->q_min)
        return 0;
    if (q > f->q_max)
        return (int64_t)f->inf_exp << f->mbits;
    int lz = __builtin_clzll(w);
    w <<= lz;
    const uint64_t *p5 = ms_pow5_128[q - MS_POW5_QMIN];
    unsigned __int128 prod = (unsigned __int128)w * p5[0];
    uint64_t hi = (uint64_t)(prod >> 64), lo = (uint64_t)prod;
    const uint64_t precision = UINT64_MAX >> (f->mbits + 3);
    if ((hi & precision) == precision) {
        /* the bits that decide the rounding may still take a carry from
         * the second word of 5^q */
        uint64_t second = (uint64_t)(((unsigned __int128)w * p5[1]) >> 64);
        lo += second;
        hi += lo < second;
    }
    if (lo == UINT64_MAX && (q < -27 || q > 55))
        return -1; /* the truncated tail could still carry into hi */
    int upper = (int)(hi >> 63);
    int shift = upper + 64 - f->mbits - 3;
    uint64_t mant = hi >> shift;
    /* floor(log2(10^q)) + 63 (for |q| < 350), the binary exponent */
    int32_t p2 = ((((152170 + 65536) * (int32_t)q) >> 16) + 63) + upper - lz - f->min_exp;
    if (p2 <= 0) { /* subnormal, or rounds up to the smallest normal */
        if (-p2 + 1 >= 64)
            return 0;
        mant >>= -p2 + 1;
        mant += mant & 1; /* no ties this far from q = 0 */
        mant >>= 1;
        /* mant == 2^mbits is the smallest normal: the OR below makes it so */
        return (int64_t)mant;
    }
    /* an exact tie: only zeros were shifted out and the product is exact */
    if (lo <= 1 && q >= f->tie_q_min && q <= f->tie_q_max && (mant & 3) == 1 &&
        (mant << shift) == hi)
        mant &= ~1ull; /* round to even: down */
    mant += mant & 1;
    mant >>= 1;
    if (mant >= (2ull << f->mbits)) {
        mant = 1ull << f->mbits;
        p2++;
    }
    mant &= ~(1ull << f->mbits);
    if (p2 >= f->inf_exp)
        return (int64_t)f->inf_exp << f->mbits;
    return ((int64_t)p2 << f->mbits) | (int64_t)mant;
}

/* d (w > 0) in format f by Eisel-Lemire, both ends when digits were
 * dropped; -1 when undecided. */
static inline int64_t eisel_lemire_decimal(const decimal *d, const ieee_fmt *f)
{
    int64_t bits = eisel_lemire(d->w, d->k, f);
    if (d->tail && bits >= 0 && eisel_lemire(d->w + 1, d->k, f) != bits)
        return -1;
    return bits;
}

/* ---- parsing -------------------------------------------------------------- */

/* Clinger's exact case of a plain decimal: w < 2^53 and 10^-k exact, so
 * one division is the correctly rounded double (k <= 0: |x| < 2^53). */
static inline int plain_double(const char *s, size_t n, double *out)
{
    decimal d;
    if (!scan_plain(s, n, &d) || d.w >= (1ull << 53) || d.k < -22)
        return 0;
    double x = (double)d.w / exact_pow10[-d.k];
    *out = d.neg ? -x : x;
    return 1;
}

int ms_parse_plain_f64(const char *s, size_t n, double *out)
{
    return plain_double(s, n, out);
}

int ms_parse_plain_f64_to_f32(const char *s, size_t n, float *out)
{
    double x;
    if (!plain_double(s, n, &x))
        return 0;
    *out = (float)x;
    return 1;
}

ms_num_result ms_parse_f32(const char *s, size_t n, float *out)
{
    decimal d;
    double special;
    ms_num_result r = scan(s, n, &d, &special);
    if (r != MS_NUM_OK) {
        *out = (float)special;
        return r;
    }
    if (d.w == 0) {
        *out = d.neg ? -0.0f : 0.0f;
        return MS_NUM_OK;
    }
    float f;
    if (!d.tail && d.w < (1ull << 53) && d.k >= -22 && d.k <= 22) {
        double x = d.k >= 0 ? (double)d.w * exact_pow10[d.k] : (double)d.w / exact_pow10[-d.k];
        uint64_t bits;
        memcpy(&bits, &x, sizeof bits);
        /* x >= 1e-22 is a normal float: the 29 low bits are what float
         * rounding drops; exactly half is a float midpoint */
        if ((bits & 0x1FFFFFFFull) != 0x10000000ull) {
            f = (float)x;
            if (isinf(f))
                goto range;
            *out = d.neg ? -f : f;
            return MS_NUM_OK;
        }
    }
    int64_t bits = eisel_lemire_decimal(&d, &FMT_F32);
    if (bits >= 0) {
        if (bits == 0x7F800000)
            goto range;
        uint32_t b = (uint32_t)bits | (d.neg ? 0x80000000u : 0);
        memcpy(out, &b, sizeof b);
        return MS_NUM_OK;
    }
    double x;
    if (parse_slow(&d, 0, &x) == SCALE_RANGE)
        goto range;
    f = (float)x;
    *out = d.neg ? -f : f;
    return MS_NUM_OK;
range:
    *out = d.neg ? -INFINITY : INFINITY;
    return MS_NUM_RANGE;
}

ms_num_result ms_parse_f64(const char *s, size_t n, double *out)
{
    decimal d;
    ms_num_result r = scan(s, n, &d, out);
    if (r != MS_NUM_OK)
        return r;
    if (d.w == 0) {
        *out = d.neg ? -0.0 : 0.0;
        return MS_NUM_OK;
    }
    double x;
    if (!d.tail && d.w <= (1ull << 53) && d.k >= -22 && d.k <= 22) {
        x = d.k >= 0 ? (double)d.w * exact_pow10[d.k] : (double)d.w / exact_pow10[-d.k];
        if (isinf(x))
            goto range;
        *out = d.neg ? -x : x;
        return MS_NUM_OK;
    }
    int64_t bits = eisel_lemire_decimal(&d, &FMT_F64);
    if (bits >= 0) {
        if (bits == 0x7FF0000000000000ll)
            goto range;
        uint64_t b = (uint64_t)bits | (d.neg ? 0x8000000000000000ull : 0);
        memcpy(out, &b, sizeof b);
        return MS_NUM_OK;
    }
    if (parse_slow(&d, 1, &x) == SCALE_RANGE)
        goto range;
    *out = d.neg ? -x : x;
    return MS_NUM_OK;
range:
    *out = d.neg ? -INFINITY : INFINITY;
    return MS_NUM_RANGE;
}

/* ---- printing: Schubfach ---------------------------------------------------- */

/* A decimal digits 10^exp. */
typedef struct {
    uint64_t digits;
    int exp;
} shortest;

/* floor(g cp / 2^128) for a 128-bit g, made odd when the rest is above 1:
 * Schubfach's round-to-odd of cp 2^q 10^-k (the rest is 0 or 1 only when
 * the product is exact or g's overestimate made it so). */
static inline uint64_t round_to_odd64(const uint64_t g[2], uint64_t cp)
{
    unsigned __int128 x = (unsigned __int128)g[1] * cp, y = (unsigned __int128)g[0] * cp;
    uint64_t x1 = (uint64_t)(x >> 64), y0 = (uint64_t)y, y1 = (uint64_t)(y >> 64);
    uint64_t z = y0 + x1;
    y1 += z < x1;
    return y1 | (z > 1);
}

/* The same with a 64-bit g and a 32-bit result (float32). */
static inline uint32_t round_to_odd32(uint64_t g, uint32_t cp)
{
    unsigned __int128 p = (unsigned __int128)g * cp;
    return (uint32_t)(uint64_t)(p >> 64) | ((uint32_t)((uint64_t)p >> 32) > 1);
}

/* floor(log10(2^q)), or of 3/4 2^q at a binade's bottom (|q| <= 1500);
 * floor(log2(10^e)) (|e| <= 1233). */
static inline int32_t floor_log10_pow2(int32_t q, int closer)
{
    return (q * 1262611 - (closer ? 524031 : 0)) >> 22;
}

static inline int32_t floor_log2_pow10(int32_t e)
{
    return (e * 1741647) >> 19;
}

/* The shortest, nearest decimal of a positive finite float32 (bits). */
static inline __attribute__((always_inline)) shortest schubfach32(uint32_t bits)
{
    uint32_t m = bits & 0x7FFFFFu, be = bits >> 23, c;
    int32_t q;
    if (be) {
        c = m | 0x800000u;
        q = (int32_t)be - 150;
        if (q <= 0 && q > -24 && (c & ((1u << -q) - 1)) == 0)
            return (shortest){c >> -q, 0}; /* an integer: itself */
    } else {
        c = m;
        q = -149;
    }
    int even = !(c & 1), closer = m == 0 && be > 1;
    uint32_t cb = 4 * c, cbl = cb - 2 + (uint32_t)closer, cbr = cb + 2;
    int32_t k = floor_log10_pow2(q, closer);
    int32_t h = q + floor_log2_pow10(-k) + 1; /* 1..4 */
    const uint64_t *g128 = ms_pow10_g[-k - MS_POW10_EMIN];
    uint64_t g = g128[0] + (g128[1] != 0); /* ceil of the top 64 bits */
    uint32_t vbl = round_to_odd32(g, cbl << h), vb = round_to_odd32(g, cb << h),
             vbr = round_to_odd32(g, cbr << h);
    uint32_t lower = vbl + !even, upper = vbr - !even, s = vb / 4;
    /* every case computed and selected without branches: for random
     * values each test is a coin flip, and a mispredicted branch costs
     * more than the arithmetic */
    uint32_t sp = s / 10;
    int up_in = lower <= 40 * sp, wp_in = 40 * sp + 40 <= upper;
    int u_in = lower <= 4 * s, w_in = 4 * s + 4 <= upper;
    uint32_t mid = 4 * s + 2;
    int round_up = vb > mid || (vb == mid && (s & 1));
    uint32_t at_k = s + (uint32_t)(u_in != w_in ? w_in : round_up);
    int coarser = s >= 10 && up_in != wp_in; /* a multiple of 10^(k+1) is inside */
    return (shortest){coarser ? sp + (uint32_t)wp_in : at_k, k + coarser};
}

/* The same for a positive finite float64. */
static inline __attribute__((always_inline)) shortest schubfach64(uint64_t bits)
{
    uint64_t m = bits & 0xFFFFFFFFFFFFFull, c;
    uint32_t be = (uint32_t)(bits >> 52);
    int32_t q;
    if (be) {
        c = m | (1ull << 52);
        q = (int32_t)be - 1075;
        if (q <= 0 && q > -53 && (c & ((1ull << -q) - 1)) == 0)
            return (shortest){c >> -q, 0};
    } else {
        c = m;
        q = -1074;
    }
    int even = !(c & 1), closer = m == 0 && be > 1;
    uint64_t cb = 4 * c, cbl = cb - 2 + (uint64_t)closer, cbr = cb + 2;
    int32_t k = floor_log10_pow2(q, closer);
    int32_t h = q + floor_log2_pow10(-k) + 1;
    const uint64_t *g = ms_pow10_g[-k - MS_POW10_EMIN];
    uint64_t vbl = round_to_odd64(g, cbl << h), vb = round_to_odd64(g, cb << h),
             vbr = round_to_odd64(g, cbr << h);
    uint64_t lower = vbl + !even, upper = vbr - !even, s = vb / 4;
    /* every case computed and selected without branches: for random
     * values each test is a coin flip, and a mispredicted branch costs
     * more than the arithmetic */
    uint64_t sp = s / 10;
    int up_in = lower <= 40 * sp, wp_in = 40 * sp + 40 <= upper;
    int u_in = lower <= 4 * s, w_in = 4 * s + 4 <= upper;
    uint64_t mid = 4 * s + 2;
    int round_up = vb > mid || (vb == mid && (s & 1));
    uint64_t at_k = s + (uint64_t)(u_in != w_in ? w_in : round_up);
    int coarser = s >= 10 && up_in != wp_in; /* a multiple of 10^(k+1) is inside */
    return (shortest){coarser ? sp + (uint64_t)wp_in : at_k, k + coarser};
}

static const char two_digits[201] =
    "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546"
    "4748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293"
    "949596979899";

/* v < 10^8 as 8 ASCII digits, the first in the low byte (so a
 * little-endian store writes them in order): two 4-digit halves split into
 * 2-digit and then 1-digit lanes by multiply-shift reciprocals, with no
 * table and no chain of divisions (the SWAR method of Lemire and others).
 * Exact: x * 10486 >> 20 = x / 100 for x < 43699, x * 103 >> 10 = x / 10
 * for x < 179, and no lane's product reaches the next lane. */
static inline uint64_t ascii8(uint32_t v)
{
    uint64_t merged = (uint64_t)(v / 10000) | ((uint64_t)(v % 10000) << 32);
    uint64_t hundreds = ((merged * 10486) >> 20) & 0x0000007F0000007Full;
    uint64_t pairs = hundreds | ((merged - hundreds * 100) << 16);
    uint64_t tens = ((pairs * 103) >> 10) & 0x000F000F000F000Full;
    return (tens | ((pairs - tens * 10) << 8)) + 0x3030303030303030ull;
}

/* The nd digits of v (exactly nd of them, nd <= 17) at p[0..nd), written
 * straight into the output: building them in a scratch buffer and copying
 * that with wide loads stalls on store forwarding. */
static inline void put_digits(char *p, uint64_t v, int nd)
{
    if (nd >= 8) { /* the low 8 (and next 8) digits, split off v directly */
        uint64_t q = v / 100000000;
        uint64_t w = ascii8((uint32_t)(v - q * 100000000));
        memcpy(p + nd - 8, &w, 8);
        if (nd >= 16) {
            uint64_t q2 = v / 10000000000000000ull;
            w = ascii8((uint32_t)(q - q2 * 100000000));
            memcpy(p + nd - 16, &w, 8);
            q = q2;
            nd -= 16;
        } else {
            nd -= 8;
        }
        v = q;
    }
    if (nd) { /* v < 10^nd: drop the 8 - nd leading zeros, store nd bytes */
        uint64_t w = ascii8((uint32_t)v) >> (8 * (8 - nd));
        if (nd & 4) {
            uint32_t t = (uint32_t)w;
            memcpy(p, &t, 4);
            p += 4;
            w >>= 32;
        }
        if (nd & 2) {
            uint16_t t = (uint16_t)w;
            memcpy(p, &t, 2);
            p += 2;
            w >>= 16;
        }
        if (nd & 1)
            *p = (char)w;
    }
}

static const uint64_t pow10_u64[18] = {1ull,
                                       10ull,
                                       100ull,
                                       1000ull,
                                       10000ull,
                                       100000ull,
                                       1000000ull,
                                       10000000ull,
                                       100000000ull,
                                       1000000000ull,
                                       10000000000ull,
                                       100000000000ull,
                                       1000000000000ull,
                                       10000000000000ull,
                                       100000000000000ull,
                                       1000000000000000ull,
                                       10000000000000000ull,
                                       100000000000000000ull};

/* Number of decimal digits of 0 < v < 10^17. */
static inline int count_digits(uint64_t v)
{
    int t = ((64 - __builtin_clzll(v)) * 1233) >> 12; /* ~ log10(2^bits) */
    return t + (v >= pow10_u64[t]);
}

/* d (digits > 0, at most 17 of them) as text: trailing zeros dropped, then
 * plain notation when the first digit's decimal exponent is in [-4,
 * plain_hi), otherwise scientific with at least two exponent digits, as
 * Python's repr does. Writes exactly the returned length. */
static inline __attribute__((always_inline)) size_t emit(shortest d, int plain_hi, char *out)
{
    uint64_t v = d.digits;
    int e = d.exp;
    while (v % 10 == 0) { /* integers, and Schubfach's 10^(k+1) case */
        v /= 10;
        e++;
    }
    int nd = count_digits(v), dexp = e + nd - 1;
    if (dexp >= -4 && dexp < plain_hi) {
        if (dexp < 0) { /* 0.000ddd */
            size_t o = 2;
            out[0] = '0';
            out[1] = '.';
            for (int i = -1; i > dexp; i--)
                out[o++] = '0';
            put_digits(out + o, v, nd);
            return o + (size_t)nd;
        }
        if (nd <= dexp + 1) { /* ddd000 */
            put_digits(out, v, nd);
            for (int i = nd; i <= dexp; i++)
                out[i] = '0';
            return (size_t)dexp + 1;
        }
        /* ddd.ddd: the digits one place right, then the integer part moved
         * back over the gap (byte moves: each load sits inside one store) */
        put_digits(out + 1, v, nd);
        for (int i = 0; i <= dexp; i++)
            out[i] = out[i + 1];
        out[dexp + 1] = '.';
        return (size_t)nd + 1;
    }
    size_t o;
    if (nd > 1) { /* d.ddd */
        put_digits(out + 1, v, nd);
        out[0] = out[1];
        out[1] = '.';
        o = (size_t)nd + 1;
    } else {
        out[0] = (char)('0' + v);
        o = 1;
    }
    out[o++] = 'e';
    out[o++] = dexp < 0 ? '-' : '+';
    int ae = dexp < 0 ? -dexp : dexp;
    if (ae >= 100) {
        out[o++] = (char)('0' + ae / 100);
        ae %= 100;
    }
    memcpy(out + o, two_digits + 2 * ae, 2);
    return o + 2;
}

size_t ms_format_f32(float v, char *out)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x7FFFFFu))
        return 0; /* NaN: an empty field */
    size_t o = 0;
    if (bits >> 31)
        out[o++] = '-';
    bits &= 0x7FFFFFFFu;
    if (bits == 0x7F800000u) {
        memcpy(out + o, "inf", 3);
        return o + 3;
    }
    if (bits == 0) {
        out[o++] = '0';
        return o;
    }
    return o + emit(schubfach32(bits), 9, out + o);
}

size_t ms_format_f64(double v, char *out)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    const uint64_t exp_mask = 0x7FF0000000000000ull;
    if ((bits & exp_mask) == exp_mask && (bits & ~exp_mask & ~(1ull << 63)))
        return 0;
    size_t o = 0;
    if (bits >> 63)
        out[o++] = '-';
    bits &= ~(1ull << 63);
    if (bits == exp_mask) {
        memcpy(out + o, "inf", 3);
        return o + 3;
    }
    if (bits == 0) {
        out[o++] = '0';
        return o;
    }
    return o + emit(schubfach64(bits), 16, out + o);
}
