/*
 * test_floatconv.c — ms_parse_f32 / ms_parse_f64 against glibc strtof /
 * strtod (bit for bit, and the overflow class) on millions of random strings
 * of many shapes, every special class, and ms_format_f32 / ms_format_f64 on
 * millions of random bit patterns: reads back, nothing one digit shorter
 * reads back, nearest among its length (float32: judged on the exact decimal
 * expansion glibc prints; float64: against the first version's printf +
 * strtod search, kept here as the reference), layout rules. Prints ns per
 * field and value (information only).
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "mpiscore/floatconv.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd64(void)
{
    /* splitmix64: every bit usable, so float bit patterns are uniform */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rnd(uint32_t n)
{
    return (uint32_t)(rnd64() % n);
}

static float bits_to_float(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static double bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint32_t float_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* CPU time of this thread: on a shared machine wall time mostly measures
 * the neighbours. */
static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- parser vs strtof ---------------------------------------------------- */

static long parse_checked, parse_bad, parse64_bad, plain_hits, plain_bad;

static uint64_t double_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* s is NUL-terminated and has the grammar, so strtof and strtod read all
 * of it: ms_parse_f32 must equal strtof and ms_parse_f64 strtod. */
static void expect_like_strtof(const char *s, size_t n)
{
    errno = 0;
    char *end;
    float want = strtof(s, &end);
    int overflow = errno == ERANGE && isinf(want);
    float got = 0;
    ms_num_result r = ms_parse_f32(s, n, &got);
    int ok, full = (size_t)(end - s) == n || (n && (s[n - 1] == ' ' || s[n - 1] == '\t'));
    if (!full)
        ok = 0; /* the generator made something strtof does not read fully */
    else if (overflow)
        ok = r == MS_NUM_RANGE && got == want;
    else
        ok = r == MS_NUM_OK && float_bits(got) == float_bits(want);
    parse_checked++;
    if (!ok && parse_bad++ < 10)
        fprintf(stderr, "parse \"%.200s\"%s: got %a (class %d), strtof %a\n", s,
                n > 200 ? "..." : "", (double)got, (int)r, (double)want);

    errno = 0;
    double want64 = strtod(s, NULL);
    overflow = errno == ERANGE && isinf(want64);
    double got64 = 0;
    r = ms_parse_f64(s, n, &got64);
    if (!full)
        ok = 0;
    else if (overflow)
        ok = r == MS_NUM_RANGE && got64 == want64;
    else
        ok = r == MS_NUM_OK && double_bits(got64) == double_bits(want64);
    if (!ok && parse64_bad++ < 10)
        fprintf(stderr, "parse64 \"%.200s\"%s: got %a (class %d), strtod %a\n", s,
                n > 200 ? "..." : "", got64, (int)r, want64);

    /* the plain-decimal shortcut: when it answers, it is strtod's double
     * and (float) of it (what pandas + a float32 library read) */
    double p64;
    float p32;
    if (ms_parse_plain_f64(s, n, &p64)) {
        plain_hits++;
        ok = full && !overflow && double_bits(p64) == double_bits(want64) &&
             ms_parse_plain_f64_to_f32(s, n, &p32) && float_bits(p32) == float_bits((float)want64);
        if (!ok && plain_bad++ < 10)
            fprintf(stderr, "plain \"%.200s\": got %a / %a, strtod %a\n", s, p64, (double)p32,
                    want64);
    } else {
        ok = !ms_parse_plain_f64_to_f32(s, n, &p32);
        if (!ok && plain_bad++ < 10)
            fprintf(stderr, "plain \"%.200s\": the float32 twin answered alone\n", s);
    }
}

/* A random decimal of the accepted grammar. */
static size_t random_decimal(char *s)
{
    size_t p = 0;
    if (rnd(8) == 0)
        s[p++] = rnd(2) ? ' ' : '\t';
    if (rnd(3) == 0)
        s[p++] = rnd(2) ? '-' : '+';
    int zeros = rnd(6) == 0 ? (int)rnd(25) : 0;
    int nd = 1 + (int)rnd(rnd(4) == 0 ? 25 : 9);
    int dot = (int)rnd((uint32_t)(zeros + nd + 3)) - 1; /* -1: no point */
    for (int j = 0; j < zeros + nd; j++) {
        if (j == dot)
            s[p++] = '.';
        s[p++] = (char)('0' + (j < zeros ? 0 : rnd(10)));
    }
    if (dot == zeros + nd)
        s[p++] = '.';
    if (rnd(2)) {
        int e;
        switch (rnd(6)) {
        case 0:
            e = (int)rnd(21) - 10;
            break;
        case 1:
            e = (int)rnd(111) - 65; /* float range incl. subnormals */
            break;
        case 2:
            e = (rnd(2) ? 1 : -1) * (36 + (int)rnd(20)); /* near the ends */
            break;
        case 3:
            e = (int)rnd(200001) - 100000; /* extreme */
            break;
        default:
            e = (int)rnd(61) - 30;
            break;
        }
        s[p++] = rnd(2) ? 'e' : 'E';
        if (e < 0 || rnd(3) == 0)
            s[p++] = e < 0 ? '-' : '+';
        if (rnd(10) == 0)
            for (int z = (int)rnd(30); z > 0; z--)
                s[p++] = '0';
        p += (size_t)sprintf(s + p, "%d", e < 0 ? -e : e);
    }
    if (rnd(8) == 0)
        s[p++] = rnd(2) ? ' ' : '\t';
    s[p] = '\0';
    return p;
}

/* Exact decimal of a double (glibc prints every digit), trailing zeros of
 * the mantissa removed: "D.DDDDe+XX". */
static size_t exact_decimal(double d, char *s)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%.130e", d);
    char *e = strchr(tmp, 'e');
    char *m = e;
    while (m[-1] == '0')
        m--;
    if (m[-1] == '.')
        m--;
    size_t n = (size_t)(m - tmp);
    memcpy(s, tmp, n);
    strcpy(s + n, e);
    return strlen(s);
}

/* s holds a midpoint's exact decimal "D.DDDe+XX" (after an optional sign):
 * leave it, or move it a hair: a far nonzero digit after far_min +
 * rnd(far_span) zeros (the sticky digit), the last digit lowered, a cut to
 * keep_min + rnd(keep_span) characters (near, not on), or trailing zeros. */
static size_t near_midpoint(char *s, int far_min, uint32_t far_span, size_t keep_min,
                            uint32_t keep_span, uint32_t pad_max)
{
    char *e = strchr(s, 'e');
    char exp[16];
    strcpy(exp, e);
    size_t mant = (size_t)(e - s);
    if (!strchr(s, '.')) /* "5e-45": give it a point so digits can follow */
        s[mant++] = '.';
    switch (rnd(5)) {
    case 0: /* exact */
        break;
    case 1: /* just above: a far nonzero digit (tests the sticky digit) */
        for (int z = far_min + (int)rnd(far_span); z > 0; z--)
            s[mant++] = '0';
        s[mant++] = '1';
        break;
    case 2: /* just below: last digit lowered */
        if (s[mant - 1] >= '1' && s[mant - 1] <= '9')
            s[mant - 1]--;
        break;
    case 3: { /* cut short: near, not on */
        size_t keep = keep_min + rnd(keep_span);
        if (keep < mant)
            mant = keep;
        break;
    }
    default: /* exact, padded with trailing zeros */
        for (int z = (int)rnd(pad_max); z > 0; z--)
            s[mant++] = '0';
        break;
    }
    strcpy(s + mant, exp);
    return strlen(s);
}

/* Float midpoints and their near neighbours: where double rounding, the
 * 120-digit cut and the sticky digit are all tested. */
static size_t random_midpoint(char *s)
{
    uint32_t b;
    switch (rnd(4)) {
    case 0:
        b = rnd(0x00800000u) + rnd(2) * 0x00800000u; /* subnormal / first binade */
        break;
    case 1:
        b = 0x7F7FFFFFu - rnd(1000); /* near FLT_MAX (FLT_MAX's is the overflow edge) */
        break;
    default:
        b = (uint32_t)rnd(0x7F800000u);
        break;
    }
    double a = (double)bits_to_float(b);
    double c =
        b == 0x7F7FFFFFu ? (double)FLT_MAX + 0x1p103 : (double)nextafterf((float)a, INFINITY);
    double mid = (a + c) / 2; /* exact: 25 significant bits */
    char *m = s;
    if (rnd(4) == 0)
        *m++ = '-';
    if (rnd(6) == 0) /* what printf makes of it: 17 digits sit within 1e-17 */
        return (size_t)(m - s) + (size_t)sprintf(m, rnd(2) ? "%.17g" : "%.16e", mid);
    exact_decimal(mid, m);
    return near_midpoint(s, 100, 200, 10, 52, 200);
}

/* Text other programs write for a random float or double. */
static size_t random_printed(char *s)
{
    static const char *fmts[] = {"%.9g", "%.17g", "%.18e", "%.8e", "%.6f", "%g", "%.12g"};
    double d;
    if (rnd(2))
        d = (double)bits_to_float((uint32_t)rnd(0x7F800000u));
    else
        d = ldexp((double)rnd64() / 0x1p64, (int)rnd(300) - 160);
    if (rnd(2))
        d = -d;
    return (size_t)snprintf(s, 400, fmts[rnd(7)], d);
}

/* Many digits: the 19-digit cut, the dropped tail, the slow path. */
static size_t random_long(char *s)
{
    size_t p = 0;
    int nd = 20 + (int)rnd(300);
    int dot = (int)rnd((uint32_t)nd + 1);
    for (int j = 0; j < nd; j++) {
        if (j == dot)
            s[p++] = '.';
        s[p++] = (char)('0' + (j == 0 ? 1 + rnd(9) : rnd(4) == 0 ? 0 : rnd(10)));
    }
    if (rnd(2))
        p += (size_t)sprintf(s + p, "e%d", (int)rnd(700) - 400);
    s[p] = '\0';
    return p;
}

/* Exact decimal of a long double (every digit; a float64 midpoint has at
 * most 767 significant ones), trailing zeros of the mantissa removed. */
static size_t exact_decimal_ld(long double d, char *s)
{
    static char tmp[1024];
    snprintf(tmp, sizeof tmp, "%.800Le", d);
    char *e = strchr(tmp, 'e');
    char *m = e;
    while (m[-1] == '0')
        m--;
    if (m[-1] == '.')
        m--;
    size_t n = (size_t)(m - tmp);
    memcpy(s, tmp, n);
    strcpy(s + n, e);
    return strlen(s);
}

/* float64 midpoints and their near neighbours, from long double (x86's
 * 64-bit significand holds the 54 bits a midpoint needs): the 800-digit cut
 * and its sticky digit, the ties Eisel-Lemire must leave undecided. */
static size_t random_midpoint64(char *s)
{
    uint64_t b;
    switch (rnd(4)) {
    case 0:
        b = rnd64() & ((1ull << 53) - 1); /* subnormal / first binade */
        break;
    case 1:
        b = 0x7FEFFFFFFFFFFFFFull - rnd(1000); /* near DBL_MAX; its midpoint overflows */
        break;
    default:
        b = rnd64() % 0x7FF0000000000000ull;
        break;
    }
    double a = bits_to_double(b);
    long double c = b == 0x7FEFFFFFFFFFFFFFull ? (long double)DBL_MAX + 0x1p971L
                                               : (long double)nextafter(a, INFINITY);
    long double mid = ((long double)a + c) / 2; /* exact */
    char *m = s;
    if (rnd(4) == 0)
        *m++ = '-';
    if (rnd(6) == 0)
        return (size_t)(m - s) + (size_t)sprintf(m, rnd(2) ? "%.17Lg" : "%.25Le", mid);
    exact_decimal_ld(mid, m);
    /* the sticky digit often past the 800-digit cut; cuts to 17..800 digits */
    return near_midpoint(s, 20, 900, 18, 784, 900);
}

/* Many digits for float64: past 19, and past the 800 the slow path keeps. */
static size_t random_long64(char *s)
{
    size_t p = 0;
    int nd = 20 + (int)rnd(rnd(3) == 0 ? 1200 : 60);
    int dot = (int)rnd((uint32_t)nd + 1);
    for (int j = 0; j < nd; j++) {
        if (j == dot)
            s[p++] = '.';
        s[p++] = (char)('0' + (j == 0 ? 1 + rnd(9) : rnd(4) == 0 ? 0 : rnd(10)));
    }
    if (rnd(4))
        p += (size_t)sprintf(s + p, "e%d", (int)rnd(1300) - 650);
    s[p] = '\0';
    return p;
}

static void parse_vs_strtof(void)
{
    static char s[4096];
    const long n = 3200000;
    for (long i = 0; i < n; i++) {
        size_t len;
        switch (i % 10) {
        case 0:
        case 1:
            len = random_midpoint(s);
            break;
        case 2:
        case 3:
            len = random_printed(s);
            break;
        case 4:
            len = random_long(s);
            break;
        default:
            len = random_decimal(s);
            break;
        }
        expect_like_strtof(s, len);
    }
    /* every float's shortest "%.9g" and the exact decimals of the ends */
    static const float edges[] = {FLT_MIN, FLT_MAX, FLT_TRUE_MIN, 0x1.fffffcp-127f, 1.0f, 0.1f};
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        size_t len = exact_decimal((double)edges[i], s);
        expect_like_strtof(s, len);
        len = (size_t)sprintf(s, "%.9g", (double)edges[i]);
        expect_like_strtof(s, len);
    }
    /* float64's own shapes (the loop above compares with strtod too) */
    const long n64 = 800000;
    for (long i = 0; i < n64; i++) {
        size_t len;
        switch (i % 4) {
        case 0:
        case 1:
            len = random_midpoint64(s);
            break;
        case 2:
            len = random_long64(s);
            break;
        default:
            len = random_printed(s);
            break;
        }
        expect_like_strtof(s, len);
    }
    static const double edges64[] = {DBL_MIN, DBL_MAX, DBL_TRUE_MIN,       0x1.ffffffffffffep-1023,
                                     1.0,     0.1,     9007199254740993.0, 1e23};
    for (size_t i = 0; i < sizeof edges64 / sizeof *edges64; i++) {
        size_t len = exact_decimal_ld((long double)edges64[i], s);
        expect_like_strtof(s, len);
        len = (size_t)sprintf(s, "%.17g", edges64[i]);
        expect_like_strtof(s, len);
    }
    static const char *texts64[] = {
        "9007199254740993", /* 2^53 + 1: a tie, to even */
        "9007199254740995",
        "1e23",
        "8.98846567431158e307",
        "2.2250738585072011e-308",
        "2.2250738585072012e-308",
        "4.9406564584124654e-324",
        "2.4703282292062327e-324",
        "2.4703282292062328e-324",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "0.000000000000000000000000000000000000000000000000000000000000001",
        "123456789012345678901234567890e-30",
        "7.2057594037927933e16",
        "1448997445238699",
        "2.2250738585072014e-308"};
    for (size_t i = 0; i < sizeof texts64 / sizeof *texts64; i++) {
        strcpy(s, texts64[i]);
        expect_like_strtof(s, strlen(s));
    }
    CHECK_MSG(parse_bad == 0, "%ld of %ld strings differ from strtof", parse_bad, parse_checked);
    CHECK_MSG(parse64_bad == 0, "%ld of %ld strings differ from strtod", parse64_bad,
              parse_checked);
    for (const char *const *t = (const char *const[]){"0.406415015", "-2.14164758", "+7", "12.",
                                                      ".5", "-0.0", "9007199254740991", NULL};
         *t; t++) {
        strcpy(s, *t);
        long before = plain_hits;
        expect_like_strtof(s, strlen(s));
        CHECK_MSG(plain_hits == before + 1, "\"%s\" missed the plain-decimal shortcut", *t);
    }
    for (const char *const *t =
             (const char *const[]){"1e5", " 1.5", "1.5 ", "9007199254740992",
                                   "0.12345678901234567890", "1.2.3", ".", "-", "", "nan", NULL};
         *t; t++) {
        double d;
        float f;
        CHECK_MSG(!ms_parse_plain_f64(*t, strlen(*t), &d) &&
                      !ms_parse_plain_f64_to_f32(*t, strlen(*t), &f),
                  "\"%s\" took the plain-decimal shortcut", *t);
    }
    CHECK_MSG(plain_bad == 0 && plain_hits > 1000, "plain-decimal shortcut: %ld wrong of %ld",
              plain_bad, plain_hits);
}

/* ---- classes ------------------------------------------------------------- */

static void classes(void)
{
    static const struct {
        const char *s;
        ms_num_result r;
    } cases[] = {
        {"", MS_NUM_MISSING},
        {"  ", MS_NUM_MISSING},
        {" \t ", MS_NUM_MISSING},
        {"nan", MS_NUM_MISSING},
        {"NaN", MS_NUM_MISSING},
        {"NAN", MS_NUM_MISSING},
        {" NaN\t", MS_NUM_MISSING},
        {"-nan", MS_NUM_MISSING},
        {"NA", MS_NUM_MISSING},
        {"NULL", MS_NUM_MISSING},
        {"null", MS_NUM_MISSING},
        /* the rest of pandas' default NA spellings */
        {"N/A", MS_NUM_MISSING},
        {"n/a", MS_NUM_MISSING},
        {"#N/A", MS_NUM_MISSING},
        {" #N/A N/A ", MS_NUM_MISSING},
        {"#NA", MS_NUM_MISSING},
        {"<NA>", MS_NUM_MISSING},
        {"None", MS_NUM_MISSING},
        {"-1.#IND", MS_NUM_MISSING},
        {"1.#IND", MS_NUM_MISSING},
        {"1.#QNAN", MS_NUM_MISSING},
        {"-1.#QNAN", MS_NUM_MISSING},
        {"none", MS_NUM_INVALID}, /* pandas is case-sensitive here */
        {"N/a", MS_NUM_INVALID},
        {"1.#INDX", MS_NUM_INVALID},
        {"+1.#IND", MS_NUM_INVALID},
        {"inf", MS_NUM_INFINITE},
        {"-inf", MS_NUM_INFINITE},
        {"+INF", MS_NUM_INFINITE},
        {"Infinity", MS_NUM_INFINITE},
        {"-Infinity", MS_NUM_INFINITE},
        {"  -iNfInItY ", MS_NUM_INFINITE},
        {"1e999", MS_NUM_RANGE},
        {"3.5e38", MS_NUM_RANGE},
        {"3.4028236e38", MS_NUM_RANGE},
        {"-1e99999", MS_NUM_RANGE},
        {"1e99999", MS_NUM_RANGE},
        {"1e99999999999999999999999999", MS_NUM_RANGE},
        {"abc", MS_NUM_INVALID},
        {"1.2.3", MS_NUM_INVALID},
        {"1..2", MS_NUM_INVALID},
        {"1e", MS_NUM_INVALID},
        {"1e+", MS_NUM_INVALID},
        {"1e-", MS_NUM_INVALID},
        {"1E", MS_NUM_INVALID},
        {"e5", MS_NUM_INVALID},
        {".e5", MS_NUM_INVALID},
        {"1e5.5", MS_NUM_INVALID},
        {"1e5x", MS_NUM_INVALID},
        {"1e5 x", MS_NUM_INVALID},
        {".", MS_NUM_INVALID},
        {"-.", MS_NUM_INVALID},
        {"+", MS_NUM_INVALID},
        {"-", MS_NUM_INVALID},
        {"+-1", MS_NUM_INVALID},
        {"--1", MS_NUM_INVALID},
        {"0x10", MS_NUM_INVALID},
        {"1,5", MS_NUM_INVALID},
        {"1 2", MS_NUM_INVALID},
        {"1d5", MS_NUM_INVALID},
        {"na", MS_NUM_INVALID},
        {"Null", MS_NUM_INVALID},
        {"infin", MS_NUM_INVALID},
        {"nan1", MS_NUM_INVALID},
        {"\n1", MS_NUM_INVALID},
        {"1\r", MS_NUM_INVALID},
        {"\xd9\xa1", MS_NUM_INVALID},
        {" 1.5 ", MS_NUM_OK},
        {"\t-2\t", MS_NUM_OK},
        {".5", MS_NUM_OK},
        {"5.", MS_NUM_OK},
        {"+.5e1", MS_NUM_OK},
        {"1e-99999", MS_NUM_OK},
        {"1e-99999999999999999999999", MS_NUM_OK},
        {"0e99999", MS_NUM_OK},
        {"0e99999999999999999999999", MS_NUM_OK},
        {"1e-45", MS_NUM_OK},
        {"1e-46", MS_NUM_OK},
        {"3.4028235e38", MS_NUM_OK},
        {"3.40282356e38", MS_NUM_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        float v;
        ms_num_result r = ms_parse_f32(cases[i].s, strlen(cases[i].s), &v);
        CHECK_MSG(r == cases[i].r, "\"%s\": class %d, expected %d", cases[i].s, (int)r,
                  (int)cases[i].r);
        if (r == MS_NUM_MISSING || r == MS_NUM_INVALID)
            CHECK_MSG(isnan(v), "\"%s\": should give NaN", cases[i].s);
        if (r == MS_NUM_RANGE || r == MS_NUM_INFINITE)
            CHECK_MSG(isinf(v) && (v < 0) == (strchr(cases[i].s, '-') != NULL),
                      "\"%s\": should give a signed infinity", cases[i].s);
    }
    /* float64: the same classes, but what overflows a float may fit a
     * double; values equal strtod's */
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double v;
        ms_num_result r = ms_parse_f64(cases[i].s, strlen(cases[i].s), &v), want = cases[i].r;
        double ref = strtod(cases[i].s, NULL);
        if (want == MS_NUM_RANGE && isfinite(ref))
            want = MS_NUM_OK;
        CHECK_MSG(r == want, "\"%s\": f64 class %d, expected %d", cases[i].s, (int)r, (int)want);
        if (r == MS_NUM_MISSING || r == MS_NUM_INVALID)
            CHECK_MSG(isnan(v), "\"%s\": f64 should give NaN", cases[i].s);
        if (r == MS_NUM_RANGE || r == MS_NUM_INFINITE)
            CHECK_MSG(isinf(v) && (v < 0) == (strchr(cases[i].s, '-') != NULL),
                      "\"%s\": f64 should give a signed infinity", cases[i].s);
        if (r == MS_NUM_OK)
            CHECK_MSG(double_bits(v) == double_bits(ref), "\"%s\": f64 %a, strtod %a", cases[i].s,
                      v, ref);
    }
    /* values, not just classes */
    static const struct {
        const char *s;
        float v;
    } values[] = {
        {" 1.5 ", 1.5f},
        {"\t-2\t", -2.0f},
        {".5", 0.5f},
        {"5.", 5.0f},
        {"+.5e1", 5.0f},
        {"1e-99999", 0.0f},
        {"0e99999", 0.0f},
        {"1e0000000000000000000000000005", 1e5f},
        {"00000000000000000000000000001.5", 1.5f},
        {"0.000000000000000000000000000000000000000000001", 0x1p-149f},
        {"1e-45", 0x1p-149f},
        {"1e-46", 0.0f},
        {"3.40282356e38", FLT_MAX},
        {"16777217", 16777216.0f},
        {"16777219", 16777220.0f},
        {"0.1", 0.1f},
        {"-12.5", -12.5f},
        {"3.2e-05", 3.2e-05f},
        {"123456789012345678901234567890", 1.2345679e29f},
    };
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        float v = NAN;
        ms_num_result r = ms_parse_f32(values[i].s, strlen(values[i].s), &v);
        CHECK_MSG(r == MS_NUM_OK && float_bits(v) == float_bits(values[i].v),
                  "\"%s\": got %a (class %d), expected %a", values[i].s, (double)v, (int)r,
                  (double)values[i].v);
        double d = NAN, ref = strtod(values[i].s, NULL);
        r = ms_parse_f64(values[i].s, strlen(values[i].s), &d);
        CHECK_MSG(r == MS_NUM_OK && double_bits(d) == double_bits(ref),
                  "\"%s\": f64 got %a (class %d), strtod %a", values[i].s, d, (int)r, ref);
    }
    double d;
    CHECK(ms_parse_f64("-0", 2, &d) == MS_NUM_OK && d == 0 && signbit(d));
    CHECK(ms_parse_f64("-0e99999", 8, &d) == MS_NUM_OK && d == 0 && signbit(d));
    CHECK(ms_parse_f64("-1e-99999", 9, &d) == MS_NUM_OK && d == 0 && signbit(d));
    CHECK(ms_parse_f64("0.0", 3, &d) == MS_NUM_OK && d == 0 && !signbit(d));
    CHECK(ms_parse_f64("-inf", 4, &d) == MS_NUM_INFINITE && isinf(d) && d < 0);
    CHECK(ms_parse_f64("-1e999", 6, &d) == MS_NUM_RANGE && isinf(d) && d < 0);
    CHECK(ms_parse_f64("-1e99", 5, &d) == MS_NUM_OK && d == -1e99);
    CHECK(ms_parse_f64("12345", 2, &d) == MS_NUM_OK && d == 12.0);
    CHECK(ms_parse_f64("1.5e3x", 5, &d) == MS_NUM_OK && d == 1500.0);
    float v;
    CHECK(ms_parse_f32("-0", 2, &v) == MS_NUM_OK && v == 0 && signbit(v));
    CHECK(ms_parse_f32("-0e99999", 8, &v) == MS_NUM_OK && v == 0 && signbit(v));
    CHECK(ms_parse_f32("-1e-99999", 9, &v) == MS_NUM_OK && v == 0 && signbit(v));
    CHECK(ms_parse_f32("0.0", 3, &v) == MS_NUM_OK && v == 0 && !signbit(v));
    CHECK(ms_parse_f32("-inf", 4, &v) == MS_NUM_INFINITE && isinf(v) && v < 0);
    CHECK(ms_parse_f32("-1e99", 5, &v) == MS_NUM_RANGE && isinf(v) && v < 0);
    /* n bounds the field: what follows is not read */
    CHECK(ms_parse_f32("12345", 2, &v) == MS_NUM_OK && v == 12.0f);
    CHECK(ms_parse_f32("1.5e3x", 5, &v) == MS_NUM_OK && v == 1500.0f);

    /* fields far longer than any buffer: handled, not overrun, no heap */
    size_t big = 10u << 20;
    char *s = malloc(big + 1);
    CHECK_FATAL(s != NULL);
    memset(s, '7', big);
    s[big] = '\0';
    CHECK(ms_parse_f32(s, big, &v) == MS_NUM_RANGE);
    CHECK(ms_parse_f64(s, big, &d) == MS_NUM_RANGE && d == INFINITY);
    s[0] = '.';
    expect_like_strtof(s, big);
    s[0] = '0';
    s[1] = '.';
    memset(s + 2, '0', big - 3); /* 0.000...07 */
    CHECK(ms_parse_f32(s, big, &v) == MS_NUM_OK && v == 0);
    CHECK(ms_parse_f64(s, big, &d) == MS_NUM_OK && d == 0);
    memset(s, '0', big);
    s[big / 2] = '.';
    s[big - 1] = '1'; /* 0...0.0...01: underflows to 0 */
    CHECK(ms_parse_f32(s, big, &v) == MS_NUM_OK && v == 0);
    CHECK(ms_parse_f64(s, big, &d) == MS_NUM_OK && d == 0);
    s[1] = '5'; /* 050...0.0...01: about 5e(big/2 - 2), overflows */
    CHECK(ms_parse_f32(s, big, &v) == MS_NUM_RANGE);
    CHECK(ms_parse_f64(s, big, &d) == MS_NUM_RANGE);
    /* 1 followed by ~10M zeros, scaled back by an exponent beyond any
     * clamp: the value is exactly 1e5 */
    memset(s, '0', big);
    s[0] = '1';
    size_t ez = big - 16;
    sprintf(s + ez, "e-%zu", ez - 1 - 5);
    CHECK(ms_parse_f32(s, strlen(s), &v) == MS_NUM_OK && v == 1e5f);
    CHECK(ms_parse_f64(s, strlen(s), &d) == MS_NUM_OK && d == 1e5);
    expect_like_strtof(s, strlen(s));
    s[ez] = '.';
    s[ez + 1] = '5'; /* 1000...0.5e+...: overflows */
    s[ez + 2] = 'e';
    s[ez + 3] = '+';
    CHECK(ms_parse_f32(s, strlen(s), &v) == MS_NUM_RANGE);
    CHECK(ms_parse_f64(s, strlen(s), &d) == MS_NUM_RANGE);
    memset(s, '1', big);
    s[big - 1] = 'x';
    CHECK(ms_parse_f32(s, big, &v) == MS_NUM_INVALID);
    CHECK(ms_parse_f64(s, big, &d) == MS_NUM_INVALID && isnan(d));
    /* 300 significant digits then 10M zeros: float64's slow path keeps 800
     * digits on the stack (the first version copied the field to the heap) */
    memset(s, '0', big);
    for (int i = 0; i < 300; i++)
        s[i] = (char)('1' + i % 9);
    sprintf(s + ez, "e-%zu", ez - 1); /* scaled back to 1.234... */
    expect_like_strtof(s, strlen(s));
    CHECK(ms_parse_f64(s, strlen(s), &d) == MS_NUM_OK && d > 1.2345 && d < 1.2346);
    free(s);
}

/* ---- formatter ----------------------------------------------------------- */

static long fmt_checked, fmt_bad;

/* The significant digits of a decimal text and the exponent of its first
 * digit; 0 digits for zero. */
static int sig_digits(const char *s, char *dig, int *dexp)
{
    int nd = 0, before_point = 0, seen_point = 0, lead = 0;
    const char *p = s;
    if (*p == '-')
        p++;
    for (; *p && *p != 'e'; p++) {
        if (*p == '.') {
            seen_point = 1;
            continue;
        }
        if (nd == 0 && *p == '0') {
            if (seen_point)
                lead++;
            continue;
        }
        if (!seen_point)
            before_point++;
        dig[nd++] = *p;
    }
    int e = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && dig[nd - 1] == '0') {
        nd--;
    }
    dig[nd] = '\0';
    *dexp = e + (before_point ? before_point - 1 : -lead - 1);
    return nd;
}

/* What ms_format_f32 (plain_hi 9) or ms_format_f64 (16) must write for
 * digits dig and first-digit exponent, built independently of them. */
static void layout(const char *dig, int nd, int dexp, int plain_hi, char *out)
{
    if (dexp < -4 || dexp >= plain_hi) {
        sprintf(out, "%c%s%se%c%02d", dig[0], nd > 1 ? "." : "", dig + 1, dexp < 0 ? '-' : '+',
                abs(dexp));
        return;
    }
    char *o = out;
    if (dexp < 0) {
        o += sprintf(o, "0.");
        for (int i = -1; i > dexp; i--)
            *o++ = '0';
        strcpy(o, dig);
        return;
    }
    for (int i = 0; i <= dexp; i++)
        *o++ = i < nd ? dig[i] : '0';
    *o = '\0';
    if (nd > dexp + 1)
        sprintf(o, ".%s", dig + dexp + 1);
}

static int reads_back(const char *s, float v)
{
    float f = strtof(s, NULL);
    return float_bits(f) == float_bits(v);
}

/* The exact decimal expansion of a finite a > 0: a float is m 2^q with
 * m < 2^24, q >= -149, so at most 112 significant digits, and glibc prints
 * them all exactly. Trailing zeros removed; *dexp is the exponent of the
 * first digit. */
static int exact_digits(float a, char *dig, int *dexp)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%.112e", (double)a);
    char *e = strchr(buf, 'e');
    dig[0] = buf[0];
    int nd = 1;
    for (const char *p = buf + 2; p < e; p++)
        dig[nd++] = *p;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    dig[nd] = '\0';
    *dexp = atoi(e + 1);
    return nd;
}

/* The q-digit decimals just below and just above a (exact digits dig, first
 * digit at dexp): *lo = the first q digits, *above = whether the rest is
 * nonzero (then lo + 1 is the one above, else a itself is lo), *cmp_half =
 * sign of (rest - one half unit). The unit is 10^(dexp - q + 1). */
static unsigned long long truncate_digits(const char *dig, int nd, int q, int *above, int *cmp_half)
{
    unsigned long long lo = 0;
    for (int i = 0; i < q; i++)
        lo = lo * 10 + (unsigned long long)(i < nd ? dig[i] - '0' : 0);
    *above = nd > q;
    if (nd <= q)
        *cmp_half = -1; /* nothing left */
    else if (dig[q] != '5')
        *cmp_half = dig[q] < '5' ? -1 : 1;
    else
        *cmp_half = nd > q + 1; /* no trailing zeros: "5" alone is exactly half */
    return lo;
}

/* Normalized digits and first-digit exponent of n * 10^e (n > 0). */
static int norm_decimal(unsigned long long n, int e, char *dig, int *dexp)
{
    while (n % 10 == 0) {
        n /= 10;
        e++;
    }
    int nd = sprintf(dig, "%llu", n);
    *dexp = e + nd - 1;
    return nd;
}

static void check_format(float v)
{
    char out[MS_F32_TEXT_MAX + 8], buf[128], want[64];
    memset(out, '#', sizeof out);
    size_t len = ms_format_f32(v, out);
    int ok = len <= MS_F32_TEXT_MAX && out[len] == '#';
    out[len < sizeof out ? len : sizeof out - 1] = '\0';
    fmt_checked++;
    const char *why = "overran";
    if (ok && isnan(v)) {
        ok = len == 0;
        why = "NaN not empty";
    } else if (ok && isinf(v)) {
        ok = strcmp(out, v < 0 ? "-inf" : "inf") == 0;
        why = "infinity";
    } else if (ok && v == 0) {
        ok = strcmp(out, signbit(v) ? "-0" : "0") == 0;
        why = "zero";
    } else if (ok) {
        float a = fabsf(v);
        float parsed = NAN;
        ok = reads_back(out, v) && ms_parse_f32(out, len, &parsed) == MS_NUM_OK &&
             float_bits(parsed) == float_bits(v);
        why = "does not read back";
        if (ok && (signbit(v) != 0) != (out[0] == '-')) {
            ok = 0;
            why = "sign";
        }
        char dig[32], xdig[128];
        int dexp, nd = ok ? sig_digits(out, dig, &dexp) : 0;
        if (ok) {
            layout(dig, nd, dexp, 9, want);
            ok = nd > 0 && strcmp(out + (out[0] == '-'), want) == 0;
            why = "layout";
        }
        int xexp, xn = ok ? exact_digits(a, xdig, &xexp) : 0;
        int above, half;
        if (ok && nd > 1) {
            /* Nothing with nd - 1 digits reads back: the decimals that read
             * back form an interval around a, so it is enough that the two
             * (nd-1)-digit neighbours of a on its own decade's grid fail;
             * anything shorter outside this decade is farther still. */
            int e = xexp - (nd - 1) + 1;
            unsigned long long lo = truncate_digits(xdig, xn, nd - 1, &above, &half);
            snprintf(buf, sizeof buf, "%llue%d", lo, e);
            if (reads_back(buf, a)) {
                ok = 0;
                why = "a shorter decimal (below) reads back";
            }
            snprintf(buf, sizeof buf, "%llue%d", lo + 1, e);
            if (ok && above && reads_back(buf, a)) {
                ok = 0;
                why = "a shorter decimal (above) reads back";
            }
        }
        if (ok) {
            /* Of the nd-digit neighbours the nearer that reads back is the
             * one written; ties go to the even one. */
            int e = xexp - nd + 1;
            unsigned long long lo = truncate_digits(xdig, xn, nd, &above, &half), pick;
            snprintf(buf, sizeof buf, "%llue%d", lo, e);
            int lo_ok = reads_back(buf, a);
            snprintf(buf, sizeof buf, "%llue%d", lo + 1, e);
            int hi_ok = above && reads_back(buf, a);
            if (lo_ok && hi_ok)
                pick = half < 0 ? lo : half > 0 ? lo + 1 : lo % 2 == 0 ? lo : lo + 1;
            else
                pick = lo_ok ? lo : lo + 1;
            char wdig[32];
            int wexp;
            norm_decimal(pick, e, wdig, &wexp);
            ok = (lo_ok || hi_ok) && strcmp(wdig, dig) == 0 && wexp == dexp;
            why = "not the nearest of its length";
        }
    }
    if (!ok && fmt_bad++ < 10)
        fprintf(stderr, "format %a (%.9g) -> \"%s\": %s\n", (double)v, (double)v, out, why);
}

static void format_checks(void)
{
    const long n = 3000000;
    for (long i = 0; i < n; i++)
        check_format(bits_to_float((uint32_t)rnd64()));
    /* edges: zeros, ends, every power of two and of ten with neighbours
     * (the exponent estimate and the 1e9 / 1e-4 layout switches) */
    check_format(0.0f);
    check_format(-0.0f);
    check_format(NAN);
    check_format(INFINITY);
    check_format(-INFINITY);
    for (int e = -149; e <= 127; e++)
        for (int d = -3; d <= 3; d++) {
            float p2 = ldexpf(1.0f, e);
            uint32_t b = float_bits(p2) + (uint32_t)d;
            if (b <= 0x7F7FFFFFu)
                check_format(bits_to_float(b));
        }
    for (int e = -46; e <= 39; e++) {
        char s[16];
        snprintf(s, sizeof s, "1e%d", e);
        float p10 = strtof(s, NULL);
        for (int d = -4; d <= 4; d++) {
            uint32_t b = float_bits(p10) + (uint32_t)d;
            if (b <= 0x7F7FFFFFu && (int32_t)b >= 0)
                check_format(bits_to_float(b));
        }
    }
    for (uint32_t b = 0; b < 20000; b++) { /* smallest subnormals and largest floats */
        check_format(bits_to_float(b));
        check_format(bits_to_float(0x7F7FFFFFu - b));
        check_format(-bits_to_float(0x00800000u + b));
    }
    for (int i = 0; i < 200000; i++) /* integers, and the 2^24 gap */
        check_format((float)i);
    for (int i = -1000; i <= 1000; i++)
        check_format((float)(16777216 + i));
    CHECK_MSG(fmt_bad == 0, "%ld of %ld formatted floats wrong", fmt_bad, fmt_checked);
}

static void format_fixed(void)
{
    static const struct {
        float v;
        const char *s;
    } cases[] = {
        {0.1f, "0.1"},
        {1.0f / 3, "0.33333334"},
        {16777216.0f, "16777216"},
        {1e10f, "1e+10"},
        {-0.0f, "-0"},
        {0.0f, "0"},
        {1e-7f, "1e-07"},
        {0.0001f, "0.0001"},
        {0.00011f, "0.00011"},
        {1e-5f, "1e-05"},
        {4.8e-05f, "4.8e-05"},
        {1.5e-07f, "1.5e-07"},
        {3.0f, "3"},
        {-3.0f, "-3"},
        {0.25f, "0.25"},
        {-2.5f, "-2.5"},
        {123456.7f, "123456.7"},
        {100000000.0f, "100000000"},
        {999999940.0f, "999999940"},
        {1e9f, "1e+09"},
        {1.5e9f, "1.5e+09"},
        {FLT_MAX, "3.4028235e+38"},
        {-FLT_MAX, "-3.4028235e+38"},
        {FLT_MIN, "1.1754944e-38"},
        {FLT_TRUE_MIN, "1e-45"},
        {0x1.fffffcp-127f, "1.1754942e-38"},
        {1e-45f * 3, "4e-45"},
        {(float)3.14159265358979323846, "3.1415927"},
        {1e38f, "1e+38"},
        {9.999999e-5f, "9.999999e-05"},
        /* v lies a hair above a decimal midpoint (...5000000008e-20) that a
         * double computation sees as an exact tie: the exact compare must
         * pick the upper neighbour, not the even one (found exhaustively) */
        {0x1.b90988p-64f, "9.3393267e-20"},
        {0x1.d624acp-54f, "1.01946067e-16"},
        {0x1.4e18p+97f, "2.0679402e+29"},
        {0x1.39368p+102f, "6.2038205e+30"},
        {0x1.d56b16p+123f, "1.9498874e+37"},
    };
    char out[MS_F32_TEXT_MAX + 1];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = ms_format_f32(cases[i].v, out);
        out[n] = '\0';
        CHECK_STREQ(out, cases[i].s);
    }
    CHECK(ms_format_f32(NAN, out) == 0);
    CHECK(ms_format_f32(-NAN, out) == 0);
    size_t n = ms_format_f32(INFINITY, out);
    out[n] = '\0';
    CHECK_STREQ(out, "inf");
    n = ms_format_f32(-INFINITY, out);
    out[n] = '\0';
    CHECK_STREQ(out, "-inf");
}

/* ---- float64 ------------------------------------------------------------- */

/* The first version of ms_format_f64, kept as the reference: the fewest
 * digits p (from p_min to p_max) for which printf's correctly rounded
 * p-digit decimal of a > 0, or one of its two p-digit neighbours, reads
 * back through strtod. The printf one wins when it reads back (it is the
 * nearest p-digit decimal; glibc breaks exact ties to even, as the spec
 * does), else the neighbour that does (only the one on the other side of a
 * can). Returns p (0: none), the digits as an integer and the exponent of
 * the last one. Complete: the decimals that read back form an interval
 * around a, so if any p-digit one does, the nearest on its side of a does,
 * and that is one of the three. */
static int ref_shortest64(double a, int p_min, int p_max, unsigned long long *dig, int *e_last)
{
    for (int p = p_min; p <= p_max; p++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.*e", p - 1, a);
        unsigned long long m = 0;
        const char *c = buf;
        for (; *c != 'e'; c++)
            if (*c != '.')
                m = m * 10 + (unsigned long long)(*c - '0');
        int e = atoi(c + 1) - (p - 1);
        static const int order[3] = {0, -1, 1};
        for (int j = 0; j < 3; j++) {
            unsigned long long cand = m + (unsigned long long)(long long)order[j];
            if (cand == 0)
                continue;
            snprintf(buf, sizeof buf, "%llue%d", cand, e);
            if (double_bits(strtod(buf, NULL)) == double_bits(a)) {
                *dig = cand;
                *e_last = e;
                return p;
            }
        }
    }
    return 0;
}

static long fmt64_checked, fmt64_bad;

/* ms_format_f64(v): no overrun, reads back (strtod and ms_parse_f64),
 * layout, and the reference's digits: the search from one digit when
 * full_search, else only at the printed length and one below (the same
 * verdict: a p-digit decimal that reads back is also a (p+1)-digit one). */
static void check_format64(double v, int full_search)
{
    char out[MS_F64_TEXT_MAX + 8], want[64];
    memset(out, '#', sizeof out);
    size_t len = ms_format_f64(v, out);
    int ok = len <= MS_F64_TEXT_MAX && out[len] == '#';
    out[len < sizeof out ? len : sizeof out - 1] = '\0';
    fmt64_checked++;
    const char *why = "overran";
    if (ok && isnan(v)) {
        ok = len == 0;
        why = "NaN not empty";
    } else if (ok && isinf(v)) {
        ok = strcmp(out, v < 0 ? "-inf" : "inf") == 0;
        why = "infinity";
    } else if (ok && v == 0) {
        ok = strcmp(out, signbit(v) ? "-0" : "0") == 0;
        why = "zero";
    } else if (ok) {
        double a = fabs(v), back = NAN;
        ok = double_bits(strtod(out, NULL)) == double_bits(v) &&
             ms_parse_f64(out, len, &back) == MS_NUM_OK && double_bits(back) == double_bits(v);
        why = "does not read back";
        if (ok && (signbit(v) != 0) != (out[0] == '-')) {
            ok = 0;
            why = "sign";
        }
        char dig[32], wdig[32];
        int dexp, wexp, nd = ok ? sig_digits(out, dig, &dexp) : 0;
        if (ok) {
            layout(dig, nd, dexp, 16, want);
            ok = nd > 0 && strcmp(out + (out[0] == '-'), want) == 0;
            why = "layout";
        }
        unsigned long long rd = 0;
        int re = 0;
        if (ok && !full_search && nd > 1 && ref_shortest64(a, nd - 1, nd - 1, &rd, &re)) {
            ok = 0;
            why = "a shorter decimal reads back";
        }
        if (ok) {
            int p = full_search ? ref_shortest64(a, 1, 17, &rd, &re)
                                : ref_shortest64(a, nd, nd, &rd, &re);
            if (p)
                norm_decimal(rd, re, wdig, &wexp);
            ok = p == nd && strcmp(wdig, dig) == 0 && wexp == dexp;
            why = "not the reference's (shortest, then nearest)";
        }
    }
    if (!ok && fmt64_bad++ < 10)
        fprintf(stderr, "format64 %a (%.17g) -> \"%s\": %s\n", v, v, out, why);
}

static void format_f64_reference(void)
{
    for (long i = 0; i < 2000000; i++) {
        double v = bits_to_double(rnd64());
        check_format64(v, i % 64 == 0);
    }
    for (long i = 0; i < 300000; i++) { /* [0,1), and bench-like values */
        double u = (double)(rnd64() >> 11) / 0x1p53;
        check_format64(i % 2 ? u : (u - 0.5) * 20, i % 64 == 0);
    }
    check_format64(0.0, 1);
    check_format64(-0.0, 1);
    check_format64(NAN, 1);
    check_format64(INFINITY, 1);
    check_format64(-INFINITY, 1);
    /* every power of two and of ten with neighbours: the binade bottoms
     * (asymmetric intervals), the exponent estimates, the 1e16 / 1e-4
     * layout switches */
    for (int e = -1074; e <= 1023; e++)
        for (int d = -3; d <= 3; d++) {
            uint64_t b = double_bits(ldexp(1.0, e)) + (uint64_t)(int64_t)d;
            if (b <= 0x7FEFFFFFFFFFFFFFull)
                check_format64(bits_to_double(b), d == 0);
        }
    for (int e = -324; e <= 308; e++) {
        char t[16];
        snprintf(t, sizeof t, "1e%d", e);
        double p10 = strtod(t, NULL);
        for (int d = -4; d <= 4; d++) {
            uint64_t b = double_bits(p10) + (uint64_t)(int64_t)d;
            if (b <= 0x7FEFFFFFFFFFFFFFull && (int64_t)b >= 0)
                check_format64(bits_to_double(b), d == 0);
        }
    }
    for (uint64_t b = 0; b < 20000; b++) { /* smallest subnormals and largest doubles */
        check_format64(bits_to_double(b), 0);
        check_format64(bits_to_double(0x7FEFFFFFFFFFFFFFull - b), 0);
        check_format64(-bits_to_double(0x0010000000000000ull + b), 0);
    }
    for (int i = 0; i < 100000; i++) /* integers, and the 2^53 gap */
        check_format64((double)i, 0);
    for (int i = -1000; i <= 1000; i++)
        check_format64((double)(9007199254740992ll + i), 0);
    CHECK_MSG(fmt64_bad == 0, "%ld of %ld formatted doubles differ from the reference", fmt64_bad,
              fmt64_checked);
}

/* Python's repr for a few doubles; random bit patterns read back exactly,
 * and the parser equals strtod on %.17g text and on the printed text. */
static void format_f64_checks(void)
{
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {0.1, "0.1"},
        {1.0 / 3, "0.3333333333333333"},
        {48.900000000000006, "48.900000000000006"},
        {1e16, "1e+16"},
        {1234567890123456.0, "1234567890123456"},
        {1e-5, "1e-05"},
        {0.0001, "0.0001"},
        {1e100, "1e+100"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {DBL_TRUE_MIN, "5e-324"},
        {-2.5, "-2.5"},
        {-0.0, "-0"},
        {3.0, "3"},
    };
    char out[MS_F64_TEXT_MAX + 1];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = ms_format_f64(cases[i].v, out);
        out[n] = '\0';
        CHECK_STREQ(out, cases[i].s);
    }
    CHECK(ms_format_f64(NAN, out) == 0);
    for (int i = 0; i < 200000; i++) {
        double v = bits_to_double(rnd64());
        if (!isfinite(v))
            continue;
        size_t n = ms_format_f64(v, out);
        CHECK_FATAL(n <= MS_F64_TEXT_MAX);
        out[n] = '\0';
        double back;
        CHECK(ms_parse_f64(out, n, &back) == MS_NUM_OK && back == v);
        char t[40];
        int k = snprintf(t, sizeof t, "%.17g", v);
        CHECK(ms_parse_f64(t, (size_t)k, &back) == MS_NUM_OK && back == strtod(t, NULL));
    }
    double d;
    CHECK(ms_parse_f64("1e39", 4, &d) == MS_NUM_OK && d == 1e39);
    CHECK(ms_parse_f64("1e999", 5, &d) == MS_NUM_RANGE);
    CHECK(ms_parse_f64(" N/A ", 5, &d) == MS_NUM_MISSING && isnan(d));
    CHECK(ms_parse_f64("1.2.3", 5, &d) == MS_NUM_INVALID);
    CHECK(ms_parse_f64(" 48.9", 5, &d) == MS_NUM_OK && d == 48.9);
}

/* ---- speed (information only) -------------------------------------------- */

enum { T_FIELDS = 1 << 16, T_ROUNDS = 20 };

static double rnd_unit(void)
{
    return (double)(rnd64() >> 11) / 0x1p53;
}

/* Fields of one shape, as the bench and other programs write them. */
static size_t timing_text(int shape, char *text, size_t *off)
{
    size_t o = 0;
    for (int i = 0; i < T_FIELDS; i++) {
        off[i] = o;
        switch (shape) {
        case 0: /* the bench CSV: "0.73914282", "-1.2345678" */
            o += (size_t)sprintf(text + o, i % 2 ? "%.8f" : "%.7f",
                                 i % 2 ? rnd_unit() : (rnd_unit() - 0.5) * 20);
            break;
        case 1: /* random float bits, shortest ("%.9g" would be longer) */
            o += ms_format_f32(bits_to_float((uint32_t)rnd64() & 0x7F7FFFFFu), text + o);
            break;
        case 2: { /* random doubles (finite bit patterns), shortest */
            double d;
            do
                memcpy(&d, &(uint64_t){rnd64()}, sizeof d);
            while (!isfinite(d));
            o += (size_t)sprintf(text + o, "%.17g", d);
            break;
        }
        default: /* [0,1) doubles, "%.17g" */
            o += (size_t)sprintf(text + o, "%.17g", rnd_unit());
            break;
        }
    }
    off[T_FIELDS] = o;
    return o;
}

static void timing(void)
{
    static const char *shapes[] = {"bench", "f32 bits", "f64 bits", "[0,1) f64"};
    char *text = malloc((size_t)T_FIELDS * 32);
    size_t *off = malloc((T_FIELDS + 1) * sizeof *off);
    float *fv = malloc(T_FIELDS * sizeof *fv);
    double *dv = malloc(T_FIELDS * sizeof *dv);
    CHECK_FATAL(text && off && fv && dv);
    double sink = 0;
    for (int sh = 0; sh < 4; sh++) {
        size_t bytes = timing_text(sh, text, off);
        double t0 = now_ns();
        for (int r = 0; r < T_ROUNDS; r++)
            for (int i = 0; i < T_FIELDS; i++) {
                float v;
                ms_parse_f32(text + off[i], off[i + 1] - off[i], &v);
                sink += isfinite(v) ? v : 0;
            }
        double ns32 = (now_ns() - t0) / ((double)T_FIELDS * T_ROUNDS);
        t0 = now_ns();
        for (int r = 0; r < T_ROUNDS; r++)
            for (int i = 0; i < T_FIELDS; i++) {
                double v;
                ms_parse_f64(text + off[i], off[i + 1] - off[i], &v);
                sink += isfinite(v) ? v : 0;
            }
        double ns64 = (now_ns() - t0) / ((double)T_FIELDS * T_ROUNDS);
        printf("parse  %-10s f32 %6.1f ns/field  f64 %6.1f ns/field  (%.1f bytes/field)\n",
               shapes[sh], ns32, ns64, (double)bytes / T_FIELDS);
    }
    char out[40];
    for (int kind = 0; kind < 4; kind++) {
        for (int i = 0; i < T_FIELDS; i++) {
            uint64_t b = rnd64();
            switch (kind) {
            case 0: /* bench-like values */
                dv[i] = i % 2 ? rnd_unit() : (rnd_unit() - 0.5) * 20;
                break;
            case 1:
                dv[i] = (double)fabsf(bits_to_float((uint32_t)b & 0x7F7FFFFFu));
                break;
            case 2:
                b &= 0x7FFFFFFFFFFFFFFFull;
                if ((b >> 52) == 0x7FF)
                    b -= 1ull << 52;
                memcpy(&dv[i], &b, sizeof b);
                break;
            default:
                dv[i] = rnd_unit();
                break;
            }
            fv[i] = (float)dv[i];
        }
        size_t tot32 = 0, tot64 = 0;
        double t0 = now_ns();
        for (int r = 0; r < T_ROUNDS / 4; r++)
            for (int i = 0; i < T_FIELDS; i++)
                tot32 += ms_format_f32(fv[i], out);
        double ns32 = (now_ns() - t0) / ((double)T_FIELDS * (T_ROUNDS / 4));
        t0 = now_ns();
        for (int r = 0; r < T_ROUNDS / 4; r++)
            for (int i = 0; i < T_FIELDS; i++)
                tot64 += ms_format_f64(dv[i], out);
        double ns64 = (now_ns() - t0) / ((double)T_FIELDS * (T_ROUNDS / 4));
        printf("format %-10s f32 %6.1f ns/value  f64 %6.1f ns/value  (%zu, %zu bytes)\n",
               shapes[kind], ns32, ns64, tot32, tot64);
    }
    printf("(information only; %g)\n", sink);
    free(dv);
    free(fv);
    free(text);
    free(off);
}

int main(void)
{
    double t0 = now_ns();
    parse_vs_strtof();
    classes();
    format_fixed();
    format_checks();
    format_f64_checks();
    format_f64_reference();
    printf("checked %ld parses, %ld + %ld formats in %.1f s\n", parse_checked, fmt_checked,
           fmt64_checked, (now_ns() - t0) / 1e9);
    timing();
    return ms_test_done("test_floatconv");
}
