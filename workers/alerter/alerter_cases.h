/* workers/alerter/alerter_cases.h: the alerter's state in Redis: the
 * escalation clock of cases (A2) and the per-agent hourly visit count
 * (A5). Every script is one atomic, idempotent call, so a crash or a
 * re-delivered message never applies anything twice and no key is left
 * without its expiry. Which case an alert is in is a pure function
 * (alerter_case_id). */
#ifndef RV_ALERTER_CASES_H
#define RV_ALERTER_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/model.h"
#include "rv/redis.h"

/** Sorted set of open cases scored by deadline (µs UTC). */
#define ALERTER_DUE_KEY "rv:cases:due"
/** rv/watermark.h hash of visits.grades (event clock). */
#define ALERTER_WATERMARK_KEY "rv:alerter:watermark"

/**
 * A2: keep the clock of the cases of @p n alerts (borrowed; case_id set
 * by alerter_findings; escalations skipped): a case is due at the
 * deadline of its earliest alert (event time, then alert_id), whatever
 * order its alerts arrive in, unless it has no deadline or is off the
 * clock (answered, closed, escalated). Idempotent; one pipelined round
 * trip.
 * @param ttl_s  expiry of the case's keys (> the longest deadline)
 * @returns RV_OK, RV_ERR_UNAVAILABLE (retry the batch), RV_ERR_NOMEM,
 *          RV_ERR_FATAL (a script error: a bug)
 */
RV_MUSTCHECK rv_err alerter_cases_track(rv_redis *rc, const rv_alert *alerts,
                                        size_t n, int64_t ttl_s);

/**
 * A person acted on a case (compliance.cases): an answer or a close
 * stops its escalation clock for good. Idempotent.
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err alerter_cases_act(rv_redis *rc, const rv_case_event *e,
                                      int64_t ttl_s);

/**
 * Up to @p cap cases whose deadline is at or before @p now_us and that
 * are still on the clock: their earliest alert (decoded) goes to
 * @p first.
 * Nothing changes in Redis: call alerter_cases_escalated() once the
 * escalation alerts are durable.
 * @returns RV_OK (*count set), RV_ERR_UNAVAILABLE, RV_ERR_NOMEM,
 *          RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err alerter_cases_due(rv_redis *rc, int64_t now_us,
                                      rv_alert *first, size_t cap,
                                      size_t *count);

/** Take the @p n cases of @p first (their case_id) off the clock for
 *  good, in one Redis round trip: an earlier alert arriving later never
 *  puts them back.
 *  @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_INVALID,
 *           RV_ERR_FATAL */
RV_MUSTCHECK rv_err alerter_cases_escalated(rv_redis *rc, const rv_alert *first,
                                            size_t n, int64_t ttl_s);

/**
 * A5 (seed 000 第五篇): count the successful visit of grade @p g (by
 * grade_id, so a re-delivery counts once) in its agent's clock hour (UTC)
 * of g->started_at_us. *count is the hour's count after the call.
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err alerter_agent_hour_count(rv_redis *rc, const rv_grade *g,
                                             int64_t *count);

/** The alert of kind "escalation" for the case of @p first (its earliest
 *  alert): alert_id = derive(case_id, "escalation"), event time = that
 *  alert's deadline, routed to @p escalate_to (A2), severity major. */
void alerter_escalation(const rv_alert *first, const char *escalate_to,
                        const char *notify, rv_alert *out);

#endif /* RV_ALERTER_CASES_H */
