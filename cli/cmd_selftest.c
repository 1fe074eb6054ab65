/* fedtail selftest-defense: the aggregation-rule contract on one rule.
 *
 *   fedtail selftest-defense PLUGIN.so [--set defense.KEY=V ...]
 *   fedtail selftest-defense --defense NAME [--set defense.KEY=V ...]
 *
 * Runs the checks every built-in rule passes in ctest (ft_defense_selftest.h) on a
 * plug-in (docs/write-a-defense.md) or a registered rule, printing each failure;
 * exit status 0 when it passes, 1 when a check fails, 2 on a usage or load error. */
#include "ft_cli.h"

#include "ft_config.h"
#include "ft_defense_selftest.h"
#include "ft_error.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *to)
{
    fprintf(to, "usage: fedtail selftest-defense PLUGIN.so [--set defense.KEY=V ...]\n"
                "       fedtail selftest-defense --defense NAME [--set defense.KEY=V ...]\n\n"
                "Runs the contract every built-in defense passes (finite output, weights\n"
                "summing to 1, NaN rows, identical updates, determinism, no allocation per\n"
                "round) on a defense plug-in or a registered rule; see\n"
                "docs/write-a-defense.md.\n");
}

int ft_cmd_selftest(int argc, char **argv)
{
    ft_config_t *cfg = ft_config_new();
    int rc, exit_code = 2;
    const char *what = NULL;
    if (!cfg) {
        fprintf(stderr, "fedtail selftest-defense: out of memory\n");
        return 2;
    }
    for (int i = 0; i < argc; i++) { /* argv: what follows the command word */
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit_code = 0;
            goto done;
        } else if (!strcmp(a, "--set") && i + 1 < argc) {
            if ((rc = ft_config_set(cfg, argv[++i], "--set")) != FT_OK)
                goto fail;
        } else if (!strcmp(a, "--defense") && i + 1 < argc) {
            what = argv[++i];
            if ((rc = ft_config_set_value(cfg, "defense.name", what, "--defense")) != FT_OK)
                goto fail;
        } else if (a[0] != '-' && !what) {
            what = a;
            if ((rc = ft_config_set_value(cfg, "defense.plugin", a, "command line")) != FT_OK)
                goto fail;
        } else {
            fprintf(stderr, "fedtail selftest-defense: unexpected argument '%s'\n", a);
            usage(stderr);
            goto done;
        }
    }
    if (!what) {
        usage(stderr);
        goto done;
    }
    rc = ft_defense_selftest(cfg, stderr);
    if (rc < 0)
        goto fail;
    if (rc > 0)
        printf("%s: FAILED %d check%s\n", what, rc, rc == 1 ? "" : "s");
    else
        printf("%s: passes the defense contract\n", what);
    exit_code = rc > 0 ? 1 : 0;
    goto done;
fail:
    fprintf(stderr, "fedtail selftest-defense: %s\n", ft_error_message());
done:
    ft_config_destroy(&cfg);
    return exit_code;
}
