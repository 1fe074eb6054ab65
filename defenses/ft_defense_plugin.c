/* ft_defense_plugin: dlopen'd defenses behind the ft_defense_t vtable.
 *
 * The public ABI (include/fedtail/defense.h) mirrors ft_defense.h's decision report
 * and inputs but depends on nothing of fedtail's; the adapter converts the inputs on
 * the stack each round (no allocation), passes the decisions array through (the two
 * layouts are asserted equal below) and turns the plug-in's return codes and
 * check_config message into fedtail errors naming the file. workspace_size and
 * create receive no per-plug-in context in ft_defense_t, so each load slot has its
 * own small trampolines. */
#include "ft_defense_plugin.h"

#include "fedtail/defense.h"
#include "ft_alloc.h"
#include "ft_config.h"
#include "ft_error.h"
#include "ft_rng.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(fedtail_defense_decision_t) == sizeof(ft_defense_decision_t),
               "decision layouts differ");
_Static_assert(offsetof(fedtail_defense_decision_t, contrib_norm) ==
                   offsetof(ft_defense_decision_t, contrib_norm),
               "decision layouts differ");
_Static_assert((int)FEDTAIL_DECISION_CLIPPED == (int)FT_DECISION_CLIPPED &&
                   (int)FEDTAIL_DECISION_DROPPED == (int)FT_DECISION_DROPPED &&
                   (int)FEDTAIL_DECISION_REWEIGHTED == (int)FT_DECISION_REWEIGHTED,
               "decision codes differ");

typedef struct {
    char path[1024];                   /* the file as given (defense.plugin) */
    void *dl;                          /* dlopen handle (never closed) */
    const fedtail_defense_plugin_t *p; /* the plug-in's vtable */
    ft_defense_t vt;                   /* the adapted vtable handed out */
} slot_t;

static slot_t slots[FT_DEFENSE_PLUGIN_SLOTS];
static int nslots;

/* The per-run state: the plug-in, and its own state. */
typedef struct {
    const slot_t *s; /* which plug-in */
    void *st;        /* its state (may be NULL) */
} wrap_t;

static const char *get_key(const void *ctx, const char *key)
{
    if (!ctx || !key)
        return NULL;
    for (size_t i = 0; ft_config_schema[i].name; i++)
        if (strcmp(ft_config_schema[i].name, key) == 0)
            return ft_config_text(ctx, key);
    return NULL;
}

static void to_config(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t num_clients,
                      fedtail_defense_config_t *c)
{
    *c =
        (fedtail_defense_config_t){.max_k = max_k,
                                   .N = N,
                                   .num_clients = num_clients,
                                   .f = d->f,
                                   .m = d->m,
                                   .beta = d->beta,
                                   .norm_bound = d->norm_bound,
                                   .stddev = d->stddev,
                                   .seed = d->src ? (uint64_t)ft_config_int(d->src, "run.seed") : 0,
                                   .get = get_key,
                                   .ctx = d->src};
}

static int slot_check(const slot_t *s, const ft_defense_cfg_t *d, size_t max_k)
{
    if (!s->p->check_config)
        return FT_OK;
    fedtail_defense_config_t c;
    to_config(d, max_k, 0, d->src ? (size_t)ft_config_int(d->src, "federation.num_clients") : max_k,
              &c);
    char err[256] = "";
    int rc = s->p->check_config(&c, err, sizeof err);
    if (rc == FEDTAIL_DEFENSE_OK)
        return FT_OK;
    const char *why = err[0] ? err : "check_config refused the values";
    if (d->src)
        return ft_config_error(d->src, "defense.plugin", "%s (%s): %s", s->p->name, s->path, why);
    return ft_error_set(FT_ECONFIG, "%s (%s): %s", s->p->name, s->path, why);
}

static int slot_create(const slot_t *s, const ft_defense_cfg_t *d, size_t max_k, size_t N,
                       size_t num_clients, void **state)
{
    *state = NULL;
    wrap_t *w = ft_calloc(1, sizeof *w);
    if (!w)
        return ft_error_set(FT_ENOMEM, "out of memory for the %s state", s->p->name);
    w->s = s;
    fedtail_defense_config_t c;
    to_config(d, max_k, N, num_clients, &c);
    int rc = s->p->create ? s->p->create(&c, &w->st) : FEDTAIL_DEFENSE_OK;
    if (rc != FEDTAIL_DEFENSE_OK) {
        ft_free(w);
        return ft_error_set(rc == FEDTAIL_DEFENSE_ENOMEM ? FT_ENOMEM : FT_EINVAL,
                            "%s (%s): create returned %d", s->p->name, s->path, rc);
    }
    *state = w;
    return FT_OK;
}

static size_t slot_workspace(const slot_t *s, size_t max_k, size_t N)
{
    return s->p->workspace_size ? s->p->workspace_size(max_k, N) : 0;
}

/* One set of trampolines per slot. */
#define FT_SLOT_FUNCS(i)                                                                           \
    static int check_##i(const ft_defense_cfg_t *d, size_t max_k)                                  \
    {                                                                                              \
        return slot_check(&slots[i], d, max_k);                                                    \
    }                                                                                              \
    static int create_##i(const ft_defense_cfg_t *d, size_t max_k, size_t N, size_t nc,            \
                          void **state)                                                            \
    {                                                                                              \
        return slot_create(&slots[i], d, max_k, N, nc, state);                                     \
    }                                                                                              \
    static size_t workspace_##i(size_t max_k, size_t N)                                            \
    {                                                                                              \
        return slot_workspace(&slots[i], max_k, N);                                                \
    }
FT_SLOT_FUNCS(0)
FT_SLOT_FUNCS(1)
FT_SLOT_FUNCS(2)
FT_SLOT_FUNCS(3)
_Static_assert(FT_DEFENSE_PLUGIN_SLOTS == 4, "one FT_SLOT_FUNCS per slot");

static int (*const checks[])(const ft_defense_cfg_t *, size_t) = {check_0, check_1, check_2,
                                                                  check_3};
static int (*const creates[])(const ft_defense_cfg_t *, size_t, size_t, size_t,
                              void **) = {create_0, create_1, create_2, create_3};
static size_t (*const workspaces[])(size_t, size_t) = {workspace_0, workspace_1, workspace_2,
                                                       workspace_3};

static void w_destroy(void **state)
{
    wrap_t *w = *state;
    if (!w)
        return;
    if (w->s->p->destroy)
        w->s->p->destroy(w->st);
    ft_free(w);
    *state = NULL;
}

static uint64_t rng_u64(void *rng)
{
    return ft_rng_u64(rng);
}

static double rng_normal(void *rng)
{
    return ft_rng_normal(rng);
}

static int w_aggregate(void *state, const ft_defense_input_t *in, float *out,
                       ft_defense_decision_t *decisions, void *workspace)
{
    wrap_t *w = state;
    const fedtail_defense_input_t pin = {.round = in->round,
                                         .K = in->K,
                                         .N = in->N,
                                         .updates = in->updates,
                                         .counts = in->counts,
                                         .ids = in->ids,
                                         .global = in->global,
                                         .server_update = in->server_update,
                                         .rng = in->rng,
                                         .rng_u64 = rng_u64,
                                         .rng_normal = rng_normal};
    int rc =
        w->s->p->aggregate(w->st, &pin, out, (fedtail_defense_decision_t *)decisions, workspace);
    if (rc != FEDTAIL_DEFENSE_OK)
        return ft_error_set(FT_EINVAL, "%s (%s): aggregate returned %d in round %d", w->s->p->name,
                            w->s->path, rc, in->round);
    return FT_OK;
}

static size_t w_save(const void *state, uint8_t *buf, size_t cap)
{
    const wrap_t *w = state;
    return w->s->p->state_save(w->st, buf, cap);
}

static int w_load(void *state, const uint8_t *buf, size_t len)
{
    wrap_t *w = state;
    int rc = w->s->p->state_load(w->st, buf, len);
    if (rc != FEDTAIL_DEFENSE_OK)
        return ft_error_set(FT_EFORMAT, "%s (%s): state_load returned %d", w->s->p->name,
                            w->s->path, rc);
    return FT_OK;
}

int ft_defense_plugin_open(const char *path, const ft_defense_t **out)
{
    *out = NULL;
    if (!path || !path[0])
        return ft_error_set(FT_EINVAL, "no defense plug-in file given");
    for (int i = 0; i < nslots; i++)
        if (strcmp(slots[i].path, path) == 0) {
            *out = &slots[i].vt;
            return FT_OK;
        }
    if (strlen(path) >= sizeof slots[0].path)
        return ft_error_set(FT_EINVAL, "defense plug-in path too long: %.64s...", path);
    if (nslots == FT_DEFENSE_PLUGIN_SLOTS)
        return ft_error_set(FT_EINVAL, "%s: at most %d defense plug-ins per process", path,
                            FT_DEFENSE_PLUGIN_SLOTS);
    /* dlopen searches the library path for a bare name: "./x.so" means this folder. */
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl)
        return ft_error_set(FT_ENOTFOUND, "%s: cannot load the defense plug-in: %s", path,
                            dlerror());
    fedtail_defense_plugin_fn fn;
    void *sym = dlsym(dl, FEDTAIL_DEFENSE_SYMBOL);
    memcpy(&fn, &sym, sizeof fn); /* object to function pointer, as POSIX allows */
    if (!sym) {
        dlclose(dl);
        return ft_error_set(FT_ENOTFOUND,
                            "%s: not a defense plug-in: it does not export %s() "
                            "(docs/write-a-defense.md)",
                            path, FEDTAIL_DEFENSE_SYMBOL);
    }
    const fedtail_defense_plugin_t *p = fn();
    if (!p) {
        dlclose(dl);
        return ft_error_set(FT_EINVAL, "%s: %s() returned NULL", path, FEDTAIL_DEFENSE_SYMBOL);
    }
    if (p->abi_version != FEDTAIL_DEFENSE_ABI_VERSION) {
        unsigned v = p->abi_version;
        dlclose(dl);
        return ft_error_set(FT_EUNSUPPORTED,
                            "%s: defense plug-in ABI version %u, this fedtail speaks %u: "
                            "rebuild it against this fedtail's fedtail/defense.h",
                            path, v, FEDTAIL_DEFENSE_ABI_VERSION);
    }
    if (!p->name || !p->name[0] || !p->aggregate || (!p->state_save != !p->state_load)) {
        dlclose(dl);
        return ft_error_set(FT_EINVAL,
                            "%s: incomplete defense plug-in: it needs a name and aggregate "
                            "(and state_save with state_load, or neither)",
                            path);
    }
    slot_t *s = &slots[nslots];
    snprintf(s->path, sizeof s->path, "%s", path);
    s->dl = dl;
    s->p = p;
    s->vt = (ft_defense_t){.name = p->name,
                           .cite = p->cite ? p->cite : "(plug-in)",
                           .check_config = checks[nslots],
                           .create = creates[nslots],
                           .destroy = w_destroy,
                           .workspace_size = workspaces[nslots],
                           .aggregate = w_aggregate,
                           .state_save = p->state_save ? w_save : NULL,
                           .state_load = p->state_load ? w_load : NULL,
                           .needs_server_update = p->needs_server_update,
                           .selects = p->selects};
    *out = &s->vt;
    nslots++;
    return FT_OK;
}

int ft_defense_is_plugin(const ft_defense_t *d)
{
    for (int i = 0; i < nslots; i++)
        if (d == &slots[i].vt)
            return 1;
    return 0;
}

uint32_t ft_defense_plugin_flags(const ft_defense_t *d)
{
    for (int i = 0; i < nslots; i++)
        if (d == &slots[i].vt)
            return slots[i].p->flags;
    return 0;
}
