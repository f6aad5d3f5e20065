/*
 * model_internal.h — what model.c shares with the per-kind container code
 * (model_trees.c, model_mlp.c). Internal to src/core.
 *
 * model.c reads and checks the attributes every kind has (format, kind,
 * link, names, classes), then hands the open file to the kind's reader,
 * which fills its part of the struct and sets m->n_raw. Validation runs
 * the common checks and then the kind's own.
 */
#ifndef MPISCORE_MODEL_INTERNAL_H
#define MPISCORE_MODEL_INTERNAL_H

#include <hdf5.h>

#include "mpiscore/model.h"

/* Whole datasets. The float reader narrows doubles to float32 by C cast
 * (round to nearest) and refuses finite values beyond float32's range by
 * position; the double and int readers take any float / integer type.
 * rank is 1 or 2; dims receives the shape. *out is malloc'd (at least one
 * element even when empty). Errors name `path` and the dataset. */
ms_status ms_model_read_floats(hid_t f, const char *path, const char *name, int rank, hsize_t *dims,
                               float **out, ms_error *err);
ms_status ms_model_read_doubles(hid_t f, const char *path, const char *name, int rank,
                                hsize_t *dims, double **out, ms_error *err);
ms_status ms_model_read_ints(hid_t f, const char *path, const char *name, hsize_t *n, int64_t **out,
                             ms_error *err);
/* Attributes every kind may need. */
ms_status ms_model_req_str(hid_t f, const char *path, const char *name, char **out, ms_error *err);
ms_status ms_model_req_int(hid_t f, const char *path, const char *name, long long *out,
                           ms_error *err);
/* Writers (intermediate groups are created). 0 on success. */
int ms_model_write_floats(hid_t f, const char *name, int rank, const hsize_t *dims, const float *v);
int ms_model_write_doubles(hid_t f, const char *name, int rank, const hsize_t *dims,
                           const double *v);
int ms_model_write_ints(hid_t f, const char *name, hsize_t n, const int32_t *v);
int ms_model_write_i64(hid_t f, const char *name, hsize_t n, const int64_t *v);
int ms_model_write_u32(hid_t f, const char *name, hsize_t n, const uint32_t *v);

/* Per kind: read (sets m->n_raw), validate, write, free, describe. */
ms_status ms_trees_read(hid_t f, const char *path, ms_model *m, ms_error *err);
ms_status ms_trees_validate(const ms_model *m, const char *path, ms_error *err);
int ms_trees_write(hid_t f, const ms_model *m);
void ms_trees_free(ms_trees *t);
void ms_trees_describe(const ms_model *m, FILE *out);
/* Build the kernel layout (m->trees.compiled) of a validated model. */
ms_status ms_trees_compile(ms_model *m, ms_error *err);

ms_status ms_mlp_read(hid_t f, const char *path, ms_model *m, ms_error *err);
ms_status ms_mlp_validate(const ms_model *m, const char *path, ms_error *err);
int ms_mlp_write(hid_t f, const ms_model *m);
void ms_mlp_free(ms_mlp *mlp);
void ms_mlp_describe(const ms_model *m, FILE *out);
ms_status ms_mlp_derive64(ms_model *m, ms_error *err);

/* The preprocessing program (prep.c, docs/formats.md "Preprocessing"):
 * read /prep if the container has one (sets m->prep, m->n_inputs,
 * m->inputs; needs m->n_features), write it back, show it. */
ms_status ms_prep_read(hid_t f, const char *path, ms_model *m, ms_error *err);
int ms_prep_write(hid_t f, const ms_model *m);
void ms_prep_describe(const ms_model *m, FILE *out);

#endif
