/* ft_verdict: the backdoor verdict's words and the test set's size, shared by every
 * summary. */
#include "ft_verdict.h"

#include <stdio.h>

void ft_verdict_words(double final_b, double peak, int rounds, char *buf, size_t len)
{
    if (final_b >= 0.5)
        snprintf(buf, len, "the backdoor LANDS");
    else if (peak >= 0.5)
        snprintf(buf, len, "the backdoor lands at times but does not last");
    else
        snprintf(buf, len, "the backdoor did not land within %d round%s", rounds,
                 rounds == 1 ? "" : "s");
}

void ft_verdict_test_set(int n, const char *unit, char *buf, size_t len)
{
    if (n <= 0)
        snprintf(buf, len, "%s", "");
    else
        snprintf(buf, len, "%d backdoor test %s%s, each %.1f%%", n, unit, n == 1 ? "" : "s",
                 100.0 / n);
}
