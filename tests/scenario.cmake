# scenario/: schedules, holdings, root sets, the derivation every process shares.
ft_test(test_scenario LIBS ft_scenario ft_attacks ft_model ft_data ft_kernels TIMEOUT 60)
