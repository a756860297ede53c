/* tests/unit/test_health.c: the health state and its HTTP probe
 * (common/health.c; issue 6, failure class 6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rv/health.h"

/* A port nobody listens on right now (the kernel's pick). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* GET @p path from 127.0.0.1:@p port; the whole response into @p out. */
static void http_get(int port, const char *path, char *out, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    char req[256];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                     path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < size && (r = read(fd, out + got, size - 1 - got)) > 0) {
        got += (size_t)r;
    }
    out[got] = '\0';
    close(fd);
}

static void test_health_probe_follows_failures(void **state)
{
    (void)state;
    int port = free_port();
    rv_health *h = NULL;
    char err[256] = "", resp[2048], why[160];
    assert_int_equal(
        rv_health_start("127.0.0.1", port, 3, &h, err, sizeof(err)), RV_OK);
    /* Not ready while start-up waits for a server. */
    rv_health_note_failure(h, "redis unavailable");
    http_get(port, "/healthz", resp, sizeof(resp));
    assert_non_null(strstr(resp, "HTTP/1.1 503"));
    assert_non_null(strstr(resp, "red: starting: redis unavailable\n"));
    rv_health_ready(h);
    http_get(port, "/healthz", resp, sizeof(resp));
    assert_non_null(strstr(resp, "HTTP/1.1 200"));
    assert_non_null(strstr(resp, "\r\n\r\nok\n"));
    /* Two failures in a row: still green; the third turns it red. */
    rv_health_note_failure(h, "handle: unavailable");
    rv_health_note_failure(h, "handle: unavailable");
    assert_false(rv_health_is_red(h, why, sizeof(why)));
    rv_health_note_failure(h, "flush: timeout");
    assert_true(rv_health_is_red(h, why, sizeof(why)));
    assert_string_equal(why, "flush: timeout (3 failures in a row)");
    http_get(port, "/healthz", resp, sizeof(resp));
    assert_non_null(strstr(resp, "HTTP/1.1 503"));
    assert_non_null(
        strstr(resp, "red: flush: timeout (3 failures in a row)\n"));
    /* One success ends the run. */
    rv_health_note_ok(h);
    http_get(port, "/healthz", resp, sizeof(resp));
    assert_non_null(strstr(resp, "HTTP/1.1 200"));
    http_get(port, "/metrics", resp, sizeof(resp));
    assert_non_null(strstr(resp, "HTTP/1.1 404"));
    rv_health_stop(h);
}

static void test_health_without_port_and_bad_arguments(void **state)
{
    (void)state;
    rv_health *h = NULL;
    char err[256] = "";
    assert_int_equal(rv_health_start("127.0.0.1", 0, 1, &h, err, sizeof(err)),
                     RV_OK);
    assert_true(rv_health_is_red(h, NULL, 0)); /* starting */
    rv_health_note_ok(h);
    assert_false(rv_health_is_red(h, NULL, 0));
    rv_health_stop(h);
    assert_int_equal(rv_health_start("localhost", 0, 1, &h, err, sizeof(err)),
                     RV_ERR_INVALID);
    assert_int_equal(rv_health_start("127.0.0.1", 0, 0, &h, err, sizeof(err)),
                     RV_ERR_INVALID);
    /* A port in use cannot be served: said, not ignored. */
    int port = free_port();
    rv_health *first = NULL;
    assert_int_equal(
        rv_health_start("127.0.0.1", port, 1, &first, err, sizeof(err)), RV_OK);
    assert_int_equal(
        rv_health_start("127.0.0.1", port, 1, &h, err, sizeof(err)),
        RV_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "cannot listen"));
    rv_health_stop(first);
    /* NULL is a no-op everywhere. */
    rv_health_note_ok(NULL);
    rv_health_note_failure(NULL, "x");
    rv_health_ready(NULL);
    assert_false(rv_health_is_red(NULL, NULL, 0));
    rv_health_stop(NULL);
}

/* What a check reported: "key: why" lines. */
typedef struct problems {
    int count;
    char text[2048];
} problems;

static void collect(void *arg, const char *key, const char *why)
{
    problems *p = arg;
    size_t len = strlen(p->text);
    snprintf(p->text + len, sizeof(p->text) - len, "%s: %s\n", key, why);
    p->count++;
}

/* Tester finding 9: --check-config checks the probe's address and port
 * as rv_health_start reads them, without binding. */
static void test_health_check_address(void **state)
{
    (void)state;
    static const struct {
        const char *address;
        int64_t port;
    } good[] = {{"127.0.0.1", 0}, {"0.0.0.0", 65535}, {"10.1.2.3", 8080}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        problems p = {0};
        assert_int_equal(
            rv_health_check_address(good[i].address, good[i].port, collect, &p),
            RV_OK);
        assert_int_equal(p.count, 0);
    }
    static const struct {
        const char *address;
        int64_t port;
        const char *want;
    } bad[] = {
        {"localhost", 8080,
         "health.address: \"localhost\" is not an IPv4 address"},
        {"127.0.0.1:8080", 0, "health.address: \"127.0.0.1:8080\" is not"},
        {"::1", 8080, "health.address: \"::1\" is not an IPv4 address"},
        {"256.0.0.1", 8080, "health.address: \"256.0.0.1\" is not"},
        {"", 8080, "health.address: \"\" is not"},
        {NULL, 8080, "health.address: \"\" is not"},
        {"127.0.0.1", -1, "health.port: -1 is outside [0, 65535]"},
        {"127.0.0.1", 65536, "health.port: 65536 is outside [0, 65535]"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        problems p = {0};
        assert_int_equal(
            rv_health_check_address(bad[i].address, bad[i].port, collect, &p),
            RV_ERR_INVALID);
        assert_int_equal(p.count, 1);
        if (strstr(p.text, bad[i].want) == NULL) {
            fail_msg("got \"%s\", want \"%s\"", p.text, bad[i].want);
        }
    }
    /* Both wrong: both said. */
    problems p = {0};
    assert_int_equal(rv_health_check_address("x", 70000, collect, &p),
                     RV_ERR_INVALID);
    assert_int_equal(p.count, 2);
    /* What the check accepts, rv_health_start accepts. */
    rv_health *h = NULL;
    char err[256] = "";
    assert_int_equal(rv_health_start("0.0.0.0", 0, 1, &h, err, sizeof(err)),
                     RV_OK);
    rv_health_stop(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_probe_follows_failures),
        cmocka_unit_test(test_health_without_port_and_bad_arguments),
        cmocka_unit_test(test_health_check_address),
    };
    return cmocka_run_group_tests_name("health", tests, NULL, NULL);
}
