/* workers/revisitctl/cmd_generate.c: `revisitctl generate`, synthetic
 * sales (generate.h) straight to sales.events, as fast as the broker
 * takes them, paced at a steady rate, or as a caller grants them on
 * stdin (a closed loop: bench.sh grants more while the workers keep
 * up). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctl_args.h"
#include "ctl_time.h"
#include "generate.h"
#include "rv/calendar.h"
#include "rv/cfg.h"
#include "rv/codec.h"
#include "rv/kafka.h"
#include "rv/log.h"
#include "rv/runner.h"

/* Unpaced, deliveries are confirmed (and failures seen) every this many
 * sales; paced, at least once a second. */
#define FLUSH_EVERY 50000
#define FLUSH_TIMEOUT_MS 30000
/* A broker that does not answer (down, electing a leader) is waited for
 * this long in all before generate gives up: librdkafka keeps every
 * message and retries it until message.timeout.ms (300 s), so a flush
 * that times out earlier is tried again, not a lost sale. */
#define FLUSH_GIVE_UP_MS 300000
#define RATE_MAX 1000000

/* Flushes until every message is delivered or failed, waiting out a
 * broker that does not answer for up to FLUSH_GIVE_UP_MS.
 * @returns as rv_producer_flush */
static rv_err flush_patiently(rv_producer *kp)
{
    rv_err err = RV_ERR_TIMEOUT;
    for (int waited_ms = 0; waited_ms < FLUSH_GIVE_UP_MS;
         waited_ms += FLUSH_TIMEOUT_MS) {
        err = rv_producer_flush(kp, FLUSH_TIMEOUT_MS);
        if (err != RV_ERR_TIMEOUT) {
            break;
        }
        fprintf(stderr,
                "generate: the broker has not confirmed every sale "
                "after %d s; waiting on\n",
                (waited_ms + FLUSH_TIMEOUT_MS) / 1000);
    }
    return err;
}

static void sleep_until_us(int64_t at_us)
{
    int64_t d = at_us - rv_now_us();
    if (d <= 0) {
        return;
    }
    struct timespec ts = {.tv_sec = d / 1000000,
                          .tv_nsec = (long)(d % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Sends one encoded sale, flushing while the local queue is full. */
static rv_err send_sale(rv_producer *kp, const char *topic, const rv_sale *s)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_sale(s, &buf, &len);
    while (err == RV_OK) {
        err = rv_producer_send(kp, topic, s->customer_id, buf, len, NULL, 0);
        if (err != RV_ERR_FULL) {
            break;
        }
        err = flush_patiently(kp);
    }
    free(buf);
    return err;
}

typedef struct gen_run {
    gen_params params;
    uint64_t count;
    uint64_t rate;     /* sales per second of wall time; 0 = unpaced */
    bool credit_stdin; /* send only the sales granted on stdin */
    uint64_t granted;  /* with credit_stdin: sales granted so far */
    const char *topic;
    int64_t first_us; /* produced_at of the first and the last sale */
    int64_t last_us;
} gen_run;

/* --credit-stdin: once every sale granted so far is sent, delivers them,
 * says so on stdout ("generate: delivered=N", so that the caller knows
 * what of its grants is in the topic) and reads the next grant, a line
 * with a number of sales; end of input grants the rest.
 * @returns RV_OK, RV_ERR_INVALID (a line that is not a number), as
 *          flush_patiently */
static rv_err await_credit(rv_producer *kp, gen_run *run, uint64_t sent)
{
    while (sent >= run->granted) {
        rv_err err = flush_patiently(kp);
        if (err != RV_OK) {
            return err;
        }
        printf("generate: delivered=%llu\n", (unsigned long long)sent);
        fflush(stdout);
        char line[64];
        if (fgets(line, sizeof(line), stdin) == NULL) {
            run->granted = run->count;
            return RV_OK;
        }
        line[strcspn(line, "\r\n")] = '\0';
        uint64_t n = 0;
        if (ctl_parse_u64(line, 0, UINT64_MAX / 2, &n) != RV_OK) {
            fprintf(stderr,
                    "generate: bad grant \"%s\" on stdin (a number "
                    "of sales)\n",
                    line);
            return RV_ERR_INVALID;
        }
        run->granted += n;
    }
    return RV_OK;
}

static rv_err produce_all(rv_producer *kp, gen_run *run)
{
    /* new_customer: the customers seen so far, one bit each. */
    uint8_t *seen = calloc(1, gen_seen_bytes(&run->params));
    if (seen == NULL) {
        fprintf(stderr, "generate: out of memory\n");
        return RV_ERR_NOMEM;
    }
    rv_err err = RV_OK;
    int64_t t0 = rv_now_us();
    int64_t flushed_us = t0;
    for (uint64_t i = 0; i < run->count; i++) {
        if (run->rate > 0) {
            sleep_until_us(t0 + (int64_t)(i * 1000000 / run->rate));
        }
        if (run->credit_stdin) {
            err = await_credit(kp, run, i);
            if (err != RV_OK) {
                if (err != RV_ERR_INVALID) {
                    fprintf(stderr, "generate: delivery failed: %s\n",
                            rv_err_str(err));
                }
                goto out;
            }
        }
        rv_sale s;
        gen_sale(&run->params, i, seen, &s);
        s.env.produced_at_us = rv_now_us();
        if (i == 0) {
            run->first_us = s.env.produced_at_us;
        }
        run->last_us = s.env.produced_at_us;
        err = send_sale(kp, run->topic, &s);
        if (err != RV_OK) {
            fprintf(stderr, "generate: sale %llu: send failed: %s\n",
                    (unsigned long long)i, rv_err_str(err));
            goto out;
        }
        bool due = run->rate > 0 ? s.env.produced_at_us - flushed_us >= 1000000
                                 : (i + 1) % FLUSH_EVERY == 0;
        if (due) {
            err = flush_patiently(kp);
            if (err != RV_OK) {
                fprintf(stderr, "generate: delivery failed: %s\n",
                        rv_err_str(err));
                goto out;
            }
            flushed_us = rv_now_us();
        }
    }
    err = flush_patiently(kp);
    if (err != RV_OK) {
        fprintf(stderr, "generate: delivery failed: %s\n", rv_err_str(err));
    }
out:
    free(seen);
    return err;
}

static void generate_usage(FILE *out)
{
    char min_text[CTL_TIME_SIZE], max_text[CTL_TIME_SIZE];
    ctl_time_format(RV_CODEC_MIN_TIME_US, min_text);
    ctl_time_format(RV_CODEC_MAX_TIME_US, max_text);
    fprintf(out,
            "usage: revisitctl generate --count N [--seed S] [--rate PER_S | "
            "--credit-stdin]\n"
            "                           [--start YYYY-MM-DD]\n"
            "                           [--per-day K] [--customers C] "
            "[--topic T]\n"
            "  N synthetic Superstore-like sales, one SaleEvent each, keyed "
            "by customer,\n"
            "  to T (default sales.events). The same seed (default 1) gives "
            "the same sales.\n"
            "  --rate: sales per second of wall time (default: as fast as "
            "the broker takes them)\n"
            "  --credit-stdin: send only the sales granted on stdin, a "
            "number a line; each\n"
            "  grant's sales are delivered (printed: generate: "
            "delivered=N) before the next\n"
            "  line is read; end of input grants the rest\n"
            "  --start: day of the first sale (default 2014-01-01); every "
            "sale's event time\n"
            "  must lie in [%s, %s), what the pipeline takes;\n"
            "  --per-day: sales per day of event time, spread over "
            "13:00-01:00 UTC\n"
            "  (1..%d, default %d); --customers: pool size (1..%llu, "
            "default N / %d).\n"
            "  Prints: generate: sales= seed= elapsed_s= rate_per_s= "
            "first_produced_us= last_produced_us=\n",
            min_text, max_text, GEN_PER_DAY_MAX, GEN_PER_DAY_DEFAULT,
            (unsigned long long)GEN_CUSTOMERS_MAX, GEN_ORDERS_PER_CUSTOMER);
}

int rv_ctl_generate(int argc, char **argv)
{
    gen_run run = {.params = {.seed = 1, .per_day = GEN_PER_DAY_DEFAULT},
                   .topic = "sales.events"};
    const char *start = "2014-01-01";
    uint64_t customers = 0, per_day = GEN_PER_DAY_DEFAULT;
    int have_count = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char errstr[256] = "";
        rv_err err = RV_OK;
        if (ctl_arg_is_help(a)) {
            generate_usage(stdout);
            return 0;
        } else if (strcmp(a, "--count") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 0, UINT64_MAX / 2, &run.count,
                              errstr, sizeof(errstr));
            have_count = 1;
        } else if (strcmp(a, "--seed") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 0, UINT64_MAX, &run.params.seed,
                              errstr, sizeof(errstr));
        } else if (strcmp(a, "--credit-stdin") == 0) {
            run.credit_stdin = true;
        } else if (strcmp(a, "--rate") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 0, RATE_MAX, &run.rate, errstr,
                              sizeof(errstr));
        } else if (strcmp(a, "--per-day") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 1, GEN_PER_DAY_MAX, &per_day,
                              errstr, sizeof(errstr));
        } else if (strcmp(a, "--customers") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 1, GEN_CUSTOMERS_MAX, &customers,
                              errstr, sizeof(errstr));
        } else if (strcmp(a, "--start") == 0) {
            err = ctl_arg_value(argc, argv, &i, &start, errstr, sizeof(errstr));
        } else if (strcmp(a, "--topic") == 0) {
            err = ctl_arg_value(argc, argv, &i, &run.topic, errstr,
                                sizeof(errstr));
        } else {
            rv_errf(errstr, sizeof(errstr), "unknown argument \"%s\"", a);
            err = RV_ERR_INVALID;
        }
        if (err != RV_OK) {
            fprintf(stderr, "generate: %s\n", errstr);
            generate_usage(stderr);
            return CTL_EX_USAGE;
        }
    }
    if (!have_count) {
        fprintf(stderr, "generate: --count N is required\n");
        generate_usage(stderr);
        return CTL_EX_USAGE;
    }
    if (run.credit_stdin && run.rate > 0) {
        fprintf(stderr, "generate: --rate and --credit-stdin exclude each "
                        "other\n");
        return CTL_EX_USAGE;
    }
    run.params.per_day = (uint32_t)per_day;
    run.params.customers = customers > 0
                               ? customers
                               : (run.count > GEN_ORDERS_PER_CUSTOMER
                                      ? run.count / GEN_ORDERS_PER_CUSTOMER
                                      : 1);
    if (run.params.customers > GEN_CUSTOMERS_MAX) {
        run.params.customers = GEN_CUSTOMERS_MAX;
    }
    /* The pipeline dead-letters a sale outside these times (rv/codec.h). */
    char min_text[CTL_TIME_SIZE], max_text[CTL_TIME_SIZE];
    ctl_time_format(RV_CODEC_MIN_TIME_US, min_text);
    ctl_time_format(RV_CODEC_MAX_TIME_US, max_text);
    if (rv_calendar_day_parse(start, &run.params.start_day) != RV_OK ||
        gen_params_check(&run.params) != RV_OK) {
        fprintf(stderr,
                "generate: bad --start \"%s\": a day YYYY-MM-DD whose sales "
                "(13:00-01:00 UTC) the pipeline takes, event times in "
                "[%s, %s)\n",
                start, min_text, max_text);
        return CTL_EX_USAGE;
    }
    if (gen_count_check(&run.params, run.count) != RV_OK) {
        fprintf(stderr,
                "generate: %llu sales from %s at %llu a day run past %s, "
                "the last event time the pipeline takes ([%s, %s)): a "
                "smaller --count, an earlier --start or a larger "
                "--per-day\n",
                (unsigned long long)run.count, start,
                (unsigned long long)per_day, max_text, min_text, max_text);
        return CTL_EX_USAGE;
    }

    static const rv_cfg_key no_keys[] = {{0}};
    rv_cfg_section sec[] = {{no_keys, NULL}};
    rv_props kafka = {0};
    if (rv_cfg_load(sec, 1, NULL, &kafka) != RV_OK) {
        return 78;
    }
    rv_log_init("revisitctl", RV_LOG_WARN, RV_LOG_LOGFMT);
    char errstr[512] = "";
    rv_producer *kp = NULL;
    int code = 0;
    if (rv_producer_open(&kafka, "revisitctl-generate", &kp, errstr,
                         sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "generate: %s\n", errstr);
        code = 69;
    } else if (run.count > 0 && produce_all(kp, &run) != RV_OK) {
        code = 69;
    } else {
        double secs = (double)(rv_now_us() - run.first_us) / 1e6;
        printf("generate: sales=%llu seed=%llu elapsed_s=%.3f "
               "rate_per_s=%.0f first_produced_us=%lld "
               "last_produced_us=%lld\n",
               (unsigned long long)run.count,
               (unsigned long long)run.params.seed, run.count ? secs : 0.0,
               run.count && secs > 0 ? (double)run.count / secs : 0.0,
               (long long)run.first_us, (long long)run.last_us);
    }
    rv_producer_close(kp, 10000);
    rv_cfg_fini(sec, 1, &kafka);
    return code;
}
