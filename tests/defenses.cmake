# defenses/: unit tests (golden values, hand-worked cases, checks, state), the
# registry-wide contract test, and `fedtail aggregate` end to end.
ft_test(test_defenses LIBS ft_defenses)
ft_test(test_defenses_contract LIBS ft_defenses)
ft_test(test_defenses_v2 LIBS ft_defenses)
ft_script_test(test_defenses_cli test_defenses_cli.sh)
