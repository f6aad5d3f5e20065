/*
 * launch.c — `mpiscore run -n N ...`: start the ranks through the MPI
 * launcher this machine has, so a user types one command and reads one line.
 *
 * Owns: the launcher options (-n/--np, --hostfile, --map-by, --launcher),
 * picking mpirun or srun, and translating what the launcher reports into our
 * exit codes. It never parses run options: every other argument goes to the
 * ranks unchanged, so `mpirun -n N mpiscore run ...` and `mpiscore run -n N
 * ...` run the same code with the same argv.
 *
 * Open MPI's mpirun prints two boxed paragraphs after any rank exits
 * non-zero; `-q` suppresses them and still passes the first failing rank's
 * exit code through. srun has no such switch, so its stderr is filtered line
 * by line for the few lines that only repeat what our own error line said.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "mpiscore/status.h"

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct {
    long ranks;           /* -n; 0: not given */
    const char *hostfile; /* --hostfile */
    const char *map_by;   /* --map-by */
    const char *launcher; /* --launcher auto|mpirun|srun */
    int any;              /* any launcher option given */
} launch_opts;

/* argv[i] is a launcher option: consume it (and its value) into o. Returns
 * the number of argv entries used, 0 if argv[i] is not ours, -1 on error. */
static int take_opt(int argc, char **argv, int i, launch_opts *o)
{
    static const char *const names[] = {"-n",         "--np",     "-np",
                                        "--hostfile", "--map-by", "--launcher"};
    const char *a = argv[i], *val = NULL;
    int which = -1, used = 2;
    for (int k = 0; k < (int)(sizeof names / sizeof *names); k++) {
        size_t l = strlen(names[k]);
        if (!strcmp(a, names[k])) {
            which = k;
            break;
        }
        if (!strncmp(a, names[k], l) && a[l] == '=' && names[k][1] == '-') {
            which = k;
            val = a + l + 1;
            used = 1;
            break;
        }
    }
    if (which < 0)
        return 0;
    if (!val) {
        if (i + 1 >= argc) {
            usage_error("%s needs a value", a);
            return -1;
        }
        val = argv[i + 1];
    }
    o->any = 1;
    if (which <= 2) {
        char *end;
        errno = 0;
        long n = strtol(val, &end, 10);
        if (errno || *end || end == val || n < 1 || n > 1000000) {
            usage_error("-n takes a number of ranks from 1 up, not \"%s\"", val);
            return -1;
        }
        o->ranks = n;
    } else if (which == 3) {
        o->hostfile = val;
    } else if (which == 4) {
        o->map_by = val;
    } else {
        if (strcmp(val, "auto") && strcmp(val, "mpirun") && strcmp(val, "srun")) {
            usage_error("--launcher takes auto, mpirun or srun, not \"%s\"", val);
            return -1;
        }
        o->launcher = val;
    }
    return used;
}

/* A usage error, worded as `mpiscore run` words its own. */
static int usage_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mpiscore run: %s (see mpiscore run --help)\n", msg);
    return MS_EUSAGE;
}

/* A process started by mpirun, srun or another PMI launcher. */
static int under_launcher(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "SLURM_STEP_ID"};
    for (size_t k = 0; k < sizeof vars / sizeof *vars; k++)
        if (getenv(vars[k]))
            return 1;
    return 0;
}

static int on_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    char buf[PATH_MAX];
    for (const char *p = path; *p;) {
        const char *e = strchr(p, ':');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l > 0 && snprintf(buf, sizeof buf, "%.*s/%s", (int)l, p, prog) < (int)sizeof buf &&
            access(buf, X_OK) == 0)
            return 1;
        p += l + (e != NULL);
    }
    return 0;
}

/* srun lines that only echo a rank's exit, which our own line already said. */
static int srun_chatter(const char *line)
{
    static const char *const noise[] = {
        ": Exited with exit code", "Terminating StepId", "Job step aborted",
        "forcing job termination", "Force Terminated",   "Terminating job step",
    };
    if (strncmp(line, "srun: ", 6))
        return 0;
    for (size_t k = 0; k < sizeof noise / sizeof *noise; k++)
        if (strstr(line, noise[k]))
            return 1;
    return 0;
}

static volatile sig_atomic_t forwarded_sig;
static volatile pid_t child_pid;
static volatile sig_atomic_t child_is_mpirun;

/* Open MPI's mpirun does not forward TERM/INT: it ends the job itself and
 * exits 1 whatever the ranks did. It does forward USR2, which the ranks
 * treat as TERM, and then passes their exit code through (6, or 0 when the
 * run had finished). So mpirun gets USR2; srun forwards TERM itself. */
static void forward(int sig)
{
    forwarded_sig = sig;
    if (child_pid > 0)
        kill(child_pid, child_is_mpirun ? SIGUSR2 : sig);
}

/* Copy the child's stderr to ours, less srun's chatter, until it closes. */
static void filter_stderr(int fd)
{
    FILE *in = fdopen(fd, "r");
    if (!in)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    errno = 0; /* EINTR below must be getline's own, not a stale one */
    while ((n = getline(&line, &cap, in)) >= 0 || errno == EINTR) {
        if (n < 0) {
            clearerr(in);
            errno = 0;
            continue;
        }
        if (!srun_chatter(line))
            fwrite(line, 1, (size_t)n, stderr);
    }
    free(line);
    fclose(in);
}

static int launch(const launch_opts *o, int argc, char **argv)
{
    int use_srun;
    if (o->launcher && strcmp(o->launcher, "auto"))
        use_srun = !strcmp(o->launcher, "srun");
    else
        use_srun = getenv("SLURM_JOB_ID") && on_path("srun");
    const char *prog = use_srun ? "srun" : "mpirun";
    if (use_srun && o->map_by) {
        return usage_error("--map-by is an mpirun option; under srun use --launcher mpirun or "
                           "srun's own --distribution");
    }
    if (use_srun && o->hostfile) {
        return usage_error("--hostfile is an mpirun option; srun runs on the nodes of the "
                           "Slurm allocation");
    }
    char self[PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl < 0) {
        fprintf(stderr, "mpiscore: error: cannot find the mpiscore binary: %s\n", strerror(errno));
        return MS_EIO;
    }
    self[sl] = '\0';

    char nr[24];
    snprintf(nr, sizeof nr, "%ld", o->ranks);
    char **av = calloc((size_t)argc + 16, sizeof *av);
    if (!av)
        return MS_EINTERNAL;
    int k = 0;
    av[k++] = (char *)prog;
    if (use_srun) {
        av[k++] = "--mpi=pmix";
        av[k++] = "--kill-on-bad-exit=1";
        av[k++] = "-n";
        av[k++] = nr;
    } else {
        av[k++] = "-q";
        av[k++] = "-n";
        av[k++] = nr;
        if (o->hostfile) {
            av[k++] = "--hostfile";
            av[k++] = (char *)o->hostfile;
        }
        if (o->map_by) {
            av[k++] = "--map-by";
            av[k++] = (char *)o->map_by;
        }
    }
    av[k++] = self;
    av[k++] = "run";
    for (int i = 0; i < argc; i++)
        av[k++] = argv[i];
    av[k] = NULL;

    int pfd[2] = {-1, -1};
    if (use_srun && pipe(pfd) < 0) {
        fprintf(stderr, "mpiscore: error: pipe: %s\n", strerror(errno));
        free(av);
        return MS_EIO;
    }
    /* The child inherits SIG_DFL; we forward TERM/INT/HUP to the launcher,
     * which passes them to the ranks (they stop at a batch boundary). */
    struct sigaction sa, old_int, old_term, old_hup;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    pid_t pid = fork();
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
        if (pfd[1] >= 0) {
            dup2(pfd[1], 2);
            close(pfd[0]);
            close(pfd[1]);
        }
        execvp(prog, av);
        fprintf(stderr, "mpiscore: error: cannot start %s: %s%s\n", prog, strerror(errno),
                use_srun ? "" : " (install Open MPI, or run mpirun yourself)");
        _exit(MS_EIO);
    }
    free(av);
    if (pid < 0) {
        fprintf(stderr, "mpiscore: error: fork: %s\n", strerror(errno));
        return MS_EIO;
    }
    child_is_mpirun = !use_srun;
    child_pid = pid;
    if (pfd[0] >= 0) {
        close(pfd[1]);
        filter_stderr(pfd[0]);
    }
    int wst = 0;
    while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(wst)) {
        int rc = WEXITSTATUS(wst);
        /* The ranks' own code comes through (6 interrupted, 0 finished);
         * a launcher that ended the job itself says 1 or a signal's. */
        if (forwarded_sig && (rc == MS_EUSAGE || rc > 128))
            rc = MS_EINTR;
        else if (rc > 128 && rc < 128 + NSIG)
            fprintf(stderr, "mpiscore: error: a rank was killed by signal %d (%s)\n", rc - 128,
                    strsignal(rc - 128));
        return rc;
    }
    if (WIFSIGNALED(wst)) {
        if (forwarded_sig)
            return MS_EINTR;
        fprintf(stderr, "mpiscore: error: %s was killed by signal %d (%s)\n", prog, WTERMSIG(wst),
                strsignal(WTERMSIG(wst)));
        return 128 + WTERMSIG(wst);
    }
    return MS_EINTERNAL;
}

/* Returns MS_LAUNCH_NOT_MINE when the run should go on in this process
 * (argv then holds the run options without launcher options, *argc their
 * count); otherwise the exit code of the launched job. argv[0] is "run". */
int ms_launch_run(int *argc, char **argv)
{
    launch_opts o = {0};
    int n = *argc, kept = 1, rc = MS_LAUNCH_NOT_MINE;
    char **rest = calloc((size_t)n + 1, sizeof *rest);
    if (!rest)
        return MS_EINTERNAL;
    rest[0] = argv[0];
    for (int i = 1; i < n; i++) {
        if (!strcmp(argv[i], "--")) {
            while (i < n)
                rest[kept++] = argv[i++];
            break;
        }
        int used = take_opt(n, argv, i, &o);
        if (used < 0) {
            rc = MS_EUSAGE;
            goto done;
        }
        if (used == 0)
            rest[kept++] = argv[i];
        else
            i += used - 1;
    }
    if (!o.any)
        goto done;
    if (under_launcher()) {
        rc = usage_error("-n/--hostfile/--map-by/--launcher start the ranks; under mpirun or "
                         "srun leave them out");
    } else if (o.ranks == 0) {
        rc = usage_error("--hostfile/--map-by/--launcher go with -n N");
    } else if (o.ranks == 1 && !o.hostfile && !o.map_by && !o.launcher) {
        /* one rank needs no launcher: run here, as plain `mpiscore run` does */
        memcpy(argv, rest, sizeof *argv * (size_t)kept);
        argv[kept] = NULL;
        *argc = kept;
    } else {
        rc = launch(&o, kept - 1, rest + 1);
    }
done:
    free(rest);
    return rc;
}
