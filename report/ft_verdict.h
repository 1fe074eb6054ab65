/* ft_verdict: what a backdoor accuracy history means, in the words every summary
 * uses (the run's verdict, a comparison's and a sweep's), so that they agree.
 *
 * "Stopped" is a claim about the defense that a short run cannot support: a backdoor
 * under 50% after 2 rounds may land in round 20. So a run where it never reached 50%
 * says it "did not land within N rounds", and the size of the backdoor test set is
 * given beside the percentages (one image of 44 is 2.3 points). */
#ifndef FT_VERDICT_H
#define FT_VERDICT_H

#include <stddef.h>

/* The verdict on final and peak backdoor accuracy (fractions) after rounds rounds,
 * into buf: "the backdoor LANDS" (final >= 50%), "the backdoor lands at times but
 * does not last" (peak >= 50%), else "the backdoor did not land within N rounds". */
void ft_verdict_words(double final_b, double peak, int rounds, char *buf, size_t len);

/* "44 backdoor test images, each 2.3%" into buf, with unit the singular of what a
 * test sample is ("image", "sentence", "tweet": ft_run_backdoor_unit); "" when
 * n <= 0 (unknown). */
void ft_verdict_test_set(int n, const char *unit, char *buf, size_t len);

#endif
