/* ft_sha256: thin wrapper over OpenSSL's EVP digest interface. */
#include "ft_sha256.h"

#include <assert.h>
#include <openssl/evp.h>
#include <stdio.h>

struct ft_sha256_ctx {
    EVP_MD_CTX *md; /* OpenSSL digest context */
};

void ft_sha256(const void *data, size_t len, uint8_t out[FT_SHA256_LEN])
{
    unsigned int n = 0;
    int ok = EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
    assert(ok == 1 && n == FT_SHA256_LEN);
    (void)ok;
}

ft_sha256_ctx_t *ft_sha256_new(void)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return NULL;
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return NULL;
    }
    /* Plain malloc: this tiny struct is not part of any counted hot path. */
    ft_sha256_ctx_t *ctx = OPENSSL_malloc(sizeof *ctx);
    if (!ctx) {
        EVP_MD_CTX_free(md);
        return NULL;
    }
    ctx->md = md;
    return ctx;
}

void ft_sha256_update(ft_sha256_ctx_t *ctx, const void *data, size_t len)
{
    int ok = EVP_DigestUpdate(ctx->md, data, len);
    assert(ok == 1);
    (void)ok;
}

void ft_sha256_final(ft_sha256_ctx_t *ctx, uint8_t out[FT_SHA256_LEN])
{
    unsigned int n = 0;
    int ok = EVP_DigestFinal_ex(ctx->md, out, &n);
    assert(ok == 1 && n == FT_SHA256_LEN);
    (void)ok;
}

void ft_sha256_destroy(ft_sha256_ctx_t **ctx_p)
{
    if (!ctx_p || !*ctx_p)
        return;
    EVP_MD_CTX_free((*ctx_p)->md);
    OPENSSL_free(*ctx_p);
    *ctx_p = NULL;
}

void ft_sha256_hex(const uint8_t digest[FT_SHA256_LEN], char out[2 * FT_SHA256_LEN + 1])
{
    for (int i = 0; i < FT_SHA256_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}
