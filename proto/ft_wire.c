/* ft_wire: packing ft_msg_t to protobuf-c envelopes and back, with validation.
 *
 * This is the only file that includes the generated fedtail.pb-c.h. Decoding goes
 * through a ProtobufCAllocator backed by ft_malloc so that allocation-failure tests
 * reach the decoder too, and frame sizes are checked before protobuf_c unpacks. */
#include "ft_wire.h"

#include "fedtail.pb-c.h"
#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_experiment.h" /* FT_MAX_LR, the bound a task's lr is checked against */
#include "ft_sha256.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[FT_MSG_COUNT_] = {
    "none",   "hello",     "welcome", "request",  "task",
    "update", "heartbeat", "error",   "shutdown", "secagg",
};

static const char *const stage_names[FT_SA_STAGE_COUNT_] = {
    "none", "keys", "roster", "shares", "deliver", "masked", "unmask", "reveal",
};

const char *ft_sa_stage_name(int stage)
{
    return stage > 0 && stage < FT_SA_STAGE_COUNT_ ? stage_names[stage] : "invalid";
}

const char *ft_msg_type_name(int type)
{
    return type >= 0 && type < FT_MSG_COUNT_ ? type_names[type] : "invalid";
}

void ft_wire_limits_default(ft_wire_limits_t *lim, int max_message_mb)
{
    if (max_message_mb <= 0)
        max_message_mb = 1024;
    lim->max_envelope = (size_t)16 << 20;
    lim->max_payload = (uint64_t)max_message_mb << 20;
    lim->max_config = (size_t)1 << 20;
    lim->max_client_list = (size_t)1 << 20;
}

void ft_msg_init(ft_msg_t *m, ft_msg_type_t type)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    m->version = FT_WIRE_VERSION;
}

void ft_msg_clear(ft_msg_t *m)
{
    if (m->type == FT_MSG_HELLO)
        ft_free(m->u.hello.clients);
    else if (m->type == FT_MSG_WELCOME)
        ft_free(m->u.welcome.config_ini);
    else if (m->type == FT_MSG_TASK)
        ft_free(m->u.task.attack_state);
    else if (m->type == FT_MSG_UPDATE)
        ft_free(m->u.update.attack_state);
    else if (m->type == FT_MSG_SECAGG) {
        ft_free(m->u.secagg.ids);
        ft_free(m->u.secagg.dropped);
        ft_free(m->u.secagg.records);
    }
    memset(m, 0, sizeof *m);
}

/* ---- packing ---------------------------------------------------------------- */

/* The protobuf-c view of one message: the envelope plus storage for its body. The
 * pointers inside alias m's memory; nothing is allocated. */
typedef struct {
    Fedtail__Envelope env;    /* envelope */
    Fedtail__Hello hello;     /* bodies: only the one named by env.body_case is used */
    Fedtail__Welcome welcome; /* ... */
    Fedtail__Request request;
    Fedtail__Task task;
    Fedtail__Update update;
    Fedtail__Heartbeat heartbeat;
    Fedtail__Error error;
    Fedtail__Shutdown shutdown;
    Fedtail__SecAgg secagg;
} pb_view_t;

static void to_pb(const ft_msg_t *m, pb_view_t *v)
{
    fedtail__envelope__init(&v->env);
    v->env.version = FT_WIRE_VERSION;
    v->env.payload_len = m->payload_len;
    switch (m->type) {
    case FT_MSG_HELLO:
        fedtail__hello__init(&v->hello);
        v->hello.pid = m->u.hello.pid;
        v->hello.host = (char *)m->u.hello.host;
        v->hello.pool = m->u.hello.pool != 0;
        v->hello.n_clients = m->u.hello.num_clients;
        v->hello.clients = m->u.hello.clients;
        v->hello.threads = m->u.hello.threads;
        v->env.body_case = FEDTAIL__ENVELOPE__BODY_HELLO;
        v->env.hello = &v->hello;
        break;
    case FT_MSG_WELCOME:
        fedtail__welcome__init(&v->welcome);
        v->welcome.process_id = m->u.welcome.process_id;
        v->welcome.config_ini = m->u.welcome.config_ini ? m->u.welcome.config_ini : (char *)"";
        v->welcome.layout_hash.data = (uint8_t *)m->u.welcome.layout_hash;
        v->welcome.layout_hash.len = FT_WIRE_HASH_LEN;
        v->welcome.num_params = m->u.welcome.num_params;
        v->welcome.rounds = m->u.welcome.rounds;
        v->welcome.root_set = m->u.welcome.root_set != 0;
        v->welcome.secagg_clip_norm = m->u.welcome.secagg_clip_norm;
        v->env.body_case = FEDTAIL__ENVELOPE__BODY_WELCOME;
        v->env.welcome = &v->welcome;
        break;
    case FT_MSG_REQUEST:
        fedtail__request__init(&v->request);
        v->request.process_id = m->u.request.process_id;
        v->env.body_case = FEDTAIL__ENVELOPE__BODY_REQUEST;
        v->env.request = &v->request;
        break;
    case FT_MSG_TASK:
        fedtail__task__init(&v->task);
        v->task.round = m->u.task.round;
        v->task.client_id = m->u.task.client_id;
        v->task.attempt = m->u.task.attempt;
        v->task.lr = m->u.task.lr;
        v->task.attacker = m->u.task.attacker != 0;
        v->task.model_digest.data = (uint8_t *)m->u.task.model_digest;
        v->task.model_digest.len = FT_WIRE_HASH_LEN;
        v->task.has_model = m->u.task.has_model != 0;
        v->task.num_params = m->u.task.num_params;
        v->task.round_samples = m->u.task.round_samples;
        v->task.round_attackers = m->u.task.round_attackers;
        v->task.attack_state.data = (uint8_t *)m->u.task.attack_state;
        v->task.attack_state.len = m->u.task.attack_state_n * sizeof(float);
        v->env.body_case = FEDTAIL__ENVELOPE__BODY_TASK;
        v->env.task = &v->task;
        break;
    case FT_MSG_UPDATE:
        fedtail__update__init(&v->update);
        v->update.round = m->u.update.round;
        v->update.client_id = m->u.update.client_id;
        v->update.process_id = m->u.update.process_id;
        v->update.attempt = m->u.update.attempt;
        v->update.num_samples = m->u.update.num_samples;
        v->update.train_loss = m->u.update.train_loss;
        v->update.digest.data = (uint8_t *)m->u.update.digest;
        v->update.digest.len = FT_WIRE_HASH_LEN;
        v->update.num_params = m->u.update.num_params;
        v->update.layout_hash.data = (uint8_t *)m->u.update.layout_hash;
        v->update.layout_hash.len = FT_WIRE_HASH_LEN;
        v->update.train_s = m->u.update.train_s;
        v->update.prepare_s = m->u.update.prepare_s;
        v->update.attack_state.data = (uint8_t *)m->u.update.attack_state;
        v->update.attack_state.len = m->u.update.attack_state_n * sizeof(float);
        v->env.body_case = FEDTAIL__ENVELOPE__BODY_UPDATE;
        v->env.update = &v->update;
        break;
    case FT_MSG_HEARTBEAT:
        fedtail__heartbeat__init(&v->heartbeat);
        v->heartbeat.process_id = m->u.heartbeat.process_id;
        v->heartbeat.round = m->u.heartbeat.round;
        v->heartbeat.client_id = m->u.heartbeat.client_id;
        v->heartbeat.busy = m->u.heartbeat.busy != 0;
        v->env.body_case = FEDTAIL__ENVELOPE__BODY_HEARTBEAT;
        v->env.heartbeat = &v->heartbeat;
        break;
    case FT_MSG_ERROR:
        fedtail__error__init(&v->error);
        v->error.code = m->u.error.code;
        v->error.reason = (char *)m->u.error.reason;
        v->error.round = m->u.error.round;
        v->error.client_id = m->u.error.client_id;
        v->env.body_case = FEDTAIL__ENVELOPE__BODY_ERROR;
        v->env.error = &v->error;
        break;
    case FT_MSG_SHUTDOWN:
        fedtail__shutdown__init(&v->shutdown);
        v->shutdown.reason = (char *)m->u.shutdown.reason;
        v->env.body_case = FEDTAIL__ENVELOPE__BODY_SHUTDOWN;
        v->env.shutdown = &v->shutdown;
        break;
    case FT_MSG_SECAGG: {
        const ft_msg_secagg_t *a = &m->u.secagg;
        fedtail__sec_agg__init(&v->secagg);
        v->secagg.secagg_version = FT_WIRE_SECAGG_VERSION;
        v->secagg.stage = a->stage;
        v->secagg.round = a->round;
        v->secagg.attempt = a->attempt;
        v->secagg.client_id = a->client_id;
        v->secagg.process_id = a->process_id;
        v->secagg.threshold = a->threshold;
        v->secagg.n_ids = a->num_ids;
        v->secagg.ids = a->ids;
        v->secagg.n_dropped = a->num_dropped;
        v->secagg.dropped = a->dropped;
        v->secagg.records.data = a->records;
        v->secagg.records.len = a->records_len;
        v->secagg.num_samples = a->num_samples;
        v->secagg.train_loss = a->train_loss;
        v->secagg.train_s = a->train_s;
        v->secagg.prepare_s = a->prepare_s;
        v->secagg.num_params = a->num_params;
        if (a->stage == FT_SA_STAGE_KEYS) {
            v->secagg.layout_hash.data = (uint8_t *)a->layout_hash;
            v->secagg.layout_hash.len = FT_WIRE_HASH_LEN;
        }
        if (a->stage == FT_SA_STAGE_MASKED) {
            v->secagg.digest.data = (uint8_t *)a->digest;
            v->secagg.digest.len = FT_WIRE_HASH_LEN;
        }
        v->env.body_case = FEDTAIL__ENVELOPE__BODY_SECAGG;
        v->env.secagg = &v->secagg;
        break;
    }
    default: assert(!"ft_wire_pack: message without a type");
    }
}

size_t ft_wire_packed_size(const ft_msg_t *m)
{
    pb_view_t v;
    to_pb(m, &v);
    return fedtail__envelope__get_packed_size(&v.env);
}

size_t ft_wire_pack(const ft_msg_t *m, uint8_t *out)
{
    pb_view_t v;
    to_pb(m, &v);
    return fedtail__envelope__pack(&v.env, out);
}

int ft_wire_pack_alloc(const ft_msg_t *m, uint8_t **buf, size_t *len)
{
    size_t n = ft_wire_packed_size(m);
    *buf = ft_malloc(n ? n : 1);
    if (!*buf)
        return ft_error_set(FT_ENOMEM, "out of memory packing a %s message",
                            ft_msg_type_name(m->type));
    *len = ft_wire_pack(m, *buf);
    assert(*len == n);
    return FT_OK;
}

/* ---- unpacking ---------------------------------------------------------------- */

static void *pb_alloc(void *data, size_t size)
{
    (void)data;
    return ft_malloc(size ? size : 1);
}

static void pb_free(void *data, void *ptr)
{
    (void)data;
    ft_free(ptr);
}

static ProtobufCAllocator pb_allocator = {pb_alloc, pb_free, NULL};

static int bad(const char *what, const char *reason)
{
    return ft_error_set(FT_EPROTO, "%s: %s", what, reason);
}

/* Copies a bytes field that must be exactly a hash long. */
static int get_hash(const ProtobufCBinaryData *b, uint8_t out[FT_WIRE_HASH_LEN], const char *what)
{
    if (b->len != FT_WIRE_HASH_LEN)
        return ft_error_set(FT_EPROTO, "%s of %zu bytes, expected %d", what, b->len,
                            FT_WIRE_HASH_LEN);
    memcpy(out, b->data, FT_WIRE_HASH_LEN);
    return FT_OK;
}

/* An attack's state: whole float32s, at most FT_WIRE_MAX_ATTACK_STATE, every one
 * finite (it becomes a trigger stamped on test images); a new copy, or NULL if empty. */
static int get_attack_state(const ProtobufCBinaryData *b, const char *what, float **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (b->len == 0)
        return FT_OK;
    if (b->len % sizeof(float) || b->len / sizeof(float) > FT_WIRE_MAX_ATTACK_STATE)
        return ft_error_set(FT_EPROTO, "%s: attack state of %zu bytes (whole floats, at most %u)",
                            what, b->len, FT_WIRE_MAX_ATTACK_STATE);
    float *v = ft_malloc(b->len);
    if (!v)
        return ft_error_set(FT_ENOMEM, "out of memory reading a %s", what);
    memcpy(v, b->data, b->len);
    for (size_t j = 0; j < b->len / sizeof(float); j++)
        if (!isfinite(v[j])) {
            ft_free(v);
            return ft_error_set(FT_EPROTO, "%s: attack state value %zu is not finite", what, j);
        }
    *out = v;
    *n = b->len / sizeof(float);
    return FT_OK;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Checks that a weight payload is exactly N float32 and within the limit. */
static int check_vector_len(const char *what, uint64_t payload_len, uint64_t n,
                            const ft_wire_limits_t *lim)
{
    if (n == 0)
        return ft_error_set(FT_EPROTO, "%s: N = 0", what);
    if (n > lim->max_payload / 4)
        return ft_error_set(FT_EPROTO, "%s: N = %llu exceeds the %llu MB message limit", what,
                            (unsigned long long)n, (unsigned long long)(lim->max_payload >> 20));
    if (payload_len != n * 4)
        return ft_error_set(FT_EPROTO, "%s: payload of %llu bytes for N = %llu (expected %llu)",
                            what, (unsigned long long)payload_len, (unsigned long long)n,
                            (unsigned long long)(n * 4));
    return FT_OK;
}

/* A strictly ascending id list of at most FT_WIRE_SA_MAX_IDS, copied. */
static int get_ids(const uint32_t *src, size_t n, uint32_t **dst, const char *what)
{
    if (n > FT_WIRE_SA_MAX_IDS)
        return ft_error_set(FT_EPROTO, "secagg: %zu %s, at most %d", n, what, FT_WIRE_SA_MAX_IDS);
    for (size_t i = 1; i < n; i++)
        if (src[i] <= src[i - 1])
            return ft_error_set(FT_EPROTO, "secagg: %s not strictly ascending", what);
    if (!n)
        return FT_OK;
    *dst = ft_malloc(n * sizeof **dst);
    if (!*dst)
        return ft_error_set(FT_ENOMEM, "out of memory reading a secagg message");
    memcpy(*dst, src, n * sizeof **dst);
    return FT_OK;
}

/* Checks a SecAgg body against its stage: versions, id lists, record sizes, the
 * payload only where a masked vector is expected. */
static int secagg_from_pb(const Fedtail__SecAgg *p, ft_msg_t *m, const ft_wire_limits_t *lim)
{
    ft_msg_secagg_t *a = &m->u.secagg;
    m->type = FT_MSG_SECAGG;
    a->stage = p->stage;
    a->round = p->round;
    a->attempt = p->attempt;
    a->client_id = p->client_id;
    a->process_id = p->process_id;
    a->threshold = p->threshold;
    a->num_samples = p->num_samples;
    a->train_loss = p->train_loss;
    a->train_s = p->train_s;
    a->prepare_s = p->prepare_s;
    a->num_params = p->num_params;
    if (p->secagg_version != FT_WIRE_SECAGG_VERSION)
        return ft_error_set(FT_EPROTO, "secagg: version %u, expected %d", p->secagg_version,
                            FT_WIRE_SECAGG_VERSION);
    if (p->stage < FT_SA_STAGE_KEYS || p->stage >= FT_SA_STAGE_COUNT_)
        return ft_error_set(FT_EPROTO, "secagg: unknown stage %u", p->stage);
    if (p->round == 0)
        return bad("secagg", "round 0");
    int rc;
    if ((rc = get_ids(p->ids, p->n_ids, &a->ids, "ids")) != FT_OK)
        return rc;
    a->num_ids = p->n_ids;
    if (p->n_dropped && p->stage != FT_SA_STAGE_UNMASK)
        return bad("secagg", "dropped ids outside an unmask");
    if ((rc = get_ids(p->dropped, p->n_dropped, &a->dropped, "dropped ids")) != FT_OK)
        return rc;
    a->num_dropped = p->n_dropped;
    for (size_t i = 0, j = 0; i < a->num_ids && j < a->num_dropped;) {
        if (a->ids[i] == a->dropped[j])
            return bad("secagg", "a client both survived and dropped out");
        if (a->ids[i] < a->dropped[j])
            i++;
        else
            j++;
    }
    size_t rec = 0, want_ids_min = 1;
    switch (p->stage) {
    case FT_SA_STAGE_KEYS:
        if (p->n_ids)
            return bad("secagg", "keys with ids");
        if (p->num_samples == 0)
            return bad("secagg", "keys: zero samples");
        if (p->num_params == 0)
            return bad("secagg", "keys: N = 0");
        if ((rc = get_hash(&p->layout_hash, a->layout_hash, "secagg keys: layout hash")))
            return rc;
        if (p->records.len != FT_WIRE_SA_KEYS_LEN)
            return bad("secagg", "keys: public keys not 64 bytes");
        want_ids_min = 0;
        break;
    case FT_SA_STAGE_ROSTER:
        rec = FT_WIRE_SA_KEYS_LEN;
        want_ids_min = 2;
        if (p->threshold < 2 || p->threshold > p->n_ids)
            return bad("secagg", "roster: threshold outside [2, n]");
        break;
    case FT_SA_STAGE_SHARES:
    case FT_SA_STAGE_DELIVER: rec = FT_WIRE_SA_SHARE_LEN; break;
    case FT_SA_STAGE_MASKED:
        want_ids_min = 0;
        if (p->n_ids || p->records.len)
            return bad("secagg", "masked: ids or records");
        if ((rc = get_hash(&p->digest, a->digest, "secagg masked: digest")))
            return rc;
        return check_vector_len("secagg masked", m->payload_len, p->num_params, lim);
    case FT_SA_STAGE_UNMASK:
        if (p->records.len)
            return bad("secagg", "unmask: records");
        break;
    case FT_SA_STAGE_REVEAL: rec = FT_WIRE_SA_REVEAL_LEN; break;
    }
    if (p->n_ids < want_ids_min)
        return bad("secagg", "too few ids for the stage");
    if (p->stage != FT_SA_STAGE_KEYS && p->records.len != rec * p->n_ids)
        return ft_error_set(FT_EPROTO, "secagg %s: %zu record bytes for %zu ids (expected %zu)",
                            ft_sa_stage_name((int)p->stage), p->records.len, p->n_ids,
                            rec * p->n_ids);
    if (p->records.len) {
        a->records = ft_malloc(p->records.len);
        if (!a->records)
            return ft_error_set(FT_ENOMEM, "out of memory reading a secagg message");
        memcpy(a->records, p->records.data, p->records.len);
        a->records_len = p->records.len;
    }
    return m->payload_len ? bad("secagg", "unexpected payload") : FT_OK;
}

static int from_pb(const Fedtail__Envelope *env, const ft_wire_limits_t *lim, ft_msg_t *m)
{
    int rc;
    m->payload_len = env->payload_len;
    switch (env->body_case) {
    case FEDTAIL__ENVELOPE__BODY_HELLO: {
        const Fedtail__Hello *h = env->hello;
        m->type = FT_MSG_HELLO;
        m->u.hello.pid = h->pid;
        copy_str(m->u.hello.host, sizeof m->u.hello.host, h->host);
        m->u.hello.pool = h->pool;
        m->u.hello.threads = h->threads;
        if (!h->pool && h->n_clients == 0)
            return bad("hello", "neither a pool nor any client id");
        if (h->n_clients > lim->max_client_list)
            return bad("hello", "too many client ids");
        if (h->n_clients) {
            m->u.hello.clients = ft_malloc(h->n_clients * sizeof(uint32_t));
            if (!m->u.hello.clients)
                return ft_error_set(FT_ENOMEM, "out of memory reading a hello");
            memcpy(m->u.hello.clients, h->clients, h->n_clients * sizeof(uint32_t));
            m->u.hello.num_clients = h->n_clients;
        }
        if (m->payload_len)
            return bad("hello", "unexpected payload");
        return FT_OK;
    }
    case FEDTAIL__ENVELOPE__BODY_WELCOME: {
        const Fedtail__Welcome *w = env->welcome;
        m->type = FT_MSG_WELCOME;
        m->u.welcome.process_id = w->process_id;
        m->u.welcome.num_params = w->num_params;
        m->u.welcome.rounds = w->rounds;
        m->u.welcome.root_set = w->root_set;
        m->u.welcome.secagg_clip_norm = w->secagg_clip_norm;
        if (!(w->secagg_clip_norm >= 0.0f) || w->secagg_clip_norm > 3e38f)
            return bad("welcome", "secagg_clip_norm not a finite number >= 0");
        if ((rc = get_hash(&w->layout_hash, m->u.welcome.layout_hash, "welcome: layout hash")))
            return rc;
        if (w->num_params == 0)
            return bad("welcome", "N = 0");
        size_t clen = w->config_ini ? strlen(w->config_ini) : 0;
        if (clen > lim->max_config)
            return bad("welcome", "config text too long");
        m->u.welcome.config_ini = ft_strdup(w->config_ini ? w->config_ini : "");
        if (!m->u.welcome.config_ini)
            return ft_error_set(FT_ENOMEM, "out of memory reading a welcome");
        if (m->payload_len)
            return bad("welcome", "unexpected payload");
        return FT_OK;
    }
    case FEDTAIL__ENVELOPE__BODY_REQUEST:
        m->type = FT_MSG_REQUEST;
        m->u.request.process_id = env->request->process_id;
        return m->payload_len ? bad("request", "unexpected payload") : FT_OK;
    case FEDTAIL__ENVELOPE__BODY_TASK: {
        const Fedtail__Task *t = env->task;
        m->type = FT_MSG_TASK;
        m->u.task.round = t->round;
        m->u.task.client_id = t->client_id;
        m->u.task.attempt = t->attempt;
        m->u.task.lr = t->lr;
        m->u.task.attacker = t->attacker;
        m->u.task.has_model = t->has_model;
        m->u.task.num_params = t->num_params;
        m->u.task.round_samples = t->round_samples;
        m->u.task.round_attackers = t->round_attackers;
        if ((rc = get_hash(&t->model_digest, m->u.task.model_digest, "task: model digest")))
            return rc;
        if ((rc = get_attack_state(&t->attack_state, "task", &m->u.task.attack_state,
                                   &m->u.task.attack_state_n)))
            return rc;
        if (t->round == 0)
            return bad("task", "round 0");
        if (!(t->lr > 0.0f) || t->lr > FT_MAX_LR)
            return bad("task", "learning rate not a positive finite number");
        if (t->has_model)
            return check_vector_len("task", m->payload_len, t->num_params, lim);
        if (t->num_params == 0)
            return bad("task", "N = 0");
        return m->payload_len ? bad("task", "payload without has_model") : FT_OK;
    }
    case FEDTAIL__ENVELOPE__BODY_UPDATE: {
        const Fedtail__Update *u = env->update;
        m->type = FT_MSG_UPDATE;
        m->u.update.round = u->round;
        m->u.update.client_id = u->client_id;
        m->u.update.process_id = u->process_id;
        m->u.update.attempt = u->attempt;
        m->u.update.num_samples = u->num_samples;
        m->u.update.train_loss = u->train_loss;
        m->u.update.num_params = u->num_params;
        m->u.update.train_s = u->train_s;
        m->u.update.prepare_s = u->prepare_s;
        if ((rc = get_hash(&u->digest, m->u.update.digest, "update: digest")))
            return rc;
        if ((rc = get_hash(&u->layout_hash, m->u.update.layout_hash, "update: layout hash")))
            return rc;
        if ((rc = get_attack_state(&u->attack_state, "update", &m->u.update.attack_state,
                                   &m->u.update.attack_state_n)))
            return rc;
        if (u->round == 0)
            return bad("update", "round 0");
        if (u->num_samples == 0)
            return bad("update", "zero samples");
        return check_vector_len("update", m->payload_len, u->num_params, lim);
    }
    case FEDTAIL__ENVELOPE__BODY_HEARTBEAT:
        m->type = FT_MSG_HEARTBEAT;
        m->u.heartbeat.process_id = env->heartbeat->process_id;
        m->u.heartbeat.round = env->heartbeat->round;
        m->u.heartbeat.client_id = env->heartbeat->client_id;
        m->u.heartbeat.busy = env->heartbeat->busy;
        return m->payload_len ? bad("heartbeat", "unexpected payload") : FT_OK;
    case FEDTAIL__ENVELOPE__BODY_ERROR:
        m->type = FT_MSG_ERROR;
        m->u.error.code = env->error->code;
        copy_str(m->u.error.reason, sizeof m->u.error.reason, env->error->reason);
        m->u.error.round = env->error->round;
        m->u.error.client_id = env->error->client_id;
        return m->payload_len ? bad("error", "unexpected payload") : FT_OK;
    case FEDTAIL__ENVELOPE__BODY_SHUTDOWN:
        m->type = FT_MSG_SHUTDOWN;
        copy_str(m->u.shutdown.reason, sizeof m->u.shutdown.reason, env->shutdown->reason);
        return m->payload_len ? bad("shutdown", "unexpected payload") : FT_OK;
    case FEDTAIL__ENVELOPE__BODY_SECAGG: return secagg_from_pb(env->secagg, m, lim);
    default: return bad("envelope", "no message body");
    }
}

int ft_wire_unpack(const uint8_t *buf, size_t len, const ft_wire_limits_t *lim, ft_msg_t *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return ft_error_set(FT_EPROTO, "envelope: empty frame");
    if (len > lim->max_envelope)
        return ft_error_set(FT_EPROTO, "envelope: %zu bytes exceeds the %zu byte limit", len,
                            lim->max_envelope);
    Fedtail__Envelope *env = fedtail__envelope__unpack(&pb_allocator, len, buf);
    if (!env)
        return ft_error_set(FT_EPROTO, "envelope: not a valid protobuf message (%zu bytes)", len);
    int rc;
    if (env->version != FT_WIRE_VERSION) {
        rc = ft_error_set(FT_EPROTO, "envelope: protocol version %u, expected %d", env->version,
                          FT_WIRE_VERSION);
    } else if (env->payload_len > lim->max_payload) {
        rc = ft_error_set(FT_EPROTO, "envelope: payload of %llu bytes exceeds the %llu byte limit",
                          (unsigned long long)env->payload_len,
                          (unsigned long long)lim->max_payload);
    } else {
        out->version = env->version;
        rc = from_pb(env, lim, out);
    }
    fedtail__envelope__free_unpacked(env, &pb_allocator);
    if (rc != FT_OK)
        ft_msg_clear(out);
    return rc;
}

/* ---- weight vectors ------------------------------------------------------------- */

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

void ft_wire_put_floats(void *dst, const float *src, size_t n)
{
    if (host_is_little_endian()) {
        memcpy(dst, src, n * 4);
        return;
    }
    uint8_t *d = dst;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], 4);
        d[4 * i] = (uint8_t)u;
        d[4 * i + 1] = (uint8_t)(u >> 8);
        d[4 * i + 2] = (uint8_t)(u >> 16);
        d[4 * i + 3] = (uint8_t)(u >> 24);
    }
}

void ft_wire_get_floats(float *dst, const void *src, size_t n)
{
    if (host_is_little_endian()) {
        memcpy(dst, src, n * 4);
        return;
    }
    const uint8_t *s = src;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)s[4 * i] | (uint32_t)s[4 * i + 1] << 8 |
                     (uint32_t)s[4 * i + 2] << 16 | (uint32_t)s[4 * i + 3] << 24;
        memcpy(&dst[i], &u, 4);
    }
}

void ft_wire_digest_floats(const float *v, size_t n, uint8_t out[FT_WIRE_HASH_LEN])
{
    if (host_is_little_endian()) {
        ft_sha256(v, n * 4, out);
        return;
    }
    ft_sha256_ctx_t *ctx = ft_sha256_new();
    assert(ctx);
    uint8_t chunk[4096];
    for (size_t i = 0; i < n; i += 1024) {
        size_t k = n - i < 1024 ? n - i : 1024;
        ft_wire_put_floats(chunk, v + i, k);
        ft_sha256_update(ctx, chunk, k * 4);
    }
    ft_sha256_final(ctx, out);
    ft_sha256_destroy(&ctx);
}

int ft_wire_check_vector(const void *payload, size_t len, uint64_t expect_n,
                         const uint8_t digest[FT_WIRE_HASH_LEN])
{
    if (len != expect_n * 4)
        return ft_error_set(FT_EPROTO, "vector of %zu bytes, expected N = %llu (%llu bytes)", len,
                            (unsigned long long)expect_n, (unsigned long long)(expect_n * 4));
    uint8_t got[FT_WIRE_HASH_LEN];
    ft_sha256(payload, len, got);
    if (memcmp(got, digest, FT_WIRE_HASH_LEN) != 0) {
        char a[2 * FT_WIRE_HASH_LEN + 1], b[2 * FT_WIRE_HASH_LEN + 1];
        ft_sha256_hex(digest, a);
        ft_sha256_hex(got, b);
        return ft_error_set(FT_EDIGEST,
                            "vector digest mismatch: message says %.12s..., bytes hash to %.12s...",
                            a, b);
    }
    return FT_OK;
}
