add_executable(bench_train ${CMAKE_CURRENT_SOURCE_DIR}/bench_train.c)
target_link_libraries(bench_train PRIVATE ft_model ft_data ft_kernels ft_common)
set_target_properties(bench_train PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
