/* ft_ops_cuda: the CUDA back end of ft_ops.h (device memory, cuBLAS GEMMs, one
 * CUDA kernel per element-wise op), plus the few extras that only make sense for
 * it: a synchronisation point for timing, and a host emulation of the back end for
 * tests on machines without a GPU.
 *
 * Programs reach the ops table through ft_ops_find("cuda"), which loads this back
 * end as a module (fedtail-cuda.so); this header is for the tests and benchmark that
 * link it statically (ft_kernels_cuda). docs/gpu.md describes the design. */
#ifndef FT_OPS_CUDA_H
#define FT_OPS_CUDA_H

#include "ft_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The CUDA back end, or NULL where no device is present. The module's entry point:
 * ft_ops_find("cuda") looks it up by this name. */
const ft_ops_t *ft_ops_cuda(void);

/* Waits until every queued CUDA op has finished (cudaDeviceSynchronize). Ops that
 * return a host value (dot, norm2, softmax_xent_forward) and download already
 * synchronise; timings need this. Does nothing where ft_ops_cuda() is NULL. */
void ft_cuda_synchronize(void);

/* Test hook: the CUDA back end's exact orchestration (im2col/col2im layouts,
 * cuBLAS argument mapping, batch chunking, the per-element bodies of every kernel,
 * the Philox port) run serially on HOST memory, with a host stand-in for the
 * column-major cuBLAS calls. Only the launches, the block reductions of dot/norm2
 * and conv bias gradients, and the memory transfers differ from the device path.
 * It lets CI check the index maths without a GPU. Slow; never a production path.
 * Always available (needs no device). */
const ft_ops_t *ft_ops_cuda_host_emulation(void);

/* Test hook: caps the images per convolution chunk (0 restores the default: as
 * many as fit a 64 MiB workspace). Small caps make small test shapes run the
 * multi-chunk path. Query conv2d_workspace after changing it. */
void ft_cuda_set_conv_chunk(int max_images);

/* Describes the device ft_ops_cuda() uses ("NVIDIA H200, sm_90, 139 GiB"), or why
 * there is none. Never NULL; static storage. */
const char *ft_cuda_device_info(void);

#ifdef __cplusplus
}
#endif

#endif
