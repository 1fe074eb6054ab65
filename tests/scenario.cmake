# scenario/: schedules, holdings, root sets, the derivation every process shares.
ft_test(test_scenario LIBS ft_scenario ft_attacks ft_model ft_data ft_kernels TIMEOUT 60)
# The density miner: feature density, lowest-density selection, the feature extractor.
ft_test(test_feature_density LIBS ft_scenario ft_attacks ft_model ft_data ft_kernels TIMEOUT 60)
