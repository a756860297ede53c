/* workers/revisitctl/cmd_drain.c: `revisitctl wait-drained`, and with
 * --once the pipeline's lag now (bench.sh's closed loop). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctl_args.h"
#include "rv/cfg.h"
#include "rv/kafka_lag.h"
#include "rv/log.h"

/* The longest wait-drained waits: a day. */
#define TIMEOUT_S_MAX 86400

/* Every worker's default consumer group and input topics. */
static const struct {
    const char *group;
    const char *topics[21];
} groups[] = {
    {"revisit-sampler", {"sales.events", "service.events"}},
    {"revisit-assigner", {"visits.tasks", "visits.retries"}},
    {"revisit-agentsim", {"visits.assignments"}},
    {"revisit-grader", {"visits.outcomes"}},
    {"revisit-alerter", {"visits.grades", "compliance.cases"}},
    {"revisit-recorder",
     {"sales.events",         "service.events",      "visits.tasks",
      "visits.retries",       "visits.assignments",  "visits.outcomes",
      "visits.grades",        "compliance.alerts",   "compliance.cases",
      "visits.decisions",     "sales.events.dlq",    "service.events.dlq",
      "visits.tasks.dlq",     "visits.retries.dlq",  "visits.assignments.dlq",
      "visits.outcomes.dlq",  "visits.grades.dlq",   "compliance.alerts.dlq",
      "compliance.cases.dlq", "visits.decisions.dlq"}},
};

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#define GROUP_COUNT (sizeof(groups) / sizeof(groups[0]))

/* Total lag and total messages over every group, and each group's lag
 * (@p group_lag, GROUP_COUNT entries); -1 on error. */
static int measure(const rv_props *kafka, int64_t *lag, int64_t *msgs,
                   int64_t *group_lag)
{
    *lag = 0;
    *msgs = 0;
    for (size_t g = 0; g < GROUP_COUNT; g++) {
        size_t n = 0;
        while (n < sizeof(groups[g].topics) / sizeof(groups[g].topics[0]) &&
               groups[g].topics[n] != NULL) {
            n++;
        }
        int64_t l = 0, m = 0;
        char errstr[256] = "";
        if (rv_kafka_group_lag(kafka, groups[g].group, groups[g].topics, n,
                               5000, &l, &m, errstr, sizeof(errstr)) != RV_OK) {
            fprintf(stderr, "wait-drained: %s\n", errstr);
            return -1;
        }
        *lag += l;
        *msgs += m;
        group_lag[g] = l;
    }
    return 0;
}

/* The groups behind, "group:lag,..." ("none" if none), so that a user
 * sees which worker to look at. */
static void print_behind(FILE *out, const int64_t *group_lag)
{
    int any = 0;
    for (size_t g = 0; g < GROUP_COUNT; g++) {
        if (group_lag[g] > 0) {
            fprintf(out, "%s%s:%lld", any ? "," : "", groups[g].group,
                    (long long)group_lag[g]);
            any = 1;
        }
    }
    fputs(any ? "" : "none", out);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: revisitctl wait-drained [--timeout-s N] [--once]\n"
            "  wait until no consumer group has lag, for N seconds "
            "(1..%d,\n"
            "  default 600); --once: print the lag now; either names the\n"
            "  consumer groups behind (behind=group:lag,...)\n"
            "  exit status: 0 drained, 1 still lagging, 64 bad "
            "arguments, 69 Kafka\n"
            "  failed, 78 configuration\n",
            TIMEOUT_S_MAX);
}

int rv_ctl_wait_drained(int argc, char **argv)
{
    uint64_t timeout_s = 600;
    int once = 0;
    for (int i = 1; i < argc; i++) {
        char errstr[256] = "";
        rv_err err = RV_OK;
        if (ctl_arg_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--timeout-s") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 1, TIMEOUT_S_MAX, &timeout_s,
                              errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--once") == 0) {
            once = 1;
        } else {
            rv_errf(errstr, sizeof(errstr), "unknown argument \"%s\"", argv[i]);
            err = RV_ERR_INVALID;
        }
        if (err != RV_OK) {
            fprintf(stderr, "wait-drained: %s\n", errstr);
            usage(stderr);
            return CTL_EX_USAGE;
        }
    }
    static const rv_cfg_key no_keys[] = {{0}};
    rv_cfg_section sec[] = {{no_keys, NULL}};
    rv_props kafka = {0};
    if (rv_cfg_load(sec, 1, NULL, &kafka) != RV_OK) {
        return 78;
    }
    rv_log_init("revisitctl", RV_LOG_ERROR, RV_LOG_LOGFMT);
    if (once) {
        /* Messages not yet consumed by the workers that read them, over
         * every group, and the messages written (high watermarks). */
        int64_t lag = 0, msgs = 0, group_lag[GROUP_COUNT] = {0};
        int code = measure(&kafka, &lag, &msgs, group_lag) == 0 ? 0 : 69;
        if (code == 0) {
            printf("lag: lag=%lld messages=%lld behind=", (long long)lag,
                   (long long)msgs);
            print_behind(stdout, group_lag);
            putchar('\n');
        }
        rv_cfg_fini(sec, 1, &kafka);
        return code;
    }
    time_t deadline = time(NULL) + (time_t)timeout_s;
    int64_t prev_msgs = -1, group_lag[GROUP_COUNT] = {0};
    int zero_streak = 0, code = 1;
    while (time(NULL) < deadline) {
        int64_t lag = 0, msgs = 0;
        if (measure(&kafka, &lag, &msgs, group_lag) == 0) {
            /* Drained: no lag three times in a row (2 s), with nothing
             * new between: longer than one tick of the grader and the
             * alerter (1 s), whose spot checks and escalations arrive
             * without a message to lag behind. */
            zero_streak = lag == 0 && msgs == prev_msgs ? zero_streak + 1
                          : lag == 0                    ? 1
                                                        : 0;
            prev_msgs = msgs;
            if (zero_streak >= 3) {
                printf("drained: messages=%lld\n", (long long)msgs);
                code = 0;
                break;
            }
        }
        sleep_ms(1000);
    }
    if (code != 0) {
        fprintf(stderr, "wait-drained: still lagging after %llu s, behind: ",
                (unsigned long long)timeout_s);
        print_behind(stderr, group_lag);
        fputc('\n', stderr);
    }
    rv_cfg_fini(sec, 1, &kafka);
    return code;
}
