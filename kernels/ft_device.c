/* ft_device: run.device to a back end, and cuda:N to CUDA_VISIBLE_DEVICES. */
#include "ft_device.h"

#include "ft_error.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cuda:N -> CUDA_VISIBLE_DEVICES before CUDA starts in this process. FT_CUDA_SELECTED
 * remembers the value set, so that children (which inherit both variables) do not
 * index the already restricted list again. */
static int select_cuda_device(const ft_run_cfg_t *run, const char *dev)
{
    static char applied[64];
    const char *num = dev + 5;
    long n = strtol(num, NULL, 10); /* the syntax was checked with the experiment */
    const char *visible = getenv("CUDA_VISIBLE_DEVICES");
    const char *selected = getenv("FT_CUDA_SELECTED");
    char want[64];
    if (visible && selected && strcmp(visible, selected) == 0) {
        snprintf(want, sizeof want, "%s", visible); /* a parent already chose */
    } else if (visible && visible[0]) {
        /* N indexes the devices already visible. */
        const char *s = visible;
        for (long i = 0; i < n && s; i++) {
            s = strchr(s, ',');
            if (s)
                s++;
        }
        size_t len = s ? strcspn(s, ",") : 0;
        if (!s || len == 0 || len >= sizeof want)
            return ft_config_error(run->src, "run.device",
                                   "'%s': CUDA_VISIBLE_DEVICES = '%s' has no device %ld", dev,
                                   visible, n);
        memcpy(want, s, len);
        want[len] = 0;
    } else {
        snprintf(want, sizeof want, "%ld", n);
    }
    if (applied[0] && strcmp(applied, want) != 0)
        return ft_config_error(run->src, "run.device",
                               "'%s': this process already uses CUDA device %s", dev, applied);
    snprintf(applied, sizeof applied, "%s", want);
    setenv("CUDA_VISIBLE_DEVICES", want, 1);
    setenv("FT_CUDA_SELECTED", want, 1);
    return FT_OK;
}

int ft_ops_for_device(const ft_run_cfg_t *run, const ft_ops_t **ops)
{
    *ops = NULL;
    const char *dev = run->device;
    if (strcmp(dev, "cpu") == 0 || strcmp(dev, "reference") == 0) {
        *ops = ft_ops_find(dev);
        if (!*ops)
            return ft_error_set(FT_EUNSUPPORTED, "run.device = %s: back end not built", dev);
        return FT_OK;
    }
    assert(strncmp(dev, "cuda", 4) == 0 && (dev[4] == 0 || dev[4] == ':'));
    if (dev[4] == ':') {
        int rc = select_cuda_device(run, dev);
        if (rc != FT_OK)
            return rc;
    }
    *ops = ft_ops_find("cuda");
    if (!*ops)
        return ft_error_set(FT_EUNSUPPORTED,
                            "run.device = %s but no CUDA device is available (%s); set "
                            "run.device = cpu",
                            dev, ft_ops_cuda_status());
    return FT_OK;
}
