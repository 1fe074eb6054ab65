/* ft_curve: CURVE key files (fedtail keygen) and the CURVE options of fedtail's
 * server and client sockets.
 *
 * Key files are checked strictly: a secret key that others could read is refused
 * (like ssh), a malformed key is an error naming the file, and keygen never
 * overwrites or briefly exposes a secret. The allow-list built from these files is
 * ft_key_set; the ZAP handler that enforces it is ft_zap. */
#include "ft_curve.h"

#include "ft_error.h"
#include "ft_fileio.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* Longest key file accepted: the key, a newline and some slack for white space. */
#define KEY_FILE_MAX 256

int ft_curve_available(void)
{
    return zmq_has("curve");
}

int ft_curve_check_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len >= FT_CURVE_NAME_MAX)
        return ft_error_set(FT_EINVAL, "key name '%s': must have 1 to %d characters", name,
                            FT_CURVE_NAME_MAX - 1);
    if (name[0] == '.')
        return ft_error_set(FT_EINVAL, "key name '%s': must not start with '.'", name);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return ft_error_set(FT_EINVAL, "key name '%s': only letters, digits, '.', '_', '-'",
                                name);
    }
    return FT_OK;
}

/* ---- Z85 ---------------------------------------------------------------------- */

/* The Z85 alphabet (ZeroMQ RFC 32). */
static const char z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                ".-:+=^!/*?&<>()[]{}@%$#";

int ft_curve_decode(const char *text, size_t len, uint8_t key[FT_CURVE_KEY_LEN], const char *what)
{
    if (len != FT_CURVE_Z85_LEN)
        return ft_error_set(FT_ECRYPTO, "%s: key of %zu characters, expected %d (Z85)", what, len,
                            FT_CURVE_Z85_LEN);
    char z[FT_CURVE_Z85_LEN + 1];
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0' || !strchr(z85_chars, text[i]))
            return ft_error_set(FT_ECRYPTO, "%s: character %zu (0x%02x) is not Z85", what, i + 1,
                                (unsigned char)text[i]);
        z[i] = text[i];
    }
    z[len] = '\0';
    /* zmq_z85_decode writes group by group and may fail on a later one: decode into a
     * scratch buffer so a refused key leaves the caller's (a secret key's) alone. */
    uint8_t out[FT_CURVE_KEY_LEN];
    int ok = zmq_z85_decode(out, z) != NULL;
    if (ok)
        memcpy(key, out, FT_CURVE_KEY_LEN);
    memset(out, 0, sizeof out);
    memset(z, 0, sizeof z);
    if (!ok)
        return ft_error_set(FT_ECRYPTO, "%s: not a valid Z85 key (a group overflows 32 bits)",
                            what);
    return FT_OK;
}

void ft_curve_encode(const uint8_t key[FT_CURVE_KEY_LEN], char out[FT_CURVE_Z85_LEN + 1])
{
    char *ok = zmq_z85_encode(out, key, FT_CURVE_KEY_LEN);
    assert(ok); /* only fails for sizes not a multiple of 4 */
    (void)ok;
}

/* ---- key files ----------------------------------------------------------------- */

/* Reads a key file from an open descriptor and decodes it. Closes fd. */
static int read_key_fd(int fd, const char *path, uint8_t key[FT_CURVE_KEY_LEN])
{
    char buf[KEY_FILE_MAX + 1];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return ft_error_set(FT_EIO, "%s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == sizeof buf - 1) {
            close(fd);
            return ft_error_set(FT_ECRYPTO, "%s: not a key file (longer than %d bytes)", path,
                                KEY_FILE_MAX - 1);
        }
    }
    close(fd);
    buf[len] = '\0';
    /* The key is the first line; only white space may follow it. */
    size_t klen = 0;
    while (klen < len && buf[klen] != '\n' && buf[klen] != '\r')
        klen++;
    for (size_t i = klen; i < len; i++)
        if (buf[i] != '\n' && buf[i] != '\r' && buf[i] != ' ' && buf[i] != '\t')
            return ft_error_set(FT_ECRYPTO, "%s: unexpected text after the key", path);
    int rc = ft_curve_decode(buf, klen, key, path);
    memset(buf, 0, sizeof buf); /* the text may be a secret key */
    return rc;
}

static int open_key(const char *path, int *fd_out, struct stat *st)
{
    int rc = ft_open_regular(path, fd_out, st);
    if (rc == FT_EINVAL) { /* not a regular file: the message says what it is */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", ft_error_message());
        return ft_error_set(FT_ECRYPTO, "%s", msg);
    }
    return rc;
}

int ft_curve_load_public(const char *path, uint8_t key[FT_CURVE_KEY_LEN])
{
    int fd = -1;
    struct stat st;
    int rc = open_key(path, &fd, &st);
    if (rc != FT_OK)
        return rc;
    return read_key_fd(fd, path, key);
}

int ft_curve_load_secret(const char *path, uint8_t key[FT_CURVE_KEY_LEN])
{
    int fd = -1;
    struct stat st;
    int rc = open_key(path, &fd, &st);
    if (rc != FT_OK)
        return rc;
    /* Checked on the descriptor we read from, so the file cannot change in between. */
    if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
        close(fd);
        return ft_error_set(FT_ECRYPTO,
                            "%s has mode %04o: a secret key must not be readable or writable by "
                            "group or others (chmod 600 %s)",
                            path, (unsigned)(st.st_mode & 07777), path);
    }
    rc = read_key_fd(fd, path, key);
    return rc;
}

int ft_curve_public_of(const uint8_t secret[FT_CURVE_KEY_LEN], uint8_t pub[FT_CURVE_KEY_LEN])
{
    char zs[FT_CURVE_Z85_LEN + 1], zp[FT_CURVE_Z85_LEN + 1];
    ft_curve_encode(secret, zs);
    int rc = zmq_curve_public(zp, zs);
    memset(zs, 0, sizeof zs);
    if (rc != 0)
        return ft_error_set(FT_ECRYPTO, "cannot derive a public key: %s", zmq_strerror(errno));
    return ft_curve_decode(zp, strlen(zp), pub, "derived public key");
}

int ft_curve_load_keypair(const char *public_path, const char *secret_path,
                          uint8_t pub[FT_CURVE_KEY_LEN], uint8_t secret[FT_CURVE_KEY_LEN])
{
    uint8_t derived[FT_CURVE_KEY_LEN];
    int rc = ft_curve_load_secret(secret_path, secret);
    if (rc == FT_OK)
        rc = ft_curve_public_of(secret, derived);
    if (rc == FT_OK && public_path && public_path[0]) {
        rc = ft_curve_load_public(public_path, pub);
        if (rc == FT_OK && memcmp(pub, derived, FT_CURVE_KEY_LEN) != 0)
            rc = ft_error_set(FT_ECRYPTO, "%s is not the public key of %s", public_path,
                              secret_path);
    } else if (rc == FT_OK) {
        memcpy(pub, derived, FT_CURVE_KEY_LEN);
    }
    if (rc != FT_OK)
        memset(secret, 0, FT_CURVE_KEY_LEN);
    return rc;
}

/* Creates path with O_EXCL and the given mode and writes text to it. On failure
 * removes what it created. */
static int write_new_file(const char *path, mode_t mode, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            return ft_error_set(FT_EIO, "%s already exists: not overwriting a key", path);
        return ft_error_set(FT_EIO, "%s: %s", path, strerror(errno));
    }
    size_t len = strlen(text), done = 0;
    int err = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            break;
        }
        done += (size_t)n;
    }
    if (!err && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (err) {
        unlink(path);
        return ft_error_set(FT_EIO, "%s: %s", path, strerror(err));
    }
    return FT_OK;
}

int ft_curve_keygen(const char *dir, const char *name, char *pub_path, char *secret_path,
                    size_t path_len)
{
    int rc = ft_curve_check_name(name);
    if (rc != FT_OK)
        return rc;
    if (!ft_curve_available())
        return ft_error_set(FT_EUNSUPPORTED, "this libzmq was built without CURVE (libsodium)");
    char pub_file[4096], sec_file[4096];
    if ((size_t)snprintf(pub_file, sizeof pub_file, "%s/%s.pub", dir, name) >= sizeof pub_file ||
        (size_t)snprintf(sec_file, sizeof sec_file, "%s/%s.secret", dir, name) >= sizeof sec_file)
        return ft_error_set(FT_EINVAL, "%s: directory name too long", dir);
    if (!ft_path_exists(dir)) {
        if ((rc = ft_mkdir_p(dir)) != FT_OK)
            return rc;
        chmod(dir, 0700); /* a fresh key directory is private; an existing one is kept */
    }
    if (ft_path_exists(pub_file))
        return ft_error_set(FT_EIO, "%s already exists: not overwriting a key", pub_file);

    char zpub[FT_CURVE_Z85_LEN + 2], zsec[FT_CURVE_Z85_LEN + 2];
    if (zmq_curve_keypair(zpub, zsec) != 0)
        return ft_error_set(FT_ECRYPTO, "zmq_curve_keypair: %s", zmq_strerror(errno));
    strcat(zpub, "\n");
    strcat(zsec, "\n");
    rc = write_new_file(sec_file, 0600, zsec);
    memset(zsec, 0, sizeof zsec);
    if (rc != FT_OK)
        return rc;
    rc = write_new_file(pub_file, 0644, zpub);
    if (rc != FT_OK) {
        unlink(sec_file);
        return rc;
    }
    if (pub_path)
        snprintf(pub_path, path_len, "%s", pub_file);
    if (secret_path)
        snprintf(secret_path, path_len, "%s", sec_file);
    return FT_OK;
}

/* ---- sockets ------------------------------------------------------------------- */

static int sockopt(void *sock, int opt, const void *val, size_t len, const char *what)
{
    if (zmq_setsockopt(sock, opt, val, len) != 0)
        return ft_error_set(FT_ENET, "setting %s: %s", what, zmq_strerror(errno));
    return FT_OK;
}

int ft_curve_server_setup(void *sock, const uint8_t secret[FT_CURVE_KEY_LEN])
{
    int one = 1, rc;
    if ((rc = sockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one, "ZMQ_CURVE_SERVER")) ||
        (rc =
             sockopt(sock, ZMQ_CURVE_SECRETKEY, secret, FT_CURVE_KEY_LEN, "ZMQ_CURVE_SECRETKEY")) ||
        (rc =
             sockopt(sock, ZMQ_ZAP_DOMAIN, FT_ZAP_DOMAIN, strlen(FT_ZAP_DOMAIN), "ZMQ_ZAP_DOMAIN")))
        return rc;
    return FT_OK;
}

int ft_curve_client_setup(void *sock, const uint8_t server_pub[FT_CURVE_KEY_LEN],
                          const uint8_t pub[FT_CURVE_KEY_LEN],
                          const uint8_t secret[FT_CURVE_KEY_LEN])
{
    int rc;
    if ((rc = sockopt(sock, ZMQ_CURVE_SERVERKEY, server_pub, FT_CURVE_KEY_LEN,
                      "ZMQ_CURVE_SERVERKEY")) ||
        (rc = sockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, FT_CURVE_KEY_LEN, "ZMQ_CURVE_PUBLICKEY")) ||
        (rc = sockopt(sock, ZMQ_CURVE_SECRETKEY, secret, FT_CURVE_KEY_LEN, "ZMQ_CURVE_SECRETKEY")))
        return rc;
    return FT_OK;
}
