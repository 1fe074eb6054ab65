/* ft_round_truth: the ground truth saved beside a round's updates (run.save_updates),
 * updates/round_NNNN.json, so that an offline replay (`fedtail aggregate`) joins a
 * defense's decisions with who attacked exactly as the live run did (ft_detect.h).
 *
 * The file, one client per line, rows in the order of round_NNNN.npy's rows:
 *   {
 *     "round": 3,
 *     "sampled": 6,
 *     "defense": "krum",
 *     "clients": [
 *       {"row": 0, "client": 2, "attacker": false, "samples": 48},
 *       ...
 *     ]
 *   }
 * "sampled" is the round's K; the rows are the updates that arrived (K or fewer). */
#ifndef FT_ROUND_TRUTH_H
#define FT_ROUND_TRUTH_H

#include <stddef.h>
#include <stdint.h>

/* One saved round's ground truth. */
typedef struct {
    uint32_t round;     /* 1-based round */
    uint32_t sampled;   /* clients sampled (K of the round) */
    size_t k;           /* rows: updates that arrived */
    uint32_t *ids;      /* k client ids, row order */
    uint8_t *attackers; /* k: 1 where the row is an attacker's update */
    float *samples;     /* k sample counts (round_NNNN_counts.npy) */
} ft_round_truth_t;

/* Writes path (atomically) for k rows. FT_EIO naming the file, FT_ENOMEM. */
int ft_round_truth_write(const char *path, uint32_t round, uint32_t sampled, const char *defense,
                         size_t k, const uint32_t *ids /* k */, const uint8_t *attackers /* k */,
                         const float *samples /* k */);

/* Reads path into *out (zeroed first; ft_round_truth_free releases it). FT_EIO when
 * unreadable, FT_EFORMAT naming the file and line of what is not as written above,
 * FT_ENOMEM; *out is then empty. */
int ft_round_truth_read(const char *path, ft_round_truth_t *out);

/* Frees the arrays; safe on an empty or freed one. */
void ft_round_truth_free(ft_round_truth_t *t);

#endif
