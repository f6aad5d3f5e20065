/*
 * cmd_run.c — `mpiscore run`: parse options, start MPI, hand over to the
 * cluster layer. Every rank parses the same argv the same way; only rank 0
 * prints usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cluster/run.h"
#include "mpiscore/parquet.h"

static const char run_usage[] =
    "usage: mpiscore run [-n N] --model MODEL --input PATH... --output FILE [options]\n"
    "\n"
    "Score every row of the input with the model; write one output file in input order.\n"
    "  -n N                     start N ranks (mpirun, or srun inside a Slurm allocation);\n"
    "                           without it, one process (or the ranks mpirun/srun started)\n"
    "  --hostfile FILE, --map-by X  passed to mpirun; --launcher auto|mpirun|srun\n"
    "\n"
    "required:\n"
    "  --model MODEL            NAME, NAME:N, NAME:latest (mpiscore model register) or a\n"
    "                           container file (.h5; see docs/formats.md)\n"
    "  --input PATH             CSV, HDF5 or Parquet file, or a folder of them (all its files,\n"
    "                           by name; hive key=value subfolders too);\n"
    "                           repeat for several\n"
    "  --output FILE            .csv, .h5 or .parquet output; written as FILE.partial, renamed\n"
    "                           at the end\n"
    "options:\n"
    "  --format csv|hdf5|parquet  output format (default: from the extension: .csv .h5\n"
    "                           .parquet)\n"
    "  --compression snappy|zstd|gzip|lz4|none  Parquet output codec (default snappy)\n"
    "  --row-group-rows N       Parquet rows per row group (default 122880)\n"
    "  --precision float32|float64  precision of the written scores: CSV text that reads back\n"
    "                           to the same float/double, HDF5 dtype (default: the model's)\n"
    "  --overwrite              replace an existing output file\n"
    "  --resume                 continue an interrupted run (CSV or Parquet output) from\n"
    "                           OUTPUT.journal;\n"
    "                           the result is identical to an uninterrupted run\n"
    "  --journal-every SECONDS  how often the resume point is made durable (default 2)\n"
    "  --max-retries N          retry a batch whose read fails transiently (EIO, ESTALE,\n"
    "                           EAGAIN, a short read) N times with backoff (default 3)\n"
    "  --batch-timeout SECONDS  hand a batch not back in time to another rank; a rank late\n"
    "                           twice gets no more work (default off)\n"
    "  --id-column NAME         copy this CSV or Parquet column (HDF5: this dataset) to the\n"
    "                           output, as text\n"
    "  --delimiter C            CSV field delimiter (default ','; 'tab' for tabs)\n"
    "  --dataset PATH           HDF5 features dataset (default /features); other model\n"
    "                           columns (strings too) come from 1-D datasets of their\n"
    "                           names, all of them when the file has no such matrix\n"
    "  --features A,B,...       HDF5 column names when the dataset has no feature_names\n"
    "                           (names with commas: @FILE, one per line, or [\"a,b\",\"c\"])\n"
    "  --keep-columns A,B,...   also copy these input columns to the output, as written,\n"
    "                           after the id and in this order (@FILE or a JSON list too)\n"
    "  --mini-batch-rows N      rows per batch (default 65536)\n"
    "  --on-error abort|continue  stop at the first bad row (default), or record bad rows\n"
    "                           and keep them in place with empty values\n"
    "  --max-errors N|P%        with continue: fail (exit 5) beyond N bad rows or P% of rows\n"
    "  --errors-file FILE       with continue: bad rows as CSV (default OUTPUT.errors.csv;\n"
    "                           an existing one needs --overwrite)\n"
    "  --metrics FILE           write run metrics as JSON\n"
    "  --summary FILE           also write a JSON summary of the scores: rows ok/failed, per\n"
    "                           column count, mean, std, min, max, quantiles (relative\n"
    "                           error 0.001), histogram, label counts (docs/formats.md);\n"
    "                           identical for any rank count and batch size\n"
    "  --summary-only           write only that summary, to --output (FILE.json or --format\n"
    "                           json), instead of the per-row scores\n"
    "  --status-file FILE       keep FILE current with state, rows, rows/s and ETA (JSON)\n"
    "  --progress / --no-progress  progress line on stderr (default: when it is a terminal)\n"
    "  --bind core|none         pin each rank to a core with hwloc (default core)\n"
    "  --report-bindings        print rank -> host -> core\n"
    "  --transport auto|descriptors|bytes  how batches reach workers (default auto: bytes\n"
    "                           only when some rank cannot read the input files)\n"
    "  --window N               batches in the reorder window (default 4 x ranks + 2)\n"
    "  --log-level error|warn|info|debug\n"
    "  -h, --help               this text\n"
    "environment: MPISCORE_ISA=scalar|avx2|avx512 forces a kernel variant.\n"
    "exit codes: 0 ok, 1 usage, 2 input, 3 model, 4 I/O, 5 too many bad rows, 6 interrupted.\n";

enum {
    OPT_MODEL = 256,
    OPT_INPUT,
    OPT_OUTPUT,
    OPT_FORMAT,
    OPT_OVERWRITE,
    OPT_RESUME,
    OPT_JOURNAL_EVERY,
    OPT_ID,
    OPT_DELIM,
    OPT_DATASET,
    OPT_FEATURES,
    OPT_KEEP,
    OPT_COMPRESSION,
    OPT_ROW_GROUP_ROWS,
    OPT_BATCH,
    OPT_ON_ERROR,
    OPT_MAX_ERRORS,
    OPT_ERRORS_FILE,
    OPT_METRICS,
    OPT_STATUS_FILE,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_BIND,
    OPT_REPORT_BINDINGS,
    OPT_TRANSPORT,
    OPT_WINDOW,
    OPT_SUMMARY,
    OPT_SUMMARY_ONLY,
    OPT_LOG_LEVEL,
    OPT_MAX_RETRIES,
    OPT_BATCH_TIMEOUT,
    OPT_PRECISION,
};

static const struct option run_options[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"input", required_argument, NULL, OPT_INPUT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"overwrite", no_argument, NULL, OPT_OVERWRITE},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"journal-every", required_argument, NULL, OPT_JOURNAL_EVERY},
    {"id-column", required_argument, NULL, OPT_ID},
    {"delimiter", required_argument, NULL, OPT_DELIM},
    {"dataset", required_argument, NULL, OPT_DATASET},
    {"features", required_argument, NULL, OPT_FEATURES},
    {"keep-columns", required_argument, NULL, OPT_KEEP},
    {"compression", required_argument, NULL, OPT_COMPRESSION},
    {"row-group-rows", required_argument, NULL, OPT_ROW_GROUP_ROWS},
    {"mini-batch-rows", required_argument, NULL, OPT_BATCH},
    {"on-error", required_argument, NULL, OPT_ON_ERROR},
    {"max-errors", required_argument, NULL, OPT_MAX_ERRORS},
    {"errors-file", required_argument, NULL, OPT_ERRORS_FILE},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"status-file", required_argument, NULL, OPT_STATUS_FILE},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"bind", required_argument, NULL, OPT_BIND},
    {"report-bindings", no_argument, NULL, OPT_REPORT_BINDINGS},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"summary", required_argument, NULL, OPT_SUMMARY},
    {"summary-only", no_argument, NULL, OPT_SUMMARY_ONLY},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"max-retries", required_argument, NULL, OPT_MAX_RETRIES},
    {"batch-timeout", required_argument, NULL, OPT_BATCH_TIMEOUT},
    {"precision", required_argument, NULL, OPT_PRECISION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* C-style escape of s (\n, \r, \t, \\, \', \xHH for other control bytes),
 * cut to fit. */
static void escape_arg(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 5 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        const char *e = ch == '\n'   ? "\\n"
                        : ch == '\r' ? "\\r"
                        : ch == '\t' ? "\\t"
                        : ch == '\\' ? "\\\\"
                        : ch == '\'' ? "\\'"
                                     : NULL;
        if (e)
            n += (size_t)snprintf(out + n, cap - n, "%s", e);
        else if (ch < 0x20 || ch == 0x7f)
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", ch);
        else
            out[n++] = (char)ch;
    }
    out[n] = '\0';
}

/* Parse options into o; on a usage error fill msg and return MS_EUSAGE. */
static ms_status parse_run(int argc, char **argv, ms_run_opts *o, char *msg, size_t msz, int *help)
{
    memset(o, 0, sizeof *o);
    o->pq_codec = -1;
    o->delim = ',';
    o->batch_rows = 65536;
    o->batch_bytes = 256u << 20;
    o->max_errors = UINT64_MAX;
    o->max_errors_pct = -1;
    o->journal_every = 2.0;
    o->max_retries = 3;
    o->precision = -1;
    o->bind = MS_BIND_CORE;
    o->log_level = MS_LOG_WARN;
    static char *inputs[4096];
    opterr = 0;
    optind = 1;
    int c;
    /* the leading ':' tells a missing value (':') from an unknown option ('?') */
    while ((c = getopt_long(argc, argv, ":h", run_options, NULL)) != -1) {
        switch (c) {
        case OPT_MODEL:
            o->model = optarg;
            break;
        case OPT_INPUT:
            if (o->n_inputs == sizeof inputs / sizeof *inputs) {
                snprintf(msg, msz, "too many --input options");
                return MS_EUSAGE;
            }
            inputs[o->n_inputs++] = optarg;
            o->inputs = inputs;
            break;
        case OPT_OUTPUT:
            o->output = optarg;
            break;
        case OPT_FORMAT:
            o->format = optarg;
            break;
        case OPT_OVERWRITE:
            o->overwrite = 1;
            break;
        case OPT_RESUME:
            o->resume = 1;
            break;
        case OPT_JOURNAL_EVERY:
        case OPT_BATCH_TIMEOUT: {
            char *end;
            double v = strtod(optarg, &end);
            int timeout = c == OPT_BATCH_TIMEOUT;
            if (end == optarg || *end ||
                !(v >= (timeout ? 0.001 : 0) && v <= (timeout ? 86400 : 3600))) {
                snprintf(msg, msz, "--%s %s: expected seconds from %s to %s",
                         timeout ? "batch-timeout" : "journal-every", optarg,
                         timeout ? "0.001" : "0", timeout ? "86400" : "3600");
                return MS_EUSAGE;
            }
            if (timeout)
                o->batch_timeout = v;
            else
                o->journal_every = v;
            break;
        }
        case OPT_MAX_RETRIES: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 0 || v > 100) {
                snprintf(msg, msz, "--max-retries %s: expected a whole number from 0 to 100",
                         optarg);
                return MS_EUSAGE;
            }
            o->max_retries = (int)v;
            break;
        }
        case OPT_ID:
            o->id_column = optarg;
            break;
        case OPT_PRECISION: {
            ms_precision p;
            if (ms_precision_parse(optarg, &p) != 0) {
                snprintf(msg, msz, "--precision %s: expected float32 or float64", optarg);
                return MS_EUSAGE;
            }
            o->precision = (int)p;
            break;
        }
        case OPT_DELIM:
            if (!strcmp(optarg, "tab") || !strcmp(optarg, "\\t"))
                o->delim = '\t';
            else if (strlen(optarg) == 1 && optarg[0] != '"' && optarg[0] != '\n' &&
                     optarg[0] != '\r')
                o->delim = optarg[0];
            else {
                /* escaped, so the message stays one line whatever was given */
                char shown[64];
                escape_arg(optarg, shown, sizeof shown);
                snprintf(msg, msz,
                         "--delimiter '%s': expected one character other than CR, LF, '\"' "
                         "and NUL, or 'tab'",
                         shown);
                return MS_EUSAGE;
            }
            break;
        case OPT_DATASET:
            o->dataset = optarg;
            break;
        case OPT_FEATURES:
            ms_names_free(o->features, o->n_features);
            o->features = NULL;
            if (ms_names_parse("--features", optarg, &o->features, &o->n_features, msg, msz) != 0)
                return MS_EUSAGE;
            break;
        case OPT_COMPRESSION:
            o->pq_codec = ms_pq_codec_from_name(optarg);
            if (o->pq_codec < 0) {
                snprintf(msg, msz, "--compression %s: expected snappy, zstd, gzip, lz4 or none",
                         optarg);
                return MS_EUSAGE;
            }
            break;
        case OPT_ROW_GROUP_ROWS: {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || v == 0 || v > (1ull << 26) || optarg[0] == '-') {
                snprintf(msg, msz, "--row-group-rows %s: expected a whole number from 1 to %llu",
                         optarg, 1ull << 26);
                return MS_EUSAGE;
            }
            o->row_group_rows = v;
            break;
        }
        case OPT_KEEP:
            ms_names_free(o->keep_columns, o->n_keep);
            o->keep_columns = NULL;
            if (ms_names_parse("--keep-columns", optarg, &o->keep_columns, &o->n_keep, msg, msz) !=
                0)
                return MS_EUSAGE;
            break;
        case OPT_BATCH:
        case OPT_WINDOW: {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            unsigned long long max = c == OPT_BATCH ? (1ull << 24) : 4096;
            if (errno || *end || v == 0 || v > max || optarg[0] == '-') {
                snprintf(msg, msz, "--%s %s: expected a whole number from 1 to %llu",
                         c == OPT_BATCH ? "mini-batch-rows" : "window", optarg, max);
                return MS_EUSAGE;
            }
            if (c == OPT_BATCH)
                o->batch_rows = (size_t)v;
            else
                o->window = (size_t)v;
            break;
        }
        case OPT_ON_ERROR:
            if (!strcmp(optarg, "abort"))
                o->on_error_continue = 0;
            else if (!strcmp(optarg, "continue"))
                o->on_error_continue = 1;
            else {
                snprintf(msg, msz, "--on-error %s: expected abort or continue", optarg);
                return MS_EUSAGE;
            }
            break;
        case OPT_MAX_ERRORS: {
            char *end;
            errno = 0;
            size_t len = strlen(optarg);
            if (len > 1 && optarg[len - 1] == '%') {
                double p = strtod(optarg, &end);
                if (errno || end != optarg + len - 1 || !(p >= 0 && p <= 100)) {
                    snprintf(msg, msz, "--max-errors %s: expected a percentage from 0%% to 100%%",
                             optarg);
                    return MS_EUSAGE;
                }
                o->max_errors_pct = p;
            } else {
                unsigned long long v = strtoull(optarg, &end, 10);
                if (errno || *end || len == 0 || optarg[0] == '-') {
                    snprintf(msg, msz, "--max-errors %s: expected a count N or a percentage P%%",
                             optarg);
                    return MS_EUSAGE;
                }
                o->max_errors = v;
            }
            break;
        }
        case OPT_ERRORS_FILE:
            o->errors_file = optarg;
            break;
        case OPT_METRICS:
            o->metrics = optarg;
            break;
        case OPT_STATUS_FILE:
            o->status_file = optarg;
            break;
        case OPT_PROGRESS:
            o->progress = 1;
            break;
        case OPT_NO_PROGRESS:
            o->progress = -1;
            break;
        case OPT_BIND:
            if (!strcmp(optarg, "core"))
                o->bind = MS_BIND_CORE;
            else if (!strcmp(optarg, "none"))
                o->bind = MS_BIND_NONE;
            else {
                snprintf(msg, msz, "--bind %s: expected core or none", optarg);
                return MS_EUSAGE;
            }
            break;
        case OPT_REPORT_BINDINGS:
            o->report_bindings = 1;
            break;
        case OPT_TRANSPORT:
            if (!strcmp(optarg, "auto"))
                o->transport = MS_TRANSPORT_AUTO;
            else if (!strcmp(optarg, "descriptors"))
                o->transport = MS_TRANSPORT_DESC;
            else if (!strcmp(optarg, "bytes"))
                o->transport = MS_TRANSPORT_BYTES;
            else {
                snprintf(msg, msz, "--transport %s: expected auto, descriptors or bytes", optarg);
                return MS_EUSAGE;
            }
            break;
        case OPT_LOG_LEVEL: {
            static const char *names[] = {"error", "warn", "info", "debug"};
            int found = -1;
            for (int i = 0; i < 4; i++)
                if (!strcmp(optarg, names[i]))
                    found = i;
            if (found < 0) {
                snprintf(msg, msz, "--log-level %s: expected error, warn, info or debug", optarg);
                return MS_EUSAGE;
            }
            o->log_level = (ms_log_level)found;
            break;
        }
        case OPT_SUMMARY:
            o->summary = optarg;
            break;
        case OPT_SUMMARY_ONLY:
            o->summary_only = 1;
            break;
        case 'h':
            *help = 1;
            return MS_OK;
        case ':':
            snprintf(msg, msz, "%s needs a value", argv[optind - 1]);
            return MS_EUSAGE;
        default:
            snprintf(msg, msz, "unknown option %s", argv[optind - 1]);
            return MS_EUSAGE;
        }
    }
    if (optind < argc) {
        snprintf(msg, msz, "unexpected argument %s (inputs go after --input)", argv[optind]);
        return MS_EUSAGE;
    }
    if (!o->model || !o->n_inputs || !o->output) {
        snprintf(msg, msz, "--model, --input and --output are required");
        return MS_EUSAGE;
    }
    if ((o->max_errors != UINT64_MAX || o->max_errors_pct >= 0 || o->errors_file) &&
        !o->on_error_continue) {
        snprintf(msg, msz, "--max-errors and --errors-file go with --on-error continue");
        return MS_EUSAGE;
    }
    if (o->summary_only) {
        const char *dot = strrchr(o->output, '.');
        int json = o->format ? !strcasecmp(o->format, "json") : dot && !strcasecmp(dot, ".json");
        if (!json) {
            snprintf(msg, msz,
                     "--summary-only writes JSON: --output %s needs a .json name or "
                     "--format json",
                     o->output);
            return MS_EUSAGE;
        }
        if (o->summary) {
            snprintf(msg, msz, "--summary-only writes the summary to --output: drop --summary");
            return MS_EUSAGE;
        }
        if (o->resume) { /* nothing is journaled: there is no partial run to continue */
            snprintf(msg, msz, "--summary-only cannot be resumed: rerun without --resume");
            return MS_EUSAGE;
        }
        o->summary = o->output;
        /* no rows are formatted: any row format does, and CSV is the one
         * every rank picks without further checks */
        o->format = "csv";
    }
    if (o->on_error_continue && !o->errors_file) {
        static char def[4096];
        snprintf(def, sizeof def, "%s.errors.csv", o->output);
        o->errors_file = def;
    }
    return MS_OK;
}

static void free_features(ms_run_opts *o)
{
    ms_names_free(o->features, o->n_features);
    ms_names_free(o->keep_columns, o->n_keep);
}

int ms_cmd_run(int argc, char **argv)
{
    ms_run_opts o;
    char msg[1024] = "";
    int help = 0;
    ms_status st = parse_run(argc, argv, &o, msg, sizeof msg, &help);

    /* All ranks on one node (Open MPI tells each rank before MPI_Init): the
     * ob1 PML over shared memory starts ~0.2 s faster than probing UCX, and
     * every rank sees the same variables, so all pick the same PML. Across
     * nodes, or when the user chose a PML, nothing is changed. Under srun
     * (PMIx) Open MPI's variables are not set yet; Slurm's node count says
     * whether the step spans nodes. */
    const char *ws = getenv("OMPI_COMM_WORLD_SIZE"), *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    const char *step_nodes = getenv("SLURM_STEP_NUM_NODES");
    int one_node = ws ? (ls && strcmp(ws, ls) == 0) : (!step_nodes || strcmp(step_nodes, "1") == 0);
    if (!getenv("OMPI_MCA_pml") && one_node)
        setenv("OMPI_MCA_pml", "ob1", 0);

    /* Started by hand, not by a launcher: a singleton. Open MPI then forks
     * an orted to serve it (~0.15 s, most of a small run); isolated mode
     * skips that, at the cost of MPI_Comm_spawn, which we never call. */
    int singleton = !ws && !getenv("PMIX_RANK") && !getenv("PMI_RANK");
    if (singleton && (help || st != MS_OK)) {
        if (help)
            fputs(run_usage, stdout);
        else
            fprintf(stderr, "mpiscore run: %s (see mpiscore run --help)\n", msg);
        free_features(&o);
        return help ? 0 : (int)st;
    }
    if (singleton)
        setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);

    ms_catch_stop_signals();
    int provided;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SINGLE, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "mpiscore: error: MPI_Init failed\n");
        return MS_EINTERNAL;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    ms_catch_fatal_signals(rank);
    int code;
    if (help || st != MS_OK) {
        if (rank == 0) {
            if (help)
                fputs(run_usage, stdout);
            else
                fprintf(stderr, "mpiscore run: %s (see mpiscore run --help)\n", msg);
        }
        code = help ? 0 : (int)st;
    } else {
        code = ms_run_main(&o, MPI_COMM_WORLD);
    }
    MPI_Finalize();
    free_features(&o);
    return code;
}
