# bench_defenses: seconds per aggregation for every defense at (K=10, N=9.2M),
# (K=30, N=1.2M), (K=100, N=1.2M), beside the NumPy peer of the paper code's Krum
# loop (bench/peers/krum_numpy.py) run on the same updates. Exit status 1 if Krum
# or Multi-Krum is under 10x the peer or Krum picks a different update.
add_executable(bench_defenses ${CMAKE_CURRENT_SOURCE_DIR}/bench_defenses.c)
target_link_libraries(bench_defenses PRIVATE ft_defenses ft_data ft_kernels ft_common
                      ${MATH_LIBRARY})
target_compile_definitions(bench_defenses PRIVATE FT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
set_target_properties(bench_defenses PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)

# bench_defenses_probe: the probe rules (deepsight, flare) beside fedavg and flame at
# K = 10/30/100 for lenet5 and paper-lenet, through the coordinator's model probe.
add_executable(bench_defenses_probe ${CMAKE_CURRENT_SOURCE_DIR}/bench_defenses_probe.c)
target_link_libraries(bench_defenses_probe PRIVATE ft_coordinator ft_defenses ft_model ft_data
                      ft_kernels ft_common ${MATH_LIBRARY})
set_target_properties(bench_defenses_probe PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                      ${CMAKE_BINARY_DIR}/bench)
