# Hardening: regression tests of inputs found by fuzzing (fuzz/).
ft_test(test_config_roundtrip LIBS ft_common TIMEOUT 30)
