/* ft_resume: alternating resumable checkpoints (see ft_resume.h). */
#include "ft_resume.h"

#include "ft_alloc.h"
#include "ft_checkpoint.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_log.h"
#include "ft_sha256.h"

#include <dirent.h>
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
                   const uint8_t *defense_state, size_t defense_len)
{
    char path[4096];
    int rc = ft_resume_path(dir, slot, path, sizeof path);
    if (rc != FT_OK)
        return rc;
    size_t cfg_len = strlen(config_ini);
    size_t extra_len = 8 + cfg_len + defense_len;
    uint8_t *extra = ft_malloc(extra_len);
    if (!extra)
        return ft_error_set(FT_ENOMEM, "%s: out of memory", path);
    put_u64(extra, cfg_len);
    memcpy(extra + 8, config_ini, cfg_len);
    if (defense_len)
        memcpy(extra + 8 + cfg_len, defense_state, defense_len);
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
             "final_main_acc=%a\nfinal_backdoor_acc=%a\npeak_backdoor_acc=%a\n"
             "config_sha256=%s\n",
             pt->round, (unsigned long long)seed, defense, pt->metrics_bytes, pt->events_bytes,
             pt->elapsed, d->attackers, d->attackers_kept, d->attackers_dropped,
             d->attackers_reduced, d->honest, d->honest_dropped, d->honest_reduced,
             pt->final_main_acc, pt->final_backdoor_acc, pt->peak_backdoor_acc, hex);
    rc = ft_checkpoint_save(path, layout_hash, params, num_params, meta, extra, extra_len);
    ft_free(extra);
    return rc;
}

/* Parses the meta and extra of a loaded checkpoint into r. FT_EFORMAT naming path. */
static int parse_meta(const char *path, ft_checkpoint_t *ck, ft_resume_t *r)
{
    char v[256];
    if (!ft_checkpoint_meta(ck, "resumable", v, sizeof v) || strcmp(v, "1") != 0)
        return ft_error_set(FT_EFORMAT, "%s: not a resumable checkpoint", path);
    ft_resume_point_t *pt = &r->point;
    const char *keys[] = {
        "round",          "metrics_bytes",      "events_bytes",      "elapsed",      "detect",
        "final_main_acc", "final_backdoor_acc", "peak_backdoor_acc", "config_sha256"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!ft_checkpoint_meta(ck, keys[i], v, sizeof v))
            return ft_error_set(FT_EFORMAT, "%s: meta has no %s", path, keys[i]);
    ft_checkpoint_meta(ck, "round", v, sizeof v);
    pt->round = atoi(v);
    ft_checkpoint_meta(ck, "metrics_bytes", v, sizeof v);
    pt->metrics_bytes = strtoll(v, NULL, 10);
    ft_checkpoint_meta(ck, "events_bytes", v, sizeof v);
    pt->events_bytes = strtoll(v, NULL, 10);
    ft_checkpoint_meta(ck, "elapsed", v, sizeof v);
    pt->elapsed = strtod(v, NULL);
    ft_checkpoint_meta(ck, "final_main_acc", v, sizeof v);
    pt->final_main_acc = strtod(v, NULL);
    ft_checkpoint_meta(ck, "final_backdoor_acc", v, sizeof v);
    pt->final_backdoor_acc = strtod(v, NULL);
    ft_checkpoint_meta(ck, "peak_backdoor_acc", v, sizeof v);
    pt->peak_backdoor_acc = strtod(v, NULL);
    ft_checkpoint_meta(ck, "detect", v, sizeof v);
    ft_detect_counts_t *d = &pt->detect;
    if (sscanf(v,
               "%" SCNd64 ",%" SCNd64 ",%" SCNd64 ",%" SCNd64 ",%" SCNd64 ",%" SCNd64 ",%" SCNd64,
               &d->attackers, &d->attackers_kept, &d->attackers_dropped, &d->attackers_reduced,
               &d->honest, &d->honest_dropped, &d->honest_reduced) != 7 ||
        pt->round < 0 || pt->metrics_bytes < 0 || pt->events_bytes < 0)
        return ft_error_set(FT_EFORMAT, "%s: malformed meta", path);
    if (ck->extra_len < 8 || get_u64(ck->extra) > ck->extra_len - 8)
        return ft_error_set(FT_EFORMAT, "%s: no config in the checkpoint", path);
    size_t cfg_len = (size_t)get_u64(ck->extra);
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
    r->defense_len = ck->extra_len - 8 - cfg_len;
    if (r->defense_len) {
        r->defense_state = ft_malloc(r->defense_len);
        if (!r->defense_state)
            return ft_error_set(FT_ENOMEM, "out of memory");
        memcpy(r->defense_state, ck->extra + 8 + cfg_len, r->defense_len);
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
        rc = parse_meta(name, &ck, out);
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

int ft_resume_find(const char *dir, ft_resume_t *out)
{
    memset(out, 0, sizeof *out);
    out->slot = -1;
    remove_temporaries(dir);
    int found = 0, damaged = 0, damage_rc = FT_OK;
    char why[1024] = "";
    for (int slot = 0; slot < FT_RESUME_SLOTS; slot++) {
        char path[4096];
        int rc = ft_resume_path(dir, slot, path, sizeof path);
        if (rc != FT_OK)
            return rc;
        if (access(path, F_OK) != 0)
            continue;
        found++;
        ft_resume_t r;
        memset(&r, 0, sizeof r);
        char *data = NULL;
        size_t len = 0;
        rc = ft_read_file(path, &data, &len);
        if (rc == FT_OK)
            rc = ft_resume_parse(data, len, path, &r);
        ft_free(data);
        if (rc != FT_OK) {
            damaged++;
            damage_rc = rc;
            snprintf(why + strlen(why), sizeof why - strlen(why), "%s%s", why[0] ? "; " : "",
                     ft_error_message());
            FT_LOG(FT_LOG_WARN, "skipping a damaged checkpoint: %s", ft_error_message());
            ft_resume_free(&r);
            continue;
        }
        r.slot = slot;
        if (out->slot < 0 || r.point.round > out->point.round) {
            ft_resume_free(out);
            *out = r;
        } else {
            ft_resume_free(&r);
        }
    }
    if (out->slot >= 0)
        return FT_OK;
    if (!found)
        return ft_error_set(FT_ENOTFOUND, "%s: no checkpoint", dir);
    return ft_error_set(damage_rc, "%s: every checkpoint is damaged (%s)", dir, why);
}

void ft_resume_free(ft_resume_t *r)
{
    ft_free(r->params);
    ft_free(r->config_ini);
    ft_free(r->defense_state);
    int slot = r->slot;
    memset(r, 0, sizeof *r);
    r->slot = slot;
}
