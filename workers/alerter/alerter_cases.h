/* workers/alerter/alerter_cases.h: the alerter's state in Redis: cases
 * (A3 merge), their escalation clock (A2) and the per-agent hourly
 * visit count (A5). Every script is one atomic,
 * idempotent call, so a crash or a re-delivered message never applies
 * anything twice and no key is left without its expiry. */
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
 * A3 (seed 002 nos. 7, 8): put each of @p n alerts (escalations are
 * skipped) into its case and fill case_id, case_opened_at_us and
 * case_deadline_us. An alert joins the open case of its customer and kind
 * when its event time lies in [opened, opened + @p window_us); otherwise
 * it opens a new case, case_id = derive(alert_id, "case"), whose deadline
 * is the alert's, and which enters the escalation clock (unless it has no
 * deadline). The answer for an alert_id is remembered, so a re-delivered
 * alert gets the same case. A case answered or closed is never put back
 * on the clock. One pipelined round trip.
 * @param ttl_s  expiry of the remembered keys (> the merge window)
 * @returns RV_OK, RV_ERR_UNAVAILABLE (retry the batch), RV_ERR_NOMEM,
 *          RV_ERR_FATAL (a script error or malformed reply: a bug)
 */
RV_MUSTCHECK rv_err alerter_cases_join(rv_redis *rc, rv_alert *alerts, size_t n,
                                       int64_t window_us, int64_t ttl_s);

/**
 * A person acted on a case (compliance.cases): an answer or a close
 * stops its escalation clock for good; a close also ends the A3 merge
 * into it, so the customer's next alert of that kind opens a new case.
 * Idempotent.
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err alerter_cases_act(rv_redis *rc, const rv_case_event *e,
                                      int64_t ttl_s);

/**
 * Up to @p cap cases whose deadline is at or before @p now_us and that
 * are still on the clock: their first alert (decoded) goes to @p first.
 * Nothing changes in Redis: call alerter_cases_escalated() once the
 * escalation alerts are durable.
 * @returns RV_OK (*count set), RV_ERR_UNAVAILABLE, RV_ERR_NOMEM,
 *          RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err alerter_cases_due(rv_redis *rc, int64_t now_us,
                                      rv_alert *first, size_t cap,
                                      size_t *count);

/** Take the @p n cases of @p first (their case_id) off the clock.
 *  @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_FATAL */
RV_MUSTCHECK rv_err alerter_cases_escalated(rv_redis *rc, const rv_alert *first,
                                            size_t n);

/**
 * A5 (seed 000 第五篇): count the successful visit of grade @p g (by
 * grade_id, so a re-delivery counts once) in its agent's clock hour (UTC)
 * of g->started_at_us. *count is the hour's count after the call.
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err alerter_agent_hour_count(rv_redis *rc, const rv_grade *g,
                                             int64_t *count);

/** The alert of kind "escalation" for the case of @p first (its first
 *  alert): alert_id = derive(case_id, "escalation"), event time = the
 *  case's deadline, routed to @p escalate_to (A2), severity major. */
void alerter_escalation(const rv_alert *first, const char *escalate_to,
                        const char *notify, rv_alert *out);

#endif /* RV_ALERTER_CASES_H */
