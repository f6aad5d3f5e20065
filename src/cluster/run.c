/*
 * run.c — set-up of `mpiscore run` on every rank, then coordinator or
 * worker (run.h).
 *
 * Set-up order matters: bind first (so every buffer is first touched on the
 * rank's core), then rank 0 validates model, inputs and output and
 * broadcasts either the plan or the fact that it failed, so that all ranks
 * leave together and only rank 0 prints.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster/run.h"
#include "mpiscore/registry.h"

volatile sig_atomic_t ms_stop_signal;

static void on_signal(int sig)
{
    ms_stop_signal = sig;
}

void ms_idle_wait(unsigned *idle)
{
    unsigned us = 20u << (*idle < 6 ? *idle : 6); /* 20 us .. 1.28 ms */
    if (us > 1000)
        us = 1000;
    struct timespec ts = {0, (long)us * 1000L};
    nanosleep(&ts, NULL);
    (*idle)++;
}

void ms_log(const ms_run *r, ms_log_level lvl, const char *fmt, ...)
{
    if (lvl > r->o->log_level)
        return;
    char msg[MS_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mpiscore: %s\n", msg);
}

static ms_status setup_rank0(ms_run *r, char *model_path, ms_error *err)
{
    ms_status st;
    const ms_run_opts *o = r->o;
    ms_input_opts io = {
        .delim = o->delim,
        .dataset = o->dataset,
        .features = o->features,
        .n_features = o->n_features,
        .id_column = o->id_column,
        .output = o->output,
    };
    MS_CHECK(ms_isa_select(&r->isa, err));
    MS_CHECK(ms_out_format_pick(o->format, o->output, &r->fmt, err));
    /* Resolved once, here: NAME:latest must name the same version on every
     * rank even if a register lands while the run starts. */
    MS_CHECK(ms_registry_resolve(o->model, model_path, MS_REGISTRY_PATH_MAX, err));
    MS_CHECK(ms_model_load(model_path, &r->model, err));
    MS_CHECK(ms_inputs_plan(o->inputs, o->n_inputs, &io, r->model, &r->in, err));
done:
    return st;
}

/* "rank N on HOST": which process, and which node to look at, in messages
 * about one rank of a run that may span several hosts. */
static void rank_label(int rank, char *buf, size_t sz)
{
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(buf, sz, "rank %d on %.200s", rank, host);
}

/* All ranks learn the worst status and its message; on failure every rank
 * returns it. A message from another rank than 0 says which rank and host. */
static ms_status agree(ms_run *r, ms_status mine, ms_error *err)
{
    int v[2] = {(int)mine, r->rank}, worst[2];
    /* MAXLOC: the highest status wins, with the rank that had it */
    MPI_Allreduce(v, worst, 1, MPI_2INT, MPI_MAXLOC, r->comm);
    if (worst[0] == MS_OK)
        return MS_OK;
    char msg[MS_ERROR_MSG_MAX], who[256] = "";
    if (r->rank == worst[1] && worst[1] != 0)
        rank_label(r->rank, who, sizeof who);
    snprintf(msg, sizeof msg, "%s", err->msg);
    MPI_Bcast(who, (int)sizeof who, MPI_CHAR, worst[1], r->comm);
    MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, worst[1], r->comm);
    if (worst[1] != 0)
        ms_error_set(err, (ms_status)worst[0], "%s: %s", who, msg);
    else
        ms_error_set(err, (ms_status)worst[0], "%s", msg);
    return (ms_status)worst[0];
}

static void report_bindings(ms_run *r)
{
    char *all = NULL;
    if (r->rank == 0)
        all = calloc((size_t)r->size, sizeof r->where);
    MPI_Gather(r->where, (int)sizeof r->where, MPI_CHAR, all, (int)sizeof r->where, MPI_CHAR, 0,
               r->comm);
    if (r->rank == 0 && all) {
        for (int i = 0; i < r->size; i++)
            fprintf(stderr, "mpiscore: rank %d: %s\n", i, all + (size_t)i * sizeof r->where);
        fflush(stderr);
    }
    free(all);
}

int ms_run_main(const ms_run_opts *o, MPI_Comm comm)
{
    ms_run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.comm = comm;
    r.t_start = ms_now();
    MPI_Comm_rank(comm, &r.rank);
    MPI_Comm_size(comm, &r.size);
    ms_error err;
    ms_error_clear(&err);
    ms_status st = MS_OK;
    char *plan = NULL;
    char model_path[MS_REGISTRY_PATH_MAX] = "";
    ms_run_opts resolved;
    size_t plan_len = 0;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    ms_bind_rank(comm, o->bind, r.where, sizeof r.where);
    if (o->report_bindings)
        report_bindings(&r);

    if (r.rank == 0) {
        st = setup_rank0(&r, model_path, &err);
        if (st == MS_OK)
            st = ms_inputs_pack(r.in, &plan, &plan_len, &err);
    }
    if ((st = agree(&r, st, &err)) != MS_OK)
        goto done;

    /* The plan and the model's path go to every rank. */
    unsigned long long len = plan_len;
    MPI_Bcast(&len, 1, MPI_UNSIGNED_LONG_LONG, 0, comm);
    MPI_Bcast(model_path, (int)sizeof model_path, MPI_CHAR, 0, comm);
    /* From here on every rank, and the resume journal's fingerprint, see the
     * file the reference resolved to: a later register cannot change it. */
    resolved = *o;
    resolved.model = model_path;
    r.o = o = &resolved;
    if (r.rank != 0) {
        plan = malloc(len ? len : 1);
        if (!plan) {
            fprintf(stderr, "mpiscore: rank %d: out of memory\n", r.rank);
            MPI_Abort(comm, MS_EINTERNAL);
        }
    }
    MPI_Bcast(plan, (int)len, MPI_BYTE, 0, comm);
    if (r.rank != 0) {
        st = ms_inputs_unpack(plan, (size_t)len, &r.in, &err);
        if (st == MS_OK)
            st = ms_isa_select(&r.isa, &err);
        if (st == MS_OK)
            st = ms_out_format_pick(o->format, o->output, &r.fmt, &err);
        if (st == MS_OK)
            st = ms_model_load(model_path, &r.model, &err);
    }
    if ((st = agree(&r, st, &err)) != MS_OK)
        goto done;

    /* One kernel variant on every rank: the variants agree within rounding,
     * not bit for bit, so on hosts with different CPUs the output would depend
     * on which rank scored which batch (and a resumed run could differ from
     * an uninterrupted one). The least capable rank decides; a rank whose
     * MPISCORE_ISA forced a better variant fails the run rather than fall
     * back silently. */
    int isa_mine[2] = {(int)r.isa, r.rank}, isa_min[2];
    MPI_Allreduce(isa_mine, isa_min, 1, MPI_2INT, MPI_MINLOC, comm);
    const char *forced = getenv("MPISCORE_ISA");
    if (isa_min[0] != (int)r.isa && forced && *forced)
        st = ms_error_set(&err, MS_EUSAGE,
                          "MPISCORE_ISA=%s, but rank %d runs %s: every rank must run the "
                          "same kernel variant",
                          forced, isa_min[1], ms_isa_name((ms_isa)isa_min[0]));
    r.isa = (ms_isa)isa_min[0];

    /* Descriptors need every rank to see every file; otherwise ship bytes.
     * The first rank that cannot is named: a node missing a mount shows. */
    int vis[2] = {r.rank == 0 || ms_loader_files_visible(r.in), r.rank}, first_blind[2];
    MPI_Allreduce(vis, first_blind, 1, MPI_2INT, MPI_MINLOC, comm);
    int all_visible = first_blind[0];
    char blind[256] = "";
    if (!all_visible) {
        if (r.rank == first_blind[1])
            rank_label(r.rank, blind, sizeof blind);
        MPI_Bcast(blind, (int)sizeof blind, MPI_CHAR, first_blind[1], comm);
    }
    r.send_bytes =
        o->transport == MS_TRANSPORT_BYTES || (o->transport == MS_TRANSPORT_AUTO && !all_visible);
    if (r.send_bytes && r.rank == 0) {
        for (size_t i = 0; i < r.in->n_files && st == MS_OK; i++)
            if (r.in->files[i].kind == MS_IN_HDF5 && r.size > 1)
                st = ms_error_set(&err, MS_EINPUT,
                                  "%s: HDF5 input must be readable on every rank (the bytes "
                                  "transport is for CSV)",
                                  r.in->files[i].path);
        if (st == MS_OK && o->transport == MS_TRANSPORT_AUTO)
            ms_log(&r, MS_LOG_INFO,
                   "inputs are not visible on every rank (%s cannot read them all at their "
                   "planned sizes): sending bytes",
                   blind);
    }
    if (o->transport == MS_TRANSPORT_DESC && !all_visible && r.rank == 0)
        st = ms_error_set(&err, MS_EINPUT,
                          "--transport descriptors: %s cannot read every input file at its "
                          "planned size",
                          blind);
    if (st == MS_OK)
        st = ms_scorer_create(r.model, r.isa, r.in, r.fmt, &r.scorer, &err);
    if (st == MS_OK && o->summary)
        st = ms_scorer_enable_summary(r.scorer, o->summary_only, &err);
    if (st == MS_OK && o->summary && r.rank == 0)
        st = ms_scorer_new_summary(r.scorer, &r.summary, &err);
    if ((st = agree(&r, st, &err)) != MS_OK)
        goto done;
    if (r.rank == 0)
        ms_log(&r, MS_LOG_INFO, "%d rank(s), %zu file(s), kernel %s, transport %s", r.size,
               r.in->n_files, ms_isa_name(r.isa), r.send_bytes ? "bytes" : "descriptors");

    if (r.rank == 0)
        st = ms_coordinator(&r, &err);
    else
        st = ms_worker(&r);
    /* Rank 0's verdict is the run's; workers learn it so every rank exits alike. */
    int code = (int)st;
    MPI_Bcast(&code, 1, MPI_INT, 0, comm);
    st = (ms_status)code;

done:
    if (st != MS_OK && r.rank == 0)
        fprintf(stderr, "mpiscore: error: %s\n", err.msg);
    ms_scorer_destroy(r.scorer);
    ms_summary_destroy(r.summary);
    ms_inputs_free(r.in);
    ms_model_free(r.model);
    free(plan);
    return (int)st;
}
