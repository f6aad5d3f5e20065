/*
 * prep.c — preprocessing programs (prep.h). Placeholder until the program
 * format lands: no container has a program yet (m->prep is always NULL), so
 * ms_prep_apply is never reached.
 */
#include "mpiscore/prep.h"

#include <stdlib.h>

void ms_prep_apply(const ms_model *m, const void *const *col, size_t r0, size_t n, void *x)
{
    (void)m;
    (void)col;
    (void)r0;
    (void)n;
    (void)x;
    abort(); /* unreachable: m->prep is NULL for every loadable container */
}

void ms_prep_free(ms_prep *p)
{
    (void)p;
}
