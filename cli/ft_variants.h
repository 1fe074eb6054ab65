/* ft_variants: run.compare — the variants one fedtail run runs side by side, each
 * "label: section.key=value section.key=value", separated by ';'.
 *
 * Each variant runs into DIR/<slug> (the label in lower case, anything but
 * [a-z0-9.-] turned into '-') with the base config plus its assignments; the
 * report then compares them on one chart, labelled. */
#ifndef FT_VARIANTS_H
#define FT_VARIANTS_H

#include "ft_config.h"
#include "ft_experiment.h"

#define FT_MAX_VARIANTS 16 /* most variants run.compare may list */

/* One entry of run.compare: "label: k=v k=v". */
typedef struct {
    char label[64]; /* shown in plots and the verdict */
    char slug[64];  /* directory name */
    char sets[512]; /* the space-separated assignments */
} ft_variant_t;

/* Parses run.compare into v (room for FT_MAX_VARIANTS) and *n; 0 variants
 * when it is empty. An entry without "label:" is labelled "variant I" (I from 1).
 * The assignments are not checked here (ft_variant_config does). Returns FT_OK, or
 * a negative code with a message naming run.compare when it lists more than
 * FT_MAX_VARIANTS (v then holds the first FT_MAX_VARIANTS). */
int ft_variants_parse(const ft_run_cfg_t *run, ft_variant_t *v, int *n);

/* A copy of cfg with run.compare emptied and the variant's assignments applied,
 * into *out (the caller destroys it with ft_config_destroy). Returns FT_OK, or a
 * negative code with a message (FT_ENOMEM, or the error of a bad assignment) and
 * *out untouched. An assignment to a key cfg has from --set is FT_ECONFIG naming the
 * key, the --set and the variant: the variant would override it silently. */
int ft_variant_config(const ft_config_t *cfg, const ft_variant_t *v, ft_config_t **out);

/* Checks the experiment cfg and each of its n variants v (n = 0: cfg alone) as their
 * coordinators will — the config, the attack and its keys, the defense and its keys
 * against K — so that a typo is refused before time goes into any pre-training,
 * edge mining or run. The base is checked even where every variant overrides a key.
 * Returns FT_OK or the first error (FT_ECONFIG naming the key). */
int ft_variants_check(const ft_config_t *cfg, const ft_variant_t *v, int n);

#endif
