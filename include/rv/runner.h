/* include/rv/runner.h: the consume -> effect -> produce -> commit loop
 * that every worker runs, and the process's stop/reload flags. */
#ifndef RV_RUNNER_H
#define RV_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/err.h"
#include "rv/hist.h"
#include "rv/kafka.h"

/**
 * Handle one batch of @p count messages (borrowed). For a message that
 * cannot be decoded or validated, send it to the dead-letter topic with
 * rv_producer_send_dlq() and go on. Output goes to @p kp with
 * rv_producer_send(). Every effect must be idempotent: after a retriable
 * error the same batch is handled again.
 * The batch may mix topics and partitions; within a partition offsets
 * ascend. A rebalance never happens during the call (only polling serves
 * it), but a partition revoked while the batch was being polled may
 * still have messages in it: handle them anyway (their offsets are not
 * committed and the new owner handles them too).
 * @returns RV_OK (the batch is done), a retriable error (the runner backs
 *          off and calls again with the same batch), RV_ERR_FATAL or
 *          RV_ERR_NOMEM (the runner drains and returns it)
 */
typedef rv_err (*rv_batch_fn)(void *ctx, const rv_msg *msgs, size_t count,
                              rv_producer *kp);

typedef struct rv_runner_opts {
    size_t batch_max;       /**< messages per batch, >= 1 */
    int poll_timeout_ms;    /**< <= 1000 so a stop is seen quickly */
    int flush_timeout_ms;   /**< per flush of the batch's output */
    int64_t backoff_max_ms; /**< cap of the retry back-off */
    /** Called between batches after a SIGHUP (may be NULL), with
     *  @c reload_arg (borrowed). */
    void (*on_reload)(void *reload_arg);
    void *reload_arg;
    /** Timed work (may be NULL): called with the batch's @c ctx between
     *  batches, at most every @c tick_ms of wall time, also when no
     *  message comes; its output is flushed before the loop goes on. Must
     *  be idempotent like the batch function. A retriable error is logged
     *  (tick_failed, rate-limited) and the next tick tries again;
     *  RV_ERR_FATAL or RV_ERR_NOMEM stops the loop. A tick does a bounded
     *  slice of work, so that no batch waits long behind it (issue 8),
     *  and sets *@p more (false on entry) when it left due work: the loop
     *  then polls without waiting and ticks again after the next batch,
     *  not @c tick_ms later. */
    rv_err (*on_tick)(void *ctx, rv_producer *kp, bool *more);
    int64_t tick_ms; /**< >= 10 when on_tick is set */
    /** Called with the batch's @c ctx once a batch's output is flushed
     *  (its effects durable), before its offsets are committed; at most
     *  once a batch, never for a batch that is retried or released before
     *  that (may be NULL). For a batch function that keeps something
     *  only until then, such as a script's memo of its first answer. */
    void (*on_durable)(void *ctx);
    /** Where the loop notes each failed attempt (batch or tick) and each
     *  success, for the health probe (may be NULL; borrowed). */
    struct rv_health *health;
} rv_runner_opts;

/** Counters of one run, for the shutdown_complete line. */
typedef struct rv_runner_stats {
    uint64_t batches;
    uint64_t messages;
    uint64_t retries;
    /** Wall time spent handling batches (fn, flush, commit), µs: messages
     *  / busy_us is the worker's throughput while it had work. */
    uint64_t busy_us;
    /** Each batch's wall time (fn, flush, commit, retries included), µs:
     *  a batch's messages wait for all of it. */
    rv_hist batch_us;
    /** Each tick's wall time (on_tick and its flush), µs: no batch runs
     *  meanwhile. count is the number of ticks. */
    rv_hist tick_us;
    /** Of a batch's time: each producer flush (the broker's
     *  acknowledgement of its output) and each offset commit, µs; what
     *  is left of batch_us is the batch function's own work and its
     *  Redis or PostgreSQL round trips. */
    rv_hist flush_us;
    rv_hist commit_us;
} rv_runner_stats;

/**
 * Loop until rv_stop_requested(): poll a batch from @p kc, call @p fn,
 * flush @p kp (all output delivered), then commit the batch's offsets.
 * Offsets are committed only after the effects are durable.
 *
 * Retries: a retriable error (TIMEOUT, UNAVAILABLE, CONFLICT, and FULL
 * from a full producer queue) from @p fn or the flush calls @p fn again
 * with the same batch, after an exponential back-off from 50 ms to
 * opts->backoff_max_ms (log: batch_retry, rate-limited). Once @p fn and
 * the flush succeeded only the commit is retried; after 5 failed commits
 * the batch is released uncommitted (log: commit_skipped) and the loop
 * goes on: the next commit on the partition covers it, or its next owner
 * re-processes it. While retrying nothing polls @p kc: a retry longer than
 * max.poll.interval.ms loses the partitions and the work is redone.
 *
 * Stop: the in-flight batch is finished and committed first (log: drain).
 * If it is still failing once the back-off has been at its max 3 times
 * after the stop, it is abandoned uncommitted: with its effects durable
 * and only the commit refused (the group gave the partition to another
 * member, who re-processes the batch) that is a clean hand-over and the
 * loop returns RV_OK (log: drain_commit_abandoned); with its effects not
 * durable RV_ERR_UNAVAILABLE is returned (log: drain_batch_abandoned).
 * Both are safe: effects are idempotent.
 *
 * @param opts   borrowed; out-of-range values are clamped (batch_max >= 1,
 *               poll_timeout_ms in 1..1000, backoff_max_ms >= 50)
 * @param stats  may be NULL; filled on every return (also on error)
 * @returns RV_OK (stopped on request), RV_ERR_UNAVAILABLE (stopped, last
 *          batch abandoned before its effects were durable), RV_ERR_FATAL (from
 * @p fn, the producer or the consumer, or @p fn returned a code outside its
 *          contract such as RV_ERR_INVALID; log: batch_failed),
 *          RV_ERR_NOMEM. The caller closes @p kc and @p kp either way.
 * Ticks: see rv_runner_opts.on_tick.
 *
 * Threads: runs on the caller's thread, which owns @p kc and @p kp.
 */
RV_MUSTCHECK rv_err rv_runner_run(rv_consumer *kc, rv_producer *kp,
                                  rv_batch_fn fn, void *ctx,
                                  const rv_runner_opts *opts,
                                  rv_runner_stats *stats);

/**
 * Install SIGTERM/SIGINT (stop; a second one _exit(70)s), SIGHUP (reload)
 * handlers that only set flags, and ignore SIGPIPE. Call before creating
 * librdkafka handles. The flags are the process's only mutable globals
 * outside log.c.
 */
void rv_signals_install(void);

/** True once SIGTERM or SIGINT arrived (or rv_stop_request was called). */
int rv_stop_requested(void);

/** Ask the loop to stop, as a signal would (tests, idle exit).
 *  Async-signal-safe. */
void rv_stop_request(void);

/** Clear the stop flag, so that one process can run the loop again
 *  (tests). Never call it in a worker: it would undo a SIGTERM. */
void rv_stop_reset(void);

/** True once per SIGHUP: the call clears the flag. A SIGHUP arriving
 *  during the reload that follows is merged into it (the reload reads
 *  the file afterwards). */
int rv_reload_take(void);

/** Current time, UTC µs since the epoch (wall clock: envelopes only). */
int64_t rv_now_us(void);

#endif /* RV_RUNNER_H */
