/* tests/integration/it_policy_reload.c: a policy reload (SIGHUP) with an
 * invalid file keeps the running policy, logs why (field and line), and
 * the worker goes on consuming; a valid file of another version is
 * reported as taking effect on restart (issue 6, bad input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "it_stack.h"
#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/kafka.h"
#include "rv/kafka_lag.h"

static struct {
    const char *build_dir;
    char nonce[32], group[64], policy[256], log[1200];
    rv_producer *kp;
    it_kafka k;
} env;

/* Copy of the default policy with "from" replaced by "to" (once). */
static void write_policy(const char *from, const char *to)
{
    char src[1024];
    snprintf(src, sizeof(src), "%s/deploy/policy/default.yaml",
             it_need("it_policy_reload", "RV_SOURCE_DIR"));
    FILE *in = fopen(src, "rb");
    assert_non_null(in);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof(text) - 1, in);
    fclose(in);
    text[n] = '\0';
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", env.policy);
    FILE *out = fopen(tmp, "wb");
    assert_non_null(out);
    const char *at = from != NULL ? strstr(text, from) : NULL;
    if (at == NULL) {
        fwrite(text, 1, n, out);
    } else {
        fwrite(text, 1, (size_t)(at - text), out);
        fputs(to, out);
        fputs(at + strlen(from), out);
    }
    fclose(out);
    assert_int_equal(rename(tmp, env.policy), 0); /* atomic, as deploys do */
}

/* True once @p needle appears in the worker's log (waits up to 20 s). */
static bool log_has(const char *needle)
{
    static char text[1 << 20];
    for (int i = 0; i < 100; i++) {
        FILE *f = fopen(env.log, "r");
        if (f != NULL) {
            size_t n = fread(text, 1, sizeof(text) - 1, f);
            fclose(f);
            text[n] = '\0';
            if (strstr(text, needle) != NULL) {
                return true;
            }
        }
        it_sleep_ms(200);
    }
    return false;
}

static void send_sale(void)
{
    rv_sale s;
    memset(&s, 0, sizeof(s));
    char name[64], id[RV_ID_SIZE];
    snprintf(name, sizeof(name), "PR-%s", env.nonce);
    const char *parts[] = {"it_policy_reload", name};
    rv_id_derive(id, 2, parts);
    rv_envelope_fill(&s.env, id, it_day_noon_us("2005-03-01"), "it", "");
    snprintf(s.order_id, sizeof(s.order_id), "%s", name);
    snprintf(s.customer_id, sizeof(s.customer_id), "%s", name);
    snprintf(s.branch_id, sizeof(s.branch_id), "West");
    snprintf(s.store_id, sizeof(s.store_id), "Seattle");
    s.amount_cents = 1000;
    it_send_sale(env.kp, &s);
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
}

static void test_policy_reload_keeps_running_policy(void **state)
{
    (void)state;
    env.build_dir = it_need("it_policy_reload", "RV_BUILD_DIR");
    it_kafka_init(&env.k, "it_policy_reload");
    snprintf(env.nonce, sizeof(env.nonce), "%ld-%d", (long)time(NULL),
             (int)getpid());
    snprintf(env.group, sizeof(env.group), "it-reload-%s", env.nonce);
    snprintf(env.policy, sizeof(env.policy), "/tmp/it_policy_reload_%d.yaml",
             (int)getpid());
    snprintf(env.log, sizeof(env.log), "%s/it_policy_reload_sampler.log",
             env.build_dir);
    setenv("RV_REDIS_URL", it_need("it_policy_reload", "RV_IT_REDIS_URL"), 1);
    setenv("RV_POLICY_PATH", env.policy, 1);
    setenv("RV_GROUP_ID", env.group, 1);
    setenv("RV_LOG_LEVEL", "info", 1);
    char err[512] = "";
    assert_int_equal(rv_producer_open(&env.k.props, "it_policy_reload", &env.kp,
                                      err, sizeof(err)),
                     RV_OK);
    /* The group starts at the end of the topics (ListOffsets "latest"):
     * it reads this test's sale only, whatever the stack holds. */
    static const char *const inputs[] = {"sales.events", "service.events"};
    for (int t = 0; t < 2; t++) {
        int64_t ends[64];
        int count = 0;
        assert_int_equal(rv_kafka_offsets_for_time(&env.k.props, inputs[t], -1,
                                                   10000, ends, 64, &count, err,
                                                   sizeof(err)),
                         RV_OK);
        for (int p = 0; p < count; p++) {
            assert_true(ends[p] >= 0);
        }
        assert_int_equal(rv_kafka_group_commit(&env.k.props, env.group,
                                               inputs[t], ends, count, err,
                                               sizeof(err)),
                         RV_OK);
    }
    write_policy(NULL, NULL);
    pid_t pid = it_spawn_worker(env.build_dir, "it_policy_reload", "sampler");
    assert_true(log_has("event=subscribed"));

    /* An invalid file: the running policy stays, the reason names the
     * field and its line. */
    write_policy("rate: 0.20}", "rate: 1.5}");
    kill(pid, SIGHUP);
    assert_true(log_has("event=policy_reload_failed"));
    assert_true(log_has("kept_version=2025.1"));
    assert_true(log_has("rules[R1].tiers[1].rate 1.5 is outside [0, 1] (line"));
    /* ... and the worker goes on: a sale is consumed. */
    send_sale();
    assert_int_equal(it_wait_group_lag(&env.k, env.group, inputs, 2, 60), 0);

    /* The same version with other rules: an error, so that no restart
     * applies them under a version the record already holds. */
    write_policy("rate: 0.20}", "rate: 0.25}");
    kill(pid, SIGHUP);
    assert_true(log_has("event=policy_changed_same_version"));
    assert_true(log_has("version=2025.1"));

    /* A valid file of another version: reported, applied on restart. */
    write_policy("version: \"2025.1\"", "version: \"2025.2\"");
    kill(pid, SIGHUP);
    assert_true(log_has("event=policy_changed_restart_to_apply"));
    assert_true(log_has("file_version=2025.2"));

    kill(pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    rv_producer_close(env.kp, 5000);
    unlink(env.policy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_reload_keeps_running_policy),
    };
    return cmocka_run_group_tests_name("it_policy_reload", tests, NULL, NULL);
}
