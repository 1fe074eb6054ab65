ft_test(test_report LIBS ft_report)
