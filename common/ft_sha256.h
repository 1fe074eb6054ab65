/* ft_sha256: SHA-256 digests through OpenSSL EVP, for models, updates and
 * checkpoints. */
#ifndef FT_SHA256_H
#define FT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define FT_SHA256_LEN 32

typedef struct ft_sha256_ctx ft_sha256_ctx_t;

/* One-shot digest of data[0..len). */
void ft_sha256(const void *data, size_t len, uint8_t out[FT_SHA256_LEN]);

/* Incremental use: new (NULL on OOM), update any number of times, final, destroy. */
ft_sha256_ctx_t *ft_sha256_new(void);
void ft_sha256_update(ft_sha256_ctx_t *ctx, const void *data, size_t len);
void ft_sha256_final(ft_sha256_ctx_t *ctx, uint8_t out[FT_SHA256_LEN]);
void ft_sha256_destroy(ft_sha256_ctx_t **ctx_p);

/* Lower-case hex of a digest into out (65 bytes incl. NUL). */
void ft_sha256_hex(const uint8_t digest[FT_SHA256_LEN], char out[2 * FT_SHA256_LEN + 1]);

#endif
