/* workers/grader/grader_spot.h: R10 quality spot checks (seed 000 第五篇;
 * seed 004 quality sampling). Of each agent's successful visits of a
 * month (the branch's local month of the call), the policy's
 * spot_checks.per_agent_month with the smallest draw u = hash(salt, "R10",
 * outcome_id) are re-visited by a supervisor (the spot_checks rule, whose
 * pool serves it). The month closes when the event-time watermark of
 * visits.outcomes passes its end plus spot_checks.lateness_hours; then the
 * chosen visits become tasks on visits.tasks. Same input, same sample,
 * whatever the order of arrival inside the lateness. */
#ifndef RV_GRADER_SPOT_H
#define RV_GRADER_SPOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/calendar.h"
#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/model.h"
#include "rv/policy.h"
#include "rv/redis.h"
#include "rv/sample_store.h"

/** Hash partition -> highest event time of visits.outcomes (µs). */
#define GRADER_WATERMARK_KEY "rv:grader:watermark"

/** One successful visit offered to its agent-month's sample. */
typedef struct grader_spot {
    char label[RV_SAMPLE_LABEL_SIZE]; /**< "<agent>@<YYYY-MM>" */
    double u;                         /**< draw in [0, 1) */
    int64_t close_us;                 /**< month end + lateness, µs UTC */
    rv_task task;                     /**< the re-visit, if chosen */
} grader_spot;

/**
 * Whether outcome @p o graded @p g is a spot-check candidate: spot checks
 * on, a successful phone visit by an agent, not itself a spot check, in a
 * branch of the calendar. If so fills @p out: the re-visit task (task_id =
 * derive(outcome_id, rule), rule/channel/questions/priority/pool from the
 * spot_checks rule, due window from the rule counted from the month end,
 * event time = the month end, reasons naming the original task and agent;
 * the R3 salesperson is the original agent, who must not re-visit).
 */
bool grader_spot_candidate(const rv_policy *p, const rv_calendar *cal,
                           const rv_outcome *o, const rv_grade *g,
                           grader_spot *out);

/**
 * Offer @p s to its agent-month's sample in Redis: kept if among the
 * per_agent_month smallest draws; the month enters the closing clock. A
 * visit offered after its month closed is ignored (logged by the caller
 * from *late). Idempotent; one atomic script.
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err grader_spot_offer(rv_redis *rc, const rv_policy *p,
                                      const grader_spot *s, bool *late);

/**
 * grader_spot_offer for @p count spots (borrowed) in one round trip, in
 * the order given (Redis runs the pipeline in order: the result is that
 * of the offers made one by one); late[i] is spot i's.
 * @returns as grader_spot_offer, and RV_ERR_INVALID (a spot too long for
 *          one call)
 */
RV_MUSTCHECK rv_err grader_spot_offer_batch(rv_redis *rc, const rv_policy *p,
                                            const grader_spot *spots,
                                            size_t count, bool *late);

/**
 * The months whose close time is at or before @p now_us: their chosen
 * tasks (decoded) into @p tasks (room for @p cap; a month whose tasks do
 * not fit waits for the next call) and their labels into @p labels (room
 * for @p cap).
 * @returns RV_OK (*task_count, *label_count set), RV_ERR_UNAVAILABLE,
 *          RV_ERR_NOMEM, RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err grader_spot_due(rv_redis *rc, int64_t now_us,
                                    rv_task *tasks, size_t cap,
                                    size_t *task_count,
                                    char (*labels)[RV_SAMPLE_LABEL_SIZE],
                                    size_t *label_count);

/** Close the months @p labels once their tasks are durable: later
 *  visits of those months are late. @returns as grader_spot_offer */
RV_MUSTCHECK rv_err grader_spot_close(rv_redis *rc,
                                      char (*labels)[RV_SAMPLE_LABEL_SIZE],
                                      size_t n);

#endif /* RV_GRADER_SPOT_H */
