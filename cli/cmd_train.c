/* fedtail train: centralised (non-federated) training of one model on one dataset
 * (model/ft_pretrain.h), with a progress line, and the same with the progress that
 * fedtail run's pre-training shows (ft_cli_pretrain). */
#include "ft_cli.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_json.h"
#include "ft_pretrain.h"
#include "ft_scenario.h"
#include "ft_timer.h"

#include <stdio.h>
#include <string.h>

/* A \r progress line is on stderr without its newline yet. */
static int progress_line_open;

static const char usage[] =
    "usage: fedtail train [EXP.ini] [--set section.key=value ...] [--out DIR] [--quiet] [--json]\n"
    "\n"
    "Trains [model] model.name on [data] data.dataset for train.epochs epochs of SGD\n"
    "(train.batch_size, train.lr, train.momentum, train.weight_decay), evaluating on the\n"
    "test split after each epoch. Writes DIR/config.ini, DIR/metrics.csv and DIR/model.ckpt\n"
    "(DIR defaults to runs/train-<date>-<time>). When EXP.ini configures an edge-case\n"
    "attack with a mined edge set, those points are held out, as they are from every\n"
    "honest client.\n"
    "\n"
    "  --set k=v   override one key (see `fedtail keys`)\n"
    "  --out DIR   output directory\n"
    "  --quiet     no progress line\n"
    "  --json      one JSON object per epoch on stdout (implies --quiet)\n";

/* What the progress hooks print with. */
typedef struct {
    int quiet;         /* no progress output */
    int json;          /* one JSON object per epoch on stdout */
    double last_print; /* ft_now() of the last progress line */
} progress_t;

static void format_eta(double s, char *buf, size_t len)
{
    if (s < 0 || s > 360000)
        snprintf(buf, len, "--:--");
    else if (s >= 3600)
        snprintf(buf, len, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
    else
        snprintf(buf, len, "%d:%02d", (int)s / 60, (int)s % 60);
}

static void on_start(void *user, const ft_pretrain_info_t *in)
{
    progress_t *p = user;
    if (!p->quiet)
        fprintf(stderr,
                "fedtail train: %s (%zu parameters) on %s, %u training / %u test samples, %s back "
                "end\n",
                in->model, in->num_params, in->dataset, in->train_n, in->test_n, in->back_end);
}

static void on_step(void *user, const ft_pretrain_step_t *s)
{
    progress_t *p = user;
    double now = ft_now();
    if (p->quiet || (now - p->last_print < 0.25 && s->batch + 1 < s->batches))
        return;
    p->last_print = now;
    uint64_t done = s->done + s->in_epoch;
    double rate = s->train_seconds > 0 ? (double)done / s->train_seconds : 0.0;
    uint64_t total = (uint64_t)s->epoch_n * (uint64_t)s->epochs;
    char eta[32];
    format_eta(rate > 0 ? (double)(total - done) / rate : -1, eta, sizeof eta);
    fprintf(stderr, "\repoch %d/%d  batch %d/%d (%3.0f%%)  %.0f samples/s  loss %.4f  ETA %s   ",
            s->epoch + 1, s->epochs, s->batch + 1, s->batches, 100.0 * s->in_epoch / s->epoch_n,
            rate, s->running_loss, eta);
    fflush(stderr);
    progress_line_open = 1;
}

static void on_epoch(void *user, const ft_pretrain_epoch_t *e)
{
    progress_t *p = user;
    if (!p->quiet)
        fprintf(stderr,
                "\repoch %d/%d  train loss %.4f  test acc %.2f%%  test loss %.4f  %.0f "
                "samples/s  %.1f s%20s\n",
                e->epoch, e->epochs, e->train_loss, 100.0 * e->test_acc, e->test_loss,
                e->samples_per_s, e->seconds, "");
    progress_line_open = 0;
    if (p->json) {
        /* A diverged model's loss is NaN: null, so the line stays JSON. */
        char l[64], a[64], t[64], r[64];
        printf("{\"epoch\":%d,\"train_loss\":%s,\"test_acc\":%s,\"test_loss\":%s,"
               "\"samples_per_s\":%s}\n",
               e->epoch, ft_json_num(l, sizeof l, e->train_loss, 6),
               ft_json_num(a, sizeof a, e->test_acc, 6), ft_json_num(t, sizeof t, e->test_loss, 6),
               ft_json_num(r, sizeof r, e->samples_per_s, 1));
    }
}

int ft_cli_pretrain(const ft_experiment_t *exp, const char *out_dir, int quiet, int json,
                    const uint32_t *pool, uint32_t pool_n)
{
    progress_t prog = {.quiet = quiet, .json = json};
    ft_pretrain_hooks_t hooks = {
        .on_start = on_start, .on_step = on_step, .on_epoch = on_epoch, .user = &prog};
    ft_pretrain_epoch_t last;
    double t0 = ft_now();
    int rc = ft_pretrain(exp, out_dir, pool, pool_n, &hooks, &last);
    if (rc != FT_OK && progress_line_open)
        fputc('\n', stderr);
    progress_line_open = 0;
    if (rc == FT_OK && !json)
        printf("%s: test accuracy %.2f%% after %d epoch%s (%.1f s)\n", out_dir,
               100.0 * last.test_acc, last.epochs, last.epochs == 1 ? "" : "s", ft_now() - t0);
    return rc;
}

int ft_cmd_train(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    ft_cli_t cli;
    if (ft_cli_parse(argc, argv, NULL, NULL, &cli) != FT_OK)
        return 1;
    char dir[1024];
    uint32_t *pool = NULL, pool_n = 0;
    ft_experiment_t exp;
    int rc = ft_experiment_read(cli.cfg, &exp);
    if (rc == FT_OK)
        rc = ft_scenario_check(&exp);
    if (rc == FT_OK)
        rc = ft_cli_out_dir(&cli, "train", dir, sizeof dir);
    if (rc == FT_OK)
        rc = ft_scenario_pretrain_pool(&exp, &pool, &pool_n);
    if (rc == FT_OK && pool && !cli.quiet)
        fprintf(stderr,
                "fedtail train: the attack's edge-case points are held out (%u training "
                "samples remain)\n",
                pool_n);
    if (rc == FT_OK)
        rc = ft_cli_pretrain(&exp, dir, cli.quiet, cli.json, pool, pool_n);
    ft_free(pool);
    ft_cli_free(&cli);
    return rc == FT_OK ? 0 : ft_cli_fail(rc);
}
