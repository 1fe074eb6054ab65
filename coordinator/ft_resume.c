/* ft_resume: alternating resumable checkpoints (see ft_resume.h). */
#include "ft_resume.h"

#include "ft_alloc.h"
#include "ft_checkpoint.h"
#include "ft_error.h"
#include "ft_experiment.h"
#include "ft_fileio.h"
#include "ft_log.h"
#include "ft_sha256.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const slot_names[FT_RESUME_SLOTS] = {"checkpoint-a.ckpt", "checkpoint-b.ckpt"};

int ft_resume_path(const char *dir, int slot, char *buf, size_t len)
{
    if ((size_t)snprintf(buf, len, "%s/%s", dir, slot_names[slot]) >= len)
        return ft_error_set(FT_EINVAL, "path too long: %s/%s", dir, slot_names[slot]);
    return FT_OK;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int ft_resume_save(const char *dir, int slot, const uint8_t layout_hash[32], const float *params,
                   size_t num_params, uint64_t seed, const char *defense,
                   const ft_resume_point_t *pt, const char *config_ini,
                   const uint8_t *defense_state, size_t defense_len, const float *attack_state,
                   size_t attack_state_n)
{
    char path[4096];
    int rc = ft_resume_path(dir, slot, path, sizeof path);
    if (rc != FT_OK)
        return rc;
    /* extra = u64 config length | config | attack state (meta attack_state_floats
     * float32s; absent from older checkpoints) | defense state (the rest) */
    size_t cfg_len = strlen(config_ini), att_len = attack_state ? attack_state_n * 4 : 0;
    size_t extra_len = 8 + cfg_len + att_len + defense_len;
    uint8_t *extra = ft_malloc(extra_len);
    if (!extra)
        return ft_error_set(FT_ENOMEM, "%s: out of memory", path);
    put_u64(extra, cfg_len);
    memcpy(extra + 8, config_ini, cfg_len);
    if (att_len)
        memcpy(extra + 8 + cfg_len, attack_state, att_len); /* little-endian hosts */
    if (defense_len)
        memcpy(extra + 8 + cfg_len + att_len, defense_state, defense_len);
    uint8_t digest[FT_SHA256_LEN];
    char hex[2 * FT_SHA256_LEN + 1];
    ft_sha256(config_ini, cfg_len, digest);
    ft_sha256_hex(digest, hex);
    const ft_detect_counts_t *d = &pt->detect;
    /* %a: the doubles come back bit for bit, so summary.json does too. */
    char meta[2048];
    snprintf(meta, sizeof meta,
             "round=%d\ncomplete=0\nresumable=1\nseed=%llu\ndefense=%s\n"
             "metrics_bytes=%" PRId64 "\nevents_bytes=%" PRId64 "\nelapsed=%a\n"
             "detect=%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
             ",%" PRId64 "\n"
             "shares=%a,%" PRId64 ",%a,%" PRId64 "\n"
             "final_main_acc=%a\nfinal_backdoor_acc=%a\npeak_backdoor_acc=%a\n"
             "model_destroyed_round=%d\nconfig_sha256=%s\nattack_state_floats=%zu\n",
             pt->round, (unsigned long long)seed, defense, pt->metrics_bytes, pt->events_bytes,
             pt->elapsed, d->attackers, d->attackers_kept, d->attackers_dropped,
             d->attackers_reduced, d->honest, d->honest_dropped, d->honest_reduced, d->weight_sum,
             d->weight_rounds, d->norm_share_sum, d->norm_rounds, pt->final_main_acc,
             pt->final_backdoor_acc, pt->peak_backdoor_acc, pt->destroyed_round, hex, att_len / 4);
    rc = ft_checkpoint_save(path, layout_hash, params, num_params, meta, extra, extra_len);
    ft_free(extra);
    return rc;
}

/* Every field below is checked whatever the digest says: the SHA-256 shows the file
 * is whole, not that this program wrote it (anyone can recompute it). A field that
 * fails is FT_EFORMAT "PATH: field NAME = VALUE: why", and ft_resume_find then
 * skips the slot as it skips a torn one. */

/* A whole decimal integer (nothing after it). */
static int parse_i64(const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno)
        return 0;
    *out = (int64_t)x;
    return 1;
}

/* A whole number as strtod reads it (%a hex floats, "nan", "inf"). */
static int parse_f64(const char *v, double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end)
        return 0;
    *out = x;
    return 1;
}

static int bad_field(const char *path, const char *field, const char *value, const char *why)
{
    return ft_error_set(FT_EFORMAT, "%s: field %s = %s: %s", path, field, value, why);
}

/* What the checkpoint's own config says about the run, for checking the meta. */
typedef struct {
    int rounds;       /* federation.rounds */
    uint32_t K;       /* federation.clients_per_round */
    uint64_t seed;    /* run.seed */
    char defense[64]; /* defense.name */
} run_facts_t;

static int read_facts(const char *path, const char *config_ini, run_facts_t *f)
{
    ft_config_t *cfg = ft_config_new();
    if (!cfg)
        return ft_error_set(FT_ENOMEM, "out of memory");
    ft_experiment_t exp;
    int rc = ft_config_load_string(cfg, config_ini, path);
    if (rc == FT_OK)
        rc = ft_experiment_read(cfg, &exp);
    if (rc == FT_OK) {
        f->rounds = exp.federation.rounds;
        f->K = exp.federation.clients_per_round;
        f->seed = exp.run.seed;
        snprintf(f->defense, sizeof f->defense, "%s", exp.defense.name);
    }
    ft_config_destroy(&cfg);
    if (rc == FT_ENOMEM)
        return rc;
    if (rc != FT_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", ft_error_message());
        return ft_error_set(FT_EFORMAT, "%s: field config: %s", path, msg);
    }
    return FT_OK;
}

/* field (metrics_bytes / events_bytes) is the length of DIR/name after the
 * checkpoint's round: within the file, at the end of a line, and covering exactly
 * `lines` lines (lines < 0: at least -lines; lines_are says what they are). */
static int check_run_file(const char *path, const char *dir, const char *name, const char *field,
                          int64_t bytes, int64_t lines, const char *lines_are)
{
    char file[4096], value[32];
    snprintf(value, sizeof value, "%lld", (long long)bytes);
    if ((size_t)snprintf(file, sizeof file, "%s/%s", dir, name) >= sizeof file)
        return ft_error_set(FT_EINVAL, "path too long: %s/%s", dir, name);
    char *data = NULL;
    size_t len = 0;
    if (ft_read_file(file, &data, &len) != FT_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", ft_error_message());
        return ft_error_set(FT_EFORMAT, "%s: field %s = %s: %s", path, field, value, msg);
    }
    int rc = FT_OK;
    char why[4200];
    if ((uint64_t)bytes > len) {
        snprintf(why, sizeof why, "beyond the end of %s (%zu bytes)", file, len);
        rc = bad_field(path, field, value, why);
    } else if (bytes > 0 && data[bytes - 1] != '\n') {
        snprintf(why, sizeof why, "not at the end of a line of %s", file);
        rc = bad_field(path, field, value, why);
    } else {
        int64_t n = 0;
        for (int64_t i = 0; i < bytes; i++)
            n += data[i] == '\n';
        if (lines >= 0 ? n != lines : n < -lines) {
            snprintf(why, sizeof why, "%s has %lld lines there; the round needs %s%lld (%s)", file,
                     (long long)n, lines >= 0 ? "" : "at least ",
                     (long long)(lines >= 0 ? lines : -lines), lines_are);
            rc = bad_field(path, field, value, why);
        }
    }
    ft_free(data);
    return rc;
}

/* Parses and checks the meta and extra of a loaded checkpoint of run directory dir
 * into r (dir NULL: the byte lengths are not checked against the run's files).
 * FT_EFORMAT / FT_EDIGEST naming path and the field; FT_ENOMEM. */
static int parse(const char *dir, const char *path, ft_checkpoint_t *ck, ft_resume_t *r)
{
    char v[256];
    if (!ft_checkpoint_meta(ck, "resumable", v, sizeof v) || strcmp(v, "1") != 0)
        return ft_error_set(FT_EFORMAT, "%s: not a resumable checkpoint", path);
    ft_resume_point_t *pt = &r->point;
    const char *keys[] = {
        "round",        "seed",   "defense",        "metrics_bytes",      "events_bytes",
        "elapsed",      "detect", "final_main_acc", "final_backdoor_acc", "peak_backdoor_acc",
        "config_sha256"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!ft_checkpoint_meta(ck, keys[i], v, sizeof v))
            return ft_error_set(FT_EFORMAT, "%s: meta has no %s", path, keys[i]);

    /* The config first: the other fields are checked against the run it describes. */
    if (ck->extra_len < 8 || get_u64(ck->extra) > ck->extra_len - 8)
        return ft_error_set(FT_EFORMAT, "%s: field config: no config in the checkpoint", path);
    size_t cfg_len = (size_t)get_u64(ck->extra);
    if (memchr(ck->extra + 8, '\0', cfg_len))
        return ft_error_set(FT_EFORMAT, "%s: field config: holds a NUL byte", path);
    r->config_ini = ft_malloc(cfg_len + 1);
    if (!r->config_ini)
        return ft_error_set(FT_ENOMEM, "out of memory");
    memcpy(r->config_ini, ck->extra + 8, cfg_len);
    r->config_ini[cfg_len] = '\0';
    uint8_t digest[FT_SHA256_LEN];
    char hex[2 * FT_SHA256_LEN + 1];
    ft_sha256(r->config_ini, cfg_len, digest);
    ft_sha256_hex(digest, hex);
    ft_checkpoint_meta(ck, "config_sha256", v, sizeof v);
    if (strcmp(v, hex) != 0)
        return ft_error_set(FT_EDIGEST, "%s: config digest mismatch", path);
    run_facts_t run;
    int rc = read_facts(path, r->config_ini, &run);
    if (rc != FT_OK)
        return rc;

    int64_t x;
    char why[256];
    ft_checkpoint_meta(ck, "round", v, sizeof v);
    if (!parse_i64(v, &x) || x < 0 || x > run.rounds) {
        snprintf(why, sizeof why, "not a round in [0, %d] (federation.rounds)", run.rounds);
        return bad_field(path, "round", v, why);
    }
    pt->round = (int)x;
    ft_checkpoint_meta(ck, "seed", v, sizeof v);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)run.seed);
    if (strcmp(v, seed) != 0)
        return bad_field(path, "seed", v, "not the config's run.seed");
    ft_checkpoint_meta(ck, "defense", v, sizeof v);
    if (strcmp(v, run.defense) != 0)
        return bad_field(path, "defense", v, "not the config's defense.name");
    ft_checkpoint_meta(ck, "elapsed", v, sizeof v);
    if (!parse_f64(v, &pt->elapsed) || !isfinite(pt->elapsed) || pt->elapsed < 0)
        return bad_field(path, "elapsed", v, "not a finite number of seconds >= 0");
    /* An accuracy is a fraction, or NaN for "not evaluated yet / no backdoor test". */
    const char *acc_keys[3] = {"final_main_acc", "final_backdoor_acc", "peak_backdoor_acc"};
    double *acc[3] = {&pt->final_main_acc, &pt->final_backdoor_acc, &pt->peak_backdoor_acc};
    for (int i = 0; i < 3; i++) {
        ft_checkpoint_meta(ck, acc_keys[i], v, sizeof v);
        if (!parse_f64(v, acc[i]) || (!isnan(*acc[i]) && !(*acc[i] >= 0 && *acc[i] <= 1)))
            return bad_field(path, acc_keys[i], v, "not a fraction in [0, 1] (or nan)");
    }

    /* Optional (checkpoints written before run.on_nonfinite lack it): the round that
     * destroyed the global model, 0 for none, at most this round. */
    pt->destroyed_round = 0;
    if (ft_checkpoint_meta(ck, "model_destroyed_round", v, sizeof v)) {
        if (!parse_i64(v, &x) || x < 0 || x > pt->round)
            return bad_field(path, "model_destroyed_round", v, "not a round in [0, round]");
        pt->destroyed_round = (int)x;
    }

    /* Detection totals: counts of the updates aggregated so far, at most K a round. */
    ft_detect_counts_t *d = &pt->detect;
    ft_checkpoint_meta(ck, "detect", v, sizeof v);
    int64_t *counts[7] = {&d->attackers,         &d->attackers_kept, &d->attackers_dropped,
                          &d->attackers_reduced, &d->honest,         &d->honest_dropped,
                          &d->honest_reduced};
    int64_t most = run.K && pt->round > INT64_MAX / run.K ? INT64_MAX : (int64_t)pt->round * run.K;
    const char *p = v;
    for (int i = 0; i < 7; i++) {
        char item[32];
        size_t n = strcspn(p, ",");
        if (n >= sizeof item || (i < 6 ? p[n] != ',' : p[n] != '\0'))
            return bad_field(path, "detect", v, "not 7 comma-separated counts");
        memcpy(item, p, n);
        item[n] = '\0';
        if (!parse_i64(item, counts[i]) || *counts[i] < 0 || *counts[i] > most) {
            snprintf(why, sizeof why,
                     "count %d is not in [0, %lld] (round x federation.clients_per_round)", i + 1,
                     (long long)most);
            return bad_field(path, "detect", v, why);
        }
        p += n + (i < 6);
    }
    if (d->attackers_kept > d->attackers ||
        d->attackers_dropped > d->attackers - d->attackers_kept ||
        d->attackers_reduced != d->attackers - d->attackers_kept - d->attackers_dropped)
        return bad_field(path, "detect", v, "attackers kept + dropped + reduced != attackers");
    if (d->honest_dropped > d->honest || d->honest_reduced > d->honest - d->honest_dropped)
        return bad_field(path, "detect", v, "honest dropped + reduced > honest");
    if (d->honest > most - d->attackers)
        return bad_field(path, "detect", v,
                         "more updates than round x federation.clients_per_round");

    /* Optional (checkpoints written before issue 15 lack it): the attackers' summed
     * weight and norm share over the rounds counted, each share in [0, 1] a round
     * (weights: up to 1 + rounding). */
    d->weight_sum = d->norm_share_sum = 0;
    d->weight_rounds = d->norm_rounds = 0;
    if (ft_checkpoint_meta(ck, "shares", v, sizeof v)) {
        double ws, ns;
        int64_t wr, nr;
        char a[64], b[32], e[64], g[32];
        if (sscanf(v, "%63[^,],%31[^,],%63[^,],%31s", a, b, e, g) != 4 || !parse_f64(a, &ws) ||
            !parse_i64(b, &wr) || !parse_f64(e, &ns) || !parse_i64(g, &nr))
            return bad_field(path, "shares", v, "not weight_sum,rounds,norm_share_sum,rounds");
        if (wr < 0 || wr > pt->round || nr < 0 || nr > pt->round)
            return bad_field(path, "shares", v, "a round count not in [0, round]");
        if (!(ws >= 0 && ws <= 1.001 * (double)wr) || !(ns >= 0 && ns <= 1.001 * (double)nr))
            return bad_field(path, "shares", v, "a sum not in [0, its rounds]");
        d->weight_sum = ws;
        d->weight_rounds = wr;
        d->norm_share_sum = ns;
        d->norm_rounds = nr;
    }

    /* The byte lengths: metrics.csv holds the header and one row per round, and
     * events.jsonl at least one round_end line per round. */
    ft_checkpoint_meta(ck, "metrics_bytes", v, sizeof v);
    if (!parse_i64(v, &pt->metrics_bytes) || pt->metrics_bytes < 0)
        return bad_field(path, "metrics_bytes", v, "not a byte length >= 0");
    if (dir &&
        (rc = check_run_file(path, dir, "metrics.csv", "metrics_bytes", pt->metrics_bytes,
                             (int64_t)pt->round + 1, "the header and one row per round")) != FT_OK)
        return rc;
    ft_checkpoint_meta(ck, "events_bytes", v, sizeof v);
    if (!parse_i64(v, &pt->events_bytes) || pt->events_bytes < 0)
        return bad_field(path, "events_bytes", v, "not a byte length >= 0");
    if (dir && (rc = check_run_file(path, dir, "events.jsonl", "events_bytes", pt->events_bytes,
                                    -(int64_t)pt->round, "a round_end per round")) != FT_OK)
        return rc;

    /* The model: N floats, all finite (the round loop starts from them) — but for the
     * checkpoint of a run stopped because this very round destroyed the model, which
     * the coordinator keeps only to refuse a resume (run.on_nonfinite = stop). */
    if (ck->num_params == 0)
        return ft_error_set(FT_EFORMAT, "%s: field num_params = 0: no model", path);
    if (pt->destroyed_round != pt->round && (rc = ft_checkpoint_check_finite(path, ck)) != FT_OK)
        return rc;

    /* The attack's state, when the meta names one (older checkpoints do not). */
    size_t att_n = 0, rest = ck->extra_len - 8 - cfg_len;
    if (ft_checkpoint_meta(ck, "attack_state_floats", v, sizeof v)) {
        int64_t x;
        if (!parse_i64(v, &x) || x < 0 || x > (int64_t)(rest / 4) || x > (1 << 24))
            return bad_field(path, "attack_state_floats", v,
                             "not a float count that fits the checkpoint");
        att_n = (size_t)x;
    }
    if (att_n) {
        r->attack_state = ft_malloc(att_n * sizeof(float));
        if (!r->attack_state)
            return ft_error_set(FT_ENOMEM, "out of memory");
        memcpy(r->attack_state, ck->extra + 8 + cfg_len, att_n * sizeof(float));
        r->attack_state_n = att_n;
        for (size_t j = 0; j < att_n; j++)
            if (!isfinite(r->attack_state[j]))
                return ft_error_set(FT_EFORMAT, "%s: field attack state: value %zu is not finite",
                                    path, j);
    }
    r->defense_len = rest - att_n * 4;
    if (r->defense_len) {
        r->defense_state = ft_malloc(r->defense_len);
        if (!r->defense_state)
            return ft_error_set(FT_ENOMEM, "out of memory");
        memcpy(r->defense_state, ck->extra + 8 + cfg_len + att_n * 4, r->defense_len);
    }
    r->params = ck->params;
    ck->params = NULL;
    r->num_params = ck->num_params;
    memcpy(r->layout_hash, ck->layout_hash, 32);
    return FT_OK;
}

int ft_resume_parse(const void *data, size_t len, const char *name, ft_resume_t *out)
{
    memset(out, 0, sizeof *out);
    out->slot = -1;
    ft_checkpoint_t ck;
    memset(&ck, 0, sizeof ck);
    int rc = ft_checkpoint_parse(data, len, name, NULL, &ck);
    if (rc == FT_OK)
        rc = parse(NULL, name, &ck, out);
    ft_checkpoint_free(&ck);
    if (rc != FT_OK)
        ft_resume_free(out);
    return rc;
}

/* Removes DIR/checkpoint-*.tmp.* left by a write that was killed. */
static void remove_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "checkpoint-", 11) != 0 || !strstr(e->d_name, ".ckpt.tmp."))
            continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path)
            unlink(path);
    }
    closedir(d);
}

/* Appends one slot's reason to why ("; "-separated) and warns. */
static void note_skip(char *why, size_t cap)
{
    size_t at = strlen(why);
    snprintf(why + at, cap - at, "%s%s", at ? "; " : "", ft_error_message());
    FT_LOG(FT_LOG_WARN, "skipping a damaged checkpoint: %s", ft_error_message());
}

int ft_resume_find(const char *dir, ft_resume_accept_fn accept, void *user, ft_resume_t *out)
{
    memset(out, 0, sizeof *out);
    out->slot = -1;
    remove_temporaries(dir);
    int found = 0, damage_rc = FT_OK, n = 0, rc = FT_OK;
    char why[2048] = "";
    ft_resume_t cand[FT_RESUME_SLOTS];
    char paths[FT_RESUME_SLOTS][4096];
    memset(cand, 0, sizeof cand);
    for (int slot = 0; slot < FT_RESUME_SLOTS; slot++) {
        char *path = paths[n];
        if ((rc = ft_resume_path(dir, slot, path, sizeof paths[n])) != FT_OK)
            goto done;
        if (access(path, F_OK) != 0)
            continue;
        found++;
        ft_checkpoint_t ck;
        memset(&ck, 0, sizeof ck);
        ft_resume_t *r = &cand[n];
        r->slot = slot;
        rc = ft_checkpoint_load(path, NULL, &ck);
        if (rc == FT_OK)
            rc = parse(dir, path, &ck, r);
        ft_checkpoint_free(&ck);
        if (rc == FT_ENOMEM)
            goto done;
        if (rc != FT_OK) {
            damage_rc = rc;
            note_skip(why, sizeof why);
            ft_resume_free(r);
            continue;
        }
        n++;
    }
    /* Newest first (on a tie, checkpoint-a). */
    if (n == 2 && cand[1].point.round > cand[0].point.round) {
        ft_resume_t t = cand[0];
        cand[0] = cand[1];
        cand[1] = t;
        char tp[4096];
        memcpy(tp, paths[0], sizeof tp);
        memcpy(paths[0], paths[1], sizeof tp);
        memcpy(paths[1], tp, sizeof tp);
    }
    rc = FT_OK;
    for (int i = 0; i < n; i++) {
        int arc = accept ? accept(user, paths[i], &cand[i]) : FT_OK;
        if (arc == FT_OK) {
            *out = cand[i];
            memset(&cand[i], 0, sizeof cand[i]);
            goto done;
        }
        if (arc != FT_EFORMAT && arc != FT_EDIGEST) {
            rc = arc;
            goto done;
        }
        damage_rc = arc;
        note_skip(why, sizeof why);
    }
    if (!found)
        rc = ft_error_set(FT_ENOTFOUND, "%s: no checkpoint", dir);
    else
        rc = ft_error_set(damage_rc, "%s: every checkpoint is damaged (%s)", dir, why);
done:
    for (int i = 0; i < FT_RESUME_SLOTS; i++)
        ft_resume_free(&cand[i]);
    return rc;
}

void ft_resume_free(ft_resume_t *r)
{
    ft_free(r->params);
    ft_free(r->config_ini);
    ft_free(r->defense_state);
    ft_free(r->attack_state);
    int slot = r->slot;
    memset(r, 0, sizeof *r);
    r->slot = slot;
}
