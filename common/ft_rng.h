/* ft_rng: counter-based random streams (Philox4x32-10, Salmon et al. SC'11).
 *
 * Every random draw in fedtail comes from a stream keyed by (seed, round, client
 * id, purpose), so a draw never depends on which process made it or when: the
 * same config and seed give bit-identical results at any process count. A stream
 * is a plain value; copying it forks it. */
#ifndef FT_RNG_H
#define FT_RNG_H

#include <stddef.h>
#include <stdint.h>

/* What a stream is for; each purpose is an independent stream. */
typedef enum {
    FT_RNG_INIT = 1,      /* model parameter initialisation */
    FT_RNG_SAMPLE = 2,    /* client sampling per round */
    FT_RNG_PARTITION = 3, /* data partitioning */
    FT_RNG_SHUFFLE = 4,   /* local minibatch order */
    FT_RNG_DROPOUT = 5,   /* dropout masks */
    FT_RNG_NOISE = 6,     /* defense noise (weak DP) */
    FT_RNG_EDGE = 7,      /* edge-case set mining and splits */
    FT_RNG_ATTACK = 8,    /* attack randomness (noise updates, schedules) */
    FT_RNG_DEFENSE = 9,   /* other defense randomness */
    FT_RNG_SYNTH = 10,    /* synthetic datasets */
    FT_RNG_TEST = 11,     /* tests and benchmarks */
    FT_RNG_AUGMENT = 12,  /* training-time data augmentation (crops, flips) */
    FT_RNG_LOCAL_DP = 13, /* a client's local-DP noise (defense.name = local-dp) */
    FT_RNG_CERTIFY = 14,  /* fedtail certify: the noisy copies of a model (CRFL smoothing) */
} ft_rng_purpose_t;

typedef struct {
    uint32_t key[2]; /* Philox key: the 64-bit seed */
    uint32_t ctr[4]; /* counter: block index, round, client id, purpose */
    uint32_t buf[4]; /* the current output block */
    uint32_t used;   /* words of buf already handed out (4 = empty) */
} ft_rng_t;

/* Initialises the stream for (seed, round, client, purpose). */
void ft_rng_init(ft_rng_t *rng, uint64_t seed, uint32_t round, uint32_t client, uint32_t purpose);

uint32_t ft_rng_u32(ft_rng_t *rng);
uint64_t ft_rng_u64(ft_rng_t *rng);
/* Uniform in [0, 1) with 53 random bits. */
double ft_rng_uniform(ft_rng_t *rng);
/* Uniform integer in [0, n), unbiased (Lemire's method); n > 0. */
uint32_t ft_rng_below(ft_rng_t *rng, uint32_t n);
/* Standard normal (Box-Muller, one value per call). */
double ft_rng_normal(ft_rng_t *rng);
/* Gamma(shape, 1) (Marsaglia-Tsang; shape < 1 boosted). shape > 0. */
double ft_rng_gamma(ft_rng_t *rng, double shape);
/* The raw Philox4x32-10 block function: out = philox(ctr, key). */
void ft_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Fisher-Yates shuffle of a[0..n). */
void ft_rng_shuffle_u32(ft_rng_t *rng, uint32_t *a, size_t n);

#endif
