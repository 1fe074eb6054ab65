ft_test(test_kernels LIBS ft_kernels ${MATH_LIBRARY} TIMEOUT 120)
ft_test(test_device LIBS ft_kernels TIMEOUT 30)
# LSTM ops: reference by hand and by finite differences, the fast path against it
ft_test(test_lstm_ops LIBS ft_kernels ${MATH_LIBRARY} TIMEOUT 60)
