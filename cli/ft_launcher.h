/* ft_launcher: `--launcher slurm|mpirun|local` of fedtail run and fedtail sweep — the
 * same fleet (one coordinator, client processes) started by the scheduler the user
 * has instead of fork on this machine. No MPI and no scheduler in fedtail's code:
 * sbatch / srun / mpirun only start processes, each of them `fedtail fleet-task`
 * (cmd_fleet_task.c), which reads its rank from the launcher's variables.
 *
 * Everything a launch needs lives in RUN_DIR/launch/ on the shared filesystem: the
 * resolved experiment (experiment.ini), the script written and submitted (job.sh for
 * Slurm, mpirun.sh for mpirun; saved with or without --dry-run), the options
 * (options, reused by --resume), the job id, the coordinator's bound endpoint
 * (coordinator.endpoint) and its exit status (exit). docs/cluster.md. */
#ifndef FT_LAUNCHER_H
#define FT_LAUNCHER_H

#include <stddef.h>

#include "ft_cli.h"
#include "ft_config.h"

typedef enum {
    FT_LAUNCH_LOCAL = 0, /* fork on this machine (the default) */
    FT_LAUNCH_SLURM,     /* sbatch: one job (run) or a job array (sweep) */
    FT_LAUNCH_MPIRUN,    /* mpirun -np N, in the foreground */
} ft_launch_kind_t;

typedef struct {
    ft_launch_kind_t kind; /* which launcher */
    int nodes;             /* --nodes (default 1) */
    int procs_per_node;    /* --procs-per-node: tasks per node, coordinator included */
    int gpus_per_proc;     /* --gpus-per-proc (0: CPU clients) */
    int max_parallel;      /* --max-parallel: array tasks at once (sweep; 0: no limit) */
    int port;              /* --port: the coordinator's TCP port (0: the kernel's choice) */
    int wait_s;            /* --wait: how long clients wait for the coordinator */
    int dry_run;           /* --dry-run: print the script, submit nothing */
    int no_wait;           /* --no-wait: submit and return (Slurm) */
    char partition[128];   /* --partition ("" : the cluster's default) */
    char time[64];         /* --time ("" : the partition's default) */
} ft_launch_t;

/* The value options and flags of a launcher, for ft_cli_parse's lists (NULL-ended). */
extern const char *const ft_launch_value_options[];
extern const char *const ft_launch_flag_options[];

/* Reads the launcher options of cli into *l. saved (may be NULL): the options file of
 * an earlier launch (RUN_DIR/launch/options), whose values apply where cli gives
 * none (--resume). FT_EINVAL naming the option on a bad value or one that does not
 * apply to the launcher (--partition with mpirun, a size with local). */
int ft_launch_parse(const ft_cli_t *cli, const char *saved, ft_launch_t *l);

/* Launches the single experiment cfg into out (made; an absolute path is recommended:
 * every task opens it) through l: writes RUN_DIR/launch/, then submits (Slurm) or
 * runs (mpirun) it; with l->dry_run only prints the script. Without l->no_wait it
 * waits for the job, printing its state, the live page's address (serve_spec) and at
 * the end the verdict, and returns the exit status a local fedtail run would (0, 3 a
 * destroyed model, 130 stopped, 1 an error with its message printed). resume:
 * continue the run in out from its last checkpoint. */
int ft_launch_run(const ft_launch_t *l, const ft_config_t *cfg, const char *out, int resume,
                  const char *serve_spec, int quiet);

/* "'text'" with every ' escaped, for /bin/sh, into buf. FT_EINVAL when it does not fit. */
int ft_launch_sh_quote(const char *text, char *buf, size_t len);

/* Runs argv (argv[0] found on PATH) and returns its exit status (-1: it could not
 * start, or died of a signal); its stdout (and stderr) into out (len bytes, NUL-ended,
 * truncated) when out is not NULL, else inherited. */
int ft_launch_capture(char *const *argv, char *out, size_t len);

/* Whether the command name is on PATH. */
int ft_launch_have(const char *cmd);

/* This executable's absolute path into buf. FT_EIO when /proc/self/exe is unreadable. */
int ft_launch_self(char *buf, size_t len);

/* Waits until Slurm job id has left the queue, printing its state changes (not with
 * quiet) and, once watch_file appears (may be NULL), its first line with prefix.
 * Returns FT_OK, or FT_EINTR when SIGINT/SIGTERM ended the wait (the job runs on). */
int ft_launch_slurm_wait(const char *job_id, const char *watch_file, const char *prefix, int quiet);

/* Submits script with sbatch (extra arguments before it: argv-style, NULL-ended, may
 * be NULL) and writes the job id into job_id. FT_ENOTFOUND when sbatch is missing,
 * FT_EINVAL with the scheduler's own message when it refuses the job. */
int ft_launch_sbatch(const char *script, const char *const *extra, char *job_id, size_t len);

#endif
