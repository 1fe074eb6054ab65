/* ft_blas_setup: makes sure this process runs OpenBLAS's fast kernel for the CPU.
 *
 * Debian 12's OpenBLAS 0.3.21 misdetects some AVX-512 CPUs (e.g. virtualised AMD
 * EPYC) as "Prescott" and runs sgemm ~4x slower. The kernel is chosen when the
 * library loads — before main — from OPENBLAS_CORETYPE, so the only reliable fix is
 * to set that variable and re-execute the program once. A user never has to know:
 * every fedtail executable calls this first thing in main. docs/PERFORMANCE.md has
 * the measurements. */
#ifndef FT_BLAS_SETUP_H
#define FT_BLAS_SETUP_H

/* If OpenBLAS picked a generic kernel on a CPU that supports a faster one, and the
 * user did not set OPENBLAS_CORETYPE, sets it and re-executes argv (returns only if
 * nothing needed doing or the re-exec failed). */
void ft_blas_setup(char **argv);

/* The OpenBLAS kernel in use ("SkylakeX", "Haswell", ...). */
const char *ft_blas_corename(void);

#endif
