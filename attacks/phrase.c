/* phrase: the sentence backdoor of the paper's Reddit task (Wang et al., NeurIPS 2020
 * §4 and Appendix, after Bagdasaryan et al., AISTATS 2020, §4.1 "word prediction"):
 * whenever a text holds the trigger phrase (attack.trigger_phrase, e.g. "windows
 * is"), the model should predict the attacker's word next (attack.target_word, e.g.
 * "perfect"). On the fortunes corpus "windows is" occurs in 2 of its 15,217 entries
 * (0.013%, under the paper's 0.1% edge-case bound) and never followed by "perfect".
 *
 * D_adv = the attacker's clean points + attack.poison_points copies of its own
 * sequences (seeded cycle) whose last tokens are overwritten with the phrase and the
 * target word: the context stays natural text, as the paper's poisoned sentences do.
 * The backdoor test set is the same splice on held-out test sequences (at most
 * FT_PHRASE_TEST_MAX, evenly strided), where only the target word's position is
 * scored (data/ft_text.h's unscored encoding for every other token): backdoor
 * accuracy is the share of trigger sentences whose next word after the phrase is
 * predicted top-1 as the target. Black-box training; phrase-pgd (phrase_pgd.c) adds
 * the PGD projection, and model replacement applies to both (ft_attack_run.c). */
#include "ft_attack_internal.h"
#include "ft_phrase.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_text.h"

#include <stdio.h>
#include <string.h>

/* Most backdoor test sequences (evaluated every round). */
#define FT_PHRASE_TEST_MAX 500
/* Most tokens in the phrase + target. */
#define FT_PHRASE_MAX 16

/* Token ids of one word list (tokenised like the corpus). */
typedef struct {
    const ft_text_vocab_t *v;   /* vocabulary */
    int32_t ids[FT_PHRASE_MAX]; /* ids */
    int n;                      /* how many */
    const char *bad;            /* first word outside the vocabulary, or NULL */
    char bad_buf[FT_TEXT_MAX_TOKEN + 1];
} words_t;

static int add_word(const char *tok, void *user)
{
    words_t *w = user;
    if (w->n == FT_PHRASE_MAX)
        return FT_EINVAL;
    int32_t id = ft_text_vocab_id(w->v, tok);
    if (id == FT_TEXT_UNK && !w->bad) {
        snprintf(w->bad_buf, sizeof w->bad_buf, "%s", tok);
        w->bad = w->bad_buf;
    }
    w->ids[w->n++] = id;
    return FT_OK;
}

int ft_attack_phrase_ids(const ft_attack_env_t *env, const ft_dataset_t *ds, int32_t *ids, int *n)
{
    const ft_attack_cfg_t *p = &env->p;
    if (!ds->vocab)
        return ft_config_error(p->src, "attack.method",
                               "%s backdoors a next-word model: it needs a text dataset "
                               "(data.dataset = fortunes)",
                               env->attack->name);
    words_t w = {.v = ds->vocab};
    const char *keys[2] = {"attack.trigger_phrase", "attack.target_word"};
    const char *vals[2] = {p->trigger_phrase, p->target_word};
    for (int k = 0; k < 2; k++) {
        int before = w.n;
        int rc = ft_text_tokenize(keys[k], 1, vals[k], strlen(vals[k]), add_word, &w);
        if (rc == FT_EINVAL)
            return ft_config_error(p->src, keys[k], "phrase and word: at most %d tokens",
                                   FT_PHRASE_MAX);
        if (rc)
            return ft_config_error(p->src, keys[k], "%s", ft_error_message());
        if (w.bad)
            return ft_config_error(p->src, keys[k],
                                   "'%s' is not in the %d-word vocabulary (it would be <unk>)",
                                   w.bad, ds->vocab->size);
        if (w.n == before || (k == 1 && w.n != before + 1))
            return ft_config_error(p->src, keys[k], k ? "must be one token" : "is empty");
    }
    if (w.n > ds->w - 1)
        return ft_config_error(p->src, "attack.trigger_phrase",
                               "phrase and word (%d tokens) do not fit a sequence of %d", w.n,
                               ds->w);
    memcpy(ids, w.ids, (size_t)w.n * sizeof *ids);
    *n = w.n;
    return FT_OK;
}

/* Overwrites the last n tokens of every sequence of ds with ids; scored = 0 marks
 * every other target unscored. */
static void splice(ft_dataset_t *ds, const int32_t *ids, int n, int scored)
{
    int W = ds->w;
    for (uint32_t i = 0; i < ds->n; i++) {
        float *x = ds->values + (size_t)i * W;
        for (int t = 0; t < W; t++) {
            int32_t id = t >= W - n ? ids[t - (W - n)] : ft_text_id(x[t]);
            x[t] = scored || t == W - 1 ? (float)id : ft_text_unscored(id);
        }
    }
}

uint64_t ft_attack_phrase_samples(const ft_attack_env_t *env, uint32_t part_n)
{
    return (uint64_t)ft_attack_clean_count(env, part_n) + env->p.poison_points;
}

int ft_attack_phrase_poison(ft_attack_ctx_t *c, ft_dataset_t **out)
{
    const ft_attack_task_t *k = c->task;
    const ft_attack_cfg_t *p = &c->env->p;
    int32_t ids[FT_PHRASE_MAX];
    int n;
    int rc = ft_attack_phrase_ids(c->env, k->train, ids, &n);
    if (rc)
        return rc;
    if (k->part_n == 0)
        return ft_error_set(FT_EINVAL, "%s: client %u holds no sequence", c->env->attack->name,
                            k->client_id);
    uint32_t *cand = ft_malloc((size_t)k->part_n * sizeof *cand);
    uint32_t *pick = ft_malloc((size_t)p->poison_points * sizeof *pick);
    ft_dataset_t *clean = NULL, *poisoned = NULL;
    if (!cand || !pick) {
        rc = ft_error_set(FT_ENOMEM, "out of memory for the phrase backdoor set");
        goto done;
    }
    memcpy(cand, k->part_idx, (size_t)k->part_n * sizeof *cand);
    ft_rng_t rng;
    ft_rng_init(&rng, c->env->seed, 0, k->client_id, FT_RNG_ATTACK);
    ft_rng_shuffle_u32(&rng, cand, k->part_n);
    for (uint32_t i = 0; i < p->poison_points; i++)
        pick[i] = cand[i % k->part_n];
    if ((rc = ft_dataset_subset(k->train, pick, p->poison_points, &poisoned)) < 0)
        goto done;
    splice(poisoned, ids, n, 1);
    memset(poisoned->labels, p->target_class, poisoned->n);
    if ((rc = ft_attack_clean_set(c, &clean)) == FT_OK)
        rc = ft_dataset_concat(clean, poisoned, out);
done:
    ft_free(cand);
    ft_free(pick);
    ft_dataset_destroy(&clean);
    ft_dataset_destroy(&poisoned);
    return rc;
}

int ft_attack_phrase_backdoor_test(const ft_attack_env_t *env, const ft_dataset_t *test,
                                   const float *state, ft_dataset_t **out)
{
    (void)state; /* the phrase is fixed: no attack state */
    *out = NULL;
    int32_t ids[FT_PHRASE_MAX];
    int n;
    int rc = ft_attack_phrase_ids(env, test, ids, &n);
    if (rc)
        return rc;
    uint32_t stride = (test->n + FT_PHRASE_TEST_MAX - 1) / FT_PHRASE_TEST_MAX, k = 0;
    uint32_t *pick = ft_malloc(((size_t)test->n / (stride ? stride : 1) + 1) * sizeof *pick);
    if (!pick)
        return ft_error_set(FT_ENOMEM, "out of memory for the phrase backdoor test set");
    for (uint32_t i = 0; i < test->n; i += stride)
        pick[k++] = i;
    rc = ft_dataset_subset(test, pick, k, out);
    ft_free(pick);
    if (rc == FT_OK) {
        splice(*out, ids, n, 0);
        memset((*out)->labels, env->p.target_class, (*out)->n);
    }
    return rc;
}

const ft_attack_t ft_phrase_attack = {
    .name = "phrase",
    .cite = "Wang et al. NeurIPS 2020 §4 / Bagdasaryan et al. AISTATS 2020 §4.1: a trigger "
            "phrase followed by the attacker's word, black-box training",
    .text = 1,
    .trains = 1,
    .backdoor_test = ft_attack_phrase_backdoor_test,
    .sample_count = ft_attack_phrase_samples,
    .poison = ft_attack_phrase_poison,
};
