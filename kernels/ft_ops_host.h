/* ft_ops_host: host-memory helpers shared by the CPU back ends (reference and
 * fast path): 64-byte aligned zeroed allocation and plain memcpy transfers. */
#ifndef FT_OPS_HOST_H
#define FT_OPS_HOST_H

#include <stddef.h>

#include "ft_ops.h"

/* Zeroed, 64-byte aligned; NULL on OOM. Freed with ft_host_free (accepts NULL). */
void *ft_host_alloc(size_t bytes);
void ft_host_free(void *ptr);
/* memcpy / memset(0) on host memory (bytes may be 0). */
void ft_host_copy(void *dst, const void *src, size_t bytes);
void ft_host_zero(void *dst, size_t bytes);

/* Element-wise flat-vector ops shared by the reference and cpu tables: the plain
 * loop is both the obvious reference and what gcc vectorises best. */
void ft_host_axpy(size_t n, float alpha, const float *x, float *y);     /* y += alpha*x */
void ft_host_scale(size_t n, float alpha, float *x);                    /* x *= alpha */
void ft_host_sub(size_t n, const float *a, const float *b, float *out); /* out = a - b */

/* Images the cpu back end puts in one conv GEMM for shape s (the GEMM is then
 * Co × (nb·Ho·Wo) × Ci·kh·kw); exposed for bench/bench_blas. */
int ft_cpu_conv_chunk_images(const ft_conv2d_shape_t *s);

#endif
