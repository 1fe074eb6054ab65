/* ft_model_input: building the configured model for a dataset's shape, and checking
 * image sets against it, so that images of the wrong shape are refused at set-up
 * naming their file (issue 16) rather than failing inside a layer, or as a model
 * mismatch between the coordinator and its clients. */
#include "ft_model_input.h"

#include "ft_config.h"
#include "ft_error.h"

#include <stdio.h>
#include <string.h>

int ft_model_new_for_data(const ft_model_cfg_t *mc, const ft_dataset_t *ds, int num_classes,
                          int inference, int max_batch, const ft_ops_t *ops, ft_model_t **out)
{
    int rc = inference ? ft_model_new_inference(mc->name, mc->hidden, ds->c, ds->h, ds->w,
                                                num_classes, max_batch, ops, out)
                       : ft_model_new(mc->name, mc->hidden, ds->c, ds->h, ds->w, num_classes,
                                      max_batch, ops, out);
    if (rc != FT_ECONFIG)
        return rc;
    char why[512];
    snprintf(why, sizeof why, "%s", ft_error_message());
    if (strstr(why, "model.hidden") || strstr(why, "unknown model"))
        return ft_config_error(mc->src, strstr(why, "model.hidden") ? "model.hidden" : "model.name",
                               "%s", why);
    return ft_error_set(FT_ECONFIG,
                        "%s: images are %dx%dx%d, the model `%s` cannot take them: %s "
                        "(model.name at %s)",
                        ft_dataset_source(ds), ds->h, ds->w, ds->c, mc->name, why,
                        ft_config_origin(mc->src, "model.name"));
}

int ft_model_input_match(const ft_model_cfg_t *mc, const ft_dataset_t *images,
                         const ft_dataset_t *ref, const char *ref_role)
{
    if (images->c == ref->c && images->h == ref->h && images->w == ref->w)
        return FT_OK;
    return ft_error_set(FT_EFORMAT,
                        "%s: images are %dx%dx%d, the model `%s` expects %dx%dx%d (%s, %s)",
                        ft_dataset_source(images), images->h, images->w, images->c, mc->name,
                        ref->h, ref->w, ref->c, ref_role, ft_dataset_source(ref));
}
