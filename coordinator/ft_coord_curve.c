/* ft_coord_curve: the coordinator's CURVE side — the allow-list of client keys,
 * the ZAP handler that checks every handshake against it, the server key on the
 * ROUTER socket, and a "refused" event for every connection the handler turned
 * away (security.curve; docs/security.md).
 *
 * Set-up runs once, before the socket binds; the socket loop only collects the
 * refusals. Neither touches a message: this file knows key files and the ZAP
 * handler (ft_curve, ft_key_set, ft_zap), not the protocol. */
#include "ft_coordinator_internal.h"

#include "ft_curve.h"
#include "ft_error.h"
#include "ft_key_set.h"
#include "ft_log.h"
#include "ft_zap.h"

#include <stdio.h>

int ft_coord_setup_curve(ft_coordinator_t *c)
{
    const ft_security_cfg_t *sec = &c->exp.security;
    const ft_config_t *cfg = sec->src;
    if (!ft_curve_available())
        return ft_config_error(cfg, "security.curve",
                               "this libzmq was built without CURVE (libsodium)");
    const char *secret_path = sec->server_secret_key;
    if (!secret_path[0])
        return ft_config_error(cfg, "security.server_secret_key",
                               "must name the coordinator's secret key file when "
                               "security.curve is on (fedtail keygen --name server)");
    const char *dir = sec->authorized_clients;
    ft_key_set_t *allowed = NULL;
    int rc = FT_OK;
    if (dir[0]) {
        if ((rc = ft_key_set_load_dir(dir, &allowed)) != FT_OK) {
            /* The message names the key file and what is wrong with it; it is copied
             * out first, as ft_error_set writes into the buffer it would read. */
            char why[1024];
            snprintf(why, sizeof why, "%s", ft_error_message());
            ft_config_error(cfg, "security.authorized_clients", "%s", why);
            return rc;
        }
    } else if (!(allowed = ft_key_set_new())) {
        return ft_error_set(FT_ENOMEM, "out of memory");
    }
    if (c->opts.extra_clients && (rc = ft_key_set_add_all(allowed, c->opts.extra_clients)) != FT_OK)
        goto done;
    if (ft_key_set_count(allowed) == 0) {
        rc = ft_config_error(cfg, "security.authorized_clients",
                             "must name a directory of allowed client *.pub keys when "
                             "security.curve is on");
        goto done;
    }
    uint8_t secret[FT_CURVE_KEY_LEN];
    if ((rc = ft_curve_load_secret(secret_path, secret)) != FT_OK ||
        (rc = ft_zap_start(c->zctx, allowed, &c->zap)) != FT_OK ||
        (rc = ft_curve_server_setup(c->sock, secret)) != FT_OK)
        goto done;
    FT_LOG(FT_LOG_INFO, "CURVE on: %zu authorized client key(s)", ft_key_set_count(allowed));
done:
    ft_key_set_destroy(&allowed);
    return rc;
}

void ft_coord_log_refusals(ft_coordinator_t *c)
{
    ft_zap_refusal_t z;
    while (ft_zap_next_refusal(c->zap, &z)) {
        ft_events_begin(c->ev, "refused");
        ft_events_str(c->ev, "address", z.address);
        if (z.mechanism[0])
            ft_events_str(c->ev, "mechanism", z.mechanism);
        if (z.key[0])
            ft_events_str(c->ev, "key", z.key);
        ft_events_str(c->ev, "reason", z.reason);
        ft_events_end(c->ev);
    }
}
