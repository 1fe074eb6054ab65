/* ft_test_lstm_fixture: the scalars line of a torch LSTM fixture,
 * tests/fixtures/torch/lstm_<tag>.txt (written by tests/fixtures/torch/gen_lstm.py):
 * "vocab emb hidden layers tied seq_len B N loss grad_norm [extra]". test_model_lstm
 * and test_lstm_cuda read the same files; the line's layout lives here once. */
#ifndef FT_TEST_LSTM_FIXTURE_H
#define FT_TEST_LSTM_FIXTURE_H

#include <stddef.h>

#include "ft_model_lstm.h"

/* Reads torch/lstm_<tag>.txt into s (vocab, emb, hidden, layers, tied, seq_len; its
 * other fields are left as they are), *B (the batch), *N (parameters), *loss and
 * *grad_norm (torch's). Fails the running test unless those ten values are there.
 * With extra non-NULL, also reads the optional eleventh value (a classifier's class
 * count; the sentiment fixture's padding id) into *extra: returns 1 when it was
 * there, 0 when not (*extra untouched); 0 with extra NULL. */
int ft_test_lstm_fixture_header(const char *tag, ft_lstm_spec_t *s, int *B, size_t *N, double *loss,
                                double *grad_norm, int *extra);

#endif
