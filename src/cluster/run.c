/*
 * run.c — set-up of `mpiscore run` on every rank, then coordinator or
 * worker (run.h).
 *
 * Set-up order matters: bind first (so every buffer is first touched on the
 * rank's core), then rank 0 validates model, inputs and output and
 * broadcasts either the plan or the fact that it failed, so that all ranks
 * leave together and only rank 0 prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster/run.h"
#include "mpiscore/paths.h"
#include "mpiscore/registry.h"

volatile sig_atomic_t ms_stop_signal;

static void on_signal(int sig)
{
    ms_stop_signal = sig;
}

void ms_catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* Open MPI 4.1's mpirun cannot forward TERM/INT (it ends the job itself
     * and exits 1) but does forward USR2 and then passes our exit code
     * through: `kill -USR2 <mpirun>` is the stop that exits 6. */
    sigaction(SIGUSR2, &sa, NULL);
}

/* Fatal signals. Open MPI installs a SIGSEGV/SIGBUS/SIGFPE/SIGABRT handler
 * that prints a backtrace with malloc and stdio: after heap corruption it
 * can deadlock inside malloc, and the rank then lives forever with the job
 * hung. Ours replaces it: one line preformatted at install time (write(2)
 * only, nothing that allocates or locks), then the default action, so the
 * process dies by the signal and mpirun ends the job. */
static const int fatal_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static const char *const fatal_names[] = {"SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT"};
#define N_FATAL (sizeof fatal_sigs / sizeof *fatal_sigs)
static char fatal_line[N_FATAL][256];
static size_t fatal_len[N_FATAL];
/* a stack overflow's SIGSEGV needs a stack of its own to run the handler on */
static char fatal_stack[64 * 1024];

static void on_fatal(int sig)
{
    for (size_t i = 0; i < N_FATAL; i++)
        if (fatal_sigs[i] == sig && write(2, fatal_line[i], fatal_len[i]) < 0)
            break;
    /* SA_RESETHAND restored the default action and SA_NODEFER leaves the
     * signal unblocked: this kills the process now. A faulting instruction
     * would fault again on return anyway. */
    raise(sig);
    _exit(128 + sig);
}

void ms_catch_fatal_signals(int rank)
{
    char host[128] = "?";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    for (size_t i = 0; i < N_FATAL; i++) {
        int n = snprintf(fatal_line[i], sizeof fatal_line[i],
                         "mpiscore: error: rank %d (pid %ld on %s): fatal signal %d (%s); "
                         "aborting the job\n",
                         rank, (long)getpid(), host, fatal_sigs[i], fatal_names[i]);
        fatal_len[i] = n > 0 && (size_t)n < sizeof fatal_line[i] ? (size_t)n : 0;
    }
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = fatal_stack;
    ss.ss_size = sizeof fatal_stack;
    int onstack = sigaltstack(&ss, NULL) == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND | SA_NODEFER | (onstack ? SA_ONSTACK : 0);
    for (size_t i = 0; i < N_FATAL; i++)
        sigaction(fatal_sigs[i], &sa, NULL);
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

/* The files a run writes. One entry per side file: a new one (say a JSON
 * summary) is a line here, and is then checked against the inputs, the
 * model and every other output before anything is opened for writing.
 * `partial` says it is written under NAME.partial and renamed into place;
 * `exclusive` that an existing file is refused unless --overwrite, like the
 * output itself (status and metrics files are replaced freely: they
 * describe the run, they hold no one's data). */
typedef struct side_file {
    const char *what, *path;
    int partial, exclusive, journal; /* journal: NAME.journal beside it */
} side_file;

static size_t side_files(const ms_run_opts *o, ms_out_format fmt, side_file *v)
{
    size_t n = 0;
    v[n++] = (side_file){"--output", o->output, 1, 1,
                         fmt == MS_FMT_CSV || (fmt == MS_FMT_PARQUET && !o->summary)};
    if (o->on_error_continue)
        v[n++] = (side_file){"--errors-file", o->errors_file, 1, 1, 0};
    if (o->metrics)
        v[n++] = (side_file){"--metrics", o->metrics, 1, 0, 0};
    if (o->status_file)
        v[n++] = (side_file){"--status-file", o->status_file, 1, 0, 0};
    if (o->summary && !o->summary_only)
        v[n++] = (side_file){"--summary", o->summary, 1, 1, 0};
    return n;
}

#define MS_MAX_SIDE_FILES 8

/* A file written by temp file + rename at some later point: find out now,
 * before any batch is scored, whether its folder takes the temp file. */
static ms_status probe_writable(const side_file *f, const char *tmp, ms_error *err)
{
    struct stat sb;
    if (stat(f->path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return ms_error_set(err, MS_EIO, "%s %s: is a folder", f->what, f->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
        return MS_OK;
    }
    if (errno == EEXIST && (fd = open(tmp, O_WRONLY | O_CLOEXEC)) >= 0) {
        close(fd);
        return MS_OK;
    }
    return ms_error_set(err, MS_EIO, "%s %s: cannot write %s: %s", f->what, f->path, tmp,
                        strerror(errno));
}

/* Every path the run writes against every input, the model and each other
 * (paths.h), then the start-up checks of each side file. Nothing has been
 * opened for writing yet. */
static ms_status check_side_files(const ms_run *r, const char *model_path, ms_error *err)
{
    const ms_run_opts *o = r->o;
    side_file f[MS_MAX_SIDE_FILES];
    size_t nf = side_files(o, r->fmt, f);
    ms_path_ref w[3 * MS_MAX_SIDE_FILES];
    char names[3 * MS_MAX_SIDE_FILES][4096 + 16];
    size_t nw = 0;
    ms_status st = MS_OK;
    for (size_t i = 0; i < nf; i++) {
        w[nw++] = (ms_path_ref){f[i].what, f[i].path};
        if (f[i].partial) {
            snprintf(names[nw], sizeof names[nw], "%s.partial", f[i].path);
            w[nw] = (ms_path_ref){f[i].what, names[nw]};
            nw++;
        }
        if (f[i].journal) {
            snprintf(names[nw], sizeof names[nw], "%s.journal", f[i].path);
            w[nw] = (ms_path_ref){f[i].what, names[nw]};
            nw++;
        }
    }
    size_t nr = r->in->n_files + 1;
    ms_path_ref *rd = calloc(nr, sizeof *rd);
    if (!rd)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    rd[0] = (ms_path_ref){"the model", model_path};
    for (size_t i = 0; i < r->in->n_files; i++)
        rd[i + 1] = (ms_path_ref){"input", r->in->files[i].path};
    st = ms_paths_check_distinct(w, nw, rd, nr, err);
    free(rd);
    for (size_t i = 1; i < nf && st == MS_OK; i++) {
        char tmp[4096 + 16];
        snprintf(tmp, sizeof tmp, "%s.partial", f[i].path);
        /* the output itself is checked by its writer; a resumed run takes
         * up its own errors file */
        if (f[i].exclusive && !o->resume)
            st = ms_output_check_target(f[i].path, o->overwrite, err);
        if (st == MS_OK && !f[i].exclusive)
            st = probe_writable(&f[i], tmp, err);
    }
    return st;
}

static ms_status setup_rank0(ms_run *r, char *model_path, unsigned char **model_img,
                             size_t *model_len, ms_error *err)
{
    ms_status st;
    const ms_run_opts *o = r->o;
    ms_input_opts io = {
        .delim = o->delim,
        .dataset = o->dataset,
        .features = o->features,
        .n_features = o->n_features,
        .id_column = o->id_column,
        .keep_columns = o->keep_columns,
        .n_keep = o->n_keep,
        .output = o->output,
    };
    MS_CHECK(ms_isa_select(&r->isa, err));
    MS_CHECK(ms_out_format_pick(o->format, o->output, &r->fmt, err));
    if (r->fmt != MS_FMT_PARQUET && (o->pq_codec >= 0 || o->row_group_rows))
        MS_CHECK(ms_error_set(err, MS_EUSAGE, "%s: only for Parquet output (%s is not)",
                              o->pq_codec >= 0 ? "--compression" : "--row-group-rows", o->output));
    /* Resolved once, here: NAME:latest must name the same version on every
     * rank even if a register lands while the run starts. */
    MS_CHECK(ms_registry_resolve(o->model, model_path, MS_REGISTRY_PATH_MAX, err));
    /* the bytes verified here are the bytes every rank scores with */
    MS_CHECK(ms_model_read_container(model_path, model_img, model_len, err));
    MS_CHECK(ms_model_load_image(model_path, *model_img, *model_len, &r->model, err));
    MS_CHECK(ms_inputs_plan(o->inputs, o->n_inputs, &io, r->model, &r->in, err));
    for (size_t i = 0; i < r->in->n_skipped; i++)
        ms_log(r, MS_LOG_INFO, "left out %s", r->in->skipped[i]);
    MS_CHECK(check_side_files(r, model_path, err));
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
    unsigned char *model_img = NULL;
    size_t model_len = 0;

    ms_catch_stop_signals();

    ms_bind_rank(comm, o->bind, r.where, sizeof r.where);
    if (o->report_bindings)
        report_bindings(&r);

    if (r.rank == 0) {
        st = setup_rank0(&r, model_path, &model_img, &model_len, &err);
        if (st == MS_OK)
            st = ms_inputs_pack(r.in, &plan, &plan_len, &err);
        /* Fault injection for the model-identity test: a deploy replacing
         * the model (with MPISCORE_FAULT_MODEL) right after rank 0 read it. */
        const char *fault = getenv("MPISCORE_FAULT"), *repl = getenv("MPISCORE_FAULT_MODEL");
        if (st == MS_OK && fault && !strcmp(fault, "swap-model-after-load") && repl &&
            rename(repl, model_path) != 0)
            st = ms_error_set(&err, MS_EIO, "MPISCORE_FAULT: cannot swap the model: %s",
                              strerror(errno));
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
    resolved.model_ref = o->model;
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
    /* Workers never reopen the model's path: a file replaced during start-up
     * would give rows scored by two models. They get rank 0's image. */
    unsigned long long mlen = model_len;
    MPI_Bcast(&mlen, 1, MPI_UNSIGNED_LONG_LONG, 0, comm);
    if (r.rank != 0 && !(model_img = malloc(mlen ? mlen : 1))) {
        fprintf(stderr, "mpiscore: rank %d: out of memory\n", r.rank);
        MPI_Abort(comm, MS_EINTERNAL);
    }
    for (unsigned long long at = 0; at < mlen;) {
        /* MPI counts are ints: chunks well under 2 GiB */
        int chunk = (int)(mlen - at < (1ull << 30) ? mlen - at : (1ull << 30));
        MPI_Bcast(model_img + at, chunk, MPI_BYTE, 0, comm);
        at += (unsigned long long)chunk;
    }
    if (r.rank != 0) {
        st = ms_inputs_unpack(plan, (size_t)len, &r.in, &err);
        if (st == MS_OK)
            st = ms_isa_select(&r.isa, &err);
        if (st == MS_OK)
            st = ms_out_format_pick(o->format, o->output, &r.fmt, &err);
        if (st == MS_OK)
            st = ms_model_load_image(model_path, model_img, (size_t)mlen, &r.model, &err);
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
        int parquet = 0;
        for (size_t i = 0; i < r.in->n_files && st == MS_OK; i++) {
            if (r.in->files[i].kind == MS_IN_HDF5 && r.size > 1)
                st = ms_error_set(&err, MS_EINPUT,
                                  "%s: HDF5 input must be readable on every rank (the bytes "
                                  "transport is for CSV)",
                                  r.in->files[i].path);
            /* Parquet batches are descriptors (no bytes): workers read
             * their row ranges themselves under either transport */
            parquet |= r.in->files[i].kind == MS_IN_PARQUET;
            if (r.in->files[i].kind == MS_IN_PARQUET && r.size > 1 && !all_visible)
                st = ms_error_set(&err, MS_EINPUT,
                                  "%s: Parquet input must be readable on every rank (workers "
                                  "read their row groups; the bytes transport is for CSV)",
                                  r.in->files[i].path);
        }
        if (st == MS_OK && parquet)
            ms_log(&r, MS_LOG_INFO,
                   "Parquet batches go as descriptors, read by the workers (the bytes transport "
                   "carries CSV batches only)");
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
    if (st == MS_OK) {
        r.out_prec = o->precision >= 0 ? (ms_precision)o->precision : r.model->precision;
        ms_scorer_set_precision(r.scorer, r.out_prec);
    }
    if (st == MS_OK)
        ms_loader_set_max_retries(ms_scorer_loader(r.scorer), o->max_retries);
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
    free(model_img);
    free(plan);
    return (int)st;
}
