/* ft_cli: what every fedtail subcommand shares — the common options
 * (EXP.ini, --set, --out, --quiet, --json, --help) and loading the experiment. */
#ifndef FT_CLI_H
#define FT_CLI_H

#include <stddef.h>

#include "ft_config.h"
#include "ft_experiment.h"

#define FT_CLI_MAX_EXTRA 64

/* Exit statuses of fedtail run / fedtail coordinator besides 0 (complete), 1 (an
 * error), 2 (bad usage) and 130 (interrupted): a round left NaN/Inf in the global
 * model and run.on_nonfinite = stop ended the run (docs/protocol.md). */
#define FT_EXIT_MODEL_DESTROYED 3

typedef struct {
    ft_config_t *cfg;                   /* resolved experiment (owned) */
    const char *exp_path;               /* EXP.ini given, or NULL for built-in defaults */
    const char *out_dir;                /* --out DIR, or NULL */
    int quiet;                          /* --quiet: no progress line */
    int json;                           /* --json: machine-readable progress */
    int help;                           /* --help was given */
    int argc_extra;                     /* options the subcommand must interpret */
    char *argv_extra[FT_CLI_MAX_EXTRA]; /* ... in order; values follow their flag */
} ft_cli_t;

/* Parses argv (after the subcommand name). Options the subcommand declares in
 * with_value (NULL-terminated, e.g. {"--procs", NULL}) take the next argument;
 * flags in plain_flags take none; both land in argv_extra. Loads EXP.ini (if any)
 * then applies every --set in order. On error prints the message to stderr and
 * returns a negative code. */
int ft_cli_parse(int argc, char **argv, const char *const *with_value,
                 const char *const *plain_flags, ft_cli_t *cli);
void ft_cli_free(ft_cli_t *cli);

/* Value of an extra option ("--procs"), or NULL if absent. */
const char *ft_cli_option(const ft_cli_t *cli, const char *flag);
/* Nonzero if the extra flag was given. */
int ft_cli_flag(const ft_cli_t *cli, const char *flag);

/* Prints "fedtail: <message>" for the last error to stderr and returns exit code 1. */
int ft_cli_fail(int rc);

/* Output directory: --out if given, else runs/<prefix>-<YYYYmmdd-HHMMSS>, into buf.
 * Not created here: the command makes it once the experiment is checked and loaded
 * (ft_coordinator_new, ft_pretrain), so a refused experiment leaves no directory. */
int ft_cli_out_dir(const ft_cli_t *cli, const char *prefix, char *buf, size_t len);

/* The topmost directory that making path (mkdir -p) would create — path itself or
 * one of its ancestors — into top; "" when path exists. Taken before a run, for
 * ft_cli_dir_undo. */
void ft_cli_dir_missing(const char *path, char *top, size_t len);

/* Undoes that mkdir -p after a run that failed before writing anything: removes path
 * and its ancestors up to top, each only if empty (rmdir), so nothing a user put
 * there can go. Nothing when top is "". */
void ft_cli_dir_undo(const char *path, const char *top);

/* Centralised training of exp into out_dir (model/ft_pretrain.h) with fedtail train's
 * progress line on stderr (none with quiet) or one JSON object per epoch on stdout
 * (json), and a closing "DIR: test accuracy" line. pool as ft_pretrain. Returns FT_OK
 * or a negative code with a message (cmd_train.c). */
int ft_cli_pretrain(const ft_experiment_t *exp, const char *out_dir, int quiet, int json,
                    const uint32_t *pool, uint32_t pool_n);

/* Subcommands, each in cmd_<name>.c: argc/argv start after the subcommand name. */
int ft_cmd_train(int argc, char **argv);
int ft_cmd_run(int argc, char **argv);
int ft_cmd_coordinator(int argc, char **argv);
int ft_cmd_client(int argc, char **argv);
int ft_cmd_aggregate(int argc, char **argv);
int ft_cmd_selftest(int argc, char **argv);
int ft_cmd_keys(int argc, char **argv);
int ft_cmd_keygen(int argc, char **argv);
int ft_cmd_version(int argc, char **argv);
int ft_cmd_report(int argc, char **argv);
int ft_cmd_sweep(int argc, char **argv);
int ft_cmd_fleet_task(int argc, char **argv);
int ft_cmd_certify(int argc, char **argv);

#endif
