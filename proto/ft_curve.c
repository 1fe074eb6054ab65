/* ft_curve: CURVE key files (fedtail keygen), the client allow-list and the ZAP
 * handler (ZeroMQ RFC 27) that enforces it.
 *
 * Key files are checked strictly: a secret key that others could read is refused
 * (like ssh), a malformed key is an error naming the file, and keygen never
 * overwrites or briefly exposes a secret. The ZAP handler runs on its own thread
 * with a REP socket bound to inproc://zeromq.zap.01; a PAIR pipe tells it to stop. */
#include "ft_curve.h"

#include "ft_alloc.h"
#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_log.h"

#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* Longest key file accepted: the key, a newline and some slack for white space. */
#define KEY_FILE_MAX 256

int ft_curve_available(void)
{
    return zmq_has("curve");
}

int ft_curve_check_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len >= FT_CURVE_NAME_MAX)
        return ft_error_set(FT_EINVAL, "key name '%s': must have 1 to %d characters", name,
                            FT_CURVE_NAME_MAX - 1);
    if (name[0] == '.')
        return ft_error_set(FT_EINVAL, "key name '%s': must not start with '.'", name);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return ft_error_set(FT_EINVAL, "key name '%s': only letters, digits, '.', '_', '-'",
                                name);
    }
    return FT_OK;
}

/* ---- Z85 ---------------------------------------------------------------------- */

/* The Z85 alphabet (ZeroMQ RFC 32). */
static const char z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                ".-:+=^!/*?&<>()[]{}@%$#";

int ft_curve_decode(const char *text, size_t len, uint8_t key[FT_CURVE_KEY_LEN], const char *what)
{
    if (len != FT_CURVE_Z85_LEN)
        return ft_error_set(FT_ECRYPTO, "%s: key of %zu characters, expected %d (Z85)", what, len,
                            FT_CURVE_Z85_LEN);
    char z[FT_CURVE_Z85_LEN + 1];
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0' || !strchr(z85_chars, text[i]))
            return ft_error_set(FT_ECRYPTO, "%s: character %zu (0x%02x) is not Z85", what, i + 1,
                                (unsigned char)text[i]);
        z[i] = text[i];
    }
    z[len] = '\0';
    if (!zmq_z85_decode(key, z))
        return ft_error_set(FT_ECRYPTO, "%s: not a valid Z85 key (a group overflows 32 bits)",
                            what);
    return FT_OK;
}

void ft_curve_encode(const uint8_t key[FT_CURVE_KEY_LEN], char out[FT_CURVE_Z85_LEN + 1])
{
    char *ok = zmq_z85_encode(out, key, FT_CURVE_KEY_LEN);
    assert(ok); /* only fails for sizes not a multiple of 4 */
    (void)ok;
}

/* ---- key files ----------------------------------------------------------------- */

/* Reads a key file from an open descriptor and decodes it. Closes fd. */
static int read_key_fd(int fd, const char *path, uint8_t key[FT_CURVE_KEY_LEN])
{
    char buf[KEY_FILE_MAX + 1];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return ft_error_set(FT_EIO, "%s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == sizeof buf - 1) {
            close(fd);
            return ft_error_set(FT_ECRYPTO, "%s: not a key file (longer than %d bytes)", path,
                                KEY_FILE_MAX - 1);
        }
    }
    close(fd);
    buf[len] = '\0';
    /* The key is the first line; only white space may follow it. */
    size_t klen = 0;
    while (klen < len && buf[klen] != '\n' && buf[klen] != '\r')
        klen++;
    for (size_t i = klen; i < len; i++)
        if (buf[i] != '\n' && buf[i] != '\r' && buf[i] != ' ' && buf[i] != '\t')
            return ft_error_set(FT_ECRYPTO, "%s: unexpected text after the key", path);
    int rc = ft_curve_decode(buf, klen, key, path);
    memset(buf, 0, sizeof buf); /* the text may be a secret key */
    return rc;
}

static int open_key(const char *path, int *fd_out, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ft_error_set(FT_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        return ft_error_set(FT_EIO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return ft_error_set(FT_ECRYPTO, "%s: not a regular file", path);
    }
    *fd_out = fd;
    return FT_OK;
}

int ft_curve_load_public(const char *path, uint8_t key[FT_CURVE_KEY_LEN])
{
    int fd = -1;
    struct stat st;
    int rc = open_key(path, &fd, &st);
    if (rc != FT_OK)
        return rc;
    return read_key_fd(fd, path, key);
}

int ft_curve_load_secret(const char *path, uint8_t key[FT_CURVE_KEY_LEN])
{
    int fd = -1;
    struct stat st;
    int rc = open_key(path, &fd, &st);
    if (rc != FT_OK)
        return rc;
    /* Checked on the descriptor we read from, so the file cannot change in between. */
    if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
        close(fd);
        return ft_error_set(FT_ECRYPTO,
                            "%s has mode %04o: a secret key must not be readable or writable by "
                            "group or others (chmod 600 %s)",
                            path, (unsigned)(st.st_mode & 07777), path);
    }
    rc = read_key_fd(fd, path, key);
    return rc;
}

int ft_curve_public_of(const uint8_t secret[FT_CURVE_KEY_LEN], uint8_t pub[FT_CURVE_KEY_LEN])
{
    char zs[FT_CURVE_Z85_LEN + 1], zp[FT_CURVE_Z85_LEN + 1];
    ft_curve_encode(secret, zs);
    int rc = zmq_curve_public(zp, zs);
    memset(zs, 0, sizeof zs);
    if (rc != 0)
        return ft_error_set(FT_ECRYPTO, "cannot derive a public key: %s", zmq_strerror(errno));
    return ft_curve_decode(zp, strlen(zp), pub, "derived public key");
}

int ft_curve_load_keypair(const char *public_path, const char *secret_path,
                          uint8_t pub[FT_CURVE_KEY_LEN], uint8_t secret[FT_CURVE_KEY_LEN])
{
    uint8_t derived[FT_CURVE_KEY_LEN];
    int rc = ft_curve_load_secret(secret_path, secret);
    if (rc == FT_OK)
        rc = ft_curve_public_of(secret, derived);
    if (rc == FT_OK && public_path && public_path[0]) {
        rc = ft_curve_load_public(public_path, pub);
        if (rc == FT_OK && memcmp(pub, derived, FT_CURVE_KEY_LEN) != 0)
            rc = ft_error_set(FT_ECRYPTO, "%s is not the public key of %s", public_path,
                              secret_path);
    } else if (rc == FT_OK) {
        memcpy(pub, derived, FT_CURVE_KEY_LEN);
    }
    if (rc != FT_OK)
        memset(secret, 0, FT_CURVE_KEY_LEN);
    return rc;
}

/* Creates path with O_EXCL and the given mode and writes text to it. On failure
 * removes what it created. */
static int write_new_file(const char *path, mode_t mode, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            return ft_error_set(FT_EIO, "%s already exists: not overwriting a key", path);
        return ft_error_set(FT_EIO, "%s: %s", path, strerror(errno));
    }
    size_t len = strlen(text), done = 0;
    int err = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            break;
        }
        done += (size_t)n;
    }
    if (!err && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (err) {
        unlink(path);
        return ft_error_set(FT_EIO, "%s: %s", path, strerror(err));
    }
    return FT_OK;
}

int ft_curve_keygen(const char *dir, const char *name, char *pub_path, char *secret_path,
                    size_t path_len)
{
    int rc = ft_curve_check_name(name);
    if (rc != FT_OK)
        return rc;
    if (!ft_curve_available())
        return ft_error_set(FT_EUNSUPPORTED, "this libzmq was built without CURVE (libsodium)");
    char pub_file[4096], sec_file[4096];
    if ((size_t)snprintf(pub_file, sizeof pub_file, "%s/%s.pub", dir, name) >= sizeof pub_file ||
        (size_t)snprintf(sec_file, sizeof sec_file, "%s/%s.secret", dir, name) >= sizeof sec_file)
        return ft_error_set(FT_EINVAL, "%s: directory name too long", dir);
    if (!ft_path_exists(dir)) {
        if ((rc = ft_mkdir_p(dir)) != FT_OK)
            return rc;
        chmod(dir, 0700); /* a fresh key directory is private; an existing one is kept */
    }
    if (ft_path_exists(pub_file))
        return ft_error_set(FT_EIO, "%s already exists: not overwriting a key", pub_file);

    char zpub[FT_CURVE_Z85_LEN + 2], zsec[FT_CURVE_Z85_LEN + 2];
    if (zmq_curve_keypair(zpub, zsec) != 0)
        return ft_error_set(FT_ECRYPTO, "zmq_curve_keypair: %s", zmq_strerror(errno));
    strcat(zpub, "\n");
    strcat(zsec, "\n");
    rc = write_new_file(sec_file, 0600, zsec);
    memset(zsec, 0, sizeof zsec);
    if (rc != FT_OK)
        return rc;
    rc = write_new_file(pub_file, 0644, zpub);
    if (rc != FT_OK) {
        unlink(sec_file);
        return rc;
    }
    if (pub_path)
        snprintf(pub_path, path_len, "%s", pub_file);
    if (secret_path)
        snprintf(secret_path, path_len, "%s", sec_file);
    return FT_OK;
}

/* ---- key sets ------------------------------------------------------------------- */

typedef struct {
    uint8_t key[FT_CURVE_KEY_LEN]; /* public key */
    char name[FT_CURVE_NAME_MAX];  /* file stem it came from */
} key_entry_t;

struct ft_key_set {
    key_entry_t *keys; /* entries, in insertion order */
    size_t count;      /* entries used */
    size_t cap;        /* entries allocated */
};

ft_key_set_t *ft_key_set_new(void)
{
    return ft_calloc(1, sizeof(ft_key_set_t));
}

void ft_key_set_destroy(ft_key_set_t **set_p)
{
    if (!set_p || !*set_p)
        return;
    ft_free((*set_p)->keys);
    ft_free(*set_p);
    *set_p = NULL;
}

int ft_key_set_add_all(ft_key_set_t *dst, const ft_key_set_t *src)
{
    for (size_t i = 0; i < src->count; i++) {
        int rc = ft_key_set_add(dst, src->keys[i].key, src->keys[i].name);
        if (rc != FT_OK)
            return rc;
    }
    return FT_OK;
}

size_t ft_key_set_count(const ft_key_set_t *set)
{
    return set->count;
}

const char *ft_key_set_find(const ft_key_set_t *set, const uint8_t key[FT_CURVE_KEY_LEN])
{
    for (size_t i = 0; i < set->count; i++)
        if (memcmp(set->keys[i].key, key, FT_CURVE_KEY_LEN) == 0)
            return set->keys[i].name;
    return NULL;
}

int ft_key_set_add(ft_key_set_t *set, const uint8_t key[FT_CURVE_KEY_LEN], const char *name)
{
    if (ft_key_set_find(set, key))
        return FT_OK;
    if (set->count == set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 16;
        key_entry_t *grown = ft_realloc(set->keys, cap * sizeof *grown);
        if (!grown)
            return ft_error_set(FT_ENOMEM, "out of memory adding key %s", name);
        set->keys = grown;
        set->cap = cap;
    }
    key_entry_t *e = &set->keys[set->count++];
    memcpy(e->key, key, FT_CURVE_KEY_LEN);
    snprintf(e->name, sizeof e->name, "%s", name);
    return FT_OK;
}

static int is_pub_file(const struct dirent *d)
{
    size_t len = strlen(d->d_name);
    return d->d_name[0] != '.' && len > 4 && strcmp(d->d_name + len - 4, ".pub") == 0;
}

int ft_key_set_load_dir(const char *dir, ft_key_set_t **out)
{
    *out = NULL;
    struct dirent **list = NULL;
    int n = scandir(dir, &list, is_pub_file, alphasort);
    if (n < 0)
        return ft_error_set(FT_EIO, "authorized clients directory %s: %s", dir, strerror(errno));
    ft_key_set_t *set = ft_key_set_new();
    int rc = set ? FT_OK : ft_error_set(FT_ENOMEM, "out of memory reading %s", dir);
    for (int i = 0; i < n; i++) {
        if (rc == FT_OK) {
            char path[4096], name[FT_CURVE_NAME_MAX];
            uint8_t key[FT_CURVE_KEY_LEN];
            size_t stem = strlen(list[i]->d_name) - 4;
            snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
            snprintf(name, sizeof name, "%.*s", (int)stem, list[i]->d_name);
            rc = ft_curve_load_public(path, key);
            if (rc == FT_OK)
                rc = ft_key_set_add(set, key, name);
        }
        free(list[i]); /* scandir allocates with malloc */
    }
    free(list);
    if (rc == FT_OK && n == 0)
        rc = ft_error_set(FT_ENOTFOUND, "authorized clients directory %s has no *.pub key files",
                          dir);
    if (rc != FT_OK) {
        ft_key_set_destroy(&set);
        return rc;
    }
    *out = set;
    return FT_OK;
}

/* ---- sockets ------------------------------------------------------------------- */

static int sockopt(void *sock, int opt, const void *val, size_t len, const char *what)
{
    if (zmq_setsockopt(sock, opt, val, len) != 0)
        return ft_error_set(FT_ENET, "setting %s: %s", what, zmq_strerror(errno));
    return FT_OK;
}

int ft_curve_server_setup(void *sock, const uint8_t secret[FT_CURVE_KEY_LEN])
{
    int one = 1, rc;
    if ((rc = sockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one, "ZMQ_CURVE_SERVER")) ||
        (rc =
             sockopt(sock, ZMQ_CURVE_SECRETKEY, secret, FT_CURVE_KEY_LEN, "ZMQ_CURVE_SECRETKEY")) ||
        (rc =
             sockopt(sock, ZMQ_ZAP_DOMAIN, FT_ZAP_DOMAIN, strlen(FT_ZAP_DOMAIN), "ZMQ_ZAP_DOMAIN")))
        return rc;
    return FT_OK;
}

int ft_curve_client_setup(void *sock, const uint8_t server_pub[FT_CURVE_KEY_LEN],
                          const uint8_t pub[FT_CURVE_KEY_LEN],
                          const uint8_t secret[FT_CURVE_KEY_LEN])
{
    int rc;
    if ((rc = sockopt(sock, ZMQ_CURVE_SERVERKEY, server_pub, FT_CURVE_KEY_LEN,
                      "ZMQ_CURVE_SERVERKEY")) ||
        (rc = sockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, FT_CURVE_KEY_LEN, "ZMQ_CURVE_PUBLICKEY")) ||
        (rc = sockopt(sock, ZMQ_CURVE_SECRETKEY, secret, FT_CURVE_KEY_LEN, "ZMQ_CURVE_SECRETKEY")))
        return rc;
    return FT_OK;
}

/* ---- ZAP handler ------------------------------------------------------------------ */

/* Frames of a ZAP request (RFC 27) we read; CURVE sends one credential frame. */
enum {
    ZAP_VERSION,
    ZAP_ID,
    ZAP_DOMAIN_F,
    ZAP_ADDRESS,
    ZAP_IDENTITY,
    ZAP_MECHANISM,
    ZAP_CRED,
    ZAP_FRAMES
};

#define REFUSAL_QUEUE 64 /* refusals kept until the owner collects them */
#define WATCH_CONNS   64 /* accepted connections whose peer address is remembered */

/* A connection accepted on the watched socket: its descriptor and peer address. */
typedef struct {
    int fd;        /* descriptor (-1: free entry) */
    char addr[64]; /* "ip:port" from getpeername at accept time */
} watch_conn_t;

struct ft_zap {
    void *ctx;                             /* the context it serves */
    pthread_mutex_t lock;                  /* guards queue, head, queued, dropped */
    ft_zap_refusal_t queue[REFUSAL_QUEUE]; /* refusals not yet collected (a ring) */
    size_t head;                           /* oldest entry of queue */
    size_t queued;                         /* entries in queue */
    unsigned long dropped;                 /* refusals that did not fit the queue */
    void *mon;                       /* PAIR: monitor events of the watched socket (thread's) */
    watch_conn_t conns[WATCH_CONNS]; /* accepted connections (thread's) */
    char pending[96];                /* a handshake failure waiting for its disconnect ("" none) */
    void *rep;             /* REP socket on FT_ZAP_ENDPOINT (owned by the thread once started) */
    void *ctl_send;        /* PAIR: ft_zap_stop sends here (caller's thread) */
    void *ctl_recv;        /* PAIR: the thread listens here */
    ft_key_set_t *allowed; /* copy of the allow-list */
    pthread_t thread;      /* the handler thread */
    atomic_ulong accepted; /* counters, see ft_zap_stats_t */
    atomic_ulong refused;  /* ... */
};

/* Receives one multi-frame request into frames[0..ZAP_FRAMES) (extra frames are
 * dropped). Returns the number of frames, or -1 on socket failure. */
static int zap_recv(void *rep, zmq_msg_t *frames)
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, rep, 0) < 0) {
            zmq_msg_close(&part);
            for (int i = 0; i < n && i < ZAP_FRAMES; i++)
                zmq_msg_close(&frames[i]);
            return -1;
        }
        more = zmq_msg_more(&part);
        if (n < ZAP_FRAMES)
            frames[n] = part; /* moves ownership */
        else
            zmq_msg_close(&part);
        n++;
    }
    return n;
}

static int frame_is(zmq_msg_t *f, const char *text)
{
    size_t len = strlen(text);
    return zmq_msg_size(f) == len && memcmp(zmq_msg_data(f), text, len) == 0;
}

static void frame_str(zmq_msg_t *f, char *out, size_t cap)
{
    size_t len = zmq_msg_size(f) < cap - 1 ? zmq_msg_size(f) : cap - 1;
    memcpy(out, zmq_msg_data(f), len);
    out[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
            out[i] = '?';
}

static void zap_reply(void *rep, zmq_msg_t *request_id, const char *status, const char *text,
                      const char *user)
{
    zmq_send(rep, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(rep, zmq_msg_data(request_id), zmq_msg_size(request_id), ZMQ_SNDMORE);
    zmq_send(rep, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(rep, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(rep, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(rep, "", 0, 0); /* no metadata */
}

/* Queues a refusal for ft_zap_next_refusal (oldest kept when full). */
static void push_refusal(ft_zap_t *z, const char *address, const char *mechanism, const char *key,
                         const char *reason)
{
    pthread_mutex_lock(&z->lock);
    if (z->queued == REFUSAL_QUEUE) {
        z->dropped++;
    } else {
        ft_zap_refusal_t *r = &z->queue[(z->head + z->queued) % REFUSAL_QUEUE];
        snprintf(r->address, sizeof r->address, "%s", address);
        snprintf(r->mechanism, sizeof r->mechanism, "%s", mechanism);
        snprintf(r->key, sizeof r->key, "%s", key);
        snprintf(r->reason, sizeof r->reason, "%s", reason);
        z->queued++;
    }
    pthread_mutex_unlock(&z->lock);
}

int ft_zap_next_refusal(ft_zap_t *z, ft_zap_refusal_t *out)
{
    if (!z)
        return 0;
    pthread_mutex_lock(&z->lock);
    int got = z->queued > 0;
    if (got) {
        *out = z->queue[z->head];
        z->head = (z->head + 1) % REFUSAL_QUEUE;
        z->queued--;
    }
    pthread_mutex_unlock(&z->lock);
    return got;
}

/* Answers one request. A request too short to carry a request id still needs a
 * reply (REP expects one), so it is answered with status 500. */
static void zap_answer(ft_zap_t *z, zmq_msg_t *f, int n)
{
    char address[128] = "?", mechanism[32] = "?";
    if (n > ZAP_ADDRESS)
        frame_str(&f[ZAP_ADDRESS], address, sizeof address);
    if (n > ZAP_MECHANISM)
        frame_str(&f[ZAP_MECHANISM], mechanism, sizeof mechanism);
    if (n < ZAP_MECHANISM + 1 || !frame_is(&f[ZAP_VERSION], "1.0")) {
        atomic_fetch_add(&z->refused, 1);
        FT_LOG(FT_LOG_WARN, "ZAP: malformed request from %s refused", address);
        push_refusal(z, address, mechanism, "", "malformed ZAP request");
        zmq_msg_t empty;
        zmq_msg_init(&empty);
        zap_reply(z->rep, n > ZAP_ID ? &f[ZAP_ID] : &empty, "500", "malformed request", "");
        zmq_msg_close(&empty);
        return;
    }
    if (!frame_is(&f[ZAP_MECHANISM], "CURVE")) {
        atomic_fetch_add(&z->refused, 1);
        FT_LOG(FT_LOG_WARN, "ZAP: refused %s connection from %s (CURVE required)", mechanism,
               address);
        push_refusal(z, address, mechanism, "", "CURVE required");
        zap_reply(z->rep, &f[ZAP_ID], "400", "CURVE required", "");
        return;
    }
    if (n != ZAP_CRED + 1 || zmq_msg_size(&f[ZAP_CRED]) != FT_CURVE_KEY_LEN) {
        atomic_fetch_add(&z->refused, 1);
        FT_LOG(FT_LOG_WARN, "ZAP: refused CURVE connection from %s (malformed credentials)",
               address);
        push_refusal(z, address, mechanism, "", "malformed credentials");
        zap_reply(z->rep, &f[ZAP_ID], "400", "malformed credentials", "");
        return;
    }
    const uint8_t *key = zmq_msg_data(&f[ZAP_CRED]);
    const char *name = ft_key_set_find(z->allowed, key);
    if (!name) {
        char z85[FT_CURVE_Z85_LEN + 1];
        ft_curve_encode(key, z85);
        atomic_fetch_add(&z->refused, 1);
        FT_LOG(FT_LOG_WARN, "ZAP: refused unknown client key %s from %s", z85, address);
        push_refusal(z, address, mechanism, z85, "client key not authorized");
        zap_reply(z->rep, &f[ZAP_ID], "400", "client key not authorized", "");
        return;
    }
    atomic_fetch_add(&z->accepted, 1);
    FT_LOG(FT_LOG_DEBUG, "ZAP: accepted client key '%s' from %s", name, address);
    zap_reply(z->rep, &f[ZAP_ID], "200", "OK", name);
}

/* "ip:port" of a connected socket, or "unknown" (it may already be closed). */
static void peer_address(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "";
    snprintf(out, cap, "unknown");
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(out, cap, "%s:%u", host, (unsigned)ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, (unsigned)ntohs(a->sin6_port));
    } else if (ss.ss_family == AF_UNIX) {
        snprintf(out, cap, "local (ipc)");
    }
}

/* One event of the watched socket's monitor (libzmq v1 format: u16 event + u32
 * value, then the endpoint). A handshake that fails before ZAP is asked (a
 * plaintext client, a wrong server key) is reported when its connection closes,
 * with the peer address remembered at accept time. */
static void watch_event(ft_zap_t *z)
{
    zmq_msg_t head, addr;
    zmq_msg_init(&head);
    zmq_msg_init(&addr);
    if (zmq_msg_recv(&head, z->mon, 0) < 0 || !zmq_msg_more(&head) ||
        zmq_msg_recv(&addr, z->mon, 0) < 0 || zmq_msg_size(&head) < 6) {
        zmq_msg_close(&head);
        zmq_msg_close(&addr);
        return;
    }
    uint16_t event;
    uint32_t value;
    memcpy(&event, zmq_msg_data(&head), 2);
    memcpy(&value, (uint8_t *)zmq_msg_data(&head) + 2, 4);
    zmq_msg_close(&head);
    zmq_msg_close(&addr);
    if (event == ZMQ_EVENT_ACCEPTED) {
        size_t slot = (size_t)value % WATCH_CONNS;
        z->conns[slot].fd = (int)value;
        peer_address((int)value, z->conns[slot].addr, sizeof z->conns[slot].addr);
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
            snprintf(z->pending, sizeof z->pending,
                     "security mechanism mismatch (a plaintext client?)");
        else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
            snprintf(z->pending, sizeof z->pending,
                     "CURVE handshake failed (wrong server public key?)");
        else
            snprintf(z->pending, sizeof z->pending, "handshake failed (protocol error 0x%x)",
                     (unsigned)value);
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        snprintf(z->pending, sizeof z->pending,
                 "handshake failed (the peer broke it off: plaintext, or another server key?)");
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        size_t slot = (size_t)value % WATCH_CONNS;
        const char *where = z->conns[slot].fd == (int)value ? z->conns[slot].addr : "unknown";
        if (z->pending[0]) {
            FT_LOG(FT_LOG_WARN, "refused connection from %s: %s", where, z->pending);
            push_refusal(z, where, "", "", z->pending);
            z->pending[0] = '\0';
        }
        if (z->conns[slot].fd == (int)value)
            z->conns[slot].fd = -1;
    }
}

/* A control message: "" stops the thread (returns 1); "watch ENDPOINT" connects
 * the monitor PAIR to ENDPOINT and answers "ok" or an error text. */
static int control(ft_zap_t *z)
{
    char buf[256];
    int n = zmq_recv(z->ctl_recv, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 1;
    buf[n < (int)sizeof buf - 1 ? n : (int)sizeof buf - 1] = '\0';
    if (strncmp(buf, "watch ", 6) != 0 || z->mon) {
        zmq_send(z->ctl_recv, "bad request", 11, 0);
        return 0;
    }
    z->mon = zmq_socket(z->ctx, ZMQ_PAIR);
    if (!z->mon || zmq_connect(z->mon, buf + 6) != 0) {
        const char *why = zmq_strerror(errno);
        if (z->mon)
            zmq_close(z->mon);
        z->mon = NULL;
        zmq_send(z->ctl_recv, why, strlen(why), 0);
        return 0;
    }
    zmq_send(z->ctl_recv, "ok", 2, 0);
    return 0;
}

static void *zap_main(void *arg)
{
    ft_zap_t *z = arg;
    for (;;) {
        zmq_pollitem_t items[3] = {{z->rep, 0, ZMQ_POLLIN, 0},
                                   {z->ctl_recv, 0, ZMQ_POLLIN, 0},
                                   {z->mon, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, z->mon ? 3 : 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            FT_LOG(FT_LOG_ERROR, "ZAP: poll failed: %s", zmq_strerror(errno));
            break;
        }
        if ((items[1].revents & ZMQ_POLLIN) && control(z))
            break;
        if (z->mon && (items[2].revents & ZMQ_POLLIN))
            watch_event(z);
        if (items[0].revents & ZMQ_POLLIN) {
            zmq_msg_t frames[ZAP_FRAMES];
            int n = zap_recv(z->rep, frames);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == ETERM)
                    break;
                FT_LOG(FT_LOG_ERROR, "ZAP: receive failed: %s", zmq_strerror(errno));
                continue;
            }
            zap_answer(z, frames, n);
            for (int i = 0; i < n && i < ZAP_FRAMES; i++)
                zmq_msg_close(&frames[i]);
        }
    }
    /* The sockets were created by the starting thread; this thread has used them
     * since (with the barrier of pthread_create between) and closes them. */
    int zero = 0;
    zmq_setsockopt(z->rep, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(z->rep);
    zmq_close(z->ctl_recv);
    if (z->mon) {
        /* Read what is left (the events of closing the watched socket): a monitor
         * message left queued at shutdown is leaked by libzmq 4.3. */
        zmq_msg_t m;
        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, z->mon, ZMQ_DONTWAIT) >= 0)
            ;
        zmq_msg_close(&m);
        zmq_setsockopt(z->mon, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(z->mon);
    }
    z->rep = z->ctl_recv = z->mon = NULL;
    return NULL;
}

static void zap_free(ft_zap_t *z)
{
    int zero = 0;
    void *socks[3] = {z->rep, z->ctl_send, z->ctl_recv};
    for (int i = 0; i < 3; i++)
        if (socks[i]) {
            zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
            zmq_close(socks[i]);
        }
    ft_key_set_destroy(&z->allowed);
    pthread_mutex_destroy(&z->lock);
    ft_free(z);
}

int ft_zap_start(void *zmq_ctx, const ft_key_set_t *allowed, ft_zap_t **out)
{
    *out = NULL;
    ft_zap_t *z = ft_calloc(1, sizeof *z);
    if (!z)
        return ft_error_set(FT_ENOMEM, "out of memory starting the ZAP handler");
    z->ctx = zmq_ctx;
    pthread_mutex_init(&z->lock, NULL);
    for (size_t i = 0; i < WATCH_CONNS; i++)
        z->conns[i].fd = -1;
    atomic_init(&z->accepted, 0);
    atomic_init(&z->refused, 0);
    int rc = FT_OK;
    z->allowed = ft_key_set_new();
    if (!z->allowed) {
        rc = ft_error_set(FT_ENOMEM, "out of memory starting the ZAP handler");
        goto fail;
    }
    for (size_t i = 0; i < allowed->count && rc == FT_OK; i++)
        rc = ft_key_set_add(z->allowed, allowed->keys[i].key, allowed->keys[i].name);
    if (rc != FT_OK)
        goto fail;

    char ctl[64];
    snprintf(ctl, sizeof ctl, "inproc://fedtail-zap-ctl-%p", (void *)z);
    z->rep = zmq_socket(zmq_ctx, ZMQ_REP);
    z->ctl_recv = zmq_socket(zmq_ctx, ZMQ_PAIR);
    z->ctl_send = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (!z->rep || !z->ctl_recv || !z->ctl_send) {
        rc = ft_error_set(FT_ENET, "ZAP handler sockets: %s", zmq_strerror(errno));
        goto fail;
    }
    if (zmq_bind(z->rep, FT_ZAP_ENDPOINT) != 0) {
        rc = ft_error_set(FT_ENET, "binding %s: %s (is another ZAP handler running?)",
                          FT_ZAP_ENDPOINT, zmq_strerror(errno));
        goto fail;
    }
    if (zmq_bind(z->ctl_recv, ctl) != 0 || zmq_connect(z->ctl_send, ctl) != 0) {
        rc = ft_error_set(FT_ENET, "ZAP control pipe: %s", zmq_strerror(errno));
        goto fail;
    }
    int e = pthread_create(&z->thread, NULL, zap_main, z);
    if (e != 0) {
        rc = ft_error_set(FT_ESTATE, "cannot start the ZAP thread: %s", strerror(e));
        goto fail;
    }
    FT_LOG(FT_LOG_INFO, "ZAP: CURVE handler running with %zu authorized client keys",
           z->allowed->count);
    *out = z;
    return FT_OK;
fail:
    zap_free(z);
    return rc;
}

void ft_zap_stats(ft_zap_t *zap, ft_zap_stats_t *stats)
{
    stats->accepted = atomic_load(&zap->accepted);
    stats->refused = atomic_load(&zap->refused);
}

int ft_zap_watch(ft_zap_t *z, void *server_sock)
{
    char ep[64], reply[128];
    snprintf(ep, sizeof ep, "inproc://fedtail-zap-mon-%p", (void *)z);
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(server_sock, ep, events) != 0)
        return ft_error_set(FT_ENET, "monitoring the server socket: %s", zmq_strerror(errno));
    char msg[80];
    int n = snprintf(msg, sizeof msg, "watch %s", ep);
    if (zmq_send(z->ctl_send, msg, (size_t)n, 0) < 0)
        return ft_error_set(FT_ENET, "ZAP control pipe: %s", zmq_strerror(errno));
    int got = zmq_recv(z->ctl_send, reply, sizeof reply - 1, 0);
    if (got < 0)
        return ft_error_set(FT_ENET, "ZAP control pipe: %s", zmq_strerror(errno));
    reply[got < (int)sizeof reply - 1 ? got : (int)sizeof reply - 1] = '\0';
    if (strcmp(reply, "ok") != 0) {
        zmq_socket_monitor(server_sock, NULL, 0);
        return ft_error_set(FT_ENET, "watching the server socket: %s", reply);
    }
    return FT_OK;
}

void ft_zap_stop(ft_zap_t **zap_p)
{
    if (!zap_p || !*zap_p)
        return;
    ft_zap_t *z = *zap_p;
    zmq_send(z->ctl_send, "", 0, 0);
    pthread_join(z->thread, NULL);
    zap_free(z); /* the thread closed rep and ctl_recv and nulled them */
    *zap_p = NULL;
}
