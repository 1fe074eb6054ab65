/* ft_seed_summary: a variant's seeds folded into mean ± sample std, its verdict from
 * the means, and the comparison's summary.json. */
#include "ft_seed_summary.h"

#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_json.h"
#include "ft_verdict.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ft_seed_summary_of(const ft_run_summary_t *runs, int n, ft_seed_summary_t *out)
{
    assert(n >= 1 && n <= FT_SEED_SUMMARY_MAX);
    memset(out, 0, sizeof *out);
    out->n = n;
    out->rounds = n ? runs[0].rounds : 0;
    out->backdoor_test = n ? runs[0].backdoor_test : 0;
    double v[8][FT_SEED_SUMMARY_MAX];
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (runs[i].rounds < out->rounds)
            out->rounds = runs[i].rounds;
        if (runs[i].destroyed_round) {
            if (!out->destroyed || runs[i].destroyed_round < out->destroyed_round)
                out->destroyed_round = runs[i].destroyed_round;
            out->destroyed++;
            continue;
        }
        v[0][m] = runs[i].final_main_acc;
        v[1][m] = runs[i].final_backdoor_acc;
        v[2][m] = runs[i].peak_backdoor_acc;
        v[3][m] = runs[i].rounds_to_50;
        v[4][m] = runs[i].detection_tpr;
        v[5][m] = runs[i].detection_fpr;
        v[6][m] = runs[i].attacker_weight;
        v[7][m] = runs[i].attacker_norm_share;
        m++;
    }
    ft_stat_t *stats[8] = {&out->final_main,      &out->final_backdoor,     &out->peak_backdoor,
                           &out->rounds_to_50,    &out->detection_tpr,      &out->detection_fpr,
                           &out->attacker_weight, &out->attacker_norm_share};
    for (int k = 0; k < 8; k++)
        ft_stat_of(v[k], m, stats[k]);
}

int ft_seed_summarise(const char *const *dirs, int n, ft_seed_summary_t *out)
{
    ft_run_summary_t runs[FT_SEED_SUMMARY_MAX];
    if (n < 1 || n > FT_SEED_SUMMARY_MAX)
        return ft_error_set(FT_EINVAL, "between 1 and %d seeds to summarise", FT_SEED_SUMMARY_MAX);
    for (int i = 0; i < n; i++) {
        int rc = ft_run_summarise(dirs[i], &runs[i]);
        if (rc != FT_OK)
            return rc;
    }
    ft_seed_summary_of(runs, n, out);
    return FT_OK;
}

void ft_seed_verdict_line(const ft_seed_summary_t *s, char *buf, size_t len)
{
    char main_acc[48], fin[48], peak[48], words[96], lead[96] = "";
    int lived = s->n - s->destroyed;
    if (lived == 0 && s->n == 1) {
        snprintf(buf, len, "the model was destroyed in round %d: no verdict on the backdoor",
                 s->destroyed_round);
        return;
    }
    if (lived == 0) {
        snprintf(buf, len, "the model was destroyed in all %d seeds: no verdict on the backdoor",
                 s->n);
        return;
    }
    if (s->destroyed)
        snprintf(lead, sizeof lead,
                 "the model was destroyed in %d of %d seeds; over the other %d: ", s->destroyed,
                 s->n, lived);
    ft_stat_format(main_acc, sizeof main_acc, &s->final_main, 1);
    if (s->peak_backdoor.n == 0) {
        snprintf(buf, len, "%smain %s after %d rounds, %d seed%s (no backdoor measured)", lead,
                 main_acc, s->rounds, lived, lived == 1 ? "" : "s");
        return;
    }
    ft_stat_format(fin, sizeof fin, &s->final_backdoor, 1);
    ft_stat_format(peak, sizeof peak, &s->peak_backdoor, 1);
    ft_verdict_words(s->final_backdoor.mean, s->peak_backdoor.mean, s->rounds, words, sizeof words);
    snprintf(buf, len, "%smain %s, backdoor %s (peak %s), %d seed%s: %s", lead, main_acc, fin, peak,
             lived, lived == 1 ? "" : "s", words);
}

/* A JSON string of s (quotes, backslashes and control characters escaped). */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_stat(FILE *f, const char *key, const ft_stat_t *s)
{
    char m[64], d[64];
    fprintf(f, ",\n      \"%s\": {\"mean\": %s, \"std\": %s, \"n\": %d}", key,
            ft_json_num(m, sizeof m, s->mean, -1), ft_json_num(d, sizeof d, s->std, -1), s->n);
}

int ft_seed_summary_write_json(const char *path, const uint64_t *seeds, int num_seeds,
                               const char *const *labels, const char *const *dirs,
                               const ft_seed_summary_t *arms, int num_arms)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return ft_error_set(FT_ENOMEM, "out of memory for %s", path);
    fprintf(f, "{\n  \"seeds\": [");
    for (int i = 0; i < num_seeds; i++)
        fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)seeds[i]);
    fprintf(f, "],\n  \"std\": \"sample standard deviation over seeds (n - 1)\",\n"
               "  \"arms\": [");
    for (int a = 0; a < num_arms; a++) {
        const ft_seed_summary_t *s = &arms[a];
        char verdict[512];
        ft_seed_verdict_line(s, verdict, sizeof verdict);
        fprintf(f, "%s\n    {\n      \"label\": ", a ? "," : "");
        json_string(f, labels[a]);
        fprintf(f, ",\n      \"dir\": ");
        json_string(f, dirs[a]);
        fprintf(f, ",\n      \"n\": %d,\n      \"model_destroyed\": %d,\n      \"rounds\": %d",
                s->n, s->destroyed, s->rounds);
        if (s->backdoor_test > 0)
            fprintf(f, ",\n      \"backdoor_test\": %d", s->backdoor_test);
        else
            fprintf(f, ",\n      \"backdoor_test\": null");
        json_stat(f, "final_main_acc", &s->final_main);
        json_stat(f, "final_backdoor_acc", &s->final_backdoor);
        json_stat(f, "peak_backdoor_acc", &s->peak_backdoor);
        json_stat(f, "rounds_to_50", &s->rounds_to_50);
        json_stat(f, "detection_tpr", &s->detection_tpr);
        json_stat(f, "detection_fpr", &s->detection_fpr);
        json_stat(f, "attacker_weight", &s->attacker_weight);
        json_stat(f, "attacker_norm_share", &s->attacker_norm_share);
        fprintf(f, ",\n      \"verdict\": ");
        json_string(f, verdict);
        fprintf(f, "\n    }");
    }
    fprintf(f, "\n  ]\n}\n");
    if (fclose(f) != 0) {
        free(text);
        return ft_error_set(FT_ENOMEM, "out of memory for %s", path);
    }
    int rc = ft_write_file_atomic(path, text, len);
    free(text);
    return rc;
}
