/*
 * ubjson.h — Universal Binary JSON (ubjson.org, draft 12, what XGBoost's
 * save_model writes for .ubj names) decoded into jansson values, so the
 * XGBoost importer reads both forms through one code path.
 */
#ifndef MPISCORE_UBJSON_H
#define MPISCORE_UBJSON_H

#include <jansson.h>
#include <stddef.h>

#include "mpiscore/status.h"

/* 1 if buf starts like a UBJSON document (an object whose first key length
 * has an integer marker, or an optimized container): no JSON text can. */
int ms_ubjson_sniff(const char *buf, size_t len);

/* Decode buf[0..len) (one value, nothing after it). Non-finite floats
 * become the strings "N", "+Inf" and "-Inf" (the importer's stand-ins for
 * the NaN / Infinity tokens of XGBoost's JSON text). Errors (MS_EMODEL):
 * "NAME: UBJSON at byte N: why" for truncation, an unknown marker, a
 * count larger than the bytes left, nesting deeper than 256, a key that is
 * not a string or is given twice. Nothing is read past len. */
ms_status ms_ubjson_decode(const char *buf, size_t len, const char *name, json_t **out,
                           ms_error *err);

#endif
