# Tests of the federation spine: proto/ (wire), coordinator/ and client/ units, and
# integration runs with real processes on loopback.
ft_test(test_proto LIBS ft_proto PkgConfig::ZMQ TIMEOUT 60)
ft_test(test_coordinator LIBS ft_coordinator ft_client TIMEOUT 60)
ft_test(test_coordinator_wire LIBS ft_coordinator ft_proto Threads::Threads TIMEOUT 60)
