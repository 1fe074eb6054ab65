# bench_augment: nanoseconds per sample of the training-time crop + flip
# (data.augment) for CIFAR-10 and 28x28 shapes; what augmentation adds to a step.
add_executable(bench_augment ${CMAKE_CURRENT_SOURCE_DIR}/bench_augment.c)
target_link_libraries(bench_augment PRIVATE ft_data ft_common)
set_target_properties(bench_augment PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
