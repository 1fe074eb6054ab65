/* ft_round_truth: updates/round_NNNN.json (see ft_round_truth.h). The reader reads
 * only the layout the writer makes, line by line, so an error names the line. */
#include "ft_round_truth.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_events.h"
#include "ft_fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ft_round_truth_write(const char *path, uint32_t round, uint32_t sampled, const char *defense,
                         size_t k, const uint32_t *ids, const uint8_t *attackers,
                         const float *samples)
{
    char *text = NULL, name[256];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return ft_error_set(FT_ENOMEM, "out of memory for %s", path);
    ft_events_json_string(name, sizeof name, defense);
    fprintf(f, "{\n  \"round\": %u,\n  \"sampled\": %u,\n  \"defense\": %s,\n  \"clients\": [\n",
            round, sampled, name);
    for (size_t i = 0; i < k; i++)
        fprintf(f, "    {\"row\": %zu, \"client\": %u, \"attacker\": %s, \"samples\": %.0f}%s\n", i,
                ids[i], attackers[i] ? "true" : "false", (double)samples[i], i + 1 < k ? "," : "");
    fprintf(f, "  ]\n}\n");
    fclose(f);
    int rc = ft_write_file_atomic(path, text, len);
    free(text); /* open_memstream's buffer comes from malloc */
    return rc;
}

void ft_round_truth_free(ft_round_truth_t *t)
{
    ft_free(t->ids);
    ft_free(t->attackers);
    ft_free(t->samples);
    memset(t, 0, sizeof *t);
}

/* Room for one more row. */
static int grow(ft_round_truth_t *t, size_t *cap)
{
    if (t->k < *cap)
        return FT_OK;
    size_t n = *cap ? 2 * *cap : 64;
    uint32_t *ids = ft_realloc(t->ids, n * sizeof *ids);
    if (ids)
        t->ids = ids;
    uint8_t *att = ft_realloc(t->attackers, n);
    if (att)
        t->attackers = att;
    float *s = ft_realloc(t->samples, n * sizeof *s);
    if (s)
        t->samples = s;
    if (!ids || !att || !s)
        return ft_error_set(FT_ENOMEM, "out of memory");
    *cap = n;
    return FT_OK;
}

int ft_round_truth_read(const char *path, ft_round_truth_t *out)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = ft_read_file(path, &text, &len);
    if (rc != FT_OK)
        return rc;
    int have_round = 0, have_sampled = 0, line_no = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        while (*line == ' ')
            line++;
        unsigned v;
        if (sscanf(line, "\"round\": %u,", &v) == 1) {
            out->round = v;
            have_round = v > 0;
        } else if (sscanf(line, "\"sampled\": %u,", &v) == 1) {
            out->sampled = v;
            have_sampled = 1;
        } else if (strncmp(line, "{\"row\":", 7) == 0) {
            size_t row;
            unsigned id;
            char att[8];
            double samples;
            if (sscanf(line,
                       "{\"row\": %zu, \"client\": %u, \"attacker\": %5[a-z], \"samples\": %lf}",
                       &row, &id, att, &samples) != 4 ||
                row != out->k || (strcmp(att, "true") != 0 && strcmp(att, "false") != 0) ||
                !(samples > 0)) {
                rc = ft_error_set(FT_EFORMAT,
                                  "%s: line %d: expected {\"row\": %zu, \"client\": ID, "
                                  "\"attacker\": true|false, \"samples\": COUNT > 0}",
                                  path, line_no, out->k);
                goto done;
            }
            if ((rc = grow(out, &cap)) != FT_OK)
                goto done;
            out->ids[out->k] = id;
            out->attackers[out->k] = att[0] == 't';
            out->samples[out->k] = (float)samples;
            out->k++;
        }
    }
    if (!have_round || !have_sampled || out->k == 0 || out->k > out->sampled)
        rc = ft_error_set(FT_EFORMAT,
                          "%s: not a saved round's ground truth (\"round\" >= 1, \"sampled\" "
                          "and 1..sampled client rows expected; %zu rows read)",
                          path, out->k);
done:
    ft_free(text);
    if (rc != FT_OK)
        ft_round_truth_free(out);
    return rc;
}
