/* bench_edge: wall time of mining the edge-case set (ft_edge_build, mined source:
 * PCA + k-means of attack.source_class) on the installed Fashion-MNIST, loaded the
 * way tests/test_edge.c loads it: the default experiment, ft_dataset_load,
 * ft_edge_spec_from, ft_edge_build. test_edge used to assert this time (< 2 s
 * in optimised builds) and failed under load; the figure lives here now.
 *
 * usage: bench_edge [R]   (R timed builds, default 5; no warm-up, so max is the
 *                          cold first build when caches matter)
 * Prints the class mined, the edge set's size, and the median, min and max seconds of
 * the R builds. Exit status 1 when the dataset cannot be loaded, a build fails, or two
 * builds disagree (mining is deterministic); 2 for a bad argument. */
#include "ft_config.h"
#include "ft_dataset_load.h"
#include "ft_experiment.h"
#include "ft_dataset.h"
#include "ft_edge.h"
#include "ft_error.h"
#include "ft_timer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RUNS 1000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Same members in the same order: the runs must agree for the timing to mean one
 * thing. */
static int same_set(const ft_edge_set_t *a, const ft_edge_set_t *b)
{
    return a->num_excluded == b->num_excluded &&
           memcmp(a->excluded, b->excluded, a->num_excluded * sizeof(uint32_t)) == 0;
}

int main(int argc, char **argv)
{
    int runs = 5;
    if (argc > 2) {
        fprintf(stderr, "usage: bench_edge [R]\n");
        return 2;
    }
    if (argc == 2) {
        char *end;
        errno = 0;
        long r = strtol(argv[1], &end, 10);
        if (errno || end == argv[1] || *end || r < 1 || r > MAX_RUNS) {
            fprintf(stderr, "bench_edge: R must be an integer in [1, %d] (got \"%s\")\n", MAX_RUNS,
                    argv[1]);
            return 2;
        }
        runs = (int)r;
    }

    int rc = 1;
    ft_config_t *cfg = ft_config_new();
    ft_dataset_t *train = NULL;
    ft_edge_set_t *first = NULL, *e = NULL;
    double *seconds = malloc(sizeof(double) * (size_t)runs);
    if (!cfg || !seconds) {
        fprintf(stderr, "bench_edge: out of memory\n");
        goto cleanup;
    }
    ft_experiment_t exp;
    if (ft_experiment_read(cfg, &exp) != FT_OK ||
        ft_dataset_load(&exp.data, exp.run.seed, 1, &train) != FT_OK) {
        fprintf(stderr, "bench_edge: %s\n", ft_error_message());
        goto cleanup;
    }
    ft_edge_spec_t spec;
    if (ft_edge_spec_from(&exp.attack, exp.run.seed, train->num_classes, &spec) != FT_OK) {
        fprintf(stderr, "bench_edge: %s\n", ft_error_message());
        goto cleanup;
    }
    for (int r = 0; r < runs; r++) {
        double t = ft_now();
        if (ft_edge_build(&spec, train, &e) != FT_OK) {
            fprintf(stderr, "bench_edge: run %d: %s\n", r + 1, ft_error_message());
            goto cleanup;
        }
        seconds[r] = ft_now() - t;
        if (!first) {
            first = e;
            e = NULL;
            continue;
        }
        if (!same_set(first, e)) {
            fprintf(stderr,
                    "bench_edge: run %d mined a different set (%u members, run 1: %u): mining "
                    "is meant to be deterministic\n",
                    r + 1, e->num_excluded, first->num_excluded);
            goto cleanup;
        }
        ft_edge_destroy(&e);
    }
    qsort(seconds, (size_t)runs, sizeof(double), cmp_double);
    double median = runs % 2 ? seconds[runs / 2] : (seconds[runs / 2 - 1] + seconds[runs / 2]) / 2;
    printf("bench_edge: fashion-mnist, %u training samples, class %d: %u samples, %d clusters\n",
           train->n, spec.source_class, first->class_size, first->clusters);
    printf("edge set: %u members (p = %.5f): %u attack, %u test\n", first->num_excluded, first->p,
           first->attack->n, first->test->n);
    printf("mining seconds over %d runs: median %.3f, min %.3f, max %.3f\n", runs, median,
           seconds[0], seconds[runs - 1]);
    rc = 0;
cleanup:
    ft_edge_destroy(&e);
    ft_edge_destroy(&first);
    ft_dataset_destroy(&train);
    ft_config_destroy(&cfg);
    free(seconds);
    return rc;
}
