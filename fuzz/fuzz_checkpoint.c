/* fuzz_checkpoint: libFuzzer target for model checkpoint files (model/ft_checkpoint).
 *
 * The input is a checkpoint file WITHOUT its trailing SHA-256: the fuzzer could never
 * forge a digest, so the target appends the input's own ("sealed") and parses that,
 * reaching every check after the digest; it also parses the input as it is (a file
 * whose last 32 bytes are not its digest). ft_checkpoint_parse must refuse with
 * FT_EFORMAT / FT_EDIGEST (never FT_EDIGEST for a sealed input) and leave *out
 * untouched, or accept; an accepted checkpoint's pieces are the bytes its header's
 * lengths point at, its layout check passes for its own hash and refuses any other
 * (FT_EINVAL), meta lookups stay inside meta, and ft_checkpoint_save writes it back
 * byte for byte (the format has one encoding). Seeds: fuzz/corpus/fuzz_checkpoint
 * (written by fuzz_file_seeds). */
#include "fuzz_files.h"

#include "ft_alloc.h"
#include "ft_checkpoint.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_sha256.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_checkpoint"
#define HEAD   (8 + 4 + 32 + 8 + 4) /* fixed bytes before meta (ft_checkpoint.c) */

static void broken(const char *what)
{
    fuzz_broken(TARGET, what, ft_error_message());
}

/* Parses data[0..len) and checks the outcome; returns 1 if it was accepted. */
static int parse_checked(const uint8_t *data, size_t len, int sealed, ft_checkpoint_t *ck)
{
    memset(ck, 0xa5, sizeof *ck);
    ft_checkpoint_t before = *ck;
    int rc = ft_checkpoint_parse(data, len, "fuzz.ckpt", NULL, ck);
    if (rc != FT_OK) {
        if (rc != FT_EFORMAT && rc != FT_EDIGEST && rc != FT_ENOMEM)
            broken("unexpected error code");
        if (sealed && rc == FT_EDIGEST)
            broken("a sealed input fails its digest");
        if (memcmp(ck, &before, sizeof *ck) != 0)
            broken("a refused checkpoint changed *out");
        return 0;
    }
    return 1;
}

/* The pieces of an accepted checkpoint against the bytes they came from. */
static void check_pieces(const ft_checkpoint_t *ck, const uint8_t *file, size_t len)
{
    size_t meta_len = strlen(ck->meta);
    if (HEAD + meta_len + 8 + ck->extra_len + ck->num_params * 4 + 32 != len)
        broken("the pieces do not add up to the file");
    if (memcmp(ck->layout_hash, file + 12, 32) != 0 ||
        memcmp(ck->meta, file + HEAD, meta_len) != 0 ||
        (ck->extra_len && memcmp(ck->extra, file + HEAD + meta_len + 8, ck->extra_len) != 0) ||
        (ck->num_params &&
         memcmp(ck->params, file + HEAD + meta_len + 8 + ck->extra_len, ck->num_params * 4) != 0))
        broken("a piece differs from the bytes it was read from");
    if ((ck->extra == NULL) != (ck->extra_len == 0))
        broken("extra is NULL exactly when extra_len is 0");
    /* Meta lookups: a line's value, a key that matches lines starting with '=', and
     * output buffers of 0 and 1 bytes (nothing written / just the NUL). */
    char v[64], one[1] = {'x'}, none = 'y';
    const char *keys[] = {"round", "resumable", "", "=", "round=1"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        if (ft_checkpoint_meta(ck, keys[i], v, sizeof v) && strlen(v) >= sizeof v)
            broken("meta value not NUL-terminated inside its buffer");
        if (ft_checkpoint_meta(ck, keys[i], one, sizeof one) && one[0] != '\0')
            broken("meta value into a 1-byte buffer is not empty");
        ft_checkpoint_meta(ck, keys[i], &none, 0);
        if (none != 'y')
            broken("meta lookup wrote into a 0-byte buffer");
    }
}

/* The layout check: the checkpoint's own hash passes, a different one is FT_EINVAL. */
static void check_layout(const uint8_t *file, size_t len, const uint8_t hash[32])
{
    ft_checkpoint_t again;
    if (ft_checkpoint_parse(file, len, "fuzz.ckpt", hash, &again) != FT_OK)
        broken("refused with its own layout hash");
    ft_checkpoint_free(&again);
    uint8_t other[32];
    memcpy(other, hash, 32);
    other[31] ^= 1;
    memset(&again, 0, sizeof again);
    if (ft_checkpoint_parse(file, len, "fuzz.ckpt", other, &again) != FT_EINVAL)
        broken("accepted with another layout hash");
}

/* ft_checkpoint_save of what was read must write the same bytes. */
static void check_rewrite(const ft_checkpoint_t *ck, const uint8_t *file, size_t len)
{
    char path[FUZZ_PATH_MAX];
    fuzz_path(path, "rewrite.ckpt");
    if (ft_checkpoint_save(path, ck->layout_hash, ck->params, ck->num_params, ck->meta, ck->extra,
                           ck->extra_len) != FT_OK)
        broken("cannot write the checkpoint back");
    char *back = NULL;
    size_t back_len = 0;
    if (ft_read_file(path, &back, &back_len) != FT_OK)
        broken("cannot read the rewritten checkpoint");
    if (back_len != len || memcmp(back, file, len) != 0)
        broken("the rewritten checkpoint differs from the one read");
    ft_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ft_checkpoint_t ck;
    if (parse_checked(data, size, 0, &ck))
        ft_checkpoint_free(&ck);

    uint8_t *sealed = ft_malloc(size + FT_SHA256_LEN);
    if (!sealed)
        return 0;
    if (size)
        memcpy(sealed, data, size);
    ft_sha256(data, size, sealed + size);
    size_t len = size + FT_SHA256_LEN;
    if (parse_checked(sealed, len, 1, &ck)) {
        check_pieces(&ck, sealed, len);
        check_layout(sealed, len, ck.layout_hash);
        check_rewrite(&ck, sealed, len);
        ft_checkpoint_free(&ck);
    }
    ft_free(sealed);
    return 0;
}
