/* ft_test_lstm_fixture: see ft_test_lstm_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "ft_test_fixture.h"
#include "ft_test_lstm_fixture.h"

int ft_test_lstm_fixture_header(const char *tag, ft_lstm_spec_t *s, int *B, size_t *N, double *loss,
                                double *grad_norm, int *extra)
{
    char rel[256];
    snprintf(rel, sizeof rel, "torch/lstm_%s.txt", tag);
    FILE *f = ft_test_fixture_open(rel, "r");
    assert_int_equal(fscanf(f, "%d %d %d %d %d %d %d %zu %lf %lf", &s->vocab, &s->emb, &s->hidden,
                            &s->layers, &s->tied, &s->seq_len, B, N, loss, grad_norm),
                     10);
    int got = extra && fscanf(f, "%d", extra) == 1;
    fclose(f);
    return got;
}
