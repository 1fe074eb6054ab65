# data/ tests: readers (IDX, CIFAR-10, .npy, synthetic), damaged files, loading from
# config, normalised gathering, and the partitioners.
ft_test(test_data LIBS ft_data)
ft_test(test_data_partition LIBS ft_data)
ft_test(test_data_fmnist LIBS ft_data)
ft_test(test_augment LIBS ft_data)
# text corpora for next-word prediction: tokeniser, fortune files, vocabulary, sequences
ft_test(test_text LIBS ft_data)
# the Sentiment140 CSV reader (generated files in its format)
ft_test(test_sentiment140 LIBS ft_data)
# the Sentiment140 dataset: tweet cleaning, vocabulary, padding, authors, edge tweets
ft_test(test_sentiment LIBS ft_data)
# names to dense ids (the readers' authors) and the growth of the readers' arrays
ft_test(test_name_index LIBS ft_data)
# walking a text line by line (the one-record-a-line readers)
ft_test(test_lines LIBS ft_data)
# Reddit-style JSON-lines comments: the field extractor, the reader, per-author sequences
ft_test(test_reddit LIBS ft_data)
