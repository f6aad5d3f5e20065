/*
 * bind_core.h — pin this process to one core with hwloc, by index; the part
 * of the rank binding that needs no MPI (ms_bind_rank computes the index
 * from the node-local rank; `serve --instances` passes the instance number).
 */
#ifndef MPISCORE_BIND_CORE_H
#define MPISCORE_BIND_CORE_H

#include <stddef.h>

typedef enum { MS_BIND_CORE = 0, MS_BIND_NONE } ms_bind_mode;

/* Bind to core (index mod cores) unless the process is already bound to a
 * single core; describe the result in where ("core 1 (cpus 1, bound by
 * mpiscore)"). Never fails: a binding that cannot be applied is described. */
void ms_bind_index(int index, ms_bind_mode mode, char *where, size_t wsz);

#endif
