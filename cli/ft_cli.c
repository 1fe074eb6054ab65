/* ft_cli: common option parsing and experiment loading for subcommands. */
#include "ft_cli.h"

#include "ft_error.h"
#include "ft_fileio.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int in_list(const char *const *list, const char *s)
{
    for (int i = 0; list && list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

int ft_cli_parse(int argc, char **argv, const char *const *with_value,
                 const char *const *plain_flags, ft_cli_t *cli)
{
    memset(cli, 0, sizeof *cli);
    cli->cfg = ft_config_new();
    if (!cli->cfg)
        return ft_cli_fail(ft_error_set(FT_ENOMEM, "out of memory"));
    /* First pass: find the experiment file so --set applies on top of it. */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--set") == 0 || strcmp(a, "--out") == 0 || in_list(with_value, a)) {
            i++;
            continue;
        }
        if (a[0] != '-' && !cli->exp_path)
            cli->exp_path = a;
    }
    int rc = FT_OK;
    if (cli->exp_path && (rc = ft_config_load_file(cli->cfg, cli->exp_path)) != FT_OK)
        goto fail;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int needs_value =
            strcmp(a, "--set") == 0 || strcmp(a, "--out") == 0 || in_list(with_value, a);
        if (needs_value && i + 1 >= argc) {
            rc = ft_error_set(FT_EINVAL, "option %s needs a value", a);
            goto fail;
        }
        if (strcmp(a, "--set") == 0) {
            if ((rc = ft_config_set(cli->cfg, argv[++i], "--set")) != FT_OK)
                goto fail;
        } else if (strcmp(a, "--out") == 0) {
            cli->out_dir = argv[++i];
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            cli->quiet = 1;
        } else if (strcmp(a, "--json") == 0) {
            cli->json = 1;
            cli->quiet = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli->help = 1;
        } else if (needs_value || in_list(plain_flags, a)) {
            if (cli->argc_extra + 2 > FT_CLI_MAX_EXTRA) {
                rc = ft_error_set(FT_EINVAL, "too many options");
                goto fail;
            }
            cli->argv_extra[cli->argc_extra++] = (char *)a;
            if (needs_value)
                cli->argv_extra[cli->argc_extra++] = argv[++i];
        } else if (a[0] == '-') {
            rc = ft_error_set(FT_EINVAL, "unknown option '%s' (see --help)", a);
            goto fail;
        } else if (a != cli->exp_path) {
            rc = ft_error_set(FT_EINVAL, "unexpected argument '%s' (one experiment file only)", a);
            goto fail;
        }
    }
    return FT_OK;
fail:
    ft_cli_free(cli);
    return ft_cli_fail(rc) ? rc : rc;
}

void ft_cli_free(ft_cli_t *cli)
{
    ft_config_destroy(&cli->cfg);
}

const char *ft_cli_option(const ft_cli_t *cli, const char *flag)
{
    for (int i = 0; i + 1 < cli->argc_extra; i++)
        if (strcmp(cli->argv_extra[i], flag) == 0)
            return cli->argv_extra[i + 1];
    return NULL;
}

int ft_cli_flag(const ft_cli_t *cli, const char *flag)
{
    for (int i = 0; i < cli->argc_extra; i++)
        if (strcmp(cli->argv_extra[i], flag) == 0)
            return 1;
    return 0;
}

int ft_cli_fail(int rc)
{
    (void)rc;
    fprintf(stderr, "fedtail: %s\n", ft_error_message());
    return 1;
}

int ft_cli_out_dir(const ft_cli_t *cli, const char *prefix, char *buf, size_t len)
{
    if (cli->out_dir) {
        snprintf(buf, len, "%s", cli->out_dir);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(buf, len, "runs/%s-%s", prefix, stamp);
    }
    return FT_OK;
}

/* path without trailing slashes into buf; 0 if it does not fit. */
static int trimmed(const char *path, char *buf, size_t len)
{
    if ((size_t)snprintf(buf, len, "%s", path) >= len)
        return 0;
    for (size_t n = strlen(buf); n > 1 && buf[n - 1] == '/'; n--)
        buf[n - 1] = '\0';
    return 1;
}

void ft_cli_dir_missing(const char *path, char *top, size_t len)
{
    char buf[4096];
    top[0] = '\0';
    if (!trimmed(path, buf, sizeof buf))
        return;
    /* As ft_mkdir_p walks it: every prefix ending before a '/', then the path. */
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        int missing = !ft_path_exists(buf);
        if (missing)
            snprintf(top, len, "%s", buf);
        *p = c;
        if (missing || c == '\0')
            return;
    }
}

void ft_cli_dir_undo(const char *path, const char *top)
{
    char buf[4096];
    size_t top_len = strlen(top);
    if (!top_len || !trimmed(path, buf, sizeof buf) || strncmp(buf, top, top_len) != 0)
        return;
    while (strlen(buf) >= top_len && rmdir(buf) == 0) {
        char *slash = strrchr(buf, '/');
        if (!slash || slash == buf)
            return;
        *slash = '\0';
    }
}
