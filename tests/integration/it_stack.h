/* tests/integration/it_stack.h: what the integration tests that run
 * workers as processes share: spawning and stopping the workers, waiting
 * for the drain, event times, the test stack's Kafka (settings, sleeping
 * and running revisitctl: it_common.h). Include after cmocka. */
#ifndef RV_IT_STACK_H
#define RV_IT_STACK_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"
#include "rv/cfg.h"
#include "rv/codec.h"
#include "rv/kafka.h"
#include "rv/kafka_lag.h"

/* Starts worker @p name of @p build_dir, its log in
 * <build_dir>/<test>_<name>.log; it dies with the test. */
static inline pid_t it_spawn_worker(const char *build_dir, const char *test,
                                    const char *name)
{
    return it_spawn_worker_env(build_dir, test, name, NULL);
}

/* SIGTERM, then wait: a worker drains and exits 0 (STYLE §9). Returns
 * how many did not. */
static inline int it_stop_workers(const pid_t *pids, const char *const *names,
                                  int n)
{
    int failures = 0;
    for (int i = 0; i < n; i++) {
        kill(pids[i], SIGTERM);
    }
    for (int i = 0; i < n; i++) {
        int status = 0;
        waitpid(pids[i], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "worker %s ended with status %d\n", names[i],
                    status);
            failures++;
        }
    }
    return failures;
}

/* Runs revisitctl wait-drained: every group's lag is zero, twice. */
static inline void it_wait_drained(const char *build_dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd),
             "%s/workers/revisitctl/revisitctl wait-drained --timeout-s 180"
             " >/dev/null",
             build_dir);
    assert_int_equal(system(cmd), 0);
}

/* 12:00 UTC of "YYYY-MM-DD", µs since the epoch (days from civil, no
 * timegm). */
static inline int64_t it_day_noon_us(const char *day)
{
    int y, m, d;
    if (sscanf(day, "%d-%d-%d", &y, &m, &d) != 3) {
        return 0;
    }
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return (days * 86400 + 12 * 3600) * 1000000LL;
}

/* Kafka properties of the test stack: bootstrap.servers from
 * RV_IT_KAFKA_BROKERS (also exported as RV_KAFKA_BOOTSTRAP_SERVERS for
 * the workers a test spawns). Keep the struct alive while props is used. */
typedef struct it_kafka {
    rv_props props;
    char *names[1], *values[1];
    char name[32], brokers[512];
} it_kafka;

static inline void it_kafka_init(it_kafka *k, const char *test)
{
    snprintf(k->brokers, sizeof(k->brokers), "%s",
             it_need(test, "RV_IT_KAFKA_BROKERS"));
    setenv("RV_KAFKA_BOOTSTRAP_SERVERS", k->brokers, 1);
    snprintf(k->name, sizeof(k->name), "bootstrap.servers");
    k->names[0] = k->name;
    k->values[0] = k->brokers;
    k->props = (rv_props){1, k->names, k->values};
}

/* Waits (up to @p seconds) until group @p group has no lag on @p topics;
 * returns the last lag seen (0 when drained). */
static inline int64_t it_wait_group_lag(const it_kafka *k, const char *group,
                                        const char *const *topics, size_t n,
                                        int seconds)
{
    int64_t lag = -1;
    for (int i = 0; i < seconds * 5 && lag != 0; i++) {
        char err[512] = "";
        if (rv_kafka_group_lag(&k->props, group, topics, n, 10000, &lag, NULL,
                               err, sizeof(err)) != RV_OK) {
            lag = -1;
        }
        if (lag != 0) {
            it_sleep_ms(200);
        }
    }
    return lag;
}

/* Produces sale @p s to sales.events, keyed by its customer (Kafka's
 * order per customer), as the importer does. Not flushed. */
static inline void it_send_sale(rv_producer *kp, const rv_sale *s)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_sale(s, &buf, &len), RV_OK);
    assert_int_equal(
        rv_producer_send(kp, "sales.events", s->customer_id, buf, len, NULL, 0),
        RV_OK);
    free(buf);
}

#endif /* RV_IT_STACK_H */
