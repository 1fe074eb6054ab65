/* ft_data_internal: helpers shared by the data/ readers; not part of the public API.
 *
 * Every reader slurps its file whole (gzip-inflated if it starts with 1f 8b) and then
 * validates sizes against the header before touching a pixel, so a damaged file is a
 * clear FT_EFORMAT and never an out-of-bounds read. */
#ifndef FT_DATA_INTERNAL_H
#define FT_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Reads path into a new buffer (*data, caller frees with ft_free; *len bytes). A file
 * starting with the gzip magic 1f 8b is inflated (multi-member streams included).
 * FT_EIO if the file cannot be read, FT_EFORMAT for corrupt or truncated gzip data,
 * FT_ENOMEM; the message names the file. *data is NULL on error. */
int ft_data_slurp(const char *path, uint8_t **data, size_t *len);

/* Big-endian 32-bit integer at p (IDX headers). */
static inline uint32_t ft_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

#endif
