# bench_round: coordination overhead of a federated round (round time minus the
# slowest client's compute, as a share of round time). `cmake --build build
# --target bench_round` runs it; it is never part of ctest.
add_custom_target(bench_round
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench_round.sh ${CMAKE_BINARY_DIR}/fedtail
  DEPENDS fedtail USES_TERMINAL
  COMMENT "bench_round: coordination overhead per round")

# bench_secagg: secure aggregation's coordinator memory and round time beside the
# plain run (docs/PERFORMANCE.md §6). Never part of ctest.
add_custom_target(bench_secagg
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench_secagg.sh ${CMAKE_BINARY_DIR}
  DEPENDS fedtail USES_TERMINAL
  COMMENT "bench_secagg: secure aggregation's overhead")
