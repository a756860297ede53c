/* tests/unit/test_devbroker_sock.c: devbroker_listeners_nodelay
 * (workers/devbroker/devbroker_sock.c) on sockets of the test itself,
 * on loopback: every listening TCP socket gets TCP_NODELAY, and so does
 * a connection accepted from it afterwards (Linux copies the option);
 * a connected socket or a UDP socket is left alone. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "devbroker_sock.h"

static int nodelay_of(int fd)
{
    int on = -1;
    socklen_t len = sizeof(on);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
    return on != 0;
}

/* A TCP socket listening on an ephemeral loopback port, its address in
 * @p addr. */
static int listen_loopback(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
    socklen_t len = sizeof(*addr);
    assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static void test_listeners_get_nodelay_and_pass_it_on(void **state)
{
    (void)state;
    struct sockaddr_in a1, a2;
    int l1 = listen_loopback(&a1);
    int l2 = listen_loopback(&a2);
    /* A connection made before: its sockets are not listeners. */
    int early = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(early, (struct sockaddr *)&a1, sizeof(a1)), 0);
    int early_in = accept(l1, NULL, NULL);
    assert_true(early_in >= 0);
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(udp >= 0);
    assert_false(nodelay_of(l1));
    assert_false(nodelay_of(l2));

    assert_int_equal(devbroker_listeners_nodelay(), 2);
    assert_true(nodelay_of(l1));
    assert_true(nodelay_of(l2));
    assert_false(nodelay_of(early));
    assert_false(nodelay_of(early_in));

    /* What the mock broker accepts from now on has it too. */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&a2, sizeof(a2)), 0);
    int in = accept(l2, NULL, NULL);
    assert_true(in >= 0);
    assert_true(nodelay_of(in));
    assert_false(nodelay_of(c)); /* the client's side is its own */

    int fds[] = {l1, l2, early, early_in, udp, c, in};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        close(fds[i]);
    }
    /* None left: nothing to set. */
    assert_int_equal(devbroker_listeners_nodelay(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listeners_get_nodelay_and_pass_it_on),
    };
    return cmocka_run_group_tests_name("test_devbroker_sock", tests, NULL,
                                       NULL);
}
