/*
 * floatconv.h — text <-> float32/float64 conversions on the hot path.
 *
 * ms_parse_f32 / ms_parse_f64 read one CSV field as a correctly rounded
 * float32 / float64 (the value strtof / strtod gives) without calling them
 * in the common case: Clinger's exact fast path, then Eisel-Lemire with a
 * 128-bit table of powers of five, and strtof/strtod on a bounded canonical
 * copy only when the product cannot decide. ms_format_f32 / ms_format_f64
 * write the shortest decimal text that reads back (Schubfach), the nearest
 * one of that length.
 */
#ifndef MPISCORE_FLOATCONV_H
#define MPISCORE_FLOATCONV_H

#include <stddef.h>

typedef enum {
    MS_NUM_OK = 0,  /* *out holds a finite float32 */
    MS_NUM_MISSING, /* empty (after trimming spaces), nan in any case, or one of pandas'
                       default NA spellings ("NA", "N/A", "#N/A", "<NA>", "NULL", "None",
                       "1.#QNAN", ...): *out = NaN */
    MS_NUM_INVALID, /* not a number ("abc", "1.2.3", "1e", trailing junk) */
    MS_NUM_RANGE,   /* a number whose magnitude overflows float32 ("1e999", "3.5e38") */
    MS_NUM_INFINITE /* "inf", "-Infinity", ... */
} ms_num_result;

/* Parse s[0..n) (not NUL-terminated; leading/trailing ASCII spaces and tabs
 * are ignored). Accepts [+-]digits[.digits][(e|E)[+-]digits], ".5", "5.".
 * Values that underflow round to a correctly rounded subnormal or signed 0.
 * Missing also covers "null" and nan in any case with a sign ("-nan" is what
 * printf writes). *out is NaN for MISSING and INVALID, and +-inf for RANGE
 * and INFINITE. Any field length is safe; nothing is allocated. */
ms_num_result ms_parse_f32(const char *s, size_t n, float *out);

/* Shortest text that round-trips through ms_parse_f32/strtof to exactly v.
 * Writes at most MS_F32_TEXT_MAX bytes (no NUL) and returns the length.
 * Style: plain notation when the decimal exponent is in [-4, 9)
 * ("0.25", "-3", "123456.7", "0.0001"), otherwise scientific ("1.5e-07",
 * "4.8e-05", "3.4028235e+38"), as Python prints floats. NaN is written as "" (an empty CSV field =
 * missing); the caller decides what infinity means and receives "inf"/"-inf". */
#define MS_F32_TEXT_MAX 24
size_t ms_format_f32(float v, char *out);

/* float64 twins: ms_parse_f64 accepts exactly the texts ms_parse_f32 does
 * and returns strtod's value (MS_NUM_RANGE when it overflows a double);
 * ms_format_f64 writes the shortest text that reads back to v, plain when
 * the decimal exponent is in [-4, 16), as Python's repr. */
/* The hot path's shortcut for the commonest CSV number, a plain decimal
 * [+-]digits[.digits] (no blanks, no exponent, at most 19 digits, value
 * below 2^53 units of its last digit): returns 1 with *out = ms_parse_f64's
 * value (or, for the _f32 twin, (float) of it: what pandas + a float32
 * library get), found with one exact division; returns 0 and leaves *out
 * alone for every other text, which the callers parse in full. */
int ms_parse_plain_f64(const char *s, size_t n, double *out);
int ms_parse_plain_f64_to_f32(const char *s, size_t n, float *out);

#define MS_F64_TEXT_MAX 32
ms_num_result ms_parse_f64(const char *s, size_t n, double *out);
size_t ms_format_f64(double v, char *out);

#endif
