ft_test(test_kernels LIBS ft_kernels ${MATH_LIBRARY} TIMEOUT 120)
ft_test(test_device LIBS ft_kernels TIMEOUT 30)
