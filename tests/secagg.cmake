# secagg/: Shamir over GF(2^8), masks, share encryption, fixed point; and the
# client's stages of the protocol (client/ft_client_secagg) driven by a test-side
# coordinator.
ft_test(test_secagg LIBS ft_secagg ft_common PkgConfig::SODIUM TIMEOUT 60)
ft_test(test_client_secagg LIBS ft_client ft_secagg PkgConfig::SODIUM TIMEOUT 60)
ft_test(test_coordinator_secagg LIBS ft_coordinator ft_client ft_proto Threads::Threads TIMEOUT 60)
