/* ft_peer_guard over real ZeroMQ sockets (ipc://): the bound in force for an
 * open-file limit (the reserve, the boundaries), the soft limit raised, and a
 * ROUTER with a bound of 3 to which 6 DEALERs connect: 3 stay open, the others are
 * shut down, every event reaches the callback, and the count returns to 0 when
 * they all leave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "ft_error.h"
#include "ft_peer_guard.h"
#include "ft_test_tmpdir.h"

static void test_cap(void **state)
{
    (void)state;
    /* the reserve is kept out of a limit of 1024; a smaller want is kept */
    assert_int_equal(ft_peer_guard_cap(256, 1024), 256);
    assert_int_equal(ft_peer_guard_cap(1000, 1024), 1024 - FT_PEER_GUARD_RESERVE_FDS);
    assert_int_equal(ft_peer_guard_cap(896, 1024), 896); /* the boundary */
    /* a limit of at most twice the reserve: half of it */
    assert_int_equal(ft_peer_guard_cap(1000, 2 * FT_PEER_GUARD_RESERVE_FDS),
                     FT_PEER_GUARD_RESERVE_FDS);
    assert_int_equal(ft_peer_guard_cap(1000, 2 * FT_PEER_GUARD_RESERVE_FDS + 1),
                     FT_PEER_GUARD_RESERVE_FDS + 1);
    assert_int_equal(ft_peer_guard_cap(1000, 10), 5);
    /* never 0 */
    assert_int_equal(ft_peer_guard_cap(0, 1024), 1);
    assert_int_equal(ft_peer_guard_cap(5, 1), 1);
}

static void test_raise_nofile(void **state)
{
    (void)state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max > 64) { /* lower the soft limit, then raise it back */
        struct rlimit low = {64, rl.rlim_max};
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    }
    size_t now = ft_peer_guard_raise_nofile();
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > ((rlim_t)1 << 20)
                      ? ((rlim_t)1 << 20)
                      : rl.rlim_max;
    assert_int_equal(now, (size_t)want);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(rl.rlim_cur, want);
}

static atomic_int accepted_seen;

static void on_event(void *user, int event, uint32_t value)
{
    (void)value;
    assert_ptr_equal(user, &accepted_seen);
    if (event == ZMQ_EVENT_ACCEPTED)
        atomic_fetch_add(&accepted_seen, 1);
}

/* Waits up to 10 s for cond over the guard's stats; returns the last stats. */
#define WAIT_FOR(g, st, cond)                                                                      \
    do {                                                                                           \
        for (int i_ = 0; i_ < 1000; i_++) {                                                        \
            ft_peer_guard_stats((g), &(st));                                                       \
            if (cond)                                                                              \
                break;                                                                             \
            usleep(10000);                                                                         \
        }                                                                                          \
    } while (0)

static void test_bound(void **state)
{
    (void)state;
    char dir[FT_TEST_TMPDIR_MAX];
    assert_int_equal(ft_test_tmpdir_make(dir, sizeof dir, "guard"), 0);
    char ep[FT_TEST_TMPDIR_MAX + 16];
    snprintf(ep, sizeof ep, "ipc://%s/g.sock", dir);
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    assert_int_equal(ft_peer_guard_socket_options(router, 1000, 10000), FT_OK);
    ft_peer_guard_t *g = NULL;
    atomic_init(&accepted_seen, 0);
    assert_int_equal(ft_peer_guard_start(ctx, router, 3, on_event, &accepted_seen, &g), FT_OK);
    assert_int_equal(zmq_bind(router, ep), 0);

    void *d[6];
    int slow = 60000, zero = 0; /* a dealer that was shut down stays away */
    for (int i = 0; i < 6; i++) {
        d[i] = zmq_socket(ctx, ZMQ_DEALER);
        zmq_setsockopt(d[i], ZMQ_RECONNECT_IVL, &slow, sizeof slow);
        zmq_setsockopt(d[i], ZMQ_LINGER, &zero, sizeof zero);
        assert_int_equal(zmq_connect(d[i], ep), 0);
    }
    ft_peer_guard_stats_t st;
    WAIT_FOR(g, st, st.handled >= 6 && st.open == 3);
    assert_int_equal(st.handled, 6);
    assert_int_equal(st.open, 3);
    assert_int_equal(st.max_conns, 3);
    assert_true(st.shed >= 3);
    assert_true(st.peak >= 3);
    assert_int_equal(atomic_load(&accepted_seen), 6);
    /* the kept connections carry messages */
    for (int i = 0; i < 6; i++)
        zmq_send(d[i], "hi", 2, ZMQ_DONTWAIT);
    int got = 0;
    zmq_pollitem_t pi = {router, 0, ZMQ_POLLIN, 0};
    while (zmq_poll(&pi, 1, 500) == 1) {
        char buf[16];
        int more = 1;
        while (more) {
            assert_true(zmq_recv(router, buf, sizeof buf, 0) >= 0);
            size_t len = sizeof more;
            zmq_getsockopt(router, ZMQ_RCVMORE, &more, &len);
        }
        got++;
    }
    assert_int_equal(got, 3);
    /* all leave: the count goes back to 0 */
    for (int i = 0; i < 6; i++)
        zmq_close(d[i]);
    WAIT_FOR(g, st, st.open == 0);
    assert_int_equal(st.open, 0);

    ft_peer_guard_stop(&g);
    assert_null(g);
    ft_peer_guard_stop(&g); /* NULL: no-op */
    zmq_close(router);
    zmq_ctx_term(ctx);
    assert_int_equal(ft_test_tmpdir_remove(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_raise_nofile),
        cmocka_unit_test(test_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
