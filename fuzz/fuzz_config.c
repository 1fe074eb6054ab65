/* fuzz_config: libFuzzer target for experiment-file parsing (common/ft_config).
 *
 * The input is the text of an experiment file. ft_config_load_string must accept it
 * or reject it with FT_ECONFIG/FT_ENOMEM and a message; an accepted file is
 * rendered with ft_config_to_ini, and that text must load into a fresh config and
 * render to the same text again (what fedtail writes as config.ini and sends in a
 * Welcome is read back identically). Seeds: fuzz/corpus/fuzz_config. */
#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_config: invariant broken: %s (%s)\n", what, ft_error_message());
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Files with NUL bytes are refused by ft_config_load_file before parsing. */
    if (memchr(data, '\0', size))
        return 0;
    char *text = ft_malloc(size + 1);
    ft_config_t *cfg = ft_config_new();
    ft_config_t *back = NULL;
    char *ini = NULL, *ini2 = NULL;
    if (!text || !cfg)
        goto out;
    memcpy(text, data, size);
    text[size] = '\0';
    int rc = ft_config_load_string(cfg, text, "fuzz.ini");
    if (rc != FT_OK) {
        if (rc != FT_ECONFIG && rc != FT_ENOMEM)
            broken("unexpected error code");
        goto out;
    }
    ini = ft_config_to_ini(cfg);
    back = ft_config_new();
    if (!ini || !back)
        goto out;
    if (ft_config_load_string(back, ini, "config.ini") != FT_OK)
        broken("rendered config does not load");
    ini2 = ft_config_to_ini(back);
    if (ini2 && strcmp(ini, ini2) != 0)
        broken("rendered config changes when loaded and rendered again");
out:
    ft_free(ini2);
    ft_free(ini);
    ft_config_destroy(&back);
    ft_config_destroy(&cfg);
    ft_free(text);
    return 0;
}
