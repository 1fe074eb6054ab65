/* ft_key_set: the client allow-list, a set of CURVE public keys each named by the
 * file it came from.
 *
 * The coordinator loads it from its authorized directory of *.pub files, may add keys
 * of its own (fedtail run's ephemeral client key), and hands it to the ZAP handler
 * (ft_zap.h), which admits a CURVE client only if its key is in the set. */
#ifndef FT_KEY_SET_H
#define FT_KEY_SET_H

#include <stddef.h>
#include <stdint.h>

#include "ft_curve.h" /* FT_CURVE_KEY_LEN */

/* A set of CURVE public keys, each with the name of the file it came from. */
typedef struct ft_key_set ft_key_set_t;

/* An empty set. NULL on OOM. */
ft_key_set_t *ft_key_set_new(void);
void ft_key_set_destroy(ft_key_set_t **set_p);
/* Adds a key under a name (copied; truncated to FT_CURVE_NAME_MAX-1). A key already in
 * the set is not added again. FT_ENOMEM. */
int ft_key_set_add(ft_key_set_t *set, const uint8_t key[FT_CURVE_KEY_LEN], const char *name);
/* Loads every DIR/NAME.pub (names not starting with '.', in name order) into a new set
 * (*out; destroy with ft_key_set_destroy). The name of each key is its file name
 * without ".pub". Errors: FT_EIO (DIR or a file unreadable), FT_ECRYPTO (a malformed
 * file, named), FT_ENOTFOUND (no *.pub file in DIR), FT_ENOMEM; *out is NULL then. */
int ft_key_set_load_dir(const char *dir, ft_key_set_t **out);
/* Adds every key of src (with its name) to dst. FT_ENOMEM. */
int ft_key_set_add_all(ft_key_set_t *dst, const ft_key_set_t *src);
/* Number of distinct keys. */
size_t ft_key_set_count(const ft_key_set_t *set);
/* The name of key, or NULL if key is not in the set. */
const char *ft_key_set_find(const ft_key_set_t *set, const uint8_t key[FT_CURVE_KEY_LEN]);

#endif
