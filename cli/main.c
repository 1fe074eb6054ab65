/* fedtail: the command-line front door. Each subcommand lives in cmd_<name>.c. */
#include "ft_cli.h"
#include "ft_blas_setup.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;                  /* subcommand word */
    int (*run)(int argc, char **argv); /* its entry point */
    const char *summary;               /* one line for the usage text */
} command_t;

static const command_t commands[] = {
    {"run", ft_cmd_run, "run a federated experiment on this machine (coordinator + clients)"},
    {"train", ft_cmd_train, "centralised training (makes the pre-trained model runs start from)"},
    {"coordinator", ft_cmd_coordinator, "run only the coordinator (multi-host runs)"},
    {"client", ft_cmd_client, "run a client process that connects to a coordinator"},
    {"aggregate", ft_cmd_aggregate, "apply a defense offline to saved update vectors"},
    {"certify", ft_cmd_certify, "CRFL: certified radius and accuracy of a model trained with crfl"},
    {"selftest-defense", ft_cmd_selftest, "run the defense contract on a plug-in .so or a rule"},
    {"sweep", ft_cmd_sweep, "run a grid of experiments (resumable) with a summary and heatmaps"},
    {"report", ft_cmd_report, "plots and an HTML report of one or more run directories"},
    {"keygen", ft_cmd_keygen, "make a CURVE keypair for encrypted multi-host runs"},
    {"keys", ft_cmd_keys, "list every experiment key with its default and meaning"},
    {"fleet-task", ft_cmd_fleet_task,
     "one task of a fleet that fedtail run --launcher slurm|mpirun started"},
    {"version", ft_cmd_version, "print the version and the compute back ends in use"},
    {NULL, NULL, NULL},
};

static void usage(FILE *to)
{
    fprintf(to, "usage: fedtail COMMAND [EXP.ini] [--set section.key=value ...] [--out DIR]\n"
                "                       [--quiet] [--help]\n\ncommands:\n");
    for (int i = 0; commands[i].name; i++)
        fprintf(to, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(to, "\nWith no EXP.ini the built-in defaults are used (Fashion-MNIST, lenet5).\n");
}

int main(int argc, char **argv)
{
    ft_blas_setup(argv);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; commands[i].name; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "fedtail: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
