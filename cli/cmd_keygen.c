/* fedtail keygen --out DIR [--name NAME]: a CURVE keypair for encrypted, authenticated
 * multi-host runs (docs/security.md). Writes DIR/NAME.pub (share it) and
 * DIR/NAME.secret (mode 0600, keep it); never overwrites existing keys. NAME defaults
 * to this host's name, so client keys collected into one authorized directory do not
 * collide. */
#include "ft_cli.h"
#include "ft_curve.h"
#include "ft_error.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *to)
{
    fprintf(to, "usage: fedtail keygen --out DIR [--name NAME]\n\n"
                "Generates a CURVE keypair: DIR/NAME.pub (public key, Z85; give it to the\n"
                "other side) and DIR/NAME.secret (secret key, mode 0600; never share it).\n"
                "NAME defaults to this host's name. Existing files are never overwritten.\n\n"
                "  coordinator:  fedtail keygen --out keys --name server\n"
                "  each client:  fedtail keygen --out keys   (then copy keys/HOST.pub into\n"
                "                the coordinator's security.authorized_clients directory)\n");
}

/* This host's name reduced to the characters a key name may hold. */
static void default_name(char *out, size_t cap)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "fedtail");
    size_t n = 0;
    for (const char *p = host; *p && n + 1 < cap; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || (c == '.' && n > 0);
        out[n++] = ok ? c : '_';
    }
    out[n] = '\0';
    if (ft_curve_check_name(out) != FT_OK)
        snprintf(out, cap, "fedtail");
}

int ft_cmd_keygen(int argc, char **argv)
{
    const char *out = NULL, *name = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else
            return ft_cli_fail(
                ft_error_set(FT_EINVAL, "keygen: unexpected argument '%s' (see --help)", argv[i]));
    }
    if (!out) {
        usage(stderr);
        return 2;
    }
    char host_name[FT_CURVE_NAME_MAX];
    if (!name) {
        default_name(host_name, sizeof host_name);
        name = host_name;
    }
    char pub[4096], secret[4096];
    int rc = ft_curve_keygen(out, name, pub, secret, sizeof pub);
    if (rc != FT_OK)
        return ft_cli_fail(rc);
    printf("public key: %s\nsecret key: %s (mode 0600; keep it on this host)\n", pub, secret);
    return 0;
}
