# client/: a client process's local training over the scenario.
ft_test(test_client LIBS ft_client TIMEOUT 60)
ft_test(test_local_dp LIBS ft_client TIMEOUT 60)
