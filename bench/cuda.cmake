# bench_kernels_cuda: every CUDA op validated against the CPU reference, then timed
# (GFLOP/s, GB/s). Built where the CUDA back end is; says "skipped" without a GPU.
if(TARGET ft_kernels_cuda)
  add_executable(bench_kernels_cuda ${CMAKE_CURRENT_SOURCE_DIR}/bench_kernels_cuda.c)
  target_link_libraries(bench_kernels_cuda PRIVATE ft_kernels_cuda ft_kernels ft_common)
endif()
# bench_batch: a round of K clients one by one vs batched (model/ft_train_batch.c) on
# the GPU (--device cpu / emulate run it without one); tests/gpu/check.sh runs it.
if(TARGET ft_kernels_cuda)
  add_executable(bench_batch ${CMAKE_CURRENT_SOURCE_DIR}/bench_batch.c)
  target_link_libraries(bench_batch PRIVATE ft_kernels_cuda ft_model ft_data ft_kernels ft_common)
endif()
