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

/* `run -n N ...`: start the ranks through mpirun/srun (launch.c). */
#define MS_LAUNCH_NOT_MINE (-1)
int ms_launch_run(int *argc, char **argv);

#endif
