# bench_round: coordination overhead of a federated round (round time minus the
# slowest client's compute, as a share of round time). `cmake --build build
# --target bench_round` runs it; it is never part of ctest.
add_custom_target(bench_round
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench_round.sh ${CMAKE_BINARY_DIR}/fedtail
  DEPENDS fedtail USES_TERMINAL
  COMMENT "bench_round: coordination overhead per round")
