# defenses/: unit tests (golden values, hand-worked cases, checks, state), the
# registry-wide contract test, `fedtail aggregate` end to end, and fldetector across a
# --resume (its state in the checkpoint).
ft_test(test_defenses LIBS ft_defenses)
ft_test(test_defenses_contract LIBS ft_defenses)
ft_test(test_defenses_v2 LIBS ft_defenses)
ft_test(test_defenses_probe LIBS ft_defenses)
ft_script_test(test_defenses_cli test_defenses_cli.sh)
ft_test(test_defenses_weights LIBS ft_defenses)
ft_test(test_crfl_certify LIBS ft_defenses)
ft_test(test_defenses_noalloc LIBS ft_defenses)
ft_script_test(fed_resume_fldetector integration/fed_resume_fldetector.sh TIMEOUT 300)
ft_script_test(fed_defense_plugin integration/fed_defense_plugin.sh TIMEOUT 300)
ft_script_test(fed_certify integration/fed_certify.sh TIMEOUT 120)
