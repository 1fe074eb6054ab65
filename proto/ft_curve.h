/* ft_curve: CURVE key files and the CURVE options of fedtail's sockets.
 *
 * fedtail authenticates and encrypts its ZeroMQ transport with CURVE (CurveZMQ, RFC
 * 26; libzmq + libsodium). Keys live in small text files made by `fedtail keygen`:
 * NAME.pub holds the Z85 public key (40 characters + newline, mode 0644) and
 * NAME.secret the Z85 secret key (mode 0600, never readable by group or others). The
 * coordinator accepts only clients whose public key is in an authorized directory
 * of *.pub files (ft_key_set.h); the check runs in a ZAP handler (RFC 27, ft_zap.h)
 * on its own thread. See docs/security.md for the threat model and a multi-host
 * set-up.
 *
 * Typical use (coordinator):
 *     ft_key_set_t *allowed;  ft_zap_t *zap;  uint8_t sec[FT_CURVE_KEY_LEN];
 *     ft_key_set_load_dir(authorized_dir, &allowed);
 *     ft_zap_start(ctx, allowed, &zap);          // before binding the server socket
 *     ft_curve_load_secret(server_secret_path, sec);
 *     ft_curve_server_setup(router, sec);        // before zmq_bind
 * and (client):
 *     ft_curve_load_public(server_public_path, server_pub);
 *     ft_curve_load_keypair(client_public_path, client_secret_path, pub, sec);
 *     ft_curve_client_setup(dealer, server_pub, pub, sec);  // before zmq_connect */
#ifndef FT_CURVE_H
#define FT_CURVE_H

#include <stddef.h>
#include <stdint.h>

#define FT_CURVE_KEY_LEN  32        /* raw public or secret key bytes */
#define FT_CURVE_Z85_LEN  40        /* Z85 text of a key */
#define FT_ZAP_DOMAIN     "fedtail" /* ZAP domain set on fedtail server sockets (ft_zap.h) */
#define FT_CURVE_NAME_MAX 128       /* longest key name (file stem) */

/* Nonzero if this libzmq supports CURVE (it was built with libsodium). */
int ft_curve_available(void);

/* Checks a key name for use as a file stem: 1..FT_CURVE_NAME_MAX-1 characters from
 * [A-Za-z0-9._-], not starting with '.'. FT_EINVAL with a message otherwise. */
int ft_curve_check_name(const char *name);

/* Generates a CURVE keypair (zmq_curve_keypair) and writes DIR/NAME.pub (mode 0644)
 * and DIR/NAME.secret (mode 0600, created with O_CREAT|O_EXCL so it is never readable
 * by others, not even briefly). DIR is created (0700) if missing. Existing files are
 * never overwritten: FT_EIO naming the file. The paths written are copied into
 * pub_path/secret_path when those are not NULL (path_len bytes each). Errors:
 * FT_EINVAL (bad name), FT_EUNSUPPORTED (no CURVE in libzmq), FT_EIO; on error no new
 * file is left behind. */
int ft_curve_keygen(const char *dir, const char *name, char *pub_path, char *secret_path,
                    size_t path_len);

/* Decodes a Z85 key text of exactly FT_CURVE_Z85_LEN characters into key. FT_ECRYPTO
 * (message says why, naming `what`) for a wrong length, a character outside the Z85
 * alphabet or a group that does not decode; key is then unchanged (as is the key of
 * ft_curve_load_public / ft_curve_load_secret on any error). */
int ft_curve_decode(const char *text, size_t len, uint8_t key[FT_CURVE_KEY_LEN], const char *what);
/* Z85 text of a key into out (FT_CURVE_Z85_LEN + 1 bytes, NUL-terminated). */
void ft_curve_encode(const uint8_t key[FT_CURVE_KEY_LEN], char out[FT_CURVE_Z85_LEN + 1]);

/* Reads a public key file: 40 Z85 characters, optionally followed by whitespace
 * (the newline). FT_EIO if unreadable, FT_ECRYPTO (naming the file) if malformed. */
int ft_curve_load_public(const char *path, uint8_t key[FT_CURVE_KEY_LEN]);
/* Reads a secret key file in the same format. The file must be a regular file with
 * no group or other permission bits for reading or writing: otherwise FT_ECRYPTO with
 * a message naming the file and its mode ("keys/c.secret has mode 0644: ...").
 * The mode is checked on the opened descriptor. */
int ft_curve_load_secret(const char *path, uint8_t key[FT_CURVE_KEY_LEN]);
/* The public key of a secret key (zmq_curve_public). FT_ECRYPTO on failure. */
int ft_curve_public_of(const uint8_t secret[FT_CURVE_KEY_LEN], uint8_t pub[FT_CURVE_KEY_LEN]);
/* Loads both halves of a keypair and checks they belong together (FT_ECRYPTO naming
 * both files if not). public_path may be NULL or "": the public key is then derived
 * from the secret key. */
int ft_curve_load_keypair(const char *public_path, const char *secret_path,
                          uint8_t pub[FT_CURVE_KEY_LEN], uint8_t secret[FT_CURVE_KEY_LEN]);

/* ---- sockets ------------------------------------------------------------------- */

/* Makes sock a CURVE server (ZMQ_CURVE_SERVER, ZMQ_CURVE_SECRETKEY, ZAP domain
 * FT_ZAP_DOMAIN). Call before zmq_bind, after ft_zap_start: libzmq admits every
 * CURVE client when no ZAP handler is bound. FT_ENET with the zmq error. */
int ft_curve_server_setup(void *sock, const uint8_t secret[FT_CURVE_KEY_LEN]);
/* Makes sock a CURVE client of the server with public key server_pub, using the
 * keypair (pub, secret). Call before zmq_connect. FT_ENET with the zmq error. */
int ft_curve_client_setup(void *sock, const uint8_t server_pub[FT_CURVE_KEY_LEN],
                          const uint8_t pub[FT_CURVE_KEY_LEN],
                          const uint8_t secret[FT_CURVE_KEY_LEN]);

#endif
