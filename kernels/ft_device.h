/* ft_device: the compute back end a process uses, chosen from run.device.
 *
 * "cpu" (the fast CPU path), "reference" (the plain oracle), "cuda" or "cuda:N". For
 * cuda:N the process is restricted to device N before CUDA starts in it
 * (CUDA_VISIBLE_DEVICES; N indexes the devices already visible when that variable is
 * set), so every library the process loads sees one GPU. Client processes, the
 * coordinator's evaluation and centralised training all pick their back end here. */
#ifndef FT_DEVICE_H
#define FT_DEVICE_H

#include "ft_experiment.h"
#include "ft_ops.h"

/* Sets *ops to the back end run->device names (its syntax was checked when the
 * experiment was read). Errors: FT_EUNSUPPORTED "run.device = cuda but no CUDA device
 * is available (why)" or a back end not built; FT_ECONFIG naming run.device when
 * cuda:N names a device that is not visible, or a second, different one in the same
 * process. *ops is NULL on error. */
int ft_ops_for_device(const ft_run_cfg_t *run, const ft_ops_t **ops);

#endif
