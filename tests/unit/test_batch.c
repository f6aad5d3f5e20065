/*
 * test_batch.c — column batches (batch.h): cells stored as their spec types
 * them. A float32 column holds exactly (float)strtod of the text (what
 * pandas + a float32 library compute), including texts where that differs
 * from strtof (double rounding near a float midpoint), so the fast path's
 * proof is tested, not trusted; a float64 column holds strtod's value.
 * Categories: exact lookups, NA spellings missing, unknowns per the spec.
 * Specs are built by hand, as a preprocessing program would make them.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mpiscore/batch.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* One float32 and one float64 column; s goes into both. */
static void check_text(ms_batch *b, const char *s)
{
    size_t n = strlen(s);
    CHECK_FATAL(ms_batch_add_row(b, NULL) == MS_OK);
    size_t r = b->n_rows - 1;
    const char *w32 = ms_batch_put_text(b, 0, r, s, n);
    const char *w64 = ms_batch_put_text(b, 1, r, s, n);
    double d = strtod(s, NULL);
    float f = (float)d;
    if (isinf(f)) {
        CHECK_MSG(w32 && !strcmp(w32, "value out of float32 range"), "%s: %s", s,
                  w32 ? w32 : "(stored)");
    } else {
        CHECK_MSG(!w32, "%s refused: %s", s, w32);
        float got = ms_batch_f32(b, 0)[r];
        CHECK_MSG(memcmp(&got, &f, sizeof f) == 0, "%s: float32 column %a, (float)strtod %a", s,
                  (double)got, (double)f);
    }
    CHECK_MSG(!w64, "%s refused as float64: %s", s, w64);
    double got = ms_batch_f64(b, 1)[r];
    CHECK_MSG(memcmp(&got, &d, sizeof d) == 0, "%s: float64 column %a, strtod %a", s, got, d);
}

static void numbers(void)
{
    ms_colspec spec[2] = {{.kind = MS_COL_NUM, .prec = MS_PREC_F32},
                          {.kind = MS_COL_NUM, .prec = MS_PREC_F64}};
    ms_batch b;
    ms_batch_init(&b, 2, spec, 0);
    const char *fixed[] = {"48.9",      "47.1500",          "0.1",        "-0.0",
                           "123456.78", "16777217",         "0.30000001", "1e-7",
                           "3.4e38",    "9007199254740993", "1.5e-45",    "0.000123456789012"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        check_text(&b, fixed[i]);
    /* the double lands exactly on a float midpoint while the decimal is
     * just above it: strtof rounds up, (float)strtod to even (down) */
    for (int i = 0; i < 2000; i++) {
        float a = (float)(next() % 100000) / 7.0f + 1.0f, c = nextafterf(a, INFINITY);
        double mid = ((double)a + (double)c) / 2;
        char s[96];
        int k = snprintf(s, sizeof s, "%.40f", mid);
        while (k > 0 && s[k - 1] == '0')
            k--;
        snprintf(s + k, sizeof s - (size_t)k, "%s", "000000001");
        check_text(&b, s);
        snprintf(s, sizeof s, "%.17g", mid);
        check_text(&b, s);
    }
    /* random decimals of every shape the fast path considers */
    for (int i = 0; i < 200000; i++) {
        char s[64];
        int nd = 1 + (int)(next() % 19), frac = (int)(next() % 16), k = 0;
        if (next() & 1)
            s[k++] = '-';
        for (int j = 0; j < nd; j++) {
            if (j == nd - frac)
                s[k++] = '.';
            s[k++] = (char)('0' + next() % 10);
        }
        if (next() % 8 == 0)
            k += snprintf(s + k, sizeof s - (size_t)k, "e%d", (int)(next() % 90) - 45);
        s[k] = '\0';
        check_text(&b, s);
    }
    ms_batch_reset(&b);

    /* refusals leave the cell missing */
    CHECK_FATAL(ms_batch_add_row(&b, NULL) == MS_OK);
    CHECK_STREQ(ms_batch_put_text(&b, 0, 0, "abc", 3), "not a number");
    CHECK(isnan(ms_batch_f32(&b, 0)[0]));
    CHECK_STREQ(ms_batch_put_text(&b, 0, 0, "1e39", 4), "value out of float32 range");
    CHECK(isnan(ms_batch_f32(&b, 0)[0]));
    CHECK(ms_batch_put_text(&b, 1, 0, "1e39", 4) == NULL && ms_batch_f64(&b, 1)[0] == 1e39);
    CHECK_STREQ(ms_batch_put_text(&b, 1, 0, "1e999", 5), "value out of float64 range");
    CHECK_STREQ(ms_batch_put_text(&b, 1, 0, "-inf", 4), "infinite value");
    CHECK(ms_batch_put_text(&b, 0, 0, "", 0) == NULL && isnan(ms_batch_f32(&b, 0)[0]));
    CHECK(ms_batch_put_text(&b, 1, 0, "NA", 2) == NULL && isnan(ms_batch_f64(&b, 1)[0]));
    b.refuse_missing = 1;
    CHECK_STREQ(ms_batch_put_text(&b, 0, 0, "", 0), "missing value");
    CHECK_STREQ(ms_batch_put_num(&b, 1, 0, NAN), "missing value");
    b.refuse_missing = 0;
    /* numbers from a JSON decoder */
    CHECK(ms_batch_put_num(&b, 0, 0, 0.1) == NULL && ms_batch_f32(&b, 0)[0] == 0.1f);
    CHECK(ms_batch_put_num(&b, 1, 0, 0.1) == NULL && ms_batch_f64(&b, 1)[0] == 0.1);
    CHECK_STREQ(ms_batch_put_num(&b, 0, 0, 1e39), "value out of float32 range");
    CHECK_STREQ(ms_batch_put_num(&b, 1, 0, INFINITY), "infinite value");
    /* a bad row is all missing again */
    CHECK(ms_batch_put_num(&b, 1, 0, 2.5) == NULL);
    CHECK(ms_batch_mark_bad(&b, "in.csv", 2, 1, "a", "why", "x", 1, NULL) == MS_OK);
    CHECK(isnan(ms_batch_f32(&b, 0)[0]) && isnan(ms_batch_f64(&b, 1)[0]) && b.bad[0]);
    /* columns grow past their first capacity and keep their cells */
    ms_batch_reset(&b);
    for (int i = 0; i < 5000; i++) {
        CHECK_FATAL(ms_batch_add_row(&b, NULL) == MS_OK);
        ms_batch_put_num(&b, 1, (size_t)i, i);
    }
    int bad = 0;
    for (int i = 0; i < 5000; i++)
        bad += ms_batch_f64(&b, 1)[i] != i || !isnan(ms_batch_f32(&b, 0)[i]);
    CHECK(bad == 0);
    ms_batch_free(&b);
}

static void categories(void)
{
    ms_error err;
    const char *cats[] = {"No", "Yes", "No phone service", "Fiber optic (fast)"};
    double nums[] = {1, 2, 30};
    ms_colspec spec[3] = {{.name = "svc", .kind = MS_COL_CAT},
                          {.name = "strict", .kind = MS_COL_CAT, .unknown_is_error = 1},
                          {.name = "n", .kind = MS_COL_CAT}};
    CHECK_FATAL(ms_dict_create_str(cats, 4, &spec[0].dict, &err) == MS_OK);
    CHECK_FATAL(ms_dict_create_str(cats, 4, &spec[1].dict, &err) == MS_OK);
    CHECK_FATAL(ms_dict_create_num(nums, 3, &spec[2].dict, &err) == MS_OK);
    ms_batch b;
    ms_batch_init(&b, 3, spec, 0);
    CHECK_FATAL(ms_batch_add_row(&b, NULL) == MS_OK);
    int32_t *c0 = ms_batch_codes(&b, 0), *c1 = ms_batch_codes(&b, 1), *c2 = ms_batch_codes(&b, 2);
    CHECK(c0[0] == MS_CODE_MISSING && c1[0] == MS_CODE_MISSING && c2[0] == MS_CODE_MISSING);
    CHECK(ms_batch_put_text(&b, 0, 0, "No phone service", 16) == NULL && c0[0] == 2);
    CHECK(ms_batch_put_text(&b, 0, 0, "Fiber optic (fast)", 18) == NULL && c0[0] == 3);
    CHECK(ms_batch_put_text(&b, 0, 0, "no", 2) == NULL && c0[0] == MS_CODE_UNKNOWN);
    CHECK(ms_batch_put_text(&b, 0, 0, "No ", 3) == NULL && c0[0] == MS_CODE_UNKNOWN);
    CHECK(ms_batch_put_text(&b, 0, 0, "", 0) == NULL && c0[0] == MS_CODE_MISSING);
    CHECK(ms_batch_put_text(&b, 0, 0, "NA", 2) == NULL && c0[0] == MS_CODE_MISSING);
    CHECK(ms_batch_put_text(&b, 0, 0, "Yes", 3) == NULL && c0[0] == 1);
    CHECK_STREQ(ms_batch_put_text(&b, 1, 0, "Maybe", 5), "unknown category");
    CHECK(c1[0] == MS_CODE_MISSING);
    CHECK(ms_batch_put_text(&b, 1, 0, "No", 2) == NULL && c1[0] == 0);
    CHECK(ms_batch_put_text(&b, 2, 0, "2", 1) == NULL && c2[0] == 1);
    CHECK(ms_batch_put_text(&b, 2, 0, "3e1", 3) == NULL && c2[0] == 2);
    CHECK(ms_batch_put_text(&b, 2, 0, "1.0", 3) == NULL && c2[0] == 0);
    CHECK(ms_batch_put_text(&b, 2, 0, "4", 1) == NULL && c2[0] == MS_CODE_UNKNOWN);
    CHECK_STREQ(ms_batch_put_text(&b, 2, 0, "two", 3), "not a number");
    CHECK(ms_batch_put_num(&b, 2, 0, 30) == NULL && c2[0] == 2);
    CHECK(ms_batch_put_num(&b, 2, 0, NAN) == NULL && c2[0] == MS_CODE_MISSING);
    CHECK_STREQ(ms_batch_put_num(&b, 0, 0, 1), "not a category");
    ms_batch_free(&b);
    for (int k = 0; k < 3; k++)
        ms_dict_free(spec[k].dict);
}

int main(void)
{
    numbers();
    categories();
    return ms_test_failures ? 1 : 0;
}
