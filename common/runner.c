/* common/runner.c: the consume -> effect -> produce -> commit loop, and
 * the process's stop/reload flags (set only by signal handlers). */
#include "rv/runner.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "rv/health.h"
#include "rv/log.h"

/* Second TERM/INT: the operator insists (sysexits EX_SOFTWARE). */
#define RUNNER_EXIT_FORCED 70
/* Longest poll, so that a stop is seen within this interval. */
#define POLL_TIMEOUT_MAX_MS 1000
/* Retry back-off: doubles from the min up to opts->backoff_max_ms. */
#define BACKOFF_MIN_MS 50
/* A back-off sleeps in slices of at most this, watching the stop flag. */
#define SLEEP_SLICE_MS 100
/* After a stop, a batch still failing is given up once the back-off has
 * been at its max this many times: the drain must end. */
#define STOP_GIVE_UP_MAX_HITS 3
/* A batch whose effects are durable but whose commit keeps failing is
 * released after this many commit attempts (see run_batch). */
#define COMMIT_ATTEMPTS_MAX 5
/* A batch that took longer than this is logged (batch_slow), at most one
 * line per RV_LOG_RATELIMIT_MS: where a latency tail comes from. */
#define SLOW_BATCH_US 500000

/* The process's only mutable globals outside log.c (STYLE §9): written
 * by the signal handler, read by the loop. */
static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t reload_flag;

/* Only sets flags: everything else is unsafe in a handler. */
static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        reload_flag = 1;
    } else if (stop_flag) {
        _exit(RUNNER_EXIT_FORCED);
    } else {
        stop_flag = 1;
    }
}

void rv_signals_install(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* broken sockets surface as EPIPE */
}

int rv_stop_requested(void)
{
    return stop_flag != 0;
}

void rv_stop_request(void)
{
    stop_flag = 1;
}

void rv_stop_reset(void)
{
    stop_flag = 0;
}

int rv_reload_take(void)
{
    if (reload_flag == 0) {
        return 0;
    }
    reload_flag = 0;
    return 1;
}

int64_t rv_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                          .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL); /* EINTR: a signal cuts it short, fine */
}

/* The loop's settings, clamped to what the loop can work with. */
struct run_opts {
    size_t batch_max;
    int poll_timeout_ms;
    int flush_timeout_ms;
    int64_t backoff_max_ms;
    void (*on_durable)(void *ctx);
};

static struct run_opts clamp_opts(const rv_runner_opts *opts)
{
    struct run_opts o = {
        .batch_max = opts->batch_max,
        .poll_timeout_ms = opts->poll_timeout_ms,
        .flush_timeout_ms = opts->flush_timeout_ms,
        .backoff_max_ms = opts->backoff_max_ms,
        .on_durable = opts->on_durable,
    };
    if (o.batch_max == 0) {
        o.batch_max = 1;
    }
    if (o.poll_timeout_ms <= 0 || o.poll_timeout_ms > POLL_TIMEOUT_MAX_MS) {
        o.poll_timeout_ms = POLL_TIMEOUT_MAX_MS;
    }
    if (o.flush_timeout_ms < 0) {
        o.flush_timeout_ms = 0;
    }
    if (o.backoff_max_ms < BACKOFF_MIN_MS) {
        o.backoff_max_ms = BACKOFF_MIN_MS;
    }
    return o;
}

/* Sleeps delay_ms in slices; cuts the sleep short once a stop means the
 * batch is about to be given up anyway. */
static void backoff_sleep(int64_t delay_ms, int max_hits)
{
    int64_t end_ms = monotonic_ms() + delay_ms;
    for (;;) {
        if (rv_stop_requested() && max_hits >= STOP_GIVE_UP_MAX_HITS) {
            return;
        }
        int64_t left_ms = end_ms - monotonic_ms();
        if (left_ms <= 0) {
            return;
        }
        sleep_ms(left_ms < SLEEP_SLICE_MS ? left_ms : SLEEP_SLICE_MS);
    }
}

/* Monotonic clock, µs: durations only. */
static int64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* What a batch is doing, for the retry and failure lines. */
static const char *const stage_names[] = {"handle", "flush", "commit"};
enum stage { STAGE_HANDLE, STAGE_FLUSH, STAGE_COMMIT };

/* Errors the loop backs off on. FULL comes from rv_producer_send when the
 * producer's queue is full: it drains by itself, so waiting helps. */
static bool is_retriable(rv_err err)
{
    return rv_err_is_retriable(err) || err == RV_ERR_FULL;
}

/* Logs @p event at warn for the batch @p msgs / @p count (with its stage
 * unless @p stage is NULL) and releases the batch uncommitted. */
static void release_logged(rv_consumer *kc, const char *event,
                           const char *stage, rv_err err, const rv_msg *msgs,
                           size_t count)
{
    if (stage != NULL) {
        RV_LOG(RV_LOG_WARN, event, RV_KV_STR("stage", stage),
               RV_KV_STR("err", rv_err_str(err)),
               RV_KV_STR("topic", msgs[0].topic),
               RV_KV_INT("partition", msgs[0].partition),
               RV_KV_INT("offset", msgs[0].offset), RV_KV_INT("count", count));
    } else {
        RV_LOG(RV_LOG_WARN, event, RV_KV_STR("err", rv_err_str(err)),
               RV_KV_STR("topic", msgs[0].topic),
               RV_KV_INT("partition", msgs[0].partition),
               RV_KV_INT("offset", msgs[0].offset), RV_KV_INT("count", count));
    }
    rv_consumer_release_batch(kc);
}

/*
 * Handles one batch until its offsets are committed. fn and the flush are
 * redone together (a failed flush means some output must be resent); once
 * both succeeded the effects are durable and only the commit is retried.
 * A commit that keeps failing is most often a group change (a rebalance,
 * or the member was dropped because nothing polled during a long retry),
 * which only the next poll resolves; the batch is then released: its
 * offsets are covered by the next commit on the partition, or its new
 * owner re-processes it, and effects are idempotent.
 */
static rv_err run_batch(rv_consumer *kc, rv_producer *kp, rv_batch_fn fn,
                        void *ctx, const struct run_opts *o, const rv_msg *msgs,
                        size_t count, rv_runner_stats *st,
                        rv_log_ratelimit *retry_rl, rv_health *health)
{
    bool is_durable = false;
    int commit_failures = 0;
    int max_hits = 0;
    int64_t delay_ms = 0;
    for (uint64_t attempt = 1;; attempt++) {
        enum stage stage = STAGE_COMMIT;
        rv_err err = RV_OK;
        if (!is_durable) {
            stage = STAGE_HANDLE;
            err = fn(ctx, msgs, count, kp);
            if (err == RV_OK) {
                stage = STAGE_FLUSH;
                int64_t t0 = monotonic_us();
                err = rv_producer_flush(kp, o->flush_timeout_ms);
                rv_hist_add(&st->flush_us, (uint64_t)(monotonic_us() - t0));
            }
            if (err == RV_OK) {
                is_durable = true;
                stage = STAGE_COMMIT;
                if (o->on_durable != NULL) {
                    o->on_durable(ctx);
                }
            }
        }
        if (is_durable) {
            int64_t t0 = monotonic_us();
            err = rv_consumer_commit_batch(kc);
            rv_hist_add(&st->commit_us, (uint64_t)(monotonic_us() - t0));
            if (err == RV_OK) {
                rv_health_note_ok(health);
                return RV_OK;
            }
            commit_failures++;
        }
        char what[64];
        snprintf(what, sizeof(what), "%s: %s", stage_names[stage],
                 rv_err_str(err));
        rv_health_note_failure(health, what);

        if (!is_retriable(err)) {
            /* FATAL, NOMEM, or a batch fn breaking its contract (it must
             * dead-letter bad input, not return INVALID): stop. */
            RV_LOG(RV_LOG_ERROR, "batch_failed",
                   RV_KV_STR("stage", stage_names[stage]),
                   RV_KV_STR("err", rv_err_str(err)),
                   RV_KV_STR("topic", msgs[0].topic),
                   RV_KV_INT("partition", msgs[0].partition),
                   RV_KV_INT("offset", msgs[0].offset),
                   RV_KV_INT("count", count));
            rv_consumer_release_batch(kc);
            return err == RV_ERR_NOMEM ? RV_ERR_NOMEM : RV_ERR_FATAL;
        }
        if (commit_failures >= COMMIT_ATTEMPTS_MAX && !rv_stop_requested()) {
            release_logged(kc, "commit_skipped", NULL, err, msgs, count);
            rv_health_note_ok(health); /* its effects are durable */
            return RV_OK;
        }

        delay_ms = delay_ms == 0 ? BACKOFF_MIN_MS : delay_ms * 2;
        if (delay_ms >= o->backoff_max_ms) {
            delay_ms = o->backoff_max_ms;
            max_hits++;
        }
        if (rv_stop_requested() && max_hits >= STOP_GIVE_UP_MAX_HITS &&
            is_durable) {
            /* Stopping, the batch's effects durable, its commit refused
             * again and again: the group has moved on (a rebalance gave
             * the partition to another member). That member re-processes
             * the batch, idempotently: a clean hand-over, not a failure. */
            release_logged(kc, "drain_commit_abandoned", NULL, err, msgs,
                           count);
            return RV_OK;
        }
        if (rv_stop_requested() && max_hits >= STOP_GIVE_UP_MAX_HITS) {
            /* Not committed: whoever consumes next re-processes the batch,
             * and every effect is idempotent. */
            release_logged(kc, "drain_batch_abandoned", stage_names[stage], err,
                           msgs, count);
            return RV_ERR_UNAVAILABLE;
        }

        st->retries++;
        uint64_t suppressed = 0;
        if (rv_log_ratelimit_allow(retry_rl, &suppressed)) {
            RV_LOG(RV_LOG_WARN, "batch_retry",
                   RV_KV_STR("stage", stage_names[stage]),
                   RV_KV_STR("err", rv_err_str(err)),
                   RV_KV_INT("attempt", attempt),
                   RV_KV_INT("backoff_ms", delay_ms),
                   RV_KV_STR("topic", msgs[0].topic),
                   RV_KV_INT("partition", msgs[0].partition),
                   RV_KV_INT("offset", msgs[0].offset),
                   RV_KV_INT("count", count),
                   RV_KV_INT("suppressed", suppressed));
        }
        backoff_sleep(delay_ms, max_hits);
    }
}

/* One tick and the flush of its output; *more as on_tick set it, false
 * after a failure (the next try waits tick_ms). @returns RV_OK (also
 * after a retriable failure, logged), RV_ERR_FATAL, RV_ERR_NOMEM. */
static rv_err run_tick(rv_producer *kp, const rv_runner_opts *opts, void *ctx,
                       int flush_timeout_ms, rv_log_ratelimit *rl, bool *more)
{
    *more = false;
    rv_err err = opts->on_tick(ctx, kp, more);
    if (err == RV_OK) {
        err = rv_producer_flush(kp, flush_timeout_ms);
    }
    if (err == RV_OK) {
        rv_health_note_ok(opts->health);
    } else {
        *more = false;
        char what[64];
        snprintf(what, sizeof(what), "tick: %s", rv_err_str(err));
        rv_health_note_failure(opts->health, what);
    }
    if (err == RV_ERR_FATAL || err == RV_ERR_NOMEM) {
        RV_LOG(RV_LOG_ERROR, "tick_failed", RV_KV_STR("err", rv_err_str(err)));
        return err;
    }
    if (err != RV_OK) {
        uint64_t suppressed = 0;
        if (rv_log_ratelimit_allow(rl, &suppressed)) {
            RV_LOG(RV_LOG_WARN, "tick_failed",
                   RV_KV_STR("err", rv_err_str(err)),
                   RV_KV_INT("suppressed", suppressed));
        }
    }
    return RV_OK;
}

rv_err rv_runner_run(rv_consumer *kc, rv_producer *kp, rv_batch_fn fn,
                     void *ctx, const rv_runner_opts *opts,
                     rv_runner_stats *stats)
{
    struct run_opts o = clamp_opts(opts);
    rv_runner_stats st = {0};
    rv_log_ratelimit retry_rl = {0};
    rv_err err = RV_OK;

    rv_log_ratelimit tick_rl = {0};
    rv_log_ratelimit slow_rl = {0};
    int64_t last_tick_us = 0;
    int64_t tick_us = (opts->tick_ms < 10 ? 10 : opts->tick_ms) * 1000;
    bool tick_more = false; /* the last tick left due work */
    while (!rv_stop_requested()) {
        if (rv_reload_take() && opts->on_reload != NULL) {
            opts->on_reload(opts->reload_arg);
        }
        if (opts->on_tick != NULL &&
            (tick_more || monotonic_us() - last_tick_us >= tick_us)) {
            last_tick_us = monotonic_us();
            err = run_tick(kp, opts, ctx, o.flush_timeout_ms, &tick_rl,
                           &tick_more);
            rv_hist_add(&st.tick_us, (uint64_t)(monotonic_us() - last_tick_us));
            if (err != RV_OK) {
                goto out;
            }
        }
        const rv_msg *msgs = NULL;
        size_t count = 0;
        err = rv_consumer_poll_batch(
            kc, o.batch_max, tick_more ? 0 : o.poll_timeout_ms, &msgs, &count);
        if (err != RV_OK) {
            RV_LOG(RV_LOG_ERROR, "poll_failed",
                   RV_KV_STR("err", rv_err_str(err)));
            goto out;
        }
        if (count == 0) {
            continue;
        }
        int64_t began_us = monotonic_us();
        err = run_batch(kc, kp, fn, ctx, &o, msgs, count, &st, &retry_rl,
                        opts->health);
        uint64_t took_us = (uint64_t)(monotonic_us() - began_us);
        st.busy_us += took_us;
        rv_hist_add(&st.batch_us, took_us);
        uint64_t suppressed = 0;
        if (took_us > SLOW_BATCH_US &&
            rv_log_ratelimit_allow(&slow_rl, &suppressed)) {
            RV_LOG(RV_LOG_INFO, "batch_slow",
                   RV_KV_INT("batch", (int64_t)st.batches + 1),
                   RV_KV_INT("count", (int64_t)count),
                   RV_KV_INT("took_ms", (int64_t)(took_us / 1000)),
                   RV_KV_INT("suppressed", (int64_t)suppressed));
        }
        if (err != RV_OK) {
            goto out;
        }
        st.batches++;
        st.messages += count;
    }
    RV_LOG(RV_LOG_INFO, "drain", RV_KV_INT("batches", st.batches),
           RV_KV_INT("messages", st.messages),
           RV_KV_INT("retries", st.retries));
out:
    if (stats != NULL) {
        *stats = st;
    }
    return err;
}
