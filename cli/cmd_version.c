/* fedtail version: the build and the compute back ends this process would use. */
#include "ft_blas_setup.h"
#include "ft_cli.h"
#include "ft_ops.h"

#include <stdio.h>

#define FT_VERSION "0.1.0"

int ft_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("fedtail %s\n", FT_VERSION);
    printf("BLAS kernel: OpenBLAS %s\n", ft_blas_corename());
    /* the device in use, or why there is none */
    const char *cuda = ft_ops_find("cuda") ? "" : "not available: ";
    printf("CUDA: %s%s\n", cuda, ft_ops_cuda_status());
    return 0;
}
