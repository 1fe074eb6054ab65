# bench_edge: seconds to mine the edge-case set on the installed Fashion-MNIST
# (median, min and max of R builds, default 5) and the set's size; the timing that
# test_edge no longer asserts. Exit status 1 when the dataset or a build fails.
add_executable(bench_edge ${CMAKE_CURRENT_SOURCE_DIR}/bench_edge.c)
target_link_libraries(bench_edge PRIVATE ft_data ft_common)
set_target_properties(bench_edge PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
