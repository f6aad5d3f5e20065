/*
 * model_trees.c — the trees part of the model container (docs/formats.md).
 * Placeholder until the MLP kernels land: containers of this kind are
 * refused by name.
 */
#include <stdlib.h>

#include "model_internal.h"

ms_status ms_trees_read(hid_t f, const char *path, ms_model *m, ms_error *err)
{
    (void)f;
    (void)m;
    return ms_error_set(err, MS_EMODEL, "%s: kind \"tree_ensemble\" is not supported by this build yet", path);
}

ms_status ms_trees_validate(const ms_model *m, const char *path, ms_error *err)
{
    (void)m;
    return ms_error_set(err, MS_EMODEL, "%s: kind \"tree_ensemble\" is not supported by this build yet", path);
}

int ms_trees_write(hid_t f, const ms_model *m)
{
    (void)f;
    (void)m;
    return -1;
}

void ms_trees_free(ms_trees *t)
{
    (void)t;
}

void ms_trees_describe(const ms_model *m, FILE *out)
{
    (void)m;
    (void)out;
}

ms_status ms_trees_compile(ms_model *m, ms_error *err)
{
    (void)m;
    (void)err;
    return MS_OK;
}
