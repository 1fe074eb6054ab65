/* ft_defense_selftest: the contract every aggregation rule passes, as a library, so
 * that the registry-wide ctest (tests/test_defenses_contract.c) and `fedtail
 * selftest-defense ./x.so` run the same checks on built-in rules and plug-ins:
 *  - finite in, finite out; weights finite, summing to 1 (at most 1 / signed where
 *    the rule says so), contribution norms reported and finite;
 *  - a row of NaN neither crashes the rule nor, for a robust rule, makes the output
 *    non-finite, and gets weight 0;
 *  - K identical updates come back unchanged (large bounds, no noise);
 *  - two instances on the same inputs and random stream agree bit for bit;
 *  - no allocation through fedtail's allocator per round (a plug-in's own malloc
 *    is not visible: the header's contract says it must not call it). */
#ifndef FT_DEFENSE_SELFTEST_H
#define FT_DEFENSE_SELFTEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ft_config.h"
#include "ft_defense.h"
#include "ft_defense_probe_mlp.h"
#include "ft_experiment.h"

/* The contract's rounds: N parameters, at most MAXK updates. */
enum { FT_SELFTEST_N = 1000, FT_SELFTEST_MAXK = 11 };

/* What the contract expects of a rule: built-in rules by name, plug-ins by the flags
 * they declare (fedtail/defense.h). */
typedef struct {
    int robust;  /* output stays finite with a NaN row among K */
    int partial; /* weights may sum below 1 */
    int signedw; /* weights may be negative */
} ft_defense_selftest_expect_t;

ft_defense_selftest_expect_t ft_defense_selftest_expect(const ft_defense_t *d);

/* One instance of a rule under test, on FT_SELFTEST_N parameters. */
typedef struct {
    ft_config_t *cfg;                            /* the clone, with K and f set */
    ft_experiment_t exp;                         /* read from it */
    const ft_defense_t *d;                       /* the rule */
    void *state;                                 /* its state */
    void *ws;                                    /* its workspace */
    ft_defense_decision_t dec[FT_SELFTEST_MAXK]; /* decisions of the last round */
    ft_probe_mlp_t probe;                        /* the tiny model probe (rules with needs_probe) */
} ft_defense_selftest_inst_t;

/* Creates the rule base configures with federation.clients_per_round = K and
 * defense.f = f (identical: with bounds so large and noise so small that K identical
 * updates must come back unchanged). Returns the FT_E* code of what failed (the
 * config, the rule's check, create, the workspace); x is then safe to close. */
int ft_defense_selftest_open(ft_defense_selftest_inst_t *x, const ft_config_t *base, size_t K,
                             int f, int identical);
/* Destroys the rule and frees x's buffers; safe on a failed or zeroed open. */
void ft_defense_selftest_close(ft_defense_selftest_inst_t *x);
/* One round of the rule over U (K×N; a rule may clip it in place), the noise from
 * stream (5, round, 0, FT_RNG_NOISE); decisions into x->dec. The rule's code. */
int ft_defense_selftest_run(ft_defense_selftest_inst_t *x, int round, size_t K, float *U,
                            const float *counts /* K */, const uint32_t *ids /* K */,
                            const float *server /* N or NULL */, float *out /* N */);
/* A round of honest updates from seed: a common direction mu ~ N(0, 1)^N, each row
 * scale (mu + 0.3 noise), counts 1..20, ids 0..K-1, server a row of its own. */
void ft_defense_selftest_round(uint64_t seed, size_t K, float scale, float *U /* K×N */,
                               float *counts /* K */, uint32_t *ids /* K */, float *server /* N */);

/* Runs every check on the rule base configures (defense.name or defense.plugin plus
 * any of its values; federation.clients_per_round and defense.f are set by the
 * test). Each failure is one line on log. Returns the number of failed checks (0:
 * the rule passes), or a negative FT_E* code when the rule cannot even be set up
 * (the message in ft_error_message()). */
int ft_defense_selftest(const ft_config_t *base, FILE *log);

#endif
