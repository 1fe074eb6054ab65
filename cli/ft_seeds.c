/* ft_seeds: the per-seed directories, configs and completion markers of run.seeds. */
#include "ft_seeds.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_sha256.h"

#include <stdio.h>
#include <string.h>

#define MARKER "seed-complete"

void ft_seed_dir(const char *parent, uint64_t seed, char *buf, size_t len)
{
    snprintf(buf, len, "%s/seed-%llu", parent, (unsigned long long)seed);
}

int ft_seed_config(const ft_config_t *cfg, uint64_t seed, ft_config_t **out)
{
    ft_config_t *copy = ft_config_clone(cfg);
    if (!copy)
        return ft_error_set(FT_ENOMEM, "out of memory");
    char v[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)seed);
    int rc = ft_config_set_value(copy, "run.seeds", "", "run.seeds");
    if (rc == FT_OK)
        rc = ft_config_set_value(copy, "run.seed", v, "run.seeds");
    if (rc != FT_OK) {
        ft_config_destroy(&copy);
        return rc;
    }
    *out = copy;
    return FT_OK;
}

/* "sha256=<hex of the config's INI text>\n" into line. */
static int marker_text(const ft_config_t *cfg, char line[96])
{
    char *ini = ft_config_to_ini(cfg);
    if (!ini)
        return ft_error_set(FT_ENOMEM, "out of memory");
    uint8_t digest[FT_SHA256_LEN];
    char hex[2 * FT_SHA256_LEN + 1];
    ft_sha256(ini, strlen(ini), digest);
    ft_free(ini);
    ft_sha256_hex(digest, hex);
    snprintf(line, 96, "sha256=%s\n", hex);
    return FT_OK;
}

int ft_seed_marked(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/" MARKER, dir);
    return ft_path_exists(path);
}

int ft_seed_done(const char *dir, const ft_config_t *cfg)
{
    char path[4200], want[96];
    snprintf(path, sizeof path, "%s/" MARKER, dir);
    if (!ft_path_exists(path))
        return 0;
    int rc = marker_text(cfg, want);
    if (rc != FT_OK)
        return rc;
    char *have = NULL;
    size_t len = 0;
    if ((rc = ft_read_file(path, &have, &len)) != FT_OK)
        return rc;
    int same = strcmp(have, want) == 0;
    ft_free(have);
    if (!same)
        return ft_error_set(FT_ECONFIG,
                            "%s holds a finished run of a different configuration: choose "
                            "another --out (or remove it)",
                            dir);
    return 1;
}

int ft_seed_mark_done(const char *dir, const ft_config_t *cfg)
{
    char path[4200], text[96];
    snprintf(path, sizeof path, "%s/" MARKER, dir);
    int rc = marker_text(cfg, text);
    return rc != FT_OK ? rc : ft_write_file_atomic(path, text, strlen(text));
}

int ft_seeds_check_sets(const char *sets, const char *who)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", sets);
    char *save = NULL;
    for (char *a = strtok_r(buf, " \t", &save); a; a = strtok_r(NULL, " \t", &save))
        if (strncmp(a, "run.seed=", 9) == 0 || strncmp(a, "run.seeds=", 10) == 0)
            return ft_error_set(FT_ECONFIG,
                                "%s sets %.*s, but run.seeds chooses every run's seed: set "
                                "run.seeds alone",
                                who, (int)(strchr(a, '=') - a), a);
    return FT_OK;
}
