/* ft_seeds: run.seeds (or --seeds) on this machine — each variant, or the single
 * experiment, run once per seed.
 *
 * Layout: seed S of a single experiment runs into DIR/seed-S, of a run.compare arm
 * into DIR/<arm>/seed-S (a sweep cell: CELL/seed-S). Seed S runs with the config a
 * plain run with run.seed = S has (run.seeds emptied), so its files equal that run's.
 * A finished seed leaves DIR/.../seed-S/seed-complete holding the SHA-256 of the
 * config it ran with: running the same command again skips it, and a different
 * config over it is refused rather than mixed in. A seed that was interrupted part
 * way runs again from round 1. */
#ifndef FT_SEEDS_H
#define FT_SEEDS_H

#include "ft_config.h"

#include <stddef.h>
#include <stdint.h>

/* parent/seed-S into buf. */
void ft_seed_dir(const char *parent, uint64_t seed, char *buf, size_t len);

/* A copy of cfg with run.seed = seed and run.seeds emptied, into *out (the caller
 * destroys it). FT_ENOMEM, *out untouched, on failure. */
int ft_seed_config(const ft_config_t *cfg, uint64_t seed, ft_config_t **out);

/* Whether dir holds a finished run of cfg: 1 yes, 0 no (no marker), FT_ECONFIG
 * (message naming dir) when it finished with a different config. */
int ft_seed_done(const char *dir, const ft_config_t *cfg);

/* Nonzero if dir holds a seed-complete marker, whatever config it names. */
int ft_seed_marked(const char *dir);

/* Marks dir finished with cfg. FT_EIO / FT_ENOMEM naming the file. */
int ft_seed_mark_done(const char *dir, const ft_config_t *cfg);

/* The error for assignments (a run.compare arm's or a sweep's) that set run.seed or
 * run.seeds while run.seeds is in use — run.seeds would override them, or they it.
 * Returns FT_OK if sets has none, else FT_ECONFIG with a message naming who. */
int ft_seeds_check_sets(const char *sets, const char *who);

#endif
