/* Tests for proto/ft_curve: CURVE key files (keygen, load, permissions, malformed
 * keys), the authorized-clients directory, and the ZAP handler with real ZeroMQ
 * sockets on loopback (an allowed CURVE client, an unknown one, a plaintext one).
 * Golden keys are the keypairs printed in the libzmq zmq_curve(7) manual page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "ft_alloc.h"
#include "ft_curve.h"
#include "ft_error.h"
#include "ft_key_set.h"
#include "ft_log.h"
#include "ft_test_tmpdir.h"
#include "ft_zap.h"

/* zmq_curve(7): a client and a server keypair (Z85). */
static const char *const client_pub_z = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
static const char *const client_sec_z = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
static const char *const server_pub_z = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
static const char *const server_sec_z = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

static char tmp[FT_TEST_TMPDIR_MAX]; /* per-test scratch directory */

static int setup(void **state)
{
    (void)state;
    assert_int_equal(ft_test_tmpdir_make(tmp, sizeof tmp, "curve"), 0);
    umask(022);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(ft_test_tmpdir_remove(tmp), 0);
    return 0;
}

static void path_of(char *out, size_t cap, const char *name)
{
    ft_test_tmpdir_path(out, cap, tmp, name);
}

static void write_text(const char *name, const char *text, mode_t mode)
{
    char path[512];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void decode(const char *z, uint8_t key[FT_CURVE_KEY_LEN])
{
    assert_non_null(zmq_z85_decode(key, z));
}

static void expect_error(int rc, int code, const char *needle)
{
    assert_int_equal(rc, code);
    if (needle && !strstr(ft_error_message(), needle))
        fail_msg("error '%s' lacks '%s'", ft_error_message(), needle);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* ---- keygen ------------------------------------------------------------------- */

static void test_keygen_files_and_modes(void **state)
{
    (void)state;
    assert_true(ft_curve_available());
    char dir[512], pub[600], sec[600], text[128];
    path_of(dir, sizeof dir, "keys/sub");
    assert_int_equal(ft_curve_keygen(dir, "server", pub, sec, sizeof pub), FT_OK);
    assert_true(strstr(pub, "keys/sub/server.pub") != NULL);
    assert_true(strstr(sec, "keys/sub/server.secret") != NULL);
    assert_int_equal(mode_of(dir), 0700);
    assert_int_equal(mode_of(pub), 0644);
    assert_int_equal(mode_of(sec), 0600);

    /* Each file: 40 Z85 characters and a newline. */
    const char *files[2] = {pub, sec};
    char z[2][FT_CURVE_Z85_LEN + 1];
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "r");
        assert_non_null(f);
        size_t n = fread(text, 1, sizeof text, f);
        fclose(f);
        assert_int_equal(n, FT_CURVE_Z85_LEN + 1);
        assert_int_equal(text[FT_CURVE_Z85_LEN], '\n');
        memcpy(z[i], text, FT_CURVE_Z85_LEN);
        z[i][FT_CURVE_Z85_LEN] = '\0';
    }
    /* The public file holds the public key of the secret one (libzmq derives it). */
    char derived[FT_CURVE_Z85_LEN + 1];
    assert_int_equal(zmq_curve_public(derived, z[1]), 0);
    assert_string_equal(derived, z[0]);

    /* Never overwritten: both files keep their bytes. */
    expect_error(ft_curve_keygen(dir, "server", NULL, NULL, 0), FT_EIO, "already exists");
    uint8_t k[FT_CURVE_KEY_LEN], want[FT_CURVE_KEY_LEN];
    decode(z[0], want);
    assert_int_equal(ft_curve_load_public(pub, k), FT_OK);
    assert_memory_equal(k, want, FT_CURVE_KEY_LEN);

    /* A stray secret without its public key: refused, and no .pub is left behind. */
    char stray[600];
    snprintf(stray, sizeof stray, "%s/lone.secret", dir);
    FILE *f = fopen(stray, "w");
    assert_non_null(f);
    fclose(f);
    expect_error(ft_curve_keygen(dir, "lone", NULL, NULL, 0), FT_EIO, "lone.secret");
    snprintf(stray, sizeof stray, "%s/lone.pub", dir);
    assert_int_equal(access(stray, F_OK), -1);

    /* Names that are not file stems. */
    expect_error(ft_curve_keygen(dir, "a/b", NULL, NULL, 0), FT_EINVAL, "only letters");
    expect_error(ft_curve_keygen(dir, "../evil", NULL, NULL, 0), FT_EINVAL, "'../evil'");
    expect_error(ft_curve_keygen(dir, ".hidden", NULL, NULL, 0), FT_EINVAL, "start with '.'");
    expect_error(ft_curve_keygen(dir, "", NULL, NULL, 0), FT_EINVAL, "1 to");

    /* Two keygens give different keys. */
    assert_int_equal(ft_curve_keygen(dir, "other", pub, sec, sizeof pub), FT_OK);
    assert_int_equal(ft_curve_load_public(pub, k), FT_OK);
    assert_memory_not_equal(k, want, FT_CURVE_KEY_LEN);
}

/* ---- loading ------------------------------------------------------------------ */

static void test_load_roundtrip_and_golden(void **state)
{
    (void)state;
    char text[64], pub_path[512], sec_path[512], srv_path[512];
    snprintf(text, sizeof text, "%s\n", client_pub_z);
    write_text("client.pub", text, 0644);
    snprintf(text, sizeof text, "%s\r\n", client_sec_z); /* CRLF tolerated */
    write_text("client.secret", text, 0600);
    snprintf(text, sizeof text, "%s", server_pub_z); /* no newline tolerated */
    write_text("server.pub", text, 0644);
    path_of(pub_path, sizeof pub_path, "client.pub");
    path_of(sec_path, sizeof sec_path, "client.secret");
    path_of(srv_path, sizeof srv_path, "server.pub");

    uint8_t pub[FT_CURVE_KEY_LEN], sec[FT_CURVE_KEY_LEN], want[FT_CURVE_KEY_LEN];
    assert_int_equal(ft_curve_load_public(pub_path, pub), FT_OK);
    decode(client_pub_z, want);
    assert_memory_equal(pub, want, FT_CURVE_KEY_LEN);
    assert_int_equal(ft_curve_load_secret(sec_path, sec), FT_OK);
    decode(client_sec_z, want);
    assert_memory_equal(sec, want, FT_CURVE_KEY_LEN);

    /* public_of reproduces the manual's pairs. */
    uint8_t derived[FT_CURVE_KEY_LEN];
    assert_int_equal(ft_curve_public_of(sec, derived), FT_OK);
    decode(client_pub_z, want);
    assert_memory_equal(derived, want, FT_CURVE_KEY_LEN);
    decode(server_sec_z, sec);
    assert_int_equal(ft_curve_public_of(sec, derived), FT_OK);
    decode(server_pub_z, want);
    assert_memory_equal(derived, want, FT_CURVE_KEY_LEN);

    /* encode is the inverse of decode. */
    char z[FT_CURVE_Z85_LEN + 1];
    ft_curve_encode(want, z);
    assert_string_equal(z, server_pub_z);

    /* Keypairs: matching, derived, mismatched. */
    assert_int_equal(ft_curve_load_keypair(pub_path, sec_path, pub, sec), FT_OK);
    decode(client_pub_z, want);
    assert_memory_equal(pub, want, FT_CURVE_KEY_LEN);
    memset(pub, 0, sizeof pub);
    assert_int_equal(ft_curve_load_keypair("", sec_path, pub, sec), FT_OK);
    assert_memory_equal(pub, want, FT_CURVE_KEY_LEN);
    expect_error(ft_curve_load_keypair(srv_path, sec_path, pub, sec), FT_ECRYPTO,
                 "is not the public key of");
    uint8_t zero[FT_CURVE_KEY_LEN] = {0};
    assert_memory_equal(sec, zero, FT_CURVE_KEY_LEN); /* secret wiped on error */
}

static void test_secret_permissions(void **state)
{
    (void)state;
    char text[64], path[512];
    snprintf(text, sizeof text, "%s\n", client_sec_z);
    write_text("c.secret", text, 0600);
    path_of(path, sizeof path, "c.secret");
    uint8_t key[FT_CURVE_KEY_LEN];
    static const mode_t bad[] = {0644, 0640, 0604, 0620, 0602, 0660};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(path, bad[i]), 0);
        char needle[32];
        snprintf(needle, sizeof needle, "has mode %04o", (unsigned)bad[i]);
        expect_error(ft_curve_load_secret(path, key), FT_ECRYPTO, needle);
        assert_non_null(strstr(ft_error_message(), "c.secret"));
        /* load_keypair refuses too. */
        uint8_t pub[FT_CURVE_KEY_LEN];
        expect_error(ft_curve_load_keypair(NULL, path, pub, key), FT_ECRYPTO, "has mode");
    }
    static const mode_t good[] = {0600, 0400, 0700};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(chmod(path, good[i]), 0);
        assert_int_equal(ft_curve_load_secret(path, key), FT_OK);
    }
    /* A public key file may be world-readable. */
    write_text("c.pub", client_pub_z, 0644);
    path_of(path, sizeof path, "c.pub");
    assert_int_equal(ft_curve_load_public(path, key), FT_OK);
}

static void test_malformed_keys(void **state)
{
    (void)state;
    struct {
        const char *text;   /* file contents */
        const char *needle; /* expected in the message */
    } cases[] = {
        {"", "key of 0 characters"},
        {"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI\n", "key of 39 characters"},
        {"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hIDx\n", "key of 41 characters"},
        {"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{h~D\n", "character 39 (0x7e) is not Z85"},
        {"Yne@$w-vo<fVvi]a<NY6T1ed:M\"fCG*[IaLV{hID\n", "character 27 (0x22) is not Z85"},
        {"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaL%nSc1\n", "overflows"},
        {"########################################\n", "overflows"},
        {"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\nmore\n", "unexpected text after the key"},
        {" Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI\n", "character 1 (0x20) is not Z85"},
    };
    uint8_t key[FT_CURVE_KEY_LEN];
    char path[512];
    path_of(path, sizeof path, "bad.pub");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unlink(path);
        write_text("bad.pub", cases[i].text, 0600);
        expect_error(ft_curve_load_public(path, key), FT_ECRYPTO, cases[i].needle);
        assert_non_null(strstr(ft_error_message(), "bad.pub"));
        expect_error(ft_curve_load_secret(path, key), FT_ECRYPTO, cases[i].needle);
    }
    /* Too long to be a key file at all. */
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    unlink(path);
    write_text("bad.pub", big, 0600);
    expect_error(ft_curve_load_public(path, key), FT_ECRYPTO, "not a key file");
    /* Missing file, directory. */
    path_of(path, sizeof path, "missing.pub");
    expect_error(ft_curve_load_public(path, key), FT_EIO, "missing.pub");
    expect_error(ft_curve_load_public(tmp, key), FT_ECRYPTO, "not a regular file");
    /* The decoder on its own. */
    expect_error(ft_curve_decode("abc", 3, key, "text"), FT_ECRYPTO, "text: key of 3");
}

/* Found by fuzz/fuzz_curve (corpus regress_partial_decode): a key whose last Z85
 * group overflows was refused only after libzmq had decoded the groups before it
 * into the caller's buffer, so a refused secret key file left 28 of its 32 bytes
 * behind. A refused key now leaves the buffer as it was. */
static void test_refused_key_left_unchanged(void **state)
{
    (void)state;
    const char *ok = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";  /* the golden key */
    const char *bad = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaL%nSc1"; /* last group > 2^32 */
    uint8_t key[FT_CURVE_KEY_LEN], want[FT_CURVE_KEY_LEN], before[FT_CURVE_KEY_LEN];
    memset(before, 0x5a, sizeof before);
    memcpy(key, before, sizeof key);
    expect_error(ft_curve_decode(bad, FT_CURVE_Z85_LEN, key, "text"), FT_ECRYPTO, "overflows");
    assert_memory_equal(key, before, sizeof key);
    char path[512];
    path_of(path, sizeof path, "partial.secret");
    write_text("partial.secret", bad, 0600);
    expect_error(ft_curve_load_secret(path, key), FT_ECRYPTO, "overflows");
    assert_memory_equal(key, before, sizeof key);
    expect_error(ft_curve_load_public(path, key), FT_ECRYPTO, "overflows");
    assert_memory_equal(key, before, sizeof key);
    /* The key one group away still decodes, into the same buffer. */
    decode(ok, want);
    assert_int_equal(ft_curve_decode(ok, FT_CURVE_Z85_LEN, key, "text"), FT_OK);
    assert_memory_equal(key, want, sizeof key);
}

/* ---- authorized directory ----------------------------------------------------------- */

static void test_authorized_dir(void **state)
{
    (void)state;
    char dir[512], text[64];
    path_of(dir, sizeof dir, "authorized");
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(text, sizeof text, "%s\n", client_pub_z);
    write_text("authorized/alice.pub", text, 0644);
    write_text("authorized/carol.pub", text, 0644); /* the same key again */
    snprintf(text, sizeof text, "%s\n", server_pub_z);
    write_text("authorized/bob.pub", text, 0644);
    write_text("authorized/.hidden.pub", "garbage", 0644);  /* ignored */
    write_text("authorized/notes.txt", "garbage", 0644);    /* ignored */
    write_text("authorized/alice.secret", "garbage", 0600); /* ignored */

    ft_key_set_t *set = NULL;
    assert_int_equal(ft_key_set_load_dir(dir, &set), FT_OK);
    assert_non_null(set);
    assert_int_equal(ft_key_set_count(set), 2);
    uint8_t k[FT_CURVE_KEY_LEN];
    decode(client_pub_z, k);
    assert_string_equal(ft_key_set_find(set, k), "alice"); /* first in name order */
    decode(server_pub_z, k);
    assert_string_equal(ft_key_set_find(set, k), "bob");
    k[0] ^= 1;
    assert_null(ft_key_set_find(set, k));
    ft_key_set_destroy(&set);
    assert_null(set);
    ft_key_set_destroy(&set); /* safe twice */

    /* One malformed file fails the whole load, naming the file. */
    write_text("authorized/mallory.pub", "not a key\n", 0644);
    expect_error(ft_key_set_load_dir(dir, &set), FT_ECRYPTO, "mallory.pub");
    assert_null(set);

    /* Out of memory on the way: an error, no leak, nothing returned. */
    char path[600];
    snprintf(path, sizeof path, "%s/mallory.pub", dir);
    unlink(path);
    for (unsigned long n = 1; n <= 3; n++) {
        ft_alloc_fail_after(n);
        int rc = ft_key_set_load_dir(dir, &set);
        ft_alloc_fail_after(0);
        if (rc == FT_OK) {
            ft_key_set_destroy(&set);
            continue;
        }
        assert_int_equal(rc, FT_ENOMEM);
        assert_null(set);
    }

    /* No keys; no directory. */
    path_of(dir, sizeof dir, "empty");
    assert_int_equal(mkdir(dir, 0755), 0);
    expect_error(ft_key_set_load_dir(dir, &set), FT_ENOTFOUND, "no *.pub key files");
    path_of(dir, sizeof dir, "nowhere");
    expect_error(ft_key_set_load_dir(dir, &set), FT_EIO, "nowhere");
    assert_null(set);
}

/* ---- ZAP handler ----------------------------------------------------------------- */

static char log_lines[4096]; /* captured WARN lines */

static void capture(ft_log_level_t level, const char *line, void *user)
{
    (void)user;
    if (level <= FT_LOG_WARN && strlen(log_lines) + strlen(line) + 2 < sizeof log_lines) {
        strcat(log_lines, line);
        strcat(log_lines, "\n");
    }
}

static void *new_socket(void *ctx, int type)
{
    void *s = zmq_socket(ctx, type);
    assert_non_null(s);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    return s;
}

/* Receives one message on sock within ms; returns frames read (0 on timeout). The
 * last frame goes to *last (caller closes) when last is not NULL. */
static int recv_within(void *sock, int ms, zmq_msg_t *last)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, ms) <= 0)
        return 0;
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        assert_true(zmq_msg_recv(&m, sock, 0) >= 0);
        more = zmq_msg_more(&m);
        n++;
        if (!more && last)
            *last = m;
        else
            zmq_msg_close(&m);
    }
    return n;
}

static void wait_refused(ft_zap_t *zap, unsigned long want)
{
    ft_zap_stats_t st;
    for (int i = 0; i < 500; i++) {
        ft_zap_stats(zap, &st);
        if (st.refused >= want)
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("ZAP handler refused %lu connections, expected %lu", st.refused, want);
}

static void test_zap_handler(void **state)
{
    (void)state;
    log_lines[0] = '\0';
    ft_log_set_sink(capture, NULL);
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);

    uint8_t alice_pub[FT_CURVE_KEY_LEN], alice_sec[FT_CURVE_KEY_LEN];
    uint8_t srv_pub[FT_CURVE_KEY_LEN], srv_sec[FT_CURVE_KEY_LEN];
    decode(client_pub_z, alice_pub);
    decode(client_sec_z, alice_sec);
    decode(server_pub_z, srv_pub);
    decode(server_sec_z, srv_sec);
    ft_key_set_t *allowed = ft_key_set_new();
    assert_int_equal(ft_key_set_add(allowed, alice_pub, "alice"), FT_OK);

    ft_zap_t *zap = NULL;
    assert_int_equal(ft_zap_start(ctx, allowed, &zap), FT_OK);
    ft_key_set_destroy(&allowed); /* the handler keeps its own copy */
    /* One handler per context: a second cannot bind the endpoint. */
    ft_key_set_t *none = ft_key_set_new();
    ft_zap_t *second = NULL;
    expect_error(ft_zap_start(ctx, none, &second), FT_ENET, FT_ZAP_ENDPOINT);
    assert_null(second);
    ft_key_set_destroy(&none);

    void *server = new_socket(ctx, ZMQ_ROUTER);
    assert_int_equal(ft_curve_server_setup(server, srv_sec), FT_OK);
    assert_int_equal(zmq_bind(server, "tcp://127.0.0.1:*"), 0);
    char endpoint[256];
    size_t elen = sizeof endpoint;
    assert_int_equal(zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, endpoint, &elen), 0);

    /* The allowed client gets through; the server sees its key's name as User-Id. */
    void *alice = new_socket(ctx, ZMQ_DEALER);
    assert_int_equal(ft_curve_client_setup(alice, srv_pub, alice_pub, alice_sec), FT_OK);
    assert_int_equal(zmq_connect(alice, endpoint), 0);
    assert_int_equal(zmq_send(alice, "hello", 5, 0), 5);
    zmq_msg_t got;
    assert_int_equal(recv_within(server, 5000, &got), 2);
    assert_int_equal(zmq_msg_size(&got), 5);
    assert_memory_equal(zmq_msg_data(&got), "hello", 5);
    const char *user = zmq_msg_gets(&got, "User-Id");
    assert_non_null(user);
    assert_string_equal(user, "alice");
    /* ... and its key, in Z85, as the FT_ZAP_KEY_PROPERTY property. */
    const char *key = zmq_msg_gets(&got, FT_ZAP_KEY_PROPERTY);
    char alice_z85[FT_CURVE_Z85_LEN + 1];
    assert_non_null(zmq_z85_encode(alice_z85, alice_pub, FT_CURVE_KEY_LEN));
    assert_non_null(key);
    assert_string_equal(key, alice_z85);
    zmq_msg_close(&got);

    /* An unknown CURVE key: refused by the handler, logged with the peer address. */
    char mz_pub[FT_CURVE_Z85_LEN + 1], mz_sec[FT_CURVE_Z85_LEN + 1];
    assert_int_equal(zmq_curve_keypair(mz_pub, mz_sec), 0);
    uint8_t m_pub[FT_CURVE_KEY_LEN], m_sec[FT_CURVE_KEY_LEN];
    decode(mz_pub, m_pub);
    decode(mz_sec, m_sec);
    void *mallory = new_socket(ctx, ZMQ_DEALER);
    assert_int_equal(ft_curve_client_setup(mallory, srv_pub, m_pub, m_sec), FT_OK);
    assert_int_equal(zmq_connect(mallory, endpoint), 0);
    zmq_send(mallory, "evil", 4, ZMQ_DONTWAIT);
    wait_refused(zap, 1);
    assert_int_equal(recv_within(server, 300, NULL), 0);
    if (!strstr(log_lines, "refused unknown client key") || !strstr(log_lines, mz_pub) ||
        !strstr(log_lines, "127.0.0.1"))
        fail_msg("refusal not logged with key and address: '%s'", log_lines);

    /* A plaintext client cannot even complete the handshake. */
    void *plain = new_socket(ctx, ZMQ_DEALER);
    assert_int_equal(zmq_connect(plain, endpoint), 0);
    zmq_send(plain, "plain", 5, ZMQ_DONTWAIT);
    assert_int_equal(recv_within(server, 500, NULL), 0);

    /* Alice still works after the refusals. */
    assert_int_equal(zmq_send(alice, "again", 5, 0), 5);
    assert_int_equal(recv_within(server, 5000, NULL), 2);

    ft_zap_stats_t st;
    ft_zap_stats(zap, &st);
    assert_int_equal(st.accepted, 1);
    assert_true(st.refused >= 1);

    zmq_close(plain);
    zmq_close(mallory);
    zmq_close(alice);
    zmq_close(server);
    ft_zap_stop(&zap);
    assert_null(zap);
    ft_zap_stop(&zap); /* safe twice */
    assert_int_equal(zmq_ctx_term(ctx), 0);
    ft_log_set_sink(NULL, NULL);
}

/* Sends a ZAP request of n frames and returns the status code of the reply. */
static int zap_request(void *req, const char *const *frames, int n, char *user, size_t user_cap)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(frames[i]);
        /* "KEY:" marks a 32-byte binary key in Z85. */
        uint8_t key[FT_CURVE_KEY_LEN];
        const void *data = frames[i];
        if (strncmp(frames[i], "KEY:", 4) == 0) {
            decode(frames[i] + 4, key);
            data = key;
            len = FT_CURVE_KEY_LEN;
        }
        assert_int_equal(zmq_send(req, data, len, i + 1 < n ? ZMQ_SNDMORE : 0), (int)len);
    }
    char reply[6][64];
    int count = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        assert_true(zmq_msg_recv(&m, req, 0) >= 0);
        more = zmq_msg_more(&m);
        if (count < 6) {
            size_t len = zmq_msg_size(&m) < 63 ? zmq_msg_size(&m) : 63;
            memcpy(reply[count], zmq_msg_data(&m), len);
            reply[count][len] = '\0';
        }
        count++;
        zmq_msg_close(&m);
    }
    assert_int_equal(count, 6);
    assert_string_equal(reply[0], "1.0");
    if (user)
        snprintf(user, user_cap, "%s", reply[4]);
    return atoi(reply[2]);
}

static void test_zap_protocol(void **state)
{
    (void)state;
    ft_log_set_sink(capture, NULL);
    void *ctx = zmq_ctx_new();
    uint8_t alice_pub[FT_CURVE_KEY_LEN];
    decode(client_pub_z, alice_pub);
    ft_key_set_t *allowed = ft_key_set_new();
    assert_int_equal(ft_key_set_add(allowed, alice_pub, "alice"), FT_OK);
    ft_zap_t *zap = NULL;
    assert_int_equal(ft_zap_start(ctx, allowed, &zap), FT_OK);
    void *req = new_socket(ctx, ZMQ_REQ);
    assert_int_equal(zmq_connect(req, FT_ZAP_ENDPOINT), 0);

    char alice_key[64], other_key[64], user[64];
    snprintf(alice_key, sizeof alice_key, "KEY:%s", client_pub_z);
    snprintf(other_key, sizeof other_key, "KEY:%s", server_pub_z);
    const char *ok[] = {"1.0", "7", "fedtail", "10.0.0.5", "", "CURVE", alice_key};
    assert_int_equal(zap_request(req, ok, 7, user, sizeof user), 200);
    assert_string_equal(user, "alice");
    const char *unknown[] = {"1.0", "8", "fedtail", "10.0.0.6", "", "CURVE", other_key};
    assert_int_equal(zap_request(req, unknown, 7, user, sizeof user), 400);
    assert_string_equal(user, "");
    const char *plain[] = {"1.0", "9", "fedtail", "10.0.0.7", "", "PLAIN", "alice", "secret"};
    assert_int_equal(zap_request(req, plain, 8, NULL, 0), 400);
    const char *null_mech[] = {"1.0", "10", "fedtail", "10.0.0.8", "", "NULL"};
    assert_int_equal(zap_request(req, null_mech, 6, NULL, 0), 400);
    const char *short_key[] = {"1.0", "11", "fedtail", "10.0.0.9", "", "CURVE", "abc"};
    assert_int_equal(zap_request(req, short_key, 7, NULL, 0), 400);
    const char *bad_version[] = {"2.0", "12", "fedtail", "10.0.0.10", "", "CURVE", alice_key};
    assert_int_equal(zap_request(req, bad_version, 7, NULL, 0), 500);
    const char *truncated[] = {"1.0", "13"};
    assert_int_equal(zap_request(req, truncated, 2, NULL, 0), 500);

    ft_zap_stats_t st;
    ft_zap_stats(zap, &st);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.refused, 6);
    zmq_close(req);
    ft_zap_stop(&zap);
    ft_key_set_destroy(&allowed);
    assert_int_equal(zmq_ctx_term(ctx), 0);
    ft_log_set_sink(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keygen_files_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_roundtrip_and_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_key_left_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_authorized_dir, setup, teardown),
        cmocka_unit_test(test_zap_handler),
        cmocka_unit_test(test_zap_protocol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
