/*
 * fuzz_floatconv.c — the float parser and printer (floatconv.h) on their
 * own, where inputs are short and executions cheap.
 *
 * The input is one CSV field: ms_parse_f32 / ms_parse_f64 must agree with
 * the reference in fuzz_float_ref.h (grammar + strtof / strtod) bit for
 * bit, and every value they read must print (ms_format_f32 / _f64) as the
 * shortest text that reads back (float64: also the nearest). The first
 * four and eight bytes, taken as a float's and a double's bits, are printed
 * too, so NaN payloads, subnormals and every exponent get printed whatever
 * the text.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_float_ref.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0; /* strtof's cost grows with the digits; long fields are fuzz_csv's */
    const char *s = (const char *)data;
    ref_check_parse(s, size);
    float v;
    if (ms_parse_f32(s, size, &v) == MS_NUM_OK)
        ref_check_format(v);
    if (size >= 4) {
        memcpy(&v, data, sizeof v);
        ref_check_format(v);
    }
    ref_check_parse64(s, size);
    double d;
    if (ms_parse_f64(s, size, &d) == MS_NUM_OK)
        ref_check_format64(d);
    /* the plain-decimal shortcut answers only with ms_parse_f64's value */
    double p;
    float pf;
    int plain = ms_parse_plain_f64(s, size, &p);
    FUZZ_ASSERT(plain == ms_parse_plain_f64_to_f32(s, size, &pf),
                "plain shortcut: the float32 twin disagrees on \"%.*s\"", (int)size, s);
    if (plain) {
        FUZZ_ASSERT(ms_parse_f64(s, size, &d) == MS_NUM_OK && memcmp(&p, &d, sizeof d) == 0,
                    "plain shortcut: %a, ms_parse_f64 %a for \"%.*s\"", p, d, (int)size, s);
        float want = (float)d;
        FUZZ_ASSERT(memcmp(&pf, &want, sizeof pf) == 0, "plain shortcut: %a, (float) %a",
                    (double)pf, (double)want);
    }
    if (size >= 8) {
        memcpy(&d, data, sizeof d);
        ref_check_format64(d);
    }
    return 0;
}
