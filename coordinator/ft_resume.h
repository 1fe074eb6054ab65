/* ft_resume: resumable checkpoints of a federated run, and finding the newest good
 * one after a crash.
 *
 * Every run.checkpoint_every rounds (and when the run is interrupted) the
 * coordinator writes RUN_DIR/checkpoint-a.ckpt or checkpoint-b.ckpt, alternating,
 * so the last two survive. Each is an ft_checkpoint file (atomic: temp file, fsync,
 * rename; SHA-256 over the whole file) holding:
 *   - the global model (N floats);
 *   - meta lines: round (rounds completed), resumable=1, seed, defense, the byte
 *     lengths of metrics.csv and events.jsonl at that round (fsync'ed before the
 *     checkpoint), elapsed seconds, the detection totals and accuracies that
 *     summary.json reports, the round that destroyed the model (if one did), and
 *     the SHA-256 of the config;
 *   - extra bytes: u64 length + the resolved config INI, then the defense's state
 *     (state_save: FoolsGold histories, centered clipping's momentum).
 * Nothing else is needed to continue bit-identically: every other random draw
 * (sampling, attack schedule, local training, weak-DP noise, FLTrust's root
 * training) comes from a stream keyed by (seed, round, client, purpose), and the
 * clients are stateless between tasks.
 *
 * Resuming loads both slots, skips a damaged one (torn, digest mismatch, or a field
 * out of range or inconsistent with the run directory: see ft_resume_find) with a
 * warning, and continues from the one with the most rounds; metrics.csv and
 * events.jsonl are cut back to the lengths it recorded, so the rows after it are
 * recomputed, identically. */
#ifndef FT_RESUME_H
#define FT_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "ft_config.h"
#include "ft_detect.h"

#define FT_RESUME_SLOTS 2 /* checkpoints kept: checkpoint-a and checkpoint-b */

/* What a checkpoint records besides the model and the defense state. */
typedef struct {
    int round;                 /* rounds completed */
    int64_t metrics_bytes;     /* length of metrics.csv after that round */
    int64_t events_bytes;      /* length of events.jsonl after that round */
    double elapsed;            /* seconds since the run began */
    ft_detect_counts_t detect; /* decisions vs ground truth so far */
    double final_main_acc;     /* last evaluated main accuracy (NaN: none) */
    double final_backdoor_acc; /* last evaluated backdoor accuracy (NaN: none) */
    double peak_backdoor_acc;  /* highest evaluated backdoor accuracy (NaN: none) */
    int destroyed_round;       /* first round that left NaN/Inf in the global model (0:
                                  none; absent from older checkpoints, read as 0) */
} ft_resume_point_t;

/* A checkpoint found by ft_resume_find. */
typedef struct {
    int slot;                /* 0 (checkpoint-a) or 1 (checkpoint-b) */
    ft_resume_point_t point; /* its meta */
    float *params;           /* N: the global model (owned) */
    size_t num_params;       /* N */
    uint8_t layout_hash[32]; /* model layout of params */
    char *config_ini;        /* the run's resolved config (owned, NUL-terminated) */
    uint8_t *defense_state;  /* the defense's state_save bytes (owned; NULL if none) */
    size_t defense_len;      /* bytes of defense_state */
    float *attack_state;     /* the attack's state in force (owned; NULL if none) */
    size_t attack_state_n;   /* its floats */
} ft_resume_t;

/* "DIR/checkpoint-a.ckpt" or "-b" for slot 0/1 into buf. FT_EINVAL if too long. */
int ft_resume_path(const char *dir, int slot, char *buf, size_t len);

/* Writes slot's checkpoint in dir atomically. config_ini is the resolved config;
 * defense_state and attack_state (a stateful attack's state in force, A3FL's
 * trigger) may be NULL. FT_EIO naming the file (the file previously in that slot is
 * left intact), FT_ENOMEM. */
int ft_resume_save(const char *dir, int slot, const uint8_t layout_hash[32], const float *params,
                   size_t num_params, uint64_t seed, const char *defense,
                   const ft_resume_point_t *point, const char *config_ini,
                   const uint8_t *defense_state, size_t defense_len, const float *attack_state,
                   size_t attack_state_n);

/* Called by ft_resume_find on each checkpoint that passed its own checks, newest
 * first, until one returns FT_OK: the caller's checks (the model's N and layout, the
 * defense's state). FT_EFORMAT / FT_EDIGEST (message naming path and the field)
 * skips that checkpoint as a damaged one; any other code ends the search with it. */
typedef int (*ft_resume_accept_fn)(void *user, const char *path, const ft_resume_t *r);

/* Finds the newest good checkpoint in dir into *out (release with
 * ft_resume_free). Every field is checked, whatever the digest says (a crafted file
 * can carry a correct SHA-256): round in [0, federation.rounds] of the config it
 * holds, seed and defense as that config says, elapsed finite and >= 0, the
 * accuracies in [0, 1] or NaN, the detection counts >= 0, adding up and at most
 * round x clients_per_round, metrics_bytes / events_bytes within DIR/metrics.csv
 * and DIR/events.jsonl, at a line end, covering the header and one row per round
 * (metrics) and at least one line per round (events), the model non-empty and
 * finite. A slot that fails (damaged, torn, or refused by accept, which may be
 * NULL) is skipped with a warning naming it and the field, and the other slot is
 * tried. Returns FT_OK; FT_ENOTFOUND if there is no checkpoint at all; FT_EDIGEST /
 * FT_EFORMAT if every checkpoint is damaged (message names them); FT_ENOMEM; or
 * accept's other codes. Leftover temporary files of an interrupted checkpoint
 * write are removed. */
int ft_resume_find(const char *dir, ft_resume_accept_fn accept, void *user, ft_resume_t *out);
void ft_resume_free(ft_resume_t *r);

/* Parses one checkpoint file already in memory (data[0..len), the whole file) into
 * *out, with every check ft_resume_find makes of a slot (ft_checkpoint_parse's, then
 * every meta field, the config and its digest) but those against the run directory's
 * files (metrics_bytes, events_bytes) and the accept callback's; name is what
 * messages call it.
 * ft_resume_find is ft_read_file + this for each slot. On error (FT_EFORMAT,
 * FT_EDIGEST, FT_ENOMEM) *out is empty and needs no ft_resume_free; out->slot is -1
 * either way. */
int ft_resume_parse(const void *data, size_t len, const char *name, ft_resume_t *out);

#endif
