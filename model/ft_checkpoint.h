/* ft_checkpoint: model files that survive crashes and detect damage.
 *
 * Format (little-endian): magic "FTCKPT01", u32 version, 32-byte layout hash,
 * u64 N, u32 meta_len, meta (UTF-8 "key=value\n" lines: round, RNG counters,
 * metrics position, ...), u64 extra_len, extra bytes (e.g. defense state), N float32
 * parameters, then a 32-byte SHA-256 of everything before it. Written atomically
 * (temp file + fsync + rename). */
#ifndef FT_CHECKPOINT_H
#define FT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#define FT_CHECKPOINT_VERSION 1

typedef struct {
    uint8_t layout_hash[32]; /* model layout the parameters belong to */
    size_t num_params;       /* N */
    float *params;           /* N floats (owned) */
    char *meta;              /* "key=value\n" lines, NUL-terminated (owned, may be "") */
    uint8_t *extra;          /* opaque extra state (owned, may be NULL) */
    size_t extra_len;        /* bytes of extra */
} ft_checkpoint_t;

/* Writes a checkpoint atomically. meta may be NULL; extra may be NULL. FT_EIO with a
 * message naming the file (the previous file at path, if any, is left intact). */
int ft_checkpoint_save(const char *path, const uint8_t layout_hash[32], const float *params,
                       size_t num_params, const char *meta, const void *extra, size_t extra_len);

/* Reads and verifies a checkpoint (magic, version, sizes, meta free of NUL bytes,
 * SHA-256); only a regular file is read (a FIFO is refused at once). If expect_hash
 * is non-NULL the layout hash must match it. On error returns FT_EIO / FT_EFORMAT /
 * FT_EDIGEST / FT_EINVAL (layout mismatch) with a message naming the file, and *out
 * is untouched. */
int ft_checkpoint_load(const char *path, const uint8_t *expect_hash, ft_checkpoint_t *out);
/* The same checks on a checkpoint already in memory (data[0..len), the whole file);
 * name is what error messages call it (the file it came from). ft_checkpoint_load is
 * ft_read_file + this; the fuzz target fuzz/fuzz_checkpoint.c calls it directly. */
int ft_checkpoint_parse(const void *data, size_t len, const char *name, const uint8_t *expect_hash,
                        ft_checkpoint_t *out);
void ft_checkpoint_free(ft_checkpoint_t *ck);

/* FT_OK if every parameter of ck is finite; else FT_EFORMAT naming path, the field
 * (params) and the first non-finite one. Not part of ft_checkpoint_load: a run's
 * final.ckpt may legitimately hold a NaN model (FedAvg of a NaN update), and it
 * stays readable; a model something starts from (federation.init, a resumable
 * checkpoint) must pass this. */
int ft_checkpoint_check_finite(const char *path, const ft_checkpoint_t *ck);

/* Looks up key in ck->meta; copies its value to out. Nonzero if found. */
int ft_checkpoint_meta(const ft_checkpoint_t *ck, const char *key, char *out, size_t out_len);

#endif
