/* fedtail client: one client process serving virtual clients for a coordinator —
 * any id it is handed (--pool, the default) or a fixed set (--clients 0-9). */
#include "ft_cli.h"
#include "ft_client.h"
#include "ft_error.h"
#include "ft_log.h"
#include "ft_procs.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(void)
{
    printf("usage: fedtail client --connect ENDPOINT [--pool | --clients LIST] [--wait SECONDS]\n"
           "                      [--device cpu|cuda[:N]] [EXP.ini] [--set run.max_message_mb=N]\n"
           "                      [--batch-clients K|auto] [--quiet]\n\n"
           "Connects to a coordinator (e.g. tcp://host:5555), receives the experiment from\n"
           "it, derives its data partitions locally and trains tasks until the run is over.\n"
           "  --pool          serve any client id (default)\n"
           "  --clients LIST  serve only these ids, e.g. 0-9 or 3,5,7-9\n"
           "  --wait SECONDS  how long to wait for the coordinator (default 300)\n"
           "  --device DEV    train on this back end (cpu, cuda, cuda:N), whatever the\n"
           "                  experiment's run.device says; several processes may share a GPU\n"
           "  --batch-clients K  train up to K tasks of a round at once (K models in lock\n"
           "                  step, the same updates as one by one; the process registers\n"
           "                  K times; auto: as many as fit the GPU's free memory);\n"
           "                  default: the experiment's run.batch_clients\n"
           "  --quiet         warnings only (without it: what the process waits for, its\n"
           "                  progress and a closing line of rounds served and updates sent)\n");
}

int ft_cmd_client(int argc, char **argv)
{
    static const char *const with_value[] = {"--connect", "--clients",       "--wait",
                                             "--device",  "--batch-clients", NULL};
    static const char *const flags[] = {"--pool", NULL};
    ft_cli_t cli;
    if (ft_cli_parse(argc, argv, with_value, flags, &cli) != FT_OK)
        return 2;
    if (cli.help) {
        usage();
        ft_cli_free(&cli);
        return 0;
    }
    const char *connect = ft_cli_option(&cli, "--connect");
    const char *list = ft_cli_option(&cli, "--clients");
    const char *wait = ft_cli_option(&cli, "--wait");
    const char *batch = ft_cli_option(&cli, "--batch-clients");
    long batch_k = 0; /* the experiment's run.batch_clients */
    if (batch && strcmp(batch, "auto") == 0) {
        batch_k = FT_CLIENT_BATCH_AUTO;
    } else if (batch) {
        char *end;
        batch_k = strtol(batch, &end, 10);
        if (*end || batch_k < 1 || batch_k > FT_CLIENT_MAX_BATCH) {
            fprintf(stderr,
                    "fedtail client: --batch-clients %s: must be auto or an integer in 1..%d\n",
                    batch, FT_CLIENT_MAX_BATCH);
            ft_cli_free(&cli);
            return 2;
        }
    }
    if (!connect || (list && ft_cli_flag(&cli, "--pool"))) {
        fprintf(stderr, "fedtail client: %s (see --help)\n",
                !connect ? "--connect ENDPOINT is required"
                         : "--pool and --clients exclude each other");
        ft_cli_free(&cli);
        return 2;
    }
    ft_log_set_tag("client");
    /* An operator's client says what it waits for and how its run went (INFO);
     * --quiet (as fedtail run starts its own) keeps warnings only. */
    ft_log_set_level(cli.quiet ? FT_LOG_WARN : FT_LOG_INFO);
    uint32_t *ids = NULL;
    size_t n = 0;
    if (list && ft_parse_id_list(list, &ids, &n) != FT_OK) {
        ft_cli_free(&cli);
        return ft_cli_fail(FT_EINVAL);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    ft_experiment_t exp; /* the command line's: its keys and limits apply until Welcome */
    if (ft_experiment_read(cli.cfg, &exp) != FT_OK) {
        ft_free(ids);
        ft_cli_free(&cli);
        return ft_cli_fail(FT_ECONFIG);
    }
    ft_client_opts_t o = {.connect = connect,
                          .pool = list == NULL,
                          .clients = ids,
                          .num_clients = n,
                          .security = &exp.security,
                          .max_message_mb = exp.run.max_message_mb,
                          .stop = &stop_flag,
                          .connect_timeout_s = wait ? atof(wait) : 300,
                          .device = ft_cli_option(&cli, "--device"),
                          .batch_clients = (int)batch_k};
    int rc = ft_client_run(&o);
    ft_free(ids);
    ft_cli_free(&cli);
    if (rc == FT_EINTR)
        return 130;
    return rc == FT_OK ? 0 : ft_cli_fail(rc);
}
