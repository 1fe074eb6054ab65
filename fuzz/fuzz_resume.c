/* fuzz_resume: libFuzzer target for resumable checkpoints (coordinator/ft_resume),
 * what `--resume` reads from a run directory.
 *
 * As for fuzz_checkpoint, the input is a checkpoint file WITHOUT its trailing
 * SHA-256: the target appends the input's own digest ("sealed") and parses that with
 * ft_resume_parse (what ft_resume_find does for each slot), and also parses the input
 * as it is. A refusal must be FT_EFORMAT / FT_EDIGEST / FT_ENOMEM with *out empty; an
 * accepted checkpoint has a round and file lengths >= 0, a config whose SHA-256 is the
 * one in its meta, config and defense state that are exactly the checkpoint's extra
 * bytes, and it survives ft_resume_save + ft_resume_parse unchanged (every field of
 * the resume point bit for bit). Seeds: fuzz/corpus/fuzz_resume (fuzz_file_seeds). */
#include "fuzz_files.h"

#include "ft_alloc.h"
#include "ft_checkpoint.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_resume.h"
#include "ft_sha256.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_resume"

static void broken(const char *what)
{
    fuzz_broken(TARGET, what, ft_error_message());
}

static int parse_checked(const uint8_t *data, size_t len, int sealed, ft_resume_t *r)
{
    memset(r, 0xa5, sizeof *r);
    int rc = ft_resume_parse(data, len, "fuzz.ckpt", r);
    if (r->slot != -1)
        broken("slot is not -1 after ft_resume_parse");
    if (rc == FT_OK)
        return 1;
    if (rc != FT_EFORMAT && rc != FT_EDIGEST && rc != FT_ENOMEM)
        broken("unexpected error code");
    if (sealed && rc == FT_EDIGEST && !strstr(ft_error_message(), "config digest"))
        broken("a sealed input fails its file digest");
    if (r->params || r->config_ini || r->defense_state || r->num_params || r->defense_len)
        broken("a refused checkpoint left something in *out");
    return 0;
}

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static int same_point(const ft_resume_point_t *a, const ft_resume_point_t *b)
{
    return a->round == b->round && a->metrics_bytes == b->metrics_bytes &&
           a->events_bytes == b->events_bytes && same_double(a->elapsed, b->elapsed) &&
           memcmp(&a->detect, &b->detect, sizeof a->detect) == 0 &&
           same_double(a->final_main_acc, b->final_main_acc) &&
           same_double(a->final_backdoor_acc, b->final_backdoor_acc) &&
           same_double(a->peak_backdoor_acc, b->peak_backdoor_acc);
}

/* An accepted checkpoint against the ft_checkpoint it is made of. */
static void check_accepted(const ft_resume_t *r, const uint8_t *file, size_t len,
                           ft_checkpoint_t *ck)
{
    if (ft_checkpoint_parse(file, len, "fuzz.ckpt", NULL, ck) != FT_OK)
        broken("ft_resume_parse accepted what ft_checkpoint_parse refuses");
    const ft_resume_point_t *pt = &r->point;
    if (pt->round < 0 || pt->metrics_bytes < 0 || pt->events_bytes < 0)
        broken("accepted a negative round or file length");
    size_t cfg_len = strlen(r->config_ini);
    if (ck->extra_len != 8 + cfg_len + r->defense_len ||
        memcmp(ck->extra + 8, r->config_ini, cfg_len) != 0 ||
        (r->defense_len && memcmp(ck->extra + 8 + cfg_len, r->defense_state, r->defense_len) != 0))
        broken("config + defense state are not the checkpoint's extra bytes");
    if ((r->defense_state == NULL) != (r->defense_len == 0))
        broken("defense_state is NULL exactly when defense_len is 0");
    if (r->num_params != ck->num_params ||
        (r->num_params && memcmp(r->params, ck->params, r->num_params * 4) != 0) ||
        memcmp(r->layout_hash, ck->layout_hash, 32) != 0)
        broken("model differs from the checkpoint's");
    uint8_t digest[FT_SHA256_LEN];
    char hex[2 * FT_SHA256_LEN + 1], want[128];
    ft_sha256(r->config_ini, cfg_len, digest);
    ft_sha256_hex(digest, hex);
    if (!ft_checkpoint_meta(ck, "config_sha256", want, sizeof want) || strcmp(want, hex) != 0)
        broken("accepted a config that does not match its digest");
}

/* ft_resume_save of what was read, parsed again, must give the same checkpoint. */
static void check_rewrite(const ft_resume_t *r, const ft_checkpoint_t *ck)
{
    char seed[64] = "0", defense[256] = "";
    ft_checkpoint_meta(ck, "seed", seed, sizeof seed);
    ft_checkpoint_meta(ck, "defense", defense, sizeof defense);
    char path[FUZZ_PATH_MAX];
    fuzz_path(path, "checkpoint-a.ckpt"); /* slot 0's file, for the clean-up */
    if (ft_resume_save(fuzz_dir(), 0, r->layout_hash, r->params, r->num_params,
                       strtoull(seed, NULL, 10), defense, &r->point, r->config_ini,
                       r->defense_state, r->defense_len, r->attack_state,
                       r->attack_state_n) != FT_OK)
        broken("cannot write the checkpoint back");
    char *back = NULL;
    size_t back_len = 0;
    if (ft_read_file(path, &back, &back_len) != FT_OK)
        broken("cannot read the rewritten checkpoint");
    ft_resume_t again;
    if (ft_resume_parse(back, back_len, path, &again) != FT_OK)
        broken("the rewritten checkpoint is refused");
    if (!same_point(&again.point, &r->point))
        broken("the rewritten checkpoint has another resume point");
    if (strcmp(again.config_ini, r->config_ini) != 0 || again.defense_len != r->defense_len ||
        (r->defense_len && memcmp(again.defense_state, r->defense_state, r->defense_len) != 0) ||
        again.attack_state_n != r->attack_state_n ||
        (r->attack_state_n &&
         memcmp(again.attack_state, r->attack_state, r->attack_state_n * 4) != 0) ||
        again.num_params != r->num_params ||
        (r->num_params && memcmp(again.params, r->params, r->num_params * 4) != 0))
        broken("the rewritten checkpoint has another model, config or defense state");
    ft_resume_free(&again);
    ft_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ft_resume_t r;
    if (parse_checked(data, size, 0, &r))
        ft_resume_free(&r);

    uint8_t *sealed = ft_malloc(size + FT_SHA256_LEN);
    if (!sealed)
        return 0;
    if (size)
        memcpy(sealed, data, size);
    ft_sha256(data, size, sealed + size);
    size_t len = size + FT_SHA256_LEN;
    if (parse_checked(sealed, len, 1, &r)) {
        ft_checkpoint_t ck;
        memset(&ck, 0, sizeof ck);
        check_accepted(&r, sealed, len, &ck);
        check_rewrite(&r, &ck);
        ft_checkpoint_free(&ck);
        ft_resume_free(&r);
    }
    ft_free(sealed);
    return 0;
}
