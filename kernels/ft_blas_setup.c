/* ft_blas_setup: OpenBLAS core-type repair by re-exec (see header). */
#include "ft_blas_setup.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The kernel this CPU can run best, by the instruction sets it supports. */
static const char *best_coretype(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    return NULL;
}

/* Kernels older than Haswell: a sign of misdetection on any AVX2 machine. */
static int is_generic_core(const char *core)
{
    static const char *const generic[] = {"prescott",    "core2",     "penryn",     "dunnington",
                                          "nehalem",     "atom",      "katmai",     "coppermine",
                                          "northwood",   "banias",    "barcelona",  "opteron",
                                          "sandybridge", "bulldozer", "piledriver", NULL};
    for (int i = 0; generic[i]; i++)
        if (strcasecmp(core, generic[i]) == 0)
            return 1;
    return 0;
}

void ft_blas_setup(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || getenv("FT_BLAS_REEXECED"))
        return;
    const char *best = best_coretype();
    if (!best || !is_generic_core(openblas_get_corename()))
        return;
    setenv("OPENBLAS_CORETYPE", best, 1);
    setenv("FT_BLAS_REEXECED", "1", 1); /* never loop, whatever happens */
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the slow kernel rather than not at all. */
}

const char *ft_blas_corename(void)
{
    return openblas_get_corename();
}
