# attacks/ and data/ft_edge: edge-case mining, attack maths, schedules and plug-ins.
ft_test(test_edge LIBS ft_data TIMEOUT 60)
