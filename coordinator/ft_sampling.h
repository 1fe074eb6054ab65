/* ft_sampling: which clients take part in a round.
 *
 * Sampling draws K distinct ids from [0, num_clients) with Floyd's algorithm
 * (Bentley & Floyd, CACM 1987) from the stream (seed, round, attempt, FT_RNG_SAMPLE):
 * O(K) memory whatever the population, and the result depends only on the config,
 * never on processes or timing. The first attempt of round t uses client slot 0 of
 * the stream, as DESIGN.md §4 says; a retried round draws a fresh sample. */
#ifndef FT_SAMPLING_H
#define FT_SAMPLING_H

#include <stddef.h>
#include <stdint.h>

/* Writes k distinct ids in [0, num_clients) into out (k), sorted ascending.
 * Requires 0 < k <= num_clients (FT_EINVAL otherwise). */
int ft_sample_clients(uint64_t seed, uint32_t round, uint32_t attempt, uint32_t num_clients,
                      uint32_t k, uint32_t *out /* k */);

#endif
