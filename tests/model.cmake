# model/: unit tests, PyTorch agreement (fixtures in tests/fixtures/torch), and
# fedtail train integration scripts.
ft_test(test_model LIBS ft_model ft_data ft_kernels TIMEOUT 120)
ft_test(test_model_torch LIBS ft_model ft_data ft_kernels TIMEOUT 120)
ft_test(test_model_ckpt LIBS ft_model ft_data ft_kernels TIMEOUT 60)
ft_script_test(train_smoke train_smoke.sh TIMEOUT 300)
ft_script_test(train_bad_config train_bad_config.sh TIMEOUT 60)
ft_test(test_train_augment LIBS ft_model ft_data ft_kernels TIMEOUT 60)
# the lstm next-word model against PyTorch (fixtures: tests/fixtures/torch/gen_lstm.py)
ft_test(test_model_lstm LIBS ft_model ft_kernels TIMEOUT 120
        SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ft_test_lstm_fixture.c)
# total-norm gradient clipping (federation/train.clip_grad_norm) at its boundary
ft_test(test_clip_grad LIBS ft_model ft_data ft_kernels TIMEOUT 60)
# K clients trained at once equal K trainings one by one (model/ft_train_batch.c)
ft_test(test_train_batch LIBS ft_model ft_data ft_kernels TIMEOUT 120)
add_test(NAME test_train_batch_reference COMMAND test_train_batch --reference)
set_tests_properties(test_train_batch_reference PROPERTIES TIMEOUT 120)
