# bench_blas: single-core sgemm GFLOP/s (square and the conv GEMM shapes of the
# built-in models at batch 32) and the cpu back end's conv layers against them.
add_executable(bench_blas ${CMAKE_CURRENT_SOURCE_DIR}/bench_blas.c)
target_link_libraries(bench_blas PRIVATE ft_kernels ft_common ${MATH_LIBRARY})
