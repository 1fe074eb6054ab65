/* fuzz_curve: libFuzzer target for CURVE key files and Z85 key text (proto/ft_curve.c:
 * ft_curve_load_public, ft_curve_load_secret, ft_curve_decode).
 *
 * The input is a key file's contents, written once with mode 0600. Loading it as a
 * public and as a secret key must give the same answer: FT_ECRYPTO (or FT_EIO, never
 * for a readable file) with the key left alone, or the same key. An accepted key's
 * Z85 text (ft_curve_encode) is the file's first line exactly: the reader never
 * accepts two spellings of one key. The same file with group or other permission
 * bits is refused as a secret key and still read as a public one. ft_curve_decode
 * of the raw input accepts it only when it is exactly 40 Z85 characters, and then
 * agrees with the file readers. Seeds: fuzz/corpus/fuzz_curve (fuzz_file_seeds). */
#include "fuzz_files.h"

#include "ft_curve.h"
#include "ft_error.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_curve"

static void broken(const char *what)
{
    fuzz_broken(TARGET, what, ft_error_message());
}

/* Loads path with load(); checks the refusal; returns 1 if accepted. */
static int load_checked(int (*load)(const char *, uint8_t *), const char *path,
                        uint8_t key[FT_CURVE_KEY_LEN])
{
    uint8_t before[FT_CURVE_KEY_LEN];
    memset(key, 0x5a, FT_CURVE_KEY_LEN);
    memcpy(before, key, FT_CURVE_KEY_LEN);
    int rc = load(path, key);
    if (rc == FT_OK)
        return 1;
    if (rc != FT_ECRYPTO)
        broken("unexpected error code");
    if (memcmp(key, before, FT_CURVE_KEY_LEN) != 0)
        broken("a refused key file changed the key");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[FUZZ_PATH_MAX];
    fuzz_write(path, "client.secret", data, size, 0600);
    uint8_t pub[FT_CURVE_KEY_LEN], sec[FT_CURVE_KEY_LEN], raw[FT_CURVE_KEY_LEN];
    int pub_ok = load_checked(ft_curve_load_public, path, pub);
    int sec_ok = load_checked(ft_curve_load_secret, path, sec);
    if (pub_ok != sec_ok || (pub_ok && memcmp(pub, sec, sizeof pub) != 0))
        broken("the public and the secret reader disagree on the same file");
    if (pub_ok) {
        char z85[FT_CURVE_Z85_LEN + 1];
        ft_curve_encode(pub, z85);
        if (size < FT_CURVE_Z85_LEN || memcmp(z85, data, FT_CURVE_Z85_LEN) != 0 ||
            (size > FT_CURVE_Z85_LEN && data[FT_CURVE_Z85_LEN] != '\n' &&
             data[FT_CURVE_Z85_LEN] != '\r'))
            broken("an accepted key is not spelled as its Z85 text on the first line");
        fuzz_write(path, "client.secret", data, size, 0640);
        uint8_t again[FT_CURVE_KEY_LEN];
        if (load_checked(ft_curve_load_secret, path, again))
            broken("a group-readable secret key file is accepted");
        if (!load_checked(ft_curve_load_public, path, again) || memcmp(again, pub, sizeof pub))
            broken("the file mode changed what the public reader reads");
    }
    memset(raw, 0x5a, sizeof raw);
    int rc = ft_curve_decode((const char *)data, size, raw, "fuzz input");
    if (rc != FT_OK && rc != FT_ECRYPTO)
        broken("ft_curve_decode: unexpected error code");
    if (rc == FT_OK) {
        if (size != FT_CURVE_Z85_LEN)
            broken("ft_curve_decode accepted a text that is not 40 characters");
        if (!pub_ok || memcmp(raw, pub, sizeof raw) != 0)
            broken("ft_curve_decode and the key file readers disagree");
    }
    return 0;
}
