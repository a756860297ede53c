/* include/rv/worker.h: the runtime every worker's main() hands over to:
 * config (defaults < file < env), logging, signals, the clients the
 * worker needs, the consume loop and the ordered drain (STYLE §9). */
#ifndef RV_WORKER_H
#define RV_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "rv/calendar.h"
#include "rv/cfg.h"
#include "rv/err.h"
#include "rv/kafka.h"
#include "rv/log.h"
#include "rv/pg.h"
#include "rv/policy.h"
#include "rv/redis.h"
#include "rv/runner.h"

/** Keys every worker has. Strings owned (rv_cfg_fini). */
typedef struct rv_worker_cfg {
    char *log_level;
    char *log_format;
    char *group_id;
    char *topics; /**< comma-separated input topics */
    char *policy_path;
    char *redis_url;
    char *pg_dsn;
    /** Before every produced topic's name; "" = none (a replay's
     *  workers write "replay.<id>.<topic>", issue 7). */
    char *produce_topic_prefix;
    int64_t batch_max;
    int64_t poll_timeout_ms;
    int64_t flush_timeout_ms;
    int64_t backoff_max_ms;
    int64_t redis_timeout_ms;
    int64_t shutdown_timeout_ms;
    int64_t tick_ms; /**< period of the spec's tick, if it has one */
    /** A partition silent this long no longer holds an event-time
     *  watermark back (rv/watermark.h); 0 = never. */
    int64_t watermark_idle_ms;
    /** A partition once heard from holds the watermark back however long
     *  it is silent (rv_watermark_opts.hold_silent; a replay's). */
    bool watermark_hold_silent;
    /** How long start-up waits for Redis and PostgreSQL to answer (a
     *  server restarting as a replica starts), ms; 0 = not at all. */
    int64_t startup_wait_ms;
    char *health_address;     /**< IPv4 address of the health probe */
    int64_t health_port;      /**< 0 = no probe */
    int64_t health_red_after; /**< failures in a row that turn it red */
} rv_worker_cfg;

/** What a worker is and needs. Strings are static. */
typedef struct rv_worker_spec {
    const char *name;           /**< "sampler": log worker and client.id */
    const char *default_group;  /**< consumer group, e.g. "revisit-sampler" */
    const char *default_topics; /**< comma-separated input topics */
    bool needs_redis;
    bool needs_pg;
    bool needs_policy;            /**< also builds the calendar */
    const rv_cfg_key *extra_keys; /**< worker's own keys, or NULL */
    void *extra_base;             /**< struct the extra keys fill */
    /** Timed work with the worker's ctx (rv_runner_opts.on_tick), or
     *  NULL; every tick.ms of wall time (config, default 1000). */
    rv_err (*tick)(void *ctx, rv_producer *kp, bool *more);
    /** Called with the worker's ctx once a batch's output is durable
     *  (rv_runner_opts.on_durable), or NULL. */
    void (*durable)(void *ctx);
    /** --check-config: check the worker's own keys (in @p extra_base,
     *  borrowed) as start-up will use them, without any server (the
     *  recorder's pii.key.file), each problem to @p report with
     *  @p report_arg; or NULL, nothing more to check.
     *  Returns RV_OK, RV_ERR_INVALID (one or more reported),
     *  RV_ERR_NOMEM. */
    rv_err (*check_config)(const void *extra_base, rv_cfg_report_fn report,
                           void *report_arg);
} rv_worker_spec;

/** A running worker's clients; borrowed by the worker's callbacks. */
typedef struct rv_worker {
    const rv_worker_spec *spec;
    rv_worker_cfg cfg;
    rv_props kafka;
    rv_producer *kp;
    rv_consumer *kc;
    rv_redis *rc;               /**< NULL unless needs_redis */
    rv_pg *pg;                  /**< NULL unless needs_pg */
    rv_policy *policy;          /**< NULL unless needs_policy */
    rv_calendar *cal;           /**< NULL unless needs_policy */
    rv_log_ratelimit reject_rl; /**< message_rejected lines */
    struct rv_health *health;   /**< the probe's state (rv/health.h) */
    /** Set by init to choose where assigned partitions start (the
     *  recorder: from PostgreSQL); NULL = committed offsets. */
    rv_position_fn position_fn;
    void *position_ctx;
} rv_worker;

/** Worker callbacks: set up the context after the clients are open
 *  (return RV_ERR_* to stop start-up), and free it at the end. A worker
 *  without state of its own passes NULL for both: its batch function
 *  then gets the rv_worker itself as ctx. */
typedef rv_err (*rv_worker_init_fn)(rv_worker *w, void **ctx);
typedef void (*rv_worker_fini_fn)(void *ctx);

/**
 * Run a worker: parse argv (-c, --help, --check-config), load and check
 * the config (exit 78 on error). --check-config then prints the effective
 * config and checks, without any server, the policy and its calendar
 * (needs_policy), redis.url (needs_redis), the kafka.* properties (the
 * producer's and the consumer's librdkafka configuration), the health
 * probe's address and the spec's own check_config; each problem is a
 * line "config: <key>: <why>" on stderr, and the exit is 78 if there is
 * any, else 0. Otherwise: install signals, open producer, Redis,
 * PostgreSQL, policy and calendar as the spec asks, call @p init, run the
 * consume loop with @p fn until SIGTERM/SIGINT, then drain: commit, close
 * the consumer, flush the producer, close the clients, @p fini, log
 * shutdown_complete.
 * @returns the process exit code: 0 clean (or --check-config found no
 *          problem), 1 fatal runtime error or out of memory,
 *          78 configuration error
 */
int rv_worker_main(int argc, char **argv, const rv_worker_spec *spec,
                   rv_worker_init_fn init, rv_batch_fn fn,
                   rv_worker_fini_fn fini);

/**
 * For an init function's own first statements (the recorder's key
 * check): whether to try again after @p err, with start-up's patience
 * for its connections. Only RV_ERR_UNAVAILABLE is retried, backing off
 * from 100 ms, doubling up to backoff.max.ms, until startup.wait.ms after
 * the first failure; each retry logs server_unavailable_at_start and
 * sleeps before this returns true.
 * @param server       "postgres", for the log line; borrowed
 * @param reason       errstr of the failure, for the log line; borrowed
 * @param attempt      1 at the first failure, then 2, 3, ...
 * @param deadline_ms  caller's storage, set at attempt 1 (monotonic ms)
 * @returns true to try again; false to give up (another error, past the
 *          deadline, or a stop was requested)
 * Threads: the worker's main thread.
 */
bool rv_worker_startup_retry(const rv_worker *w, rv_err err, const char *server,
                             const char *reason, int attempt,
                             int64_t *deadline_ms);

/**
 * A message that cannot be decoded or validated: log message_rejected
 * (topic, partition, offset, @p reason; rate-limited) and send it to its
 * dead-letter topic with @p reason (DESIGN §3). The batch goes on.
 * @returns as rv_producer_send_dlq: a retriable error makes the runner
 *          handle the batch again (dead letters are keyed by their
 *          source, so a resend is recorded once)
 */
RV_MUSTCHECK rv_err rv_worker_reject(rv_worker *w, rv_producer *kp,
                                     const rv_msg *m, const char *reason);

#endif /* RV_WORKER_H */
