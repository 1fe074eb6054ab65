/* ft_gram_tiled: the upper triangle of the Gram matrix of M rows of N floats, the
 * inner loop of Krum, Multi-Krum and Bulyan's pairwise distances and of FoolsGold's
 * cosines, for the few dozen rows a round has.
 *
 * Why a kernel of our own: a BLAS is built for big square products. For M = 30,
 * OpenBLAS's SGEMM computes both triangles and packs both operands; its SSYRK halves
 * the flops but measured slower than the GEMM below M ≈ 64 (docs/PERFORMANCE.md §4).
 * Here, per panel of columns that fits in L2:
 *   - 4×4 tiles of dot products on the upper triangle only (diagonal tiles compute
 *     their upper half, the last row block only its real rows: no wasted lane), up to
 *     16 AVX-512 accumulators in registers, rows read in place through their pointers
 *     (no packing copy);
 *   - each tile step also prefetches one cache line of the next panel, so the DRAM
 *     stream overlaps the arithmetic instead of preceding it;
 *   - panel sums are float, added into double across panels (as the BLAS route does).
 * Each entry's summation order is fixed by the panel width and M alone, so results
 * do not depend on anything else (threads, alignment). */
#include <stddef.h>
#include <string.h>

#include "ft_ops.h"

/* Below this many rows the tiles beat OpenBLAS (bench_defenses: M = 10, 30, 100);
 * beyond it a BLAS's blocking pays off. */
#define TILED_MAX_ROWS 128

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define FT_HAVE_GRAM_AVX512 1

#define TILE 4

/* The next panel's cache lines, handed out per_step at each tile step: enough that
 * the whole next panel is requested by the time this one is done. */
typedef struct {
    const float *const *rows;
    int M, row, per_step;
    size_t col, end; /* columns [col, end) of rows[row] are still to fetch */
    size_t begin;
} prefetch_t;

__attribute__((target("avx512f"))) static inline void prefetch_step(prefetch_t *p)
{
    for (int i = 0; i < p->per_step && p->row < p->M; i++) {
        _mm_prefetch((const char *)(p->rows[p->row] + p->col), _MM_HINT_T1);
        p->col += 16;
        if (p->col >= p->end) {
            p->col = p->begin;
            p->row++;
        }
    }
}

/* out[r][c] = dot(a[r] + j0, b[c] + j0) over n floats for an RA×RB tile; on a
 * diagonal tile (a == b) only c >= r. Always inlined with constant RA, RB, DIAG, so
 * each shape compiles to its own fully unrolled loop with no wasted lanes. */
__attribute__((target("avx512f"), always_inline)) static inline void
tile_shape(const int RA, const int RB, const int DIAG, const float *const *a, const float *const *b,
           size_t j0, size_t n, prefetch_t *pf, float out[TILE][TILE])
{
    __m512 acc[TILE][TILE];
    for (int r = 0; r < RA; r++)
        for (int c = 0; c < RB; c++)
            acc[r][c] = _mm512_setzero_ps();
    size_t j = j0, end = j0 + n;
    for (; j + 16 <= end; j += 16) {
        __m512 x[TILE], y[TILE];
        for (int r = 0; r < RA; r++)
            x[r] = _mm512_loadu_ps(a[r] + j);
        for (int c = 0; c < RB; c++)
            y[c] = DIAG ? x[c] : _mm512_loadu_ps(b[c] + j);
        for (int r = 0; r < RA; r++)
            for (int c = DIAG ? r : 0; c < RB; c++)
                acc[r][c] = _mm512_fmadd_ps(x[r], y[c], acc[r][c]);
        prefetch_step(pf);
    }
    if (j < end) {
        /* the last end - j < 16 columns through a masked load (zeros beyond) */
        __mmask16 m = (__mmask16)((1u << (end - j)) - 1u);
        __m512 x[TILE], y[TILE];
        for (int r = 0; r < RA; r++)
            x[r] = _mm512_maskz_loadu_ps(m, a[r] + j);
        for (int c = 0; c < RB; c++)
            y[c] = DIAG ? x[c] : _mm512_maskz_loadu_ps(m, b[c] + j);
        for (int r = 0; r < RA; r++)
            for (int c = DIAG ? r : 0; c < RB; c++)
                acc[r][c] = _mm512_fmadd_ps(x[r], y[c], acc[r][c]);
    }
    for (int r = 0; r < RA; r++)
        for (int c = DIAG ? r : 0; c < RB; c++)
            out[r][c] = _mm512_reduce_add_ps(acc[r][c]);
}

/* One tile of ra×rb rows (1..TILE each: only the last row block is short, and a
 * diagonal tile is square). */
__attribute__((target("avx512f"))) static void tile(int ra, int rb, int diag, const float *const *a,
                                                    const float *const *b, size_t j0, size_t n,
                                                    prefetch_t *pf, float out[TILE][TILE])
{
    if (diag) {
        switch (ra) {
        case 1: tile_shape(1, 1, 1, a, a, j0, n, pf, out); return;
        case 2: tile_shape(2, 2, 1, a, a, j0, n, pf, out); return;
        case 3: tile_shape(3, 3, 1, a, a, j0, n, pf, out); return;
        default: tile_shape(4, 4, 1, a, a, j0, n, pf, out); return;
        }
    }
    switch (rb) {
    case 1: tile_shape(4, 1, 0, a, b, j0, n, pf, out); return;
    case 2: tile_shape(4, 2, 0, a, b, j0, n, pf, out); return;
    case 3: tile_shape(4, 3, 0, a, b, j0, n, pf, out); return;
    default: tile_shape(4, 4, 0, a, b, j0, n, pf, out); return;
    }
}

/* Columns per panel: the panel's M rows fill about 512 KiB (half of a 1 MiB L2:
 * measured best against 128 KiB-1 MiB at M = 30 and 100), a multiple of 16 floats,
 * between 256 and 4096. */
static size_t panel_cols(int M)
{
    size_t nb = (size_t)131072 / (size_t)M / 16 * 16;
    return nb < 256 ? 256 : nb > 4096 ? 4096 : nb;
}

static void gram_avx512(const float *const *rows, int M, size_t N, double *G)
{
    for (int i = 0; i < M; i++)
        memset(G + (size_t)i * M + i, 0, (size_t)(M - i) * sizeof *G);
    size_t P = panel_cols(M);
    int blocks = (M + TILE - 1) / TILE, tiles = blocks * (blocks + 1) / 2;
    for (size_t j0 = 0; j0 < N; j0 += P) {
        size_t nb = N - j0 < P ? N - j0 : P;
        size_t next_end = j0 + nb + P < N ? j0 + nb + P : N;
        /* while this panel is computed, fetch the next one (none after the last): its
         * M rows' lines spread over this panel's tile steps (few rows, few tiles: at
         * M = 10 two lines a step, one left 40% of the panel to stall on DRAM) */
        size_t lines = (size_t)M * ((next_end - (j0 + nb) + 15) / 16);
        size_t steps = (size_t)tiles * (nb / 16 ? nb / 16 : 1);
        prefetch_t pf = {.rows = rows,
                         .M = j0 + nb < N ? M : 0,
                         .row = 0,
                         .per_step = (int)((lines + steps - 1) / steps),
                         .col = j0 + nb,
                         .end = next_end,
                         .begin = j0 + nb};
        for (int i0 = 0; i0 < M; i0 += TILE) {
            int ra = M - i0 < TILE ? M - i0 : TILE;
            for (int k0 = i0; k0 < M; k0 += TILE) {
                int rb = M - k0 < TILE ? M - k0 : TILE;
                float t[TILE][TILE];
                tile(ra, rb, k0 == i0, rows + i0, rows + k0, j0, nb, &pf, t);
                for (int r = 0; r < ra; r++)
                    for (int c = k0 == i0 ? r : 0; c < rb; c++)
                        G[(size_t)(i0 + r) * M + (size_t)(k0 + c)] += t[r][c];
            }
        }
    }
}
#endif

int ft_gram_tiled_available(void)
{
#ifdef FT_HAVE_GRAM_AVX512
    static int avx512 = -1; /* benign race: every thread computes the same answer */
    if (avx512 < 0) {
        __builtin_cpu_init();
        avx512 = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return avx512;
#else
    return 0;
#endif
}

int ft_gram_tiled(const float *const *rows, int M, size_t N, double *G)
{
    if (M < 1 || M >= TILED_MAX_ROWS || !ft_gram_tiled_available())
        return 0;
#ifdef FT_HAVE_GRAM_AVX512
    gram_avx512(rows, M, N, G);
    return 1;
#else
    (void)rows;
    (void)N;
    (void)G;
    return 0;
#endif
}
