/* ft_out_dir: what fedtail run may do with its --out directory and where its
 * pre-training cache lives.
 *
 * A directory that already holds a run (config.ini or metrics.csv, in it or in one of
 * its arm directories) is not overwritten by accident: the run is refused unless
 * --force is given, and --resume continues it instead. The cache of pre-trained
 * models (run.cache_dir) is made absolute before the config is written, so every
 * config.ini names its starting model by a path that works from any directory; by
 * default it is DIR/../cache beside the run, never the working directory. */
#ifndef FT_OUT_DIR_H
#define FT_OUT_DIR_H

#include "ft_config.h"

#include <stddef.h>

/* FT_OK when out may be written: it holds no run, or force. Else FT_ESTATE with a
 * message naming the file found and the two ways on (--force, --resume). */
int ft_out_dir_check(const char *out, int force);

/* Sets cfg's run.cache_dir to an absolute path: "" (the default) becomes the cache
 * folder in out's parent directory ("runs/x" -> "/abs/runs/cache"); a relative value
 * is taken from the working directory. FT_EINVAL when the path does not fit or the
 * working directory is unknown (cfg unchanged); errors of ft_config_set_value. */
int ft_out_dir_cache(ft_config_t *cfg, const char *out);

#endif
