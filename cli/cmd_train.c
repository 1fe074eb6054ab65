/* fedtail train: centralised (non-federated) training of one model on one dataset.
 *
 * The baseline every federated run is compared against, and the way to produce a
 * pre-trained starting model (federation.init). Loads [data], builds [model] on the
 * run.device back end, trains train.epochs epochs of minibatch SGD, evaluates on the
 * test split after each epoch, and writes to the output directory: config.ini (the
 * resolved experiment), metrics.csv (one row per epoch) and model.ckpt. */
#include "ft_cli.h"

#include "ft_alloc.h"
#include "ft_attack.h"
#include "ft_checkpoint.h"
#include "ft_dataset.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_model.h"
#include "ft_population.h"
#include "ft_rng.h"
#include "ft_timer.h"
#include "ft_train.h"

#include <math.h>
#include <stdarg.h>
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

/* State the per-step progress hook needs. */
typedef struct {
    ft_trainer_t *trainer; /* for the running loss */
    int epoch;             /* current epoch, 0-based */
    int epochs;            /* total epochs */
    int batches;           /* batches per epoch */
    int batch_size;        /* samples per batch */
    uint32_t n;            /* training samples per epoch */
    uint64_t done;         /* samples trained so far, all epochs */
    double train_seconds;  /* training time before the current epoch */
    double epoch_start;    /* ft_now() when the current epoch started */
    double last_print;     /* ft_now() of the last progress line */
    int quiet;             /* no progress output */
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

static void after_step(void *user, int epoch, int batch, ft_model_t *m)
{
    (void)epoch;
    (void)m;
    progress_t *p = user;
    uint32_t in_epoch = (uint32_t)(batch + 1) * (uint32_t)p->batch_size;
    if (in_epoch > p->n)
        in_epoch = p->n;
    double now = ft_now();
    if (p->quiet || (now - p->last_print < 0.25 && batch + 1 < p->batches))
        return;
    p->last_print = now;
    double elapsed = p->train_seconds + (now - p->epoch_start);
    uint64_t done = p->done + in_epoch;
    double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
    uint64_t total = (uint64_t)p->n * (uint64_t)p->epochs;
    char eta[32];
    format_eta(rate > 0 ? (double)(total - done) / rate : -1, eta, sizeof eta);
    fprintf(stderr, "\repoch %d/%d  batch %d/%d (%3.0f%%)  %.0f samples/s  loss %.4f  ETA %s   ",
            p->epoch + 1, p->epochs, batch + 1, p->batches, 100.0 * in_epoch / p->n, rate,
            ft_trainer_epoch_loss(p->trainer), eta);
    fflush(stderr);
    progress_line_open = 1;
}

/* Checks the [train] keys this command uses; FT_ECONFIG naming the key. */
static int check_config(const ft_config_t *cfg)
{
    if (ft_config_int(cfg, "train.epochs") < 1)
        return ft_config_error(cfg, "train.epochs", "must be >= 1");
    if (ft_config_int(cfg, "train.batch_size") < 1 ||
        ft_config_int(cfg, "train.batch_size") > 65536)
        return ft_config_error(cfg, "train.batch_size", "must lie in 1..65536");
    if (!(ft_config_float(cfg, "train.lr") > 0))
        return ft_config_error(cfg, "train.lr", "must be > 0");
    double mom = ft_config_float(cfg, "train.momentum");
    if (!(mom >= 0 && mom < 1))
        return ft_config_error(cfg, "train.momentum", "must lie in [0, 1)");
    if (!(ft_config_float(cfg, "train.weight_decay") >= 0))
        return ft_config_error(cfg, "train.weight_decay", "must be >= 0");
    if (ft_config_int(cfg, "run.threads") < 1 || ft_config_int(cfg, "run.threads") > 1024)
        return ft_config_error(cfg, "run.threads", "must lie in 1..1024");
    if (ft_config_int(cfg, "run.eval_batch") < 1 || ft_config_int(cfg, "run.eval_batch") > 65536)
        return ft_config_error(cfg, "run.eval_batch", "must lie in 1..65536");
    return FT_OK;
}

/* Appends to a growing text buffer; FT_ENOMEM. */
static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            return ft_error_set(FT_EINVAL, "formatting failed");
        if (*buf && *len + (size_t)k < *cap) {
            *len += (size_t)k;
            return FT_OK;
        }
        size_t ncap = (*cap ? *cap * 2 : 1024) + (size_t)k;
        char *nb = ft_realloc(*buf, ncap);
        if (!nb)
            return ft_error_set(FT_ENOMEM, "out of memory");
        *buf = nb;
        *cap = ncap;
    }
}

/* The pre-training set is the honest pool: the training data less the points an
 * edge-case attack takes out of every honest client's hands (a mined edge set). As
 * in the paper, where the edge points (Southwest planes, ARDIS sevens) are in no one's
 * training data, the starting model has never seen them; edge-, almost-edge- and
 * normal-case runs of one sweep share that model. *pool is NULL when nothing is
 * held out. */
int ft_train_pool(const ft_config_t *cfg, uint32_t **pool, uint32_t *pool_n)
{
    *pool = NULL;
    *pool_n = 0;
    /* Only a mined edge set takes points out of the training data: without one there
     * is nothing to hold out, and no reason to load the data set and mine it here. An
     * unknown method goes on, so that ft_attack_env_new names the key. */
    const char *method = ft_config_str(cfg, "attack.method");
    const ft_attack_t *attack = ft_attack_find(method);
    if (!strcmp(method, "none") || (attack && !attack->needs_edge) ||
        !strcmp(ft_config_str(cfg, "attack.edge_source"), "file"))
        return FT_OK;
    ft_dataset_t *train = NULL;
    ft_attack_env_t *env = NULL;
    int rc = ft_dataset_load(cfg, 1, &train);
    if (rc == FT_OK)
        rc = ft_attack_env_new(cfg, train, NULL, &env);
    if (rc == FT_OK)
        rc = ft_attack_env_honest_pool(env, train->n, pool, pool_n);
    if (rc == FT_OK && *pool_n == train->n) {
        ft_free(*pool);
        *pool = NULL;
    }
    ft_attack_env_destroy(&env);
    ft_dataset_destroy(&train);
    return rc;
}

int ft_train_centralised(const ft_config_t *cfg, const char *out_dir, int quiet, int json,
                         const uint32_t *pool, uint32_t pool_n)
{
    ft_dataset_t *train = NULL, *test = NULL;
    ft_model_t *m = NULL;
    ft_trainer_t *trainer = NULL;
    float *params = NULL;
    char *csv = NULL;
    size_t csv_len = 0, csv_cap = 0;
    const ft_ops_t *ops = NULL;
    int rc;
    char dir[1024], path[1200];

    if ((rc = check_config(cfg)) != FT_OK || (rc = ft_population_device(cfg, &ops)) != FT_OK)
        goto fail;
    ft_ops_set_threads((int)ft_config_int(cfg, "run.threads"));
    if ((rc = ft_dataset_load(cfg, 1, &train)) != FT_OK ||
        (rc = ft_dataset_load(cfg, 0, &test)) != FT_OK)
        goto fail;
    if (pool) {
        ft_dataset_t *kept = NULL;
        if ((rc = ft_dataset_subset(train, pool, pool_n, &kept)) != FT_OK)
            goto fail;
        ft_dataset_destroy(&train);
        train = kept;
    }
    if (train->n == 0) {
        rc = ft_error_set(FT_ECONFIG, "%s: no training samples", train->name);
        goto fail;
    }
    if (test->c != train->c || test->h != train->h || test->w != train->w) {
        rc = ft_error_set(FT_EFORMAT, "%s is %dx%dx%d but %s is %dx%dx%d", test->name, test->c,
                          test->h, test->w, train->name, train->c, train->h, train->w);
        goto fail;
    }

    const char *model_name = ft_config_str(cfg, "model.name");
    int epochs = (int)ft_config_int(cfg, "train.epochs");
    int batch_size = (int)ft_config_int(cfg, "train.batch_size");
    int eval_batch = (int)ft_config_int(cfg, "run.eval_batch");
    int max_batch = batch_size > eval_batch ? batch_size : eval_batch;
    uint64_t seed = (uint64_t)ft_config_int(cfg, "run.seed");
    int classes = train->num_classes > test->num_classes ? train->num_classes : test->num_classes;
    if ((rc = ft_model_new(model_name, ft_config_str(cfg, "model.hidden"), train->c, train->h,
                           train->w, classes, max_batch, ops, &m)) != FT_OK) {
        if (rc == FT_ECONFIG) {
            /* name the key at fault and where its value came from */
            char msg[512];
            snprintf(msg, sizeof msg, "%s", ft_error_message());
            const char *key = strstr(msg, "model.hidden") ? "model.hidden" : "model.name";
            rc = ft_config_error(cfg, key, "for %dx%dx%d inputs (%s): %s", train->c, train->h,
                                 train->w, train->name, msg);
        }
        goto fail;
    }
    ft_rng_t init_rng, shuffle_rng, dropout_rng;
    ft_rng_init(&init_rng, seed, 0, 0, FT_RNG_INIT);
    ft_rng_init(&shuffle_rng, seed, 0, 0, FT_RNG_SHUFFLE);
    ft_rng_init(&dropout_rng, seed, 0, 0, FT_RNG_DROPOUT);
    ft_model_init(m, &init_rng);
    ft_model_set_dropout_stream(m, ft_rng_u64(&dropout_rng), 0);
    if (!(trainer = ft_trainer_new(m, batch_size))) {
        rc = ft_error_set(FT_ENOMEM, "out of memory creating the trainer");
        goto fail;
    }

    snprintf(dir, sizeof dir, "%s", out_dir);
    if ((rc = ft_mkdir_p(dir)) != FT_OK)
        goto fail;
    snprintf(path, sizeof path, "%s/config.ini", dir);
    if ((rc = ft_config_write(cfg, path)) != FT_OK)
        goto fail;
    if ((rc = append(&csv, &csv_len, &csv_cap,
                     "epoch,train_loss,test_acc,test_loss,samples_per_s,epoch_seconds\n")) != FT_OK)
        goto fail;
    if (!quiet)
        fprintf(stderr,
                "fedtail train: %s (%zu parameters) on %s, %u training / %u test samples, %s back "
                "end\n",
                model_name, ft_model_num_params(m), train->name, train->n, test->n, ops->name);

    ft_train_opts_t opts = {
        .epochs = 1,
        .batch_size = batch_size,
        .lr = (float)ft_config_float(cfg, "train.lr"),
        .momentum = (float)ft_config_float(cfg, "train.momentum"),
        .weight_decay = (float)ft_config_float(cfg, "train.weight_decay"),
    };
    progress_t prog = {
        .trainer = trainer,
        .epochs = epochs,
        .batches = (int)((train->n + (uint32_t)batch_size - 1) / (uint32_t)batch_size),
        .batch_size = batch_size,
        .n = train->n,
        .quiet = quiet,
    };
    ft_train_hooks_t hooks = {.after_step = after_step, .user = &prog};
    ft_eval_t ev;
    double t_start = ft_now();
    for (int e = 0; e < epochs; e++) {
        prog.epoch = e;
        prog.epoch_start = ft_now();
        ft_train_result_t res;
        /* One epoch per call, the same shuffle stream throughout; the optimizer's
         * momentum carries over between epochs as in one torch.optim.SGD. */
        if ((rc = ft_train_run(trainer, train, NULL, 0, &opts, &shuffle_rng, e == 0, &hooks, NULL,
                               NULL, &res)) != FT_OK)
            goto fail;
        if (!isfinite(res.mean_loss)) {
            /* A diverged model is worse than none: never save (or cache) it. */
            rc = ft_error_set(FT_ESTATE,
                              "training diverged in epoch %d (loss %g): lower train.lr (now %g)",
                              e + 1, res.mean_loss, (double)opts.lr);
            goto fail;
        }
        prog.train_seconds += res.seconds;
        prog.done += res.samples;
        double rate = res.seconds > 0 ? (double)res.samples / res.seconds : 0.0;
        if ((rc = ft_model_evaluate(m, test, NULL, 0, &ev)) != FT_OK)
            goto fail;
        if (!quiet)
            fprintf(stderr,
                    "\repoch %d/%d  train loss %.4f  test acc %.2f%%  test loss %.4f  %.0f "
                    "samples/s  %.1f s%20s\n",
                    e + 1, epochs, res.mean_loss, 100.0 * ev.accuracy, ev.loss, rate, res.seconds,
                    "");
        progress_line_open = 0;
        if (json)
            printf("{\"epoch\":%d,\"train_loss\":%.6f,\"test_acc\":%.6f,\"test_loss\":%.6f,"
                   "\"samples_per_s\":%.1f}\n",
                   e + 1, res.mean_loss, ev.accuracy, ev.loss, rate);
        if ((rc = append(&csv, &csv_len, &csv_cap, "%d,%.6f,%.6f,%.6f,%.1f,%.3f\n", e + 1,
                         res.mean_loss, ev.accuracy, ev.loss, rate, res.seconds)) != FT_OK)
            goto fail;
        /* Rewritten every epoch so a long run's progress is on disk. */
        snprintf(path, sizeof path, "%s/metrics.csv", dir);
        if ((rc = ft_write_file_atomic(path, csv, csv_len)) != FT_OK)
            goto fail;
    }

    size_t N = ft_model_num_params(m);
    if (!(params = ft_malloc(N * sizeof(float)))) {
        rc = ft_error_set(FT_ENOMEM, "out of memory saving the model");
        goto fail;
    }
    ft_model_get_params(m, params);
    char meta[1024];
    snprintf(meta, sizeof meta,
             "model=%s\nhidden=%s\ndataset=%s\ninput=%d,%d,%d\nclasses=%d\nepochs=%d\nseed=%llu\n"
             "test_acc=%.6f\ntest_loss=%.6f\n",
             model_name, ft_config_str(cfg, "model.hidden"), ft_config_str(cfg, "data.dataset"),
             train->c, train->h, train->w, classes, epochs, (unsigned long long)seed, ev.accuracy,
             ev.loss);
    snprintf(path, sizeof path, "%s/model.ckpt", dir);
    if ((rc = ft_checkpoint_save(path, ft_model_layout(m)->hash, params, N, meta, NULL, 0)) !=
        FT_OK)
        goto fail;
    if (!json)
        printf("%s: test accuracy %.2f%% after %d epoch%s (%.1f s)\n", dir, 100.0 * ev.accuracy,
               epochs, epochs == 1 ? "" : "s", ft_now() - t_start);
    rc = FT_OK;
fail:
    if (rc != FT_OK && progress_line_open)
        fputc('\n', stderr);
    ft_free(params);
    ft_free(csv);
    ft_trainer_destroy(&trainer);
    ft_model_destroy(&m);
    ft_dataset_destroy(&train);
    ft_dataset_destroy(&test);
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
    int rc = ft_cli_out_dir(&cli, "train", dir, sizeof dir);
    if (rc == FT_OK)
        rc = ft_train_pool(cli.cfg, &pool, &pool_n);
    if (rc == FT_OK && pool && !cli.quiet)
        fprintf(stderr,
                "fedtail train: the attack's edge-case points are held out (%u training "
                "samples remain)\n",
                pool_n);
    if (rc == FT_OK)
        rc = ft_train_centralised(cli.cfg, dir, cli.quiet, cli.json, pool, pool_n);
    ft_free(pool);
    ft_cli_free(&cli);
    return rc == FT_OK ? 0 : ft_cli_fail(rc);
}
