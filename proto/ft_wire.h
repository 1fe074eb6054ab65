/* ft_wire: the fedtail protocol messages as plain C structs, and their checked
 * packing to and from protobuf-c bytes (proto/fedtail.proto).
 *
 * Only proto/ sees the generated *.pb-c.h: every other module works with ft_msg_t.
 * A message travels as one envelope frame, optionally followed by one payload frame
 * that holds a weight vector as raw little-endian float32 (payload_len = N * 4
 * bytes). Unpacking validates everything a message can say about itself — sizes,
 * protocol version, field lengths, payload length against N — so callers only check
 * what needs context (round, client id, layout hash, digest of the payload). */
#ifndef FT_WIRE_H
#define FT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define FT_WIRE_VERSION    1
#define FT_WIRE_HASH_LEN   32  /* SHA-256 digests and layout hashes */
#define FT_WIRE_HOST_LEN   64  /* longest host name kept from a Hello */
#define FT_WIRE_REASON_LEN 256 /* longest error reason kept */

typedef enum {
    FT_MSG_NONE = 0,
    FT_MSG_HELLO,     /* process -> coordinator: registration */
    FT_MSG_WELCOME,   /* coordinator -> process: config, layout */
    FT_MSG_REQUEST,   /* process -> coordinator: idle, give me a task */
    FT_MSG_TASK,      /* coordinator -> process: train client c in round t [+ model] */
    FT_MSG_UPDATE,    /* process -> coordinator: result + delta payload */
    FT_MSG_HEARTBEAT, /* both ways: liveness */
    FT_MSG_ERROR,     /* both ways: a message or task failed */
    FT_MSG_SHUTDOWN,  /* coordinator -> process: exit */
    FT_MSG_SECAGG,    /* both ways: a secure-aggregation stage (ft_msg_secagg_t) */
    FT_MSG_COUNT_,    /* number of types (not a type) */
} ft_msg_type_t;

typedef struct {
    uint32_t pid;                /* OS process id, for logs */
    char host[FT_WIRE_HOST_LEN]; /* host name, for logs */
    int pool;                    /* serves any client id */
    uint32_t *clients;           /* fixed client ids (owned; NULL when pool) */
    size_t num_clients;          /* entries in clients */
    uint32_t threads;            /* BLAS threads */
} ft_msg_hello_t;

typedef struct {
    uint32_t process_id;                   /* coordinator-assigned number */
    char *config_ini;                      /* resolved config INI text (owned) */
    uint8_t layout_hash[FT_WIRE_HASH_LEN]; /* model layout hash */
    uint64_t num_params;                   /* N */
    uint32_t rounds;                       /* rounds in the run */
    int root_set;                          /* the server holds a root set out of every
                                              client's data (scenario/ft_root_set.h) */
    float secagg_clip_norm;                /* secure aggregation: clients clip to this L2
                                              norm before masking (0: none) */
} ft_msg_welcome_t;

typedef struct {
    uint32_t process_id; /* sender */
} ft_msg_request_t;

typedef struct {
    uint32_t round;                         /* 1-based round */
    uint32_t client_id;                     /* virtual client */
    uint32_t attempt;                       /* retry number of the round */
    float lr;                               /* learning rate this round */
    int attacker;                           /* the client attacks this round */
    uint8_t model_digest[FT_WIRE_HASH_LEN]; /* SHA-256 of the global model bytes */
    int has_model;                          /* the model follows as payload */
    uint64_t num_params;                    /* N */
    uint64_t round_samples;                 /* N_round: summed sample counts of the round */
    uint32_t round_attackers;               /* attackers in the round */
    float *attack_state;                    /* attackers: the attack's state, or NULL
                                               (owned after unpack) */
    size_t attack_state_n;                  /* its floats */
} ft_msg_task_t;

typedef struct {
    uint32_t round;                        /* round of the task */
    uint32_t client_id;                    /* client of the task */
    uint32_t process_id;                   /* sender */
    uint32_t attempt;                      /* retry number of the task's round */
    uint64_t num_samples;                  /* local samples (FedAvg weight) */
    float train_loss;                      /* mean loss of the last local epoch */
    uint8_t digest[FT_WIRE_HASH_LEN];      /* SHA-256 of the delta payload */
    uint64_t num_params;                   /* N */
    uint8_t layout_hash[FT_WIRE_HASH_LEN]; /* layout of the delta */
    double train_s;                        /* local training seconds */
    double prepare_s;                      /* seconds before training */
    float *attack_state;                   /* attackers: the attack's new state, or NULL
                                              (owned after unpack) */
    size_t attack_state_n;                 /* its floats */
} ft_msg_update_t;

typedef struct {
    uint32_t process_id; /* sender (0: coordinator) */
    uint32_t round;      /* round being worked on (0: idle) */
    uint32_t client_id;  /* client being trained */
    int busy;            /* training now */
} ft_msg_heartbeat_t;

typedef struct {
    int32_t code;                    /* FT_E* code */
    char reason[FT_WIRE_REASON_LEN]; /* what went wrong */
    uint32_t round;                  /* round concerned (0: none) */
    uint32_t client_id;              /* client concerned */
} ft_msg_error_t;

typedef struct {
    char reason[64]; /* "complete", "interrupted", "failed" */
} ft_msg_shutdown_t;

/* Secure aggregation (docs/security.md): the stages of one round, per virtual
 * client. Odd stages go client -> coordinator, even ones coordinator -> client. */
/* The most floats an attack's state may hold on the wire (a 3x512x512 trigger). */
#define FT_WIRE_MAX_ATTACK_STATE (3u * 512u * 512u)
#define FT_WIRE_SECAGG_VERSION   1
#define FT_WIRE_SA_MAX_IDS       255 /* clients in one secure aggregation (Shamir, GF(2^8)) */
#define FT_WIRE_SA_KEYS_LEN      64  /* c_pk || s_pk */
#define FT_WIRE_SA_SHARE_LEN     112 /* nonce 24 || ciphertext 72 || tag 16 */
#define FT_WIRE_SA_REVEAL_LEN    32  /* one Shamir share of a 32-byte secret */
typedef enum {
    FT_SA_STAGE_KEYS = 1, /* c -> coord: trained; my two public keys (+ update facts) */
    FT_SA_STAGE_ROSTER,   /* coord -> c: U1 and their public keys, threshold t */
    FT_SA_STAGE_SHARES,   /* c -> coord: my encrypted shares, one per member of U1 */
    FT_SA_STAGE_DELIVER,  /* coord -> c: the shares U2 sent to me */
    FT_SA_STAGE_MASKED,   /* c -> coord: y = x + masks (payload: N uint32) */
    FT_SA_STAGE_UNMASK,   /* coord -> c: survivors U3 and dropped U2 \ U3 */
    FT_SA_STAGE_REVEAL,   /* c -> coord: shares of b (survivors) / of s_sk (dropped) */
    FT_SA_STAGE_COUNT_,   /* not a stage */
} ft_sa_stage_t;

typedef struct {
    uint32_t stage;                        /* ft_sa_stage_t */
    uint32_t round;                        /* round of the task */
    uint32_t attempt;                      /* its retry number */
    uint32_t client_id;                    /* virtual client sending / addressed */
    uint32_t process_id;                   /* sending process (client side) */
    uint32_t threshold;                    /* ROSTER: t */
    uint32_t *ids;                         /* client ids, ascending (owned after unpack) */
    size_t num_ids;                        /* entries in ids */
    uint32_t *dropped;                     /* UNMASK: dropped ids (owned after unpack) */
    size_t num_dropped;                    /* entries in dropped */
    uint8_t *records;                      /* num_ids (KEYS: 1) records (owned after unpack) */
    size_t records_len;                    /* bytes in records */
    uint64_t num_samples;                  /* KEYS: local samples */
    float train_loss;                      /* KEYS: local loss */
    double train_s;                        /* KEYS: local training seconds */
    double prepare_s;                      /* KEYS: seconds before training */
    uint64_t num_params;                   /* KEYS, MASKED: N */
    uint8_t layout_hash[FT_WIRE_HASH_LEN]; /* KEYS: layout of the update */
    uint8_t digest[FT_WIRE_HASH_LEN];      /* MASKED: SHA-256 of the payload */
} ft_msg_secagg_t;

/* "keys", "roster", ... ("invalid" out of range). */
const char *ft_sa_stage_name(int stage);

/* One protocol message. Which member of the union is valid is given by type. */
typedef struct {
    ft_msg_type_t type;   /* body kind */
    uint32_t version;     /* protocol version (set by pack; checked by unpack) */
    uint64_t payload_len; /* bytes of the payload frame that follows (0: none) */
    union {
        ft_msg_hello_t hello;         /* FT_MSG_HELLO */
        ft_msg_welcome_t welcome;     /* FT_MSG_WELCOME */
        ft_msg_request_t request;     /* FT_MSG_REQUEST */
        ft_msg_task_t task;           /* FT_MSG_TASK */
        ft_msg_update_t update;       /* FT_MSG_UPDATE */
        ft_msg_heartbeat_t heartbeat; /* FT_MSG_HEARTBEAT */
        ft_msg_error_t error;         /* FT_MSG_ERROR */
        ft_msg_shutdown_t shutdown;   /* FT_MSG_SHUTDOWN */
        ft_msg_secagg_t secagg;       /* FT_MSG_SECAGG */
    } u;                              /* the body */
} ft_msg_t;

/* Bounds applied while unpacking. */
typedef struct {
    size_t max_envelope;    /* largest envelope frame accepted, bytes */
    uint64_t max_payload;   /* largest payload frame accepted, bytes */
    size_t max_config;      /* longest config text accepted, bytes */
    size_t max_client_list; /* most fixed client ids in a Hello */
} ft_wire_limits_t;

/* Defaults: 16 MiB envelope, max_message_mb payload, 1 MiB config, 1M client ids. */
void ft_wire_limits_default(ft_wire_limits_t *lim, int max_message_mb);

/* "hello", "task", ... ("invalid" for out-of-range values). */
const char *ft_msg_type_name(int type);

/* Zeroes *m and sets its type. */
void ft_msg_init(ft_msg_t *m, ft_msg_type_t type);
/* Frees what *m owns (hello.clients, welcome.config_ini, the secagg arrays) and
 * zeroes it. Accepts an already-cleared message. A secagg message built for sending
 * may point into the caller's memory: it is not cleared. */
void ft_msg_clear(ft_msg_t *m);

/* Bytes ft_wire_pack will write for m (with version = FT_WIRE_VERSION). */
size_t ft_wire_packed_size(const ft_msg_t *m);
/* Packs m into out (at least ft_wire_packed_size(m) bytes); returns bytes written.
 * The version written is always FT_WIRE_VERSION. m->type must be a real type. */
size_t ft_wire_pack(const ft_msg_t *m, uint8_t *out);
/* Packs into a new buffer (*buf, caller frees with ft_free). FT_ENOMEM. */
int ft_wire_pack_alloc(const ft_msg_t *m, uint8_t **buf, size_t *len);

/* Unpacks and validates an envelope frame. The frame size is checked before any
 * decoding. On success *out owns its allocations (release with ft_msg_clear). On
 * error returns FT_EPROTO with a message giving the reason ("envelope of 20 MB
 * exceeds 16 MB", "protocol version 7, expected 1", "task: model payload of 12
 * bytes for N = 4", ...) and *out is cleared. */
int ft_wire_unpack(const uint8_t *buf, size_t len, const ft_wire_limits_t *lim, ft_msg_t *out);

/* Checks a weight-vector payload: len == expect_n * 4 (FT_EPROTO) and SHA-256 of
 * the bytes == digest (FT_EDIGEST). The message names what differed. */
int ft_wire_check_vector(const void *payload, size_t len, uint64_t expect_n,
                         const uint8_t digest[FT_WIRE_HASH_LEN]);

/* Host floats <-> little-endian float32 bytes (a copy; byte swap on big-endian). */
void ft_wire_put_floats(void *dst /* n*4 bytes */, const float *src /* n */, size_t n);
void ft_wire_get_floats(float *dst /* n */, const void *src /* n*4 bytes */, size_t n);
/* SHA-256 of the little-endian float32 encoding of v[0..n). */
void ft_wire_digest_floats(const float *v, size_t n, uint8_t out[FT_WIRE_HASH_LEN]);

#endif
