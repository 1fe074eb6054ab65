# The "Speed" issue's end-to-end benchmarks, as build targets that run them (never part
# of ctest; docs/PERFORMANCE.md has a section per benchmark):
#   bench_fedavg_vs_torch: FedAvg round time and final accuracy, fedtail --procs 2 vs a
#                          PyTorch loop (bench/peers/torch_fedavg.py)
#   bench_coord:           coordination overhead at K = 10/100, vgg9 transfer throughput
#   bench_memory:          peak RSS of coordinator and clients vs the (K+3)*N*4 B + 64 MiB bar
foreach(script fedavg_vs_torch bench_coord bench_memory)
  string(REGEX REPLACE "^bench_" "" short ${script})
  add_custom_target(bench_${short}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${script}.sh ${CMAKE_BINARY_DIR}
    DEPENDS fedtail USES_TERMINAL
    COMMENT "bench/${script}.sh")
endforeach()
