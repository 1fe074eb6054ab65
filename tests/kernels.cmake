ft_test(test_kernels LIBS ft_kernels ${MATH_LIBRARY} TIMEOUT 120)
