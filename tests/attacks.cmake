# attacks/ and data/ft_edge: edge-case mining, attack maths and plug-ins, and the
# contract every registered attack must meet.
ft_test(test_edge LIBS ft_data TIMEOUT 60)
ft_test(test_attacks LIBS ft_attacks ft_model ft_data ft_kernels TIMEOUT 120)
ft_test(test_attacks_contract LIBS ft_scenario ft_attacks ft_model ft_data ft_kernels TIMEOUT 120)
ft_test(test_attacks_v2 LIBS ft_attacks ft_model ft_data ft_kernels TIMEOUT 120)
ft_test(test_attack_a3fl LIBS ft_attacks ft_model ft_data ft_kernels TIMEOUT 60)
ft_test(test_attack_chameleon LIBS ft_attacks ft_model ft_data ft_kernels TIMEOUT 60)
ft_test(test_attack_iba LIBS ft_attacks ft_model ft_data ft_kernels TIMEOUT 60)
ft_script_test(fed_attacks_v2 integration/fed_attacks_v2.sh TIMEOUT 600)
