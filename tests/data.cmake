# data/ tests: readers (IDX, CIFAR-10, .npy, synthetic), damaged files, loading from
# config, normalised gathering, and the partitioners.
ft_test(test_data LIBS ft_data)
ft_test(test_data_partition LIBS ft_data)
ft_test(test_data_fmnist LIBS ft_data)
ft_test(test_augment LIBS ft_data)
