# CUDA back end (kernels/cuda/): parity of every op against the CPU reference.
# test_kernels_cuda runs on the device (label gpu; skipped, exit 77, without one);
# test_kernels_cuda_emulated runs the same tests through the back end's host
# emulation, so CI without a GPU still checks its index maths.
if(TARGET ft_kernels_cuda)
  ft_test(test_kernels_cuda LIBS ft_kernels_cuda ft_kernels LABELS gpu TIMEOUT 120)
  add_test(NAME test_kernels_cuda_emulated COMMAND test_kernels_cuda --emulate)
  set_tests_properties(test_kernels_cuda_emulated PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 120 LABELS "cuda")
endif()
# batched clients (model/ft_model_batch.c) on the CUDA ops' batched path, emulated
if(TARGET ft_kernels_cuda)
  ft_test(test_train_batch_cuda LIBS ft_kernels_cuda ft_model ft_data ft_kernels LABELS gpu
          TIMEOUT 120)
  add_test(NAME test_train_batch_emulated COMMAND test_train_batch_cuda --emulate)
  add_test(NAME test_train_batch_emulated_exact COMMAND test_train_batch_cuda --emulate-exact)
  set_tests_properties(test_train_batch_emulated test_train_batch_emulated_exact PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS "cuda")
endif()
# The CUDA text ops (kernels/cuda/ft_cuda_lstm.cu) against the reference LSTM ops, and
# the lstm model on the CUDA back end against the CPU model; same two runs.
if(TARGET ft_kernels_cuda)
  ft_test(test_lstm_cuda LIBS ft_kernels_cuda ft_model ft_kernels LABELS gpu TIMEOUT 120
          SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ft_test_lstm_fixture.c)
  add_test(NAME test_lstm_cuda_emulated COMMAND test_lstm_cuda --emulate)
  set_tests_properties(test_lstm_cuda_emulated PROPERTIES
    ENVIRONMENT "FT_SOURCE_DIR=${CMAKE_SOURCE_DIR};FT_BUILD_DIR=${CMAKE_BINARY_DIR}"
    SKIP_RETURN_CODE 77 TIMEOUT 120 LABELS "cuda")
endif()
