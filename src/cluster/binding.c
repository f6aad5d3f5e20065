/*
 * binding.c — hwloc core binding per node-local rank (binding.h).
 */
#include "cluster/binding.h"

#include <hwloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void describe(hwloc_topology_t topo, const char *host, const char *how, char *where,
                     size_t wsz)
{
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    char cpus[256] = "?";
    if (set && hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) == 0)
        hwloc_bitmap_list_snprintf(cpus, sizeof cpus, set);
    int core = -1;
    if (set && hwloc_get_nbobjs_inside_cpuset_by_type(topo, set, HWLOC_OBJ_CORE) == 1) {
        hwloc_obj_t c = hwloc_get_next_obj_inside_cpuset_by_type(topo, set, HWLOC_OBJ_CORE, NULL);
        if (c)
            core = (int)c->logical_index;
    }
    if (core >= 0)
        snprintf(where, wsz, "host %s core %d (cpus %s, %s)", host, core, cpus, how);
    else
        snprintf(where, wsz, "host %s unbound (cpus %s, %s)", host, cpus, how);
    hwloc_bitmap_free(set);
}

void ms_bind_index(int local_rank, ms_bind_mode mode, char *where, size_t wsz)
{
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0 || hwloc_topology_load(topo) != 0) {
        snprintf(where, wsz, "host %s unbound (hwloc could not read the topology)", host);
        return;
    }
    const char *how = "not bound: --bind none";
    if (mode == MS_BIND_CORE) {
        hwloc_bitmap_t cur = hwloc_bitmap_alloc();
        int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
        if (cur && hwloc_get_cpubind(topo, cur, HWLOC_CPUBIND_PROCESS) == 0 &&
            hwloc_get_nbobjs_inside_cpuset_by_type(topo, cur, HWLOC_OBJ_CORE) == 1) {
            how = "bound by the launcher";
        } else if (ncores > 0) {
            hwloc_obj_t core =
                hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)(local_rank % ncores));
            if (core && hwloc_set_cpubind(topo, core->cpuset, HWLOC_CPUBIND_PROCESS) == 0)
                how = local_rank >= ncores ? "bound by mpiscore, oversubscribed"
                                           : "bound by mpiscore";
            else
                how = "binding refused by the system";
        }
        hwloc_bitmap_free(cur);
    }
    describe(topo, host, how, where, wsz);
    hwloc_topology_destroy(topo);
}

void ms_bind_rank(MPI_Comm comm, ms_bind_mode mode, char *where, size_t wsz)
{
    int rank = 0, local_rank = 0;
    MPI_Comm node = MPI_COMM_NULL;
    MPI_Comm_rank(comm, &rank);
    if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_rank(node, &local_rank);
        MPI_Comm_free(&node);
    }
    char full[512];
    ms_bind_index(local_rank, mode, full, sizeof full);
    snprintf(where, wsz, "local rank %d, %s", local_rank, full);
}
