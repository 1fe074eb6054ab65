/* ft_local_keys: the CURVE keys a local run makes for itself in RUN_DIR/keys — the
 * coordinator's keypair (unless configured) and the children's keypair, allowed in
 * memory — so security.curve = on needs no key set-up (docs/security.md). */
#include "ft_local_keys.h"

#include "ft_experiment.h"

#include "ft_curve.h"
#include "ft_error.h"
#include "ft_fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Loads DIR/NAME.{pub,secret}, making the pair first if it does not exist yet (a
 * resumed run finds the pair of its first start). */
static int local_keypair(const char *dir, const char *name, char *pub_path, char *secret_path,
                         size_t len, uint8_t pub[FT_CURVE_KEY_LEN], uint8_t sec[FT_CURVE_KEY_LEN])
{
    if ((size_t)snprintf(pub_path, len, "%s/%s.pub", dir, name) >= len ||
        (size_t)snprintf(secret_path, len, "%s/%s.secret", dir, name) >= len)
        return ft_error_set(FT_EINVAL, "path too long: %s", dir);
    if (!ft_path_exists(secret_path)) {
        int rc = ft_curve_keygen(dir, name, NULL, NULL, 0);
        if (rc != FT_OK)
            return rc;
    }
    return ft_curve_load_keypair(pub_path, secret_path, pub, sec);
}

int ft_local_keys_prepare(ft_config_t *cfg, const char *out, ft_local_keys_t *k)
{
    memset(k, 0, sizeof *k);
    ft_experiment_t exp;
    int rc = ft_experiment_read(cfg, &exp);
    if (rc != FT_OK)
        return rc;
    /* exp reads cfg: the server key paths are read before cfg is changed below */
    const ft_security_cfg_t *s = &exp.security;
    k->on = s->curve;
    if (!k->on)
        return FT_OK;
    if (!ft_curve_available())
        return ft_config_error(cfg, "security.curve",
                               "this libzmq was built without CURVE (libsodium)");
    char dir[PATH_MAX + 8], abs[PATH_MAX], pub_path[PATH_MAX + 64], sec_path[PATH_MAX + 64];
    /* The run directory is made here, the experiment checked (ft_experiment_read
     * above; the coordinator makes it otherwise); absolute, so that config.ini names
     * keys a resume from elsewhere finds. */
    if ((rc = ft_mkdir_p(out)) != FT_OK)
        return rc;
    if (!realpath(out, abs))
        return ft_error_set(FT_EIO, "%s: %s", out, strerror(errno));
    if ((size_t)snprintf(dir, sizeof dir, "%s/keys", abs) >= sizeof dir)
        return ft_error_set(FT_EINVAL, "path too long: %s/keys", abs);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return ft_error_set(FT_EIO, "%s: cannot create: %s", dir, strerror(errno));
    uint8_t pub[FT_CURVE_KEY_LEN], sec[FT_CURVE_KEY_LEN];
    const char *server_secret = s->server_secret_key;
    if (!server_secret[0]) {
        if ((rc = local_keypair(dir, "server", pub_path, sec_path, sizeof pub_path, pub, sec)) !=
                FT_OK ||
            (rc = ft_config_set_value(cfg, "security.server_secret_key", sec_path,
                                      "fedtail run (local key)")) != FT_OK ||
            (rc = ft_config_set_value(cfg, "security.server_public_key", pub_path,
                                      "fedtail run (local key)")) != FT_OK)
            return rc;
        snprintf(k->server_pub, sizeof k->server_pub, "%s", pub_path);
    } else if (s->server_public_key[0]) {
        snprintf(k->server_pub, sizeof k->server_pub, "%s", s->server_public_key);
    } else {
        /* only the secret was given: the children need its public half as a file */
        char z85[FT_CURVE_Z85_LEN + 2];
        if ((rc = ft_curve_load_keypair(NULL, server_secret, pub, sec)) != FT_OK)
            return rc;
        ft_curve_encode(pub, z85);
        strcat(z85, "\n");
        if ((size_t)snprintf(k->server_pub, sizeof k->server_pub, "%s/server-derived.pub", dir) >=
            sizeof k->server_pub)
            return ft_error_set(FT_EINVAL, "path too long: %s", dir);
        if ((rc = ft_write_file_atomic(k->server_pub, z85, strlen(z85))) != FT_OK)
            return rc;
    }
    if ((rc = local_keypair(dir, "local-client", pub_path, k->client_secret, sizeof pub_path, pub,
                            sec)) != FT_OK)
        return rc;
    k->allowed = ft_key_set_new();
    if (!k->allowed || ft_key_set_add(k->allowed, pub, "local-client") != FT_OK)
        return ft_error_set(FT_ENOMEM, "out of memory");
    return FT_OK;
}

void ft_local_keys_discard(const char *out)
{
    static const char *const made[] = {"server.pub", "server.secret", "local-client.pub",
                                       "local-client.secret", "server-derived.pub"};
    char path[PATH_MAX + 64];
    for (size_t i = 0; i < sizeof made / sizeof *made; i++)
        if ((size_t)snprintf(path, sizeof path, "%s/keys/%s", out, made[i]) < sizeof path)
            unlink(path);
    if ((size_t)snprintf(path, sizeof path, "%s/keys", out) < sizeof path)
        rmdir(path);
}
