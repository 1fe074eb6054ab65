# The live view (issue 24): coordinator/ft_live (the feed) as a unit, and --serve end
# to end: headless Chromium on a loopback run, and a non-loopback bind inside a
# network namespace (the token, hostile requests, a connection flood).
ft_script_test(fed_live integration/fed_live.sh TIMEOUT 300)
ft_script_test(fed_live_netns integration/fed_live_netns.sh TIMEOUT 300)
ft_test(test_live LIBS ft_coordinator TIMEOUT 60)
