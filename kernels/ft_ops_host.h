/* ft_ops_host: host-memory helpers shared by the CPU back ends (reference and
 * fast path): 64-byte aligned zeroed allocation and plain memcpy transfers. */
#ifndef FT_OPS_HOST_H
#define FT_OPS_HOST_H

#include <stddef.h>

/* Zeroed, 64-byte aligned; NULL on OOM. Freed with ft_host_free (accepts NULL). */
void *ft_host_alloc(size_t bytes);
void ft_host_free(void *ptr);
/* memcpy / memset(0) on host memory (bytes may be 0). */
void ft_host_copy(void *dst, const void *src, size_t bytes);
void ft_host_zero(void *dst, size_t bytes);

#endif
