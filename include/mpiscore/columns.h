/*
 * columns.h — what a batch holds before it is a feature matrix (DESIGN §8):
 * one typed array per input column the model needs, as the readers (CSV,
 * HDF5, Parquet, the endpoint's JSON decoder) produce it.
 *
 *  - ms_colspec says what the model wants from one input column: its name,
 *    and either a number in a precision (float32 or float64; NaN = missing)
 *    or a category code looked up in a dictionary the container stores.
 *  - ms_dict is that dictionary: the fitted categories of one column, in the
 *    library's order (code k = categories[k]). Lookups are exact (no
 *    trimming, case-sensitive, as scikit-learn compares) and allocate
 *    nothing. A numeric dictionary (categories 1, 2, 3) matches a cell by
 *    its value ("1", "1.0" and "1e0" are the same category).
 *
 * Without a preprocessing program the model's inputs are its features:
 * numeric columns in the model's precision, in feature order.
 */
#ifndef MPISCORE_COLUMNS_H
#define MPISCORE_COLUMNS_H

#include <stddef.h>
#include <stdint.h>

#include "mpiscore/status.h"

/* The precision a model's library predicts in: readers parse into it,
 * kernels compute in it, and it is the output's default precision. */
typedef enum { MS_PREC_F32 = 0, MS_PREC_F64 } ms_precision;

typedef enum {
    MS_COL_NUM = 0, /* float or double per ms_colspec.prec; NaN = missing */
    MS_COL_CAT      /* int32 codes into ms_colspec.dict */
} ms_col_kind;

/* Codes besides 0..n-1. A missing cell (empty, an NA spelling, a null) is
 * MS_CODE_MISSING whatever the dictionary holds; the program decides what a
 * missing category means (a NaN category, an imputer, an all-zero one-hot). */
#define MS_CODE_MISSING (-1)
#define MS_CODE_UNKNOWN (-2) /* not in the dictionary, and unknowns are allowed */

typedef struct ms_dict ms_dict;

/* String categories, copied. Duplicates are refused (MS_EMODEL, the caller
 * adds the column's name). */
ms_status ms_dict_create_str(const char *const *cats, size_t n, ms_dict **out, ms_error *err);
/* Numeric categories (finite values; NaN, if the library fitted one, is not
 * a category here: missing cells are MS_CODE_MISSING). */
ms_status ms_dict_create_num(const double *cats, size_t n, ms_dict **out, ms_error *err);
void ms_dict_free(ms_dict *d);
size_t ms_dict_size(const ms_dict *d);
int ms_dict_is_num(const ms_dict *d);
/* Category k's text (string dictionaries) or value (numeric ones). */
const char *ms_dict_str(const ms_dict *d, size_t k);
double ms_dict_num(const ms_dict *d, size_t k);
/* Code of the category s[0..n) (string dictionary: the exact bytes) or of
 * the value v (numeric dictionary; -0 equals 0), or MS_CODE_UNKNOWN. */
int32_t ms_dict_find_str(const ms_dict *d, const char *s, size_t n);
int32_t ms_dict_find_num(const ms_dict *d, double v);

typedef struct ms_colspec {
    char *name;           /* the column's name in the input (header, dataset, JSON) */
    ms_col_kind kind;     /* number or category */
    ms_precision prec;    /* MS_COL_NUM: what to parse into */
    ms_dict *dict;        /* MS_COL_CAT: the categories, owned by the model */
    int unknown_is_error; /* MS_COL_CAT: an unknown category is a row error
                             (the encoder's handle_unknown = "error") */
} ms_colspec;

#endif
