/*
 * main.c — `mpiscore SUBCOMMAND ...`: dispatch, global --help/--version.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "mpiscore/status.h"

#include "mpiscore_version.h" /* generated at build time: cmake/version.cmake */

static const char usage[] =
    "usage: mpiscore COMMAND [options]\n"
    "\n"
    "Score large CSV/HDF5 datasets with trained models across MPI ranks.\n"
    "\n"
    "commands:\n"
    "  run          score inputs into one output file (mpiscore run -n N ... starts N ranks)\n"
    "  model        register, list, describe and import models (NAME:N)\n"
    "  submit       start a run as a detached job; prints its id\n"
    "  status [ID]  state, progress, rows/s and ETA of jobs\n"
    "  cancel ID    stop a job at a batch boundary (resumable)\n"
    "  logs ID      a job's output\n"
    "  endpoint     create endpoints, rotate keys, deploy models and split traffic\n"
    "  serve NAME   serve an endpoint over HTTP (Open Inference Protocol v2, /score)\n"
    "\n"
    "`mpiscore COMMAND --help` for each command's options; docs in README.md.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return MS_EUSAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return MS_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("mpiscore %s (git %s)\n", MPISCORE_VERSION, MPISCORE_GIT_REVISION);
        return MS_OK;
    }
    if (!strcmp(cmd, "run")) {
        int n = argc - 1, rc = ms_launch_run(&n, argv + 1);
        return rc == MS_LAUNCH_NOT_MINE ? ms_cmd_run(n, argv + 1) : rc;
    }
    if (!strcmp(cmd, "model"))
        return ms_cmd_model(argc - 1, argv + 1);
    if (!strcmp(cmd, "submit"))
        return ms_cmd_submit(argc - 1, argv + 1);
    if (!strcmp(cmd, "status"))
        return ms_cmd_status(argc - 1, argv + 1);
    if (!strcmp(cmd, "cancel"))
        return ms_cmd_cancel(argc - 1, argv + 1);
    if (!strcmp(cmd, "logs"))
        return ms_cmd_logs(argc - 1, argv + 1);
    if (!strcmp(cmd, "endpoint"))
        return ms_cmd_endpoint(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve"))
        return ms_cmd_serve(argc - 1, argv + 1);
    fprintf(stderr, "mpiscore: unknown command \"%s\" (see mpiscore --help)\n", cmd);
    return MS_EUSAGE;
}
