/* tests/integration/it_generate.c: `revisitctl generate --credit-stdin`
 * (workers/revisitctl/cmd_generate.c), the closed loop of bench.sh's
 * throughput run: the binary run as a process against the local broker
 * (RV_IT_KAFKA_BROKERS), writing to a topic of its own. It sends no more
 * sales than were granted on stdin, each grant's sales delivered before
 * it waits for the next; end of input grants the rest; a grant that is
 * not a number stops it with an error. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "it_stack.h"

#define OUT_MAX 4096

static struct {
    const char *build_dir;
    char bin[1024];
    char nonce[32];
    it_kafka kafka;
} env;

static const char *need(const char *name)
{
    return it_need("it_generate", name);
}

/* A running generate: its stdin to write grants to, its stdout and
 * stderr in files. */
typedef struct gen_proc {
    pid_t pid;
    int grants; /* write end of its stdin */
    char out_path[64], err_path[64];
} gen_proc;

static void gen_start(gen_proc *g, const char *topic, const char *count)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    snprintf(g->out_path, sizeof(g->out_path), "/tmp/it_gen_out_XXXXXX");
    snprintf(g->err_path, sizeof(g->err_path), "/tmp/it_gen_err_XXXXXX");
    int out_fd = mkstemp(g->out_path);
    int err_fd = mkstemp(g->err_path);
    assert_true(out_fd >= 0 && err_fd >= 0);
    const char *argv[] = {env.bin,          "generate", "--count", count,
                          "--seed",         "7",        "--topic", topic,
                          "--credit-stdin", NULL};
    g->pid = it_fork();
    if (g->pid == 0) {
        close(fds[1]);
        if (dup2(fds[0], STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(err_fd, STDERR_FILENO) < 0) {
            _exit(127);
        }
        execv(env.bin, (char *const *)argv);
        _exit(127);
    }
    close(fds[0]);
    close(out_fd);
    close(err_fd);
    g->grants = fds[1];
}

static void gen_grant(gen_proc *g, const char *line)
{
    size_t n = strlen(line);
    assert_int_equal(write(g->grants, line, n), (ssize_t)n);
}

/* Ends its input and waits for it; its stdout and stderr into @p out and
 * @p err. @returns its exit status, -1 if it did not exit. */
static int gen_finish(gen_proc *g, char *out, char *err)
{
    close(g->grants);
    int status = 0;
    assert_int_equal(waitpid(g->pid, &status, 0), g->pid);
    it_read_file(g->out_path, out, OUT_MAX);
    it_read_file(g->err_path, err, OUT_MAX);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Messages in @p topic (the sum of its high watermarks); 0 before the
 * topic exists. */
static int64_t written(const char *topic)
{
    const char *topics[] = {topic};
    int64_t lag = 0, messages = 0;
    char errstr[256] = "";
    if (rv_kafka_group_lag(&env.kafka.props, "it-generate", topics, 1, 5000,
                           &lag, &messages, errstr, sizeof(errstr)) != RV_OK) {
        return 0;
    }
    return messages;
}

/* Waits (up to 20 s) for @p topic to hold @p want messages, then a
 * further 1 s in which it must not get more. */
static void expect_written(const char *topic, int64_t want)
{
    int64_t got = written(topic);
    for (int i = 0; i < 200 && got < want; i++) {
        it_sleep_ms(100);
        got = written(topic);
    }
    assert_int_equal(got, want);
    it_sleep_ms(1000);
    assert_int_equal(written(topic), want);
}

/* Grants are kept to: 3, then 4 more, then the rest by end of input. */
static void test_generate_sends_what_is_granted(void **state)
{
    (void)state;
    char topic[64];
    snprintf(topic, sizeof(topic), "it.generate.%s", env.nonce);
    gen_proc g;
    gen_start(&g, topic, "10");
    gen_grant(&g, "3\n");
    expect_written(topic, 3);
    gen_grant(&g, "4\n");
    expect_written(topic, 7);
    char out[OUT_MAX], err[OUT_MAX];
    assert_int_equal(gen_finish(&g, out, err), 0);
    /* Each wait for a grant says what was delivered before it. */
    assert_non_null(strstr(out, "generate: delivered=0\n"
                                "generate: delivered=3\n"
                                "generate: delivered=7\n"
                                "generate: sales=10 seed=7 "));
    assert_int_equal(written(topic), 10);
}

/* A grant that is not a number stops it, after what was granted before
 * was delivered. */
static void test_generate_refuses_a_bad_grant(void **state)
{
    (void)state;
    char topic[64];
    snprintf(topic, sizeof(topic), "it.generate.bad.%s", env.nonce);
    gen_proc g;
    gen_start(&g, topic, "10");
    gen_grant(&g, "2\nmore\n");
    char out[OUT_MAX], err[OUT_MAX];
    assert_int_equal(gen_finish(&g, out, err), 69);
    assert_non_null(strstr(err, "bad grant \"more\""));
    assert_int_equal(written(topic), 2);
}

/* --rate and --credit-stdin exclude each other: a usage error. */
static void test_generate_credit_excludes_rate(void **state)
{
    (void)state;
    const char *args[] = {"generate", "--count",        "1", "--rate",
                          "5",        "--credit-stdin", NULL};
    char out[OUT_MAX], err[OUT_MAX];
    assert_int_equal(it_run_ctl(env.build_dir, args, out, err, OUT_MAX), 64);
}

static int setup(void **state)
{
    (void)state;
    env.build_dir = need("RV_BUILD_DIR");
    snprintf(env.bin, sizeof(env.bin), "%s/workers/revisitctl/revisitctl",
             env.build_dir);
    it_kafka_init(&env.kafka, "it_generate");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(env.nonce, sizeof(env.nonce), "%lld-%d", (long long)ts.tv_sec,
             (int)getpid());
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_sends_what_is_granted),
        cmocka_unit_test(test_generate_refuses_a_bad_grant),
        cmocka_unit_test(test_generate_credit_excludes_rate),
    };
    return cmocka_run_group_tests_name("it_generate", tests, setup, NULL);
}
