/* ft_children: fedtail run's client processes — started by fork + exec of this
 * executable as `fedtail client`, reaped by the coordinator's tick, stopped at the
 * end of the run — and the Ctrl-C flag that stops a run cleanly. */
#include "ft_children.h"

#include "ft_error.h"
#include "ft_log.h"
#include "ft_timer.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

volatile sig_atomic_t ft_children_stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    ft_children_stop_requested = 1;
}

void ft_children_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Reaps exited children without blocking; notes abnormal exits. */
static void reap(ft_children_t *ch)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (int i = 0; i < ch->n; i++) {
            if (ch->pids[i] != pid)
                continue;
            ch->pids[i] = 0;
            ch->alive--;
            if (!ch->stopping && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
                ch->failed++;
                if (WIFSIGNALED(status))
                    FT_LOG(FT_LOG_WARN, "client process %d killed by signal %d", (int)pid,
                           WTERMSIG(status));
                else
                    FT_LOG(FT_LOG_WARN, "client process %d exited with status %d", (int)pid,
                           WEXITSTATUS(status));
            }
        }
    }
}

/* A run whose every client process is gone cannot finish. */
int ft_children_tick(void *user)
{
    ft_children_t *ch = user;
    if (ft_children_stop_requested)
        ch->stopping = 1; /* Ctrl-C reached the children too: their exits are expected */
    reap(ch);
    if (ch->n > 0 && ch->alive == 0)
        return ft_error_set(FT_ESTATE,
                            "all %d client processes exited (%d abnormally); see "
                            "their messages above",
                            ch->n, ch->failed);
    return 0;
}

int ft_children_spawn(ft_children_t *ch, int procs, const char *endpoint, const char *max_mb,
                      int quiet, const ft_local_keys_t *keys)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return ft_error_set(FT_EIO, "cannot find this executable: %s", strerror(errno));
    exe[len] = 0;
    fflush(NULL);
    for (int i = 0; i < procs; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return ft_error_set(FT_EIO, "fork: %s", strerror(errno));
        if (pid == 0) {
            /* Die with the parent, whatever kills it. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() == 1)
                _exit(1);
            char set[64], spub[PATH_MAX + 128], ssec[PATH_MAX + 128];
            snprintf(set, sizeof set, "run.max_message_mb=%s", max_mb);
            snprintf(spub, sizeof spub, "security.server_public_key=%s", keys->server_pub);
            snprintf(ssec, sizeof ssec, "security.client_secret_key=%s", keys->client_secret);
            char *args[20];
            int a = 0;
            args[a++] = "fedtail";
            args[a++] = "client";
            args[a++] = "--connect";
            args[a++] = (char *)endpoint;
            args[a++] = "--pool";
            args[a++] = "--wait";
            args[a++] = "60";
            args[a++] = "--set";
            args[a++] = set;
            if (keys->on) {
                args[a++] = "--set";
                args[a++] = "security.curve=true";
                args[a++] = "--set";
                args[a++] = spub;
                args[a++] = "--set";
                args[a++] = ssec;
            }
            if (quiet)
                args[a++] = "--quiet";
            args[a] = NULL;
            execv(exe, args);
            fprintf(stderr, "fedtail run: exec %s: %s\n", exe, strerror(errno));
            _exit(127);
        }
        ch->pids[ch->n++] = pid;
        ch->alive++;
    }
    return FT_OK;
}

void ft_children_stop(ft_children_t *ch)
{
    double end = ft_now() + 2;
    while (ch->alive > 0 && ft_now() < end) {
        reap(ch);
        usleep(20000);
    }
    ch->stopping = 1;
    for (int sig = SIGTERM; ch->alive > 0; sig = SIGKILL) {
        for (int i = 0; i < ch->n; i++)
            if (ch->pids[i])
                kill(ch->pids[i], sig);
        end = ft_now() + 1;
        while (ch->alive > 0 && ft_now() < end) {
            reap(ch);
            usleep(20000);
        }
        if (sig == SIGKILL)
            break;
    }
}
