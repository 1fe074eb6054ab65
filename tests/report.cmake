ft_test(test_report LIBS ft_report)
ft_script_test(run_compare_sweep run_compare_sweep.sh TIMEOUT 300)
ft_script_test(report_chromium report_chromium.sh TIMEOUT 300)
ft_script_test(experiments_parse experiments_parse.sh TIMEOUT 60)
