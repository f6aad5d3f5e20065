/*
 * cmd_jobs.c — asynchronous jobs: `mpiscore submit`, `status`, `cancel`,
 * `logs` (DESIGN §6), local backend.
 *
 * A job is a folder $MPISCORE_HOME/jobs/ID/ (ID allocated with mkdir, which
 * is atomic, so concurrent submits never share one) holding spec.json, the
 * run's stdout/stderr, status.json (kept current by the running coordinator
 * through --status-file), metrics.json, and pid / exit_code written by a
 * small supervisor process that waits for mpirun. The supervisor is a
 * session leader, so `cancel` signals the whole process group: SIGTERM
 * makes the coordinator stop at a batch boundary with a resumable journal.
 *
 * A job runs in the folder `submit` ran in (spec.json's cwd), never in its
 * job folder, so the run options mean what they would mean to `mpiscore run`
 * typed there: relative --model/--input/--output/... paths, a model file that
 * shadows a registry name, a relative MPISCORE_HOME. The local supervisor
 * inherits that folder; the Slurm script changes into it (WORK_DIR).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "mpiscore/batch.h"
#include "mpiscore/status.h"

static int jobs_root(char *out, size_t sz)
{
    const char *home = getenv("MPISCORE_HOME");
    if (home && *home)
        return snprintf(out, sz, "%s/jobs", home) < (int)sz ? 0 : -1;
    const char *h = getenv("HOME");
    return snprintf(out, sz, "%s/.mpiscore/jobs", h ? h : ".") < (int)sz ? 0 : -1;
}

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int read_file_str(const char *path, char *buf, size_t sz)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sz - 1, f);
    buf[n] = '\0';
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return 0;
}

static void write_file_str(const char *path, const char *s)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fputs(s, f);
    fclose(f);
    rename(tmp, path);
}

/* Job ids are what submit allocates: a positive decimal number, no sign, no
 * leading zero, at most 9 digits. Anything else could name another folder
 * ("1/../2", "", ".") and is refused before a path is built from it. */
static int job_id_ok(const char *id)
{
    size_t n = strlen(id);
    return n >= 1 && n <= 9 && id[0] != '0' && strspn(id, "0123456789") == n;
}

static int bad_job_id(const char *cmd, const char *id)
{
    fprintf(stderr,
            "mpiscore %s: job id \"%s\": expected a positive number (see mpiscore %s --help)\n",
            cmd, id, cmd);
    return MS_EUSAGE;
}

/* A cancelled run may have been stopped before it could write its final
 * status (mpirun kills ranks that outlive its grace period): status.json is
 * made to say what happened rather than "running" for ever. */
static void mark_cancelled(const char *dir)
{
    char p[PATH_MAX + 64], tmp[PATH_MAX + 80];
    snprintf(p, sizeof p, "%s/status.json", dir);
    json_t *st = json_load_file(p, 0, NULL);
    if (!st)
        st = json_object();
    if (!json_is_object(st)) {
        json_decref(st);
        return;
    }
    json_object_set_new(st, "state", json_string("cancelled"));
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    if (json_dump_file(st, tmp, JSON_INDENT(2)) == 0)
        rename(tmp, p);
    json_decref(st);
}

static const char submit_usage[] =
    "usage: mpiscore submit [--backend local|slurm] [-n RANKS] [slurm options] -- RUN-OPTIONS\n"
    "\n"
    "Start `mpirun -n RANKS mpiscore run RUN-OPTIONS` detached and print its job id at once.\n"
    "Follow it with `mpiscore status ID`, `mpiscore logs ID`, stop it with `mpiscore cancel ID`\n"
    "(the run stops at a batch boundary; `mpiscore run ... --resume` continues it).\n"
    "Jobs live in $MPISCORE_HOME/jobs (default ~/.mpiscore/jobs).\n"
    "  --backend local   detached mpirun on this machine (default)\n"
    "  --backend slurm   render slurm/mpiscore.sbatch into the job folder, `sbatch --parsable`;\n"
    "                    requeue-safe: a requeued job resumes from its journal\n"
    "  -n RANKS          MPI ranks (local) or ranks per node (slurm; default 2)\n"
    "  --nodes N, --ntasks-per-node N, --time T, --partition P, --account A   (slurm)\n"
    "The job runs in the current folder: relative paths in RUN-OPTIONS are taken from here.\n";

typedef struct slurm_opts {
    int nodes, ntasks_per_node;
    const char *time, *partition, *account;
} slurm_opts;

static int submit_slurm(const char *dir, const char *cwd, long id, const char *self,
                        const slurm_opts *so, char **run_args, int n_args);

int ms_cmd_submit(int argc, char **argv)
{
    int ranks = 2, i = 1;
    const char *backend = "local", *slurm_only = NULL;
    slurm_opts so = {1, 0, "01:00:00", NULL, NULL};
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(submit_usage, stdout);
            return MS_OK;
        }
        if (!v || !strcmp(v, "--")) {
            fprintf(stderr, "mpiscore submit: %s needs a value (see mpiscore submit --help)\n", a);
            return MS_EUSAGE;
        }
        i++;
        if (strcmp(a, "--backend") != 0 && strcmp(a, "-n") != 0 && !slurm_only)
            slurm_only = a;
        if (!strcmp(a, "--backend")) {
            backend = v;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--ntasks-per-node") || !strcmp(a, "--nodes")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 4096) {
                fprintf(stderr, "mpiscore submit: %s %s: expected a number from 1 to 4096\n", a, v);
                return MS_EUSAGE;
            }
            if (!strcmp(a, "--nodes"))
                so.nodes = (int)n;
            else
                ranks = so.ntasks_per_node = (int)n;
        } else if (!strcmp(a, "--time")) {
            so.time = v;
        } else if (!strcmp(a, "--partition") || !strcmp(a, "--account")) {
            /* lands in an #SBATCH line: no spaces, quotes or newlines */
            if (!*v || strlen(v) > 200 ||
                strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.,-") !=
                    strlen(v)) {
                fprintf(stderr,
                        "mpiscore submit: %s '%s': expected a Slurm %s name (letters, digits, "
                        "'_', '.', '-'; a comma-separated list for partitions)\n",
                        a, v, a + 2);
                return MS_EUSAGE;
            }
            if (!strcmp(a, "--partition"))
                so.partition = v;
            else
                so.account = v;
        } else {
            fprintf(stderr, "mpiscore submit: unknown option %s (see mpiscore submit --help)\n", a);
            return MS_EUSAGE;
        }
    }
    if (!so.ntasks_per_node)
        so.ntasks_per_node = ranks;
    if (strcmp(backend, "local") != 0 && strcmp(backend, "slurm") != 0) {
        fprintf(stderr, "mpiscore submit: --backend %s: expected local or slurm\n", backend);
        return MS_EUSAGE;
    }
    if (slurm_only && !strcmp(backend, "local")) {
        fprintf(stderr,
                "mpiscore submit: %s goes with --backend slurm (the local backend takes -n)\n",
                slurm_only);
        return MS_EUSAGE;
    }
    if (strcmp(so.time, "UNLIMITED") != 0 &&
        (!*so.time || strlen(so.time) > 32 || strspn(so.time, "0123456789:-") != strlen(so.time))) {
        fprintf(stderr, "mpiscore submit: --time '%s': expected MINUTES, HH:MM:SS or D-HH:MM:SS\n",
                so.time);
        return MS_EUSAGE;
    }
    if (i >= argc - 1) {
        fprintf(stderr, "mpiscore submit: give the run options after -- (see mpiscore submit "
                        "--help)\n");
        return MS_EUSAGE;
    }
    char cwd[PATH_MAX], root[PATH_MAX], dir[PATH_MAX + 32], self[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        /* relative paths could not mean anything: refuse rather than guess */
        fprintf(stderr, "mpiscore submit: cannot tell the current folder: %s\n", strerror(errno));
        return MS_EIO;
    }
    char rel[PATH_MAX];
    if (jobs_root(rel, sizeof rel) != 0 ||
        snprintf(root, sizeof root, "%s%s%s", rel[0] == '/' ? "" : cwd, rel[0] == '/' ? "" : "/",
                 rel) >= (int)sizeof root) {
        fprintf(stderr, "mpiscore: error: jobs folder: path too long\n");
        return MS_EIO;
    }
    if (mkdir_p(root) != 0) {
        fprintf(stderr, "mpiscore: error: %s: %s\n", root, strerror(errno));
        return MS_EIO;
    }
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) {
        fprintf(stderr, "mpiscore: error: cannot find the mpiscore binary\n");
        return MS_EINTERNAL;
    }
    self[sl] = '\0';
    /* allocate the id: mkdir is atomic */
    long id = 1;
    for (;; id++) {
        snprintf(dir, sizeof dir, "%s/%ld", root, id);
        if (mkdir(dir, 0755) == 0)
            break;
        if (errno != EEXIST) {
            fprintf(stderr, "mpiscore: error: %s: %s\n", dir, strerror(errno));
            return MS_EIO;
        }
    }
    json_t *args = json_array();
    for (int k = i + 1; k < argc; k++)
        json_array_append_new(args, json_string(argv[k]));
    char created[32];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_t *spec =
        json_pack("{s:I, s:s, s:i, s:o, s:s, s:s}", "id", (json_int_t)id, "backend", backend,
                  "ranks", ranks, "run_args", args, "cwd", cwd, "created", created);
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/spec.json", dir);
    json_dump_file(spec, p, JSON_INDENT(2));
    json_decref(spec);

    if (!strcmp(backend, "slurm"))
        return submit_slurm(dir, cwd, id, self, &so, argv + i + 1, argc - i - 1);

    pid_t sup = fork();
    if (sup < 0) {
        fprintf(stderr, "mpiscore: error: fork: %s\n", strerror(errno));
        return MS_EINTERNAL;
    }
    if (sup == 0) {
        /* supervisor: own session, waits for mpirun, records its exit; it
         * outlives the SIGTERM of `cancel` so the exit code is recorded */
        setsid();
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGUSR2, SIG_IGN);
        int out, err, nul = open("/dev/null", O_RDONLY);
        snprintf(p, sizeof p, "%s/stdout", dir);
        out = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
        snprintf(p, sizeof p, "%s/stderr", dir);
        err = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
        if (nul >= 0)
            dup2(nul, 0);
        if (out >= 0)
            dup2(out, 1);
        if (err >= 0)
            dup2(err, 2);
        char npid[32];
        snprintf(npid, sizeof npid, "%ld\n", (long)getpid());
        snprintf(p, sizeof p, "%s/pid", dir);
        write_file_str(p, npid);
        pid_t run = fork();
        if (run == 0) {
            signal(SIGTERM, SIG_DFL);
            signal(SIGINT, SIG_DFL);
            signal(SIGUSR2, SIG_DFL);
            int n = argc - i - 1;
            char **av = calloc((size_t)n + 12, sizeof *av);
            char nr[16], st[PATH_MAX + 64], me[PATH_MAX + 64];
            snprintf(nr, sizeof nr, "%d", ranks);
            snprintf(st, sizeof st, "%s/status.json", dir);
            snprintf(me, sizeof me, "%s/metrics.json", dir);
            int k = 0;
            av[k++] = "mpirun";
            av[k++] = "-n";
            av[k++] = nr;
            av[k++] = self;
            av[k++] = "run";
            for (int j = i + 1; j < argc; j++)
                av[k++] = argv[j];
            av[k++] = "--status-file";
            av[k++] = st;
            av[k++] = "--metrics";
            av[k++] = me;
            av[k] = NULL;
            execvp("mpirun", av);
            fprintf(stderr, "mpiscore: error: cannot start mpirun: %s\n", strerror(errno));
            _exit(MS_EINTERNAL);
        }
        int wst = 0;
        while (run > 0 && waitpid(run, &wst, 0) < 0 && errno == EINTR)
            ;
        char code[32];
        snprintf(code, sizeof code, "%d\n",
                 run < 0          ? MS_EINTERNAL
                 : WIFEXITED(wst) ? WEXITSTATUS(wst)
                                  : 128 + WTERMSIG(wst));
        snprintf(p, sizeof p, "%s/cancel_requested", dir);
        if (access(p, F_OK) == 0 && !(WIFEXITED(wst) && WEXITSTATUS(wst) == 0))
            mark_cancelled(dir);
        snprintf(p, sizeof p, "%s/exit_code", dir);
        write_file_str(p, code);
        _exit(0);
    }
    printf("%ld\n", id);
    return MS_OK;
}

/* ---- slurm backend ---------------------------------------------------------- */

/* Append s to the buffer as one single-quoted shell word. */
static void sh_quote(char **buf, size_t *len, size_t *cap, const char *s)
{
    ms_buf_reserve(buf, cap, *len + 4 * strlen(s) + 4, NULL);
    char *o = *buf + *len;
    *o++ = '\'';
    for (; *s; s++) {
        if (*s == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *s;
        }
    }
    *o++ = '\'';
    *len = (size_t)(o - *buf);
}

/* The sbatch template: $MPISCORE_SBATCH_TEMPLATE, else found relative to the
 * binary: PREFIX/share/mpiscore (installed) or BUILD/share/mpiscore (a build
 * tree, which mirrors the installed layout). No source path is compiled in. */
static FILE *open_template(const char *self, char *path, size_t sz)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", self);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    const char *env = getenv("MPISCORE_SBATCH_TEMPLATE");
    const char *fmt[] = {"%s/../share/mpiscore/mpiscore.sbatch",
                         "%s/share/mpiscore/mpiscore.sbatch"};
    for (int k = -1; k < 2; k++) {
        if (k < 0 && !env)
            continue;
        if (k < 0)
            snprintf(path, sz, "%s", env);
        else if (snprintf(path, sz, fmt[k], dir) >= (int)sz)
            continue;
        FILE *f = fopen(path, "r");
        if (f)
            return f;
    }
    return NULL;
}

/* Replace every @KEY@ of tpl; 0 if none is left unreplaced. */
static char *render(const char *tpl, const char *const *kv, int n)
{
    char *out = NULL;
    size_t len = 0, cap = 0;
    for (const char *p = tpl; *p;) {
        int hit = -1;
        if (*p == '@') {
            for (int k = 0; k < n; k += 2) {
                size_t kl = strlen(kv[k]);
                if (!strncmp(p + 1, kv[k], kl) && p[1 + kl] == '@') {
                    hit = k;
                    break;
                }
            }
        }
        if (hit >= 0) {
            size_t vl = strlen(kv[hit + 1]);
            ms_buf_reserve(&out, &cap, len + vl + 1, NULL);
            memcpy(out + len, kv[hit + 1], vl);
            len += vl;
            p += strlen(kv[hit]) + 2;
        } else {
            ms_buf_reserve(&out, &cap, len + 2, NULL);
            out[len++] = *p++;
        }
    }
    ms_buf_reserve(&out, &cap, len + 1, NULL);
    out[len] = '\0';
    return out;
}

/* Slurm's view of a job: its state (PENDING, RUNNING, COMPLETED, ...) and,
 * while it waits, why (Resources, Priority, PartitionNodeLimit, ...); both ""
 * if Slurm does not know the job (any more). */
static void slurm_query(const char *sid, char *state, size_t ssz, char *reason, size_t rsz)
{
    char cmd[256];
    state[0] = reason[0] = '\0';
    snprintf(cmd, sizeof cmd, "scontrol show job %s 2>/dev/null", sid);
    FILE *f = popen(cmd, "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *js = strstr(line, "JobState="), *re = strstr(line, " Reason=");
        if (js) {
            js += 9;
            snprintf(state, ssz, "%.*s", (int)strcspn(js, " \n"), js);
        }
        if (re && js) {
            re += 8;
            snprintf(reason, rsz, "%.*s", (int)strcspn(re, " \n"), re);
            if (!strcmp(reason, "None"))
                reason[0] = '\0';
        }
    }
    pclose(f);
}

/* Pending reasons that waiting does not cure: the job asks for more than the
 * partition is configured to give (Slurm queues such jobs for ever unless
 * EnforcePartLimits rejects them at sbatch). NULL for every other reason,
 * including nodes that are down or drained, which come back. */
static const char *never_starts(const char *reason)
{
    static const struct {
        const char *reason, *why;
    } never[] = {
        {"PartitionNodeLimit", "the partition allows fewer (or more) nodes than --nodes"},
        {"PartitionConfig", "the partition has no such nodes: fewer than --nodes, or fewer "
                            "CPUs per node than --ntasks-per-node"},
        {"PartitionTimeLimit", "--time is over the partition's time limit"},
        {"BadConstraints", "no node in the partition meets the job's constraints"},
    };
    for (size_t k = 0; k < sizeof never / sizeof *never; k++)
        if (!strcmp(reason, never[k].reason))
            return never[k].why;
    return NULL;
}

/* A submission that went wrong: say why once on stderr and keep the line as
 * the job's stderr and exit code 4, so `status` shows it as failed with it. */
static int submit_failed(const char *dir, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int submit_failed(const char *dir, const char *fmt, ...)
{
    char msg[1536], p[PATH_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", msg);
    snprintf(p, sizeof p, "%s/stderr", dir);
    FILE *f = fopen(p, "w");
    if (f) {
        fprintf(f, "%s\n", msg);
        fclose(f);
    }
    snprintf(p, sizeof p, "%s/exit_code", dir);
    write_file_str(p, "4\n");
    return MS_EIO;
}

static int submit_slurm(const char *dir, const char *cwd, long id, const char *self,
                        const slurm_opts *so, char **run_args, int n_args)
{
    char tpath[PATH_MAX], p[PATH_MAX + 64];
    FILE *tf = open_template(self, tpath, sizeof tpath);
    if (!tf) {
        fprintf(stderr,
                "mpiscore: error: cannot find mpiscore.sbatch in share/mpiscore beside or "
                "above %s (reinstall, or set MPISCORE_SBATCH_TEMPLATE)\n",
                self);
        return MS_EIO;
    }
    char *tpl = NULL;
    size_t tlen = 0, tcap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, tf)) > 0) {
        ms_buf_reserve(&tpl, &tcap, tlen + n + 1, NULL);
        memcpy(tpl + tlen, chunk, n);
        tlen += n;
    }
    fclose(tf);
    tpl[tlen] = '\0';
    /* the run's own arguments, then where the job reports to */
    char *args = NULL, *qdir = NULL, *qcwd = NULL, *qself = NULL;
    size_t alen = 0, acap = 0, dlen = 0, dcap = 0, clen = 0, ccap = 0, slen = 0, scap = 0;
    char st[PATH_MAX + 64], me[PATH_MAX + 64];
    snprintf(st, sizeof st, "%s/status.json", dir);
    snprintf(me, sizeof me, "%s/metrics.json", dir);
    for (int k = 0; k < n_args + 4; k++) {
        const char *a = k < n_args        ? run_args[k]
                        : k == n_args     ? "--status-file"
                        : k == n_args + 1 ? st
                        : k == n_args + 2 ? "--metrics"
                                          : me;
        if (k)
            args[alen++] = ' ';
        sh_quote(&args, &alen, &acap, a);
        ms_buf_reserve(&args, &acap, alen + 2, NULL);
    }
    args[alen] = '\0';
    sh_quote(&qdir, &dlen, &dcap, dir);
    qdir[dlen] = '\0';
    sh_quote(&qcwd, &clen, &ccap, cwd);
    qcwd[clen] = '\0';
    sh_quote(&qself, &slen, &scap, self);
    qself[slen] = '\0';
    char name[64], nodes[16], ntasks[16], out[PATH_MAX + 64], part[256], acct[256];
    snprintf(name, sizeof name, "mpiscore-%ld", id);
    snprintf(nodes, sizeof nodes, "%d", so->nodes);
    snprintf(ntasks, sizeof ntasks, "%d", so->ntasks_per_node);
    snprintf(out, sizeof out, "%s/stderr", dir);
    snprintf(part, sizeof part, so->partition ? "#SBATCH --partition=%s" : "%s",
             so->partition ? so->partition : "");
    snprintf(acct, sizeof acct, so->account ? "#SBATCH --account=%s" : "%s",
             so->account ? so->account : "");
    const char *kv[] = {"JOB_NAME",
                        name,
                        "NODES",
                        nodes,
                        "NTASKS_PER_NODE",
                        ntasks,
                        "TIME",
                        so->time,
                        "OUTPUT",
                        out,
                        "ERROR",
                        out,
                        "PARTITION_LINE",
                        part,
                        "ACCOUNT_LINE",
                        acct,
                        "JOB_DIR",
                        qdir,
                        "WORK_DIR",
                        qcwd,
                        "MPISCORE",
                        qself,
                        "RUN_ARGS",
                        args,
                        "REQUEUE_ON_TIMEOUT",
                        "1"};
    char *script = render(tpl, kv, (int)(sizeof kv / sizeof *kv));
    free(tpl);
    free(args);
    free(qdir);
    free(qcwd);
    free(qself);
    snprintf(p, sizeof p, "%s/job.sbatch", dir);
    write_file_str(p, script);
    free(script);
    /* sbatch --parsable prints "JOBID[;CLUSTER]"; its errors come on lines of
     * their own, possibly after warnings: keep the first that says error */
    char cmd[PATH_MAX + 128], sid[64] = "", line[1024], said[1024] = "";
    snprintf(cmd, sizeof cmd, "sbatch --parsable '%s' 2>&1", p);
    FILE *sb = popen(cmd, "r");
    int rc = -1;
    if (sb) {
        while (fgets(line, sizeof line, sb)) {
            line[strcspn(line, "\n")] = '\0';
            if (!line[0])
                continue;
            if (strspn(line, "0123456789") > 0 && !sid[0] && !strchr(line, ' '))
                snprintf(sid, sizeof sid, "%.*s", (int)strcspn(line, ";"), line);
            else if (!said[0] || (strstr(line, "error") && !strstr(said, "error")))
                snprintf(said, sizeof said, "%s", line);
        }
        rc = pclose(sb);
    }
    if (rc != 0 || !sid[0] || strspn(sid, "0123456789") != strlen(sid))
        return submit_failed(dir, "mpiscore: error: sbatch failed: %s",
                             said[0] ? said
                             : sb    ? "no job id in its output"
                                     : "cannot run sbatch");
    /* Slurm places the job (or says why not) as it accepts it: a job that
     * can never start fails here rather than wait for ever */
    char state[64], reason[256];
    slurm_query(sid, state, sizeof state, reason, sizeof reason);
    const char *why = !strcmp(state, "PENDING") ? never_starts(reason) : NULL;
    if (why) {
        snprintf(cmd, sizeof cmd, "scancel %s >/dev/null 2>&1", sid);
        int cancelled = system(cmd) == 0;
        return submit_failed(dir,
                             "mpiscore: error: sbatch failed: Slurm job %s can never start with "
                             "--nodes %d --ntasks-per-node %d --time %s: %s (%s)%s",
                             sid, so->nodes, so->ntasks_per_node, so->time, reason, why,
                             cancelled ? "; cancelled it" : "; scancel failed, cancel it yourself");
    }
    snprintf(p, sizeof p, "%s/slurm_id", dir);
    char sidn[80];
    snprintf(sidn, sizeof sidn, "%s\n", sid);
    write_file_str(p, sidn);
    printf("%ld\n", id);
    return MS_OK;
}

/* One line (or JSON) describing job `id`; returns 0 if the job exists. */
static int describe(const char *root, const char *id, int as_json)
{
    char dir[PATH_MAX + 64], p[PATH_MAX + 96], buf[1024];
    snprintf(dir, sizeof dir, "%s/%s", root, id);
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return -1;
    snprintf(p, sizeof p, "%s/status.json", dir);
    json_t *st = json_load_file(p, 0, NULL);
    snprintf(p, sizeof p, "%s/exit_code", dir);
    int have_code = read_file_str(p, buf, sizeof buf) == 0;
    int code = have_code ? atoi(buf) : -1;
    snprintf(p, sizeof p, "%s/pid", dir);
    long pid = read_file_str(p, buf, sizeof buf) == 0 ? atol(buf) : 0;
    int alive = pid > 0 && kill((pid_t)pid, 0) == 0;
    const char *state = st ? json_string_value(json_object_get(st, "state")) : NULL;
    char sid[64], sstate[64] = "", reason[256] = "";
    snprintf(p, sizeof p, "%s/slurm_id", dir);
    int is_slurm = read_file_str(p, sid, sizeof sid) == 0;
    if (is_slurm) {
        /* the scheduler knows about the queue and the end; the run about progress */
        slurm_query(sid, sstate, sizeof sstate, reason, sizeof reason);
        if (!strcmp(sstate, "PENDING") || !strcmp(sstate, "REQUEUED") ||
            !strcmp(sstate, "REQUEUE_HOLD") || !strcmp(sstate, "PREEMPTED"))
            state = "queued";
        else if (!strcmp(sstate, "CANCELLED"))
            state = "cancelled";
        else if ((!strcmp(sstate, "FAILED") || !strcmp(sstate, "TIMEOUT") ||
                  !strcmp(sstate, "NODE_FAIL") || !strcmp(sstate, "OUT_OF_MEMORY")) &&
                 (!state || !strcmp(state, "running")))
            state = "failed";
        else if (!strcmp(sstate, "COMPLETED") && (!state || !strcmp(state, "running")))
            state = "done";
        else if (!sstate[0] && !state)
            state = "queued";
        have_code = 0;
        alive = 1;
    }
    snprintf(p, sizeof p, "%s/cancel_requested", dir);
    int cancel_asked = !is_slurm && access(p, F_OK) == 0;
    if (cancel_asked && !(have_code && code == 0)) {
        /* whatever the run managed to write, a cancel is what ended it */
        state = have_code || (!alive && pid > 0) ? "cancelled" : "cancelling";
    } else if (!state || !strcmp(state, "running") || (!is_slurm && !strcmp(state, "cancelled"))) {
        if (have_code)
            state = code == 0 ? "done" : code == MS_EINTR ? "interrupted" : "failed";
        else if (!alive && pid > 0)
            state = "failed";
        else
            state = st ? "running" : "queued";
    }
    double frac = st ? json_real_value(json_object_get(st, "progress")) : 0;
    double rate = st ? json_real_value(json_object_get(st, "rows_per_s")) : 0;
    double eta = st ? json_real_value(json_object_get(st, "eta_s")) : 0;
    json_int_t rows = st ? json_integer_value(json_object_get(st, "rows")) : 0;
    const char *error = st ? json_string_value(json_object_get(st, "error")) : NULL;
    if (!error && have_code && code != 0 && strcmp(state, "interrupted") != 0 &&
        strcmp(state, "cancelled") != 0) {
        /* the run never got to write its status: its first stderr line says why */
        snprintf(p, sizeof p, "%s/stderr", dir);
        FILE *f = fopen(p, "r");
        if (f && fgets(buf, sizeof buf, f)) {
            buf[strcspn(buf, "\n")] = '\0';
            error = buf;
        }
        if (f)
            fclose(f);
    }
    if (as_json) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:f, s:f, s:f}", "id", id, "state", state, "rows",
                              rows, "progress", frac, "rows_per_s", rate, "eta_s", eta);
        if (have_code)
            json_object_set_new(o, "exit_code", json_integer(code));
        if (is_slurm) {
            json_t *so = json_pack("{s:s, s:s}", "job_id", sid, "state", sstate);
            if (reason[0])
                json_object_set_new(so, "reason", json_string(reason));
            json_object_set_new(o, "slurm", so);
        }
        if (error)
            json_object_set_new(o, "error", json_string(error));
        char *s = json_dumps(o, JSON_SORT_KEYS);
        puts(s);
        free(s);
        json_decref(o);
    } else if (!strcmp(state, "running")) {
        printf("%s  running %.0f%%  %lld rows  %.0f rows/s  ETA %d:%02d\n", id, 100 * frac,
               (long long)rows, rate, (int)eta / 60, (int)eta % 60);
    } else if (!strcmp(state, "failed")) {
        printf("%s  failed: %s\n", id, error ? error : "see mpiscore logs");
    } else if (!strcmp(state, "queued") && reason[0]) {
        /* why it waits; a reason waiting does not cure is spelled out */
        const char *why = never_starts(reason);
        printf("%s  queued (Slurm: %s%s%s%s%s)  %lld rows\n", id, reason, why ? ": " : "",
               why ? why : "", why ? "; it will not start as submitted: mpiscore cancel " : "",
               why ? id : "", (long long)rows);
    } else {
        printf("%s  %s  %lld rows\n", id, state, (long long)rows);
    }
    json_decref(st);
    return 0;
}

static int cmp_ids(const void *a, const void *b)
{
    long x = atol(*(char *const *)a), y = atol(*(char *const *)b);
    return (x > y) - (x < y);
}

int ms_cmd_status(int argc, char **argv)
{
    int as_json = 0;
    const char *id = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: mpiscore status [ID] [--json]\n\nOne line per job (or job ID): queued, "
                 "running with progress, rows/s and ETA, done, interrupted, or failed with the "
                 "reason.");
            return MS_OK;
        } else if (id) {
            fprintf(stderr, "mpiscore status: expected at most one job ID (see mpiscore status "
                            "--help)\n");
            return MS_EUSAGE;
        } else if (!job_id_ok(argv[i])) {
            return bad_job_id("status", argv[i]);
        } else
            id = argv[i];
    }
    char root[PATH_MAX];
    jobs_root(root, sizeof root);
    if (id) {
        if (describe(root, id, as_json) != 0) {
            fprintf(stderr, "mpiscore status: no job %s in %s\n", id, root);
            return MS_EUSAGE;
        }
        return MS_OK;
    }
    struct stat sb;
    if (stat(root, &sb) != 0)
        return MS_OK; /* no jobs yet */
    char **ids = NULL;
    size_t n = 0;
    DIR *d = opendir(root);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (!job_id_ok(de->d_name))
            continue;
        char **p = realloc(ids, (n + 1) * sizeof *p);
        if (!p)
            break;
        ids = p;
        ids[n++] = strdup(de->d_name);
    }
    if (d)
        closedir(d);
    qsort(ids, n, sizeof *ids, cmp_ids);
    for (size_t i = 0; i < n; i++) {
        describe(root, ids[i], as_json);
        free(ids[i]);
    }
    free(ids);
    return MS_OK;
}

int ms_cmd_cancel(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        puts("usage: mpiscore cancel ID\n\nStop a job at a batch boundary (resumable with "
             "`mpiscore run ... --resume`). Cancelling a job twice changes nothing.");
        return MS_OK;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: mpiscore cancel ID\n");
        return MS_EUSAGE;
    }
    if (!job_id_ok(argv[1]))
        return bad_job_id("cancel", argv[1]);
    char root[PATH_MAX], p[PATH_MAX + 64], buf[64];
    jobs_root(root, sizeof root);
    snprintf(p, sizeof p, "%s/%s/slurm_id", root, argv[1]);
    if (read_file_str(p, buf, sizeof buf) == 0) {
        /* scancel signals the ranks (TERM): they stop at a batch boundary */
        char cmd[128];
        snprintf(cmd, sizeof cmd, "scancel %s", buf);
        if (system(cmd) != 0) {
            fprintf(stderr, "mpiscore cancel: scancel %s failed\n", buf);
            return MS_EIO;
        }
        printf("cancelling %s (Slurm job %s)\n", argv[1], buf);
        return MS_OK;
    }
    snprintf(p, sizeof p, "%s/%s/pid", root, argv[1]);
    if (read_file_str(p, buf, sizeof buf) != 0) {
        fprintf(stderr, "mpiscore cancel: no job %s in %s\n", argv[1], root);
        return MS_EUSAGE;
    }
    snprintf(p, sizeof p, "%s/%s/exit_code", root, argv[1]);
    char code[32], mark[PATH_MAX + 64];
    int ended = read_file_str(p, code, sizeof code) == 0;
    snprintf(mark, sizeof mark, "%s/%s/cancel_requested", root, argv[1]);
    if (access(mark, F_OK) == 0 && !(ended && atoi(code) == 0)) {
        /* idempotent: a second TERM would make mpirun kill the ranks at once,
         * before they leave their status and journal in order */
        printf("job %s is already %s\n", argv[1], ended ? "cancelled" : "being cancelled");
        return MS_OK;
    }
    if (ended) {
        fprintf(stderr, "mpiscore cancel: job %s has already ended\n", argv[1]);
        return MS_EUSAGE;
    }
    /* mkdir is atomic: of two cancels at the same time, one signals */
    if (mkdir(mark, 0755) != 0) {
        if (errno == EEXIST) {
            printf("job %s is already being cancelled\n", argv[1]);
            return MS_OK;
        }
        fprintf(stderr, "mpiscore cancel: %s: %s\n", mark, strerror(errno));
        return MS_EIO;
    }
    /* The whole session: supervisor (ignores it), mpirun and every rank.
     * USR2, not TERM: mpirun forwards USR2 and passes the ranks' exit code
     * (6) through, while a TERM makes it kill the ranks after a grace period
     * and exit 1, whatever they managed to do. */
    if (kill(-(pid_t)atol(buf), SIGUSR2) != 0) {
        fprintf(stderr, "mpiscore cancel: job %s: %s\n", argv[1], strerror(errno));
        return MS_EIO;
    }
    printf("cancelling %s (the run stops at a batch boundary; --resume continues it)\n", argv[1]);
    return MS_OK;
}

int ms_cmd_logs(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        puts("usage: mpiscore logs ID\n\nThe job's stdout, then its stderr (on stderr).");
        return MS_OK;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: mpiscore logs ID\n");
        return MS_EUSAGE;
    }
    if (!job_id_ok(argv[1]))
        return bad_job_id("logs", argv[1]);
    char root[PATH_MAX], p[PATH_MAX + 64];
    jobs_root(root, sizeof root);
    int found = 0;
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/%s/%s", root, argv[1], k ? "stderr" : "stdout");
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        found = 1;
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, n, k ? stderr : stdout);
        fclose(f);
    }
    if (!found) {
        fprintf(stderr, "mpiscore logs: no job %s in %s\n", argv[1], root);
        return MS_EUSAGE;
    }
    return MS_OK;
}
