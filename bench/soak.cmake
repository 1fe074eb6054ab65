# bench_soak: a long run (500 rounds, 1,000 virtual clients, a tiny mlp on synthetic
# data) under hostile loopback traffic from soak_traffic (malformed frames, Hellos,
# stale Updates, reconnect churn); the coordinator's RSS and open fds are sampled
# every second into a CSV and a gnuplot plot. `cmake --build build --target
# bench_soak` runs it; it reports, it asserts nothing, and it is never part of ctest.
add_executable(soak_traffic ${CMAKE_CURRENT_SOURCE_DIR}/soak_traffic.c)
target_link_libraries(soak_traffic PRIVATE ft_proto ft_common)
set_target_properties(soak_traffic PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
add_custom_target(bench_soak
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench_soak.sh ${CMAKE_BINARY_DIR}
  DEPENDS fedtail soak_traffic USES_TERMINAL
  COMMENT "bench/bench_soak.sh: coordinator RSS and fds over a long run under hostile traffic")
