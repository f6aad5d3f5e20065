/*
 * model_mlp.c — the mlp part of the model container (docs/formats.md).
 * Placeholder until the MLP kernels land: containers of this kind are
 * refused by name.
 */
#include <stdlib.h>

#include "model_internal.h"

ms_status ms_mlp_read(hid_t f, const char *path, ms_model *m, ms_error *err)
{
    (void)f;
    (void)m;
    return ms_error_set(err, MS_EMODEL, "%s: kind \"mlp\" is not supported by this build yet", path);
}

ms_status ms_mlp_validate(const ms_model *m, const char *path, ms_error *err)
{
    (void)m;
    return ms_error_set(err, MS_EMODEL, "%s: kind \"mlp\" is not supported by this build yet", path);
}

int ms_mlp_write(hid_t f, const ms_model *m)
{
    (void)f;
    (void)m;
    return -1;
}

void ms_mlp_free(ms_mlp *mlp)
{
    (void)mlp;
}

void ms_mlp_describe(const ms_model *m, FILE *out)
{
    (void)m;
    (void)out;
}
