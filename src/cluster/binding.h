/*
 * binding.h — pin each rank to one core of its node with hwloc.
 *
 * The node-local rank comes from MPI_Comm_split_type(MPI_COMM_TYPE_SHARED);
 * local rank i takes core i mod cores. A rank the launcher already bound to
 * a single core keeps that binding. Binding happens before the scoring
 * buffers are allocated, so their pages are first touched on the right core.
 */
#ifndef MPISCORE_BINDING_H
#define MPISCORE_BINDING_H

#include <mpi.h>
#include <stddef.h>

#include "cluster/bind_core.h"
#include "mpiscore/status.h"

/* Bind this rank; describe the result in `where` ("host h core 1 (cpus 1)"
 * or "host h unbound (cpus 0-1)"). Never fails the run: a binding that
 * cannot be applied is described, not fatal. Collective over comm. */
void ms_bind_rank(MPI_Comm comm, ms_bind_mode mode, char *where, size_t wsz);

#endif
