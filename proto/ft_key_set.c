/* ft_key_set: the client allow-list, a set of CURVE public keys each named by the
 * file it came from.
 *
 * The coordinator builds one from its authorized directory (plus fedtail run's own
 * ephemeral client key) and hands it to the ZAP handler, which copies it. A plain
 * array in insertion order: a federation has tens to hundreds of keys, and a key is
 * looked up once per handshake, not per message. */
#include "ft_key_set.h"

#include "ft_alloc.h"
#include "ft_curve.h"
#include "ft_error.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t key[FT_CURVE_KEY_LEN]; /* public key */
    char name[FT_CURVE_NAME_MAX];  /* file stem it came from */
} key_entry_t;

struct ft_key_set {
    key_entry_t *keys; /* entries, in insertion order */
    size_t count;      /* entries used */
    size_t cap;        /* entries allocated */
};

ft_key_set_t *ft_key_set_new(void)
{
    return ft_calloc(1, sizeof(ft_key_set_t));
}

void ft_key_set_destroy(ft_key_set_t **set_p)
{
    if (!set_p || !*set_p)
        return;
    ft_free((*set_p)->keys);
    ft_free(*set_p);
    *set_p = NULL;
}

int ft_key_set_add_all(ft_key_set_t *dst, const ft_key_set_t *src)
{
    for (size_t i = 0; i < src->count; i++) {
        int rc = ft_key_set_add(dst, src->keys[i].key, src->keys[i].name);
        if (rc != FT_OK)
            return rc;
    }
    return FT_OK;
}

size_t ft_key_set_count(const ft_key_set_t *set)
{
    return set->count;
}

const char *ft_key_set_find(const ft_key_set_t *set, const uint8_t key[FT_CURVE_KEY_LEN])
{
    for (size_t i = 0; i < set->count; i++)
        if (memcmp(set->keys[i].key, key, FT_CURVE_KEY_LEN) == 0)
            return set->keys[i].name;
    return NULL;
}

int ft_key_set_add(ft_key_set_t *set, const uint8_t key[FT_CURVE_KEY_LEN], const char *name)
{
    if (ft_key_set_find(set, key))
        return FT_OK;
    if (set->count == set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 16;
        key_entry_t *grown = ft_realloc(set->keys, cap * sizeof *grown);
        if (!grown)
            return ft_error_set(FT_ENOMEM, "out of memory adding key %s", name);
        set->keys = grown;
        set->cap = cap;
    }
    key_entry_t *e = &set->keys[set->count++];
    memcpy(e->key, key, FT_CURVE_KEY_LEN);
    snprintf(e->name, sizeof e->name, "%s", name);
    return FT_OK;
}

static int is_pub_file(const struct dirent *d)
{
    size_t len = strlen(d->d_name);
    return d->d_name[0] != '.' && len > 4 && strcmp(d->d_name + len - 4, ".pub") == 0;
}

int ft_key_set_load_dir(const char *dir, ft_key_set_t **out)
{
    *out = NULL;
    struct dirent **list = NULL;
    int n = scandir(dir, &list, is_pub_file, alphasort);
    if (n < 0)
        return ft_error_set(FT_EIO, "authorized clients directory %s: %s", dir, strerror(errno));
    ft_key_set_t *set = ft_key_set_new();
    int rc = set ? FT_OK : ft_error_set(FT_ENOMEM, "out of memory reading %s", dir);
    for (int i = 0; i < n; i++) {
        if (rc == FT_OK) {
            char path[4096], name[FT_CURVE_NAME_MAX];
            uint8_t key[FT_CURVE_KEY_LEN];
            size_t stem = strlen(list[i]->d_name) - 4;
            snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
            snprintf(name, sizeof name, "%.*s", (int)stem, list[i]->d_name);
            rc = ft_curve_load_public(path, key);
            if (rc == FT_OK)
                rc = ft_key_set_add(set, key, name);
        }
        free(list[i]); /* scandir allocates with malloc */
    }
    free(list);
    if (rc == FT_OK && n == 0)
        rc = ft_error_set(FT_ENOTFOUND, "authorized clients directory %s has no *.pub key files",
                          dir);
    if (rc != FT_OK) {
        ft_key_set_destroy(&set);
        return rc;
    }
    *out = set;
    return FT_OK;
}
