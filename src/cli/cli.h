/*
 * cli.h — the subcommands of the mpiscore binary, one file each.
 * Each returns the process exit code (status.h).
 */
#ifndef MPISCORE_CLI_H
#define MPISCORE_CLI_H

int ms_cmd_run(int argc, char **argv);
int ms_cmd_model(int argc, char **argv);
int ms_cmd_submit(int argc, char **argv);
int ms_cmd_status(int argc, char **argv);
int ms_cmd_cancel(int argc, char **argv);
int ms_cmd_logs(int argc, char **argv);
int ms_cmd_endpoint(int argc, char **argv);
int ms_cmd_serve(int argc, char **argv);

/* A name-list option's value (names.c): "a,b,c", "@FILE" (one name per
 * line) or a JSON array of strings. -1 with msg set ("OPT ...: why"). */
#include <stddef.h>
int ms_names_parse(const char *opt, const char *arg, char ***out, size_t *n, char *msg, size_t msz);
void ms_names_free(char **v, size_t n);

/* `run -n N ...`: start the ranks through mpirun/srun (launch.c). */
#define MS_LAUNCH_NOT_MINE (-1)
int ms_launch_run(int *argc, char **argv);

#endif
