/* ft_local_keys: the CURVE keys a local run (fedtail run) makes for itself, so that
 * security.curve = on works without any key set-up (docs/security.md).
 *
 * The keys live in RUN_DIR/keys: the coordinator's keypair unless the config names
 * one, and always a keypair for the run's own client processes, whose public key
 * the coordinator allows in memory. A resumed run finds the pairs of its first
 * start there. */
#ifndef FT_LOCAL_KEYS_H
#define FT_LOCAL_KEYS_H

#include <limits.h>

#include "ft_config.h"
#include "ft_key_set.h"

/* security.curve for a local run: the keys the children use. */
typedef struct {
    int on;                            /* security.curve */
    char server_pub[PATH_MAX + 64];    /* the coordinator's public key file */
    char client_secret[PATH_MAX + 64]; /* the children's secret key file */
    ft_key_set_t *allowed;             /* the children's public key, allowed in memory */
} ft_local_keys_t;

/* Fills *k from cfg for a run into the directory out. Without security.curve only
 * k->on (0) is set, and nothing is made. With it, out is made (mkdir -p) after the
 * config is checked. With it: the server keypair is the
 * configured one, or else a fresh one made in out/keys (cfg then names it, so
 * config.ini and a resume find it); the children always get their own fresh
 * keypair in out/keys (secret 0600, directory 0700), whose public key k->allowed
 * holds, to be allowed beside any security.authorized_clients. Pairs already in
 * out/keys are reused.
 *
 * Returns FT_OK, or a negative code with a message (no CURVE in this libzmq, a
 * directory or key file that cannot be made or read, OOM); cfg may then already
 * name the local server keys. Either way the caller releases k->allowed with
 * ft_key_set_destroy. */
int ft_local_keys_prepare(ft_config_t *cfg, const char *out, ft_local_keys_t *k);

/* Removes the key files ft_local_keys_prepare makes in out/keys, and the directory
 * if that leaves it empty: for a run whose directory was made by this process and
 * that failed before it began (fedtail run leaves no directory behind then). */
void ft_local_keys_discard(const char *out);

#endif
