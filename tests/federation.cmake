# Tests of the federation spine: proto/ (wire), coordinator/ and client/ units, and
# integration runs with real processes on loopback.
ft_test(test_proto LIBS ft_proto PkgConfig::ZMQ TIMEOUT 60)
ft_test(test_coordinator LIBS ft_coordinator TIMEOUT 60)
ft_test(test_coordinator_wire LIBS ft_coordinator ft_proto Threads::Threads TIMEOUT 60)
ft_script_test(fed_identity integration/fed_identity.sh TIMEOUT 300)
ft_script_test(fed_kill integration/fed_kill.sh TIMEOUT 300)
ft_script_test(fed_slow_setup integration/fed_slow_setup.sh TIMEOUT 120)
ft_script_test(fed_commands integration/fed_commands.sh TIMEOUT 300)
ft_script_test(fed_operator integration/fed_operator.sh TIMEOUT 120)
ft_script_test(fed_netns integration/fed_netns.sh TIMEOUT 300)
ft_test(test_coordinator_attack LIBS ft_coordinator TIMEOUT 60)
ft_script_test(fed_attack integration/fed_attack.sh TIMEOUT 300)
ft_script_test(fed_defenses integration/fed_defenses.sh TIMEOUT 300)
ft_script_test(fed_probe_replay integration/fed_probe_replay.sh TIMEOUT 300)
ft_script_test(fed_local_dp integration/fed_local_dp.sh TIMEOUT 300)
ft_script_test(fed_density integration/fed_density.sh TIMEOUT 300)
# Issue 15 done-when 1: a one-shot PGD + replacement attack on Fashion-MNIST meets the bar.
ft_script_test(oneshot_tail integration/oneshot_tail.sh LABELS slow TIMEOUT 600)
