/* ft_progress: progress line and JSON progress. */
#include "ft_progress.h"

#include "ft_json.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

void ft_progress_init(ft_progress_t *p, int quiet, int json)
{
    p->quiet = quiet;
    p->json = json;
    p->last_acc = NAN;
    p->printed = 0;
    p->tty = isatty(fileno(stderr));
}

static void fmt_duration(char *buf, size_t len, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, len, "?");
    else if (s < 60)
        snprintf(buf, len, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

void ft_progress_round(void *user, const ft_metrics_row_t *row, int rounds, double elapsed_s)
{
    ft_progress_t *p = user;
    if (row->evaluated)
        p->last_acc = row->main_acc;
    if (p->json) {
        /* ft_json_num: a NaN model's loss (or any non-finite value) is null. */
        char a[64], b[64];
        printf("{\"round\":%d,\"rounds\":%d,\"clients\":%d", row->round, rounds, row->clients);
        if (row->evaluated)
            printf(",\"main_acc\":%s,\"main_loss\":%s", ft_json_num(a, sizeof a, row->main_acc, 6),
                   ft_json_num(b, sizeof b, row->main_loss, 6));
        if (row->evaluated && !isnan(row->backdoor_acc))
            printf(",\"backdoor_acc\":%s", ft_json_num(a, sizeof a, row->backdoor_acc, 6));
        printf(",\"attackers\":%d,\"nonfinite_params\":%llu", row->attackers,
               (unsigned long long)row->nonfinite_params);
        printf(",\"round_s\":%s,\"elapsed_s\":%s}\n", ft_json_num(a, sizeof a, row->round_s, 3),
               ft_json_num(b, sizeof b, elapsed_s, 3));
        fflush(stdout);
        return;
    }
    if (p->quiet)
        return;
    char eta[32], acc[32], backdoor[48] = "";
    fmt_duration(eta, sizeof eta, elapsed_s / row->round * (rounds - row->round));
    if (isnan(p->last_acc))
        snprintf(acc, sizeof acc, "-");
    else
        snprintf(acc, sizeof acc, "%.2f%%", 100 * p->last_acc);
    if (row->evaluated && !isnan(row->backdoor_acc))
        snprintf(backdoor, sizeof backdoor, "  backdoor %.1f%%", 100 * row->backdoor_acc);
    /* On a terminal the line rewrites itself; in a log, one line per round. */
    fprintf(stderr, "%sround %d/%d  main acc %s%s  clients %d%s%s  ETA %s   %s", p->tty ? "\r" : "",
            row->round, rounds, acc, backdoor, row->clients, row->attackers ? " (attacker)" : "",
            row->nonfinite_params ? "  MODEL DESTROYED (NaN/Inf)" : "", eta, p->tty ? "" : "\n");
    fflush(stderr);
    p->printed = 1;
}

void ft_progress_end(ft_progress_t *p)
{
    if (p->printed && p->tty)
        fputc('\n', stderr);
    p->printed = 0;
}
