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

#include <stdio.h>

#include "ft_config.h"

/* Runs every check on the rule base configures (defense.name or defense.plugin plus
 * any of its values; federation.clients_per_round and defense.f are set by the
 * test). Each failure is one line on log. Returns the number of failed checks (0:
 * the rule passes), or a negative FT_E* code when the rule cannot even be set up
 * (the message in ft_error_message()). */
int ft_defense_selftest(const ft_config_t *base, FILE *log);

#endif
