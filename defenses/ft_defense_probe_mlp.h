/* ft_defense_probe_mlp: a model probe (ft_defense_probe_t) over a tiny MLP read from
 * the first parameters of the flat vector, for the contract test, `fedtail
 * selftest-defense` and the golden tests of the probe rules (DeepSight, FLARE), where
 * no real model exists. Also the one derivation of DeepSight's noise inputs from the
 * run's seed that every probe provider shares (ft_probe_noise).
 *
 * The MLP: I inputs, H hidden ReLU units, C classes; its parameters are the first
 * H·I + H + C·H + C floats of the flat vector, in state_dict order
 * (fc1.weight H×I, fc1.bias H, fc2.weight C×H, fc2.bias C); the rest of the vector is
 * ignored. It computes in double, one sample at a time, straight from global + delta:
 * no buffer, any batch. */
#ifndef FT_DEFENSE_PROBE_MLP_H
#define FT_DEFENSE_PROBE_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "ft_defense.h"

/* The standard test probe's sizes (ft_probe_mlp_standard). */
enum { FT_PROBE_STD_I = 6, FT_PROBE_STD_H = 8, FT_PROBE_STD_C = 5, FT_PROBE_STD_S = 16 };

typedef struct {
    ft_defense_probe_t probe; /* the probe handed to a rule (probe.ctx = this) */
    size_t I, H, C;           /* inputs, hidden units, classes */
    uint64_t seed;            /* run.seed of the noise inputs (when noise_x is NULL) */
    const float *noise_x;     /* given noise inputs, noise_sets × noise_per_set × I, or NULL */
    size_t noise_sets;        /* sets in noise_x */
    size_t noise_per_set;     /* samples per set in noise_x */
    float own_server[FT_PROBE_STD_S * FT_PROBE_STD_I]; /* the standard probe's server set */
} ft_probe_mlp_t;

/* Parameters the MLP reads: H·I + H + C·H + C. */
size_t ft_probe_mlp_params(size_t I, size_t H, size_t C);

/* Sets m up (no allocation): server_x (S×I, may be NULL with S = 0) is borrowed;
 * noise inputs are drawn from seed as ft_probe_noise does. */
void ft_probe_mlp_init(ft_probe_mlp_t *m, size_t I, size_t H, size_t C, uint64_t seed,
                       const float *server_x, size_t server_n);

/* The probe the contract test and `fedtail selftest-defense` give every rule: the MLP
 * 6 -> 8 -> 5 (101 parameters, the first of any N >= 101) with a server set of 16
 * samples, set 1000 of ft_probe_noise(seed), held in m itself. */
void ft_probe_mlp_standard(ft_probe_mlp_t *m, uint64_t seed);

/* DeepSight's noise inputs x (B×I): sample s of set `set` is I uniform [0, 1) values
 * from stream (seed, set, s, FT_RNG_DEFENSE), so a sample does not depend on the
 * batch it is drawn in. */
void ft_probe_noise(uint64_t seed, uint32_t set, size_t first, size_t B, size_t I, float *x);

#endif
