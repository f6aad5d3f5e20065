/*
 * h5_reader.h — HDF5 input: a 2-D float32/float64 dataset of rows x columns.
 *
 * Column names come from the dataset's string-array attribute
 * `feature_names`, or from a caller-given list (--features). An optional
 * 1-D id dataset (integer or string) of the same length is copied through
 * as the id. Rows are read by hyperslab, so any rank can read any range.
 * NaN in a feature is a missing value; +-inf is a row error.
 */
#ifndef MPISCORE_H5_READER_H
#define MPISCORE_H5_READER_H

#include <stddef.h>
#include <stdint.h>

#include "mpiscore/batch.h"
#include "mpiscore/input.h" /* ms_val_type */
#include "mpiscore/status.h"

typedef struct ms_h5_input ms_h5_input;

typedef struct ms_h5_open_opts {
    const char *dataset;    /* the matrix, "/features" when NULL */
    char *const *names;     /* matrix column names overriding the attribute */
    size_t n_names;         /* 0: the feature_names attribute */
    char *const *want;      /* columns to find as 1-D datasets when the matrix lacks them */
    size_t n_want;          /* (absent ones are left out: the caller reports them) */
    int planned;            /* names are ms_h5_input_names of an earlier open of the file:
                               the matrix's columns, then 1-D datasets that must exist */
    const char *id_dataset; /* or NULL */
    char *const *keep;      /* kept columns: 1-D datasets by name, all required */
    size_t n_keep;
} ms_h5_open_opts;

/* Open `path`, dataset `dataset` (e.g. "/features"). `names`/`n_names`
 * override the feature_names attribute when n_names > 0. `id_dataset` may be
 * NULL. Errors name the file and dataset: not HDF5, no such dataset, not
 * 2-D, not a float type, attribute length != column count, id length !=
 * row count. */
ms_status ms_h5_input_open(const char *path, const char *dataset, char *const *names,
                           size_t n_names, const char *id_dataset, ms_h5_input **out,
                           ms_error *err);
/* The general open: opts as above. Further errors: a wanted dataset that
 * is not 1-D numbers or strings, or whose length is not the row count. */
ms_status ms_h5_input_open_opts(const char *path, const ms_h5_open_opts *opts, ms_h5_input **out,
                                ms_error *err);
uint64_t ms_h5_input_rows(const ms_h5_input *in);
size_t ms_h5_input_cols(const ms_h5_input *in);
/* Column names (n_cols of them). */
char *const *ms_h5_input_names(const ms_h5_input *in);
/* Type of kept column k as stored (MS_VAL_INT64, _DOUBLE, _FLOAT, _TEXT). */
ms_val_type ms_h5_input_keep_type(const ms_h5_input *in, size_t k);
/* Refuse, by name, a 1-D dataset whose type cannot feed the model column
 * col_feature maps it to: strings for a number, numbers for a string
 * category. spec: the batch's column specs (the model's inputs). */
ms_status ms_h5_input_check_kinds(const ms_h5_input *in, const int *col_feature,
                                  const ms_colspec *spec, ms_error *err);

/* Read rows [first, first + count) and append them to b, picking columns by
 * col_feature (n_cols entries: the batch column, -1 = ignored) like the CSV
 * layout, each value stored as the batch's spec types it (the dataset is
 * read as double when a column is float64; a float32 column gets (float) of
 * the double, as numpy's astype(float32) does). A row with
 * +-inf, or NaN where !allow_missing, is marked bad with line = row number
 * (1-based) and the column name. Columns from 1-D datasets are stored
 * likewise (a string category looked up exactly, "" = missing; an unknown
 * one under unknown_is_error is a row error); kept columns fill b->keep
 * (b->n_keep must be the open's n_keep). */
ms_status ms_h5_input_read(ms_h5_input *in, uint64_t first, size_t count, const int *col_feature,
                           int allow_missing, ms_batch *b, ms_error *err);
void ms_h5_input_close(ms_h5_input *in);

#endif
