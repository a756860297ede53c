/* workers/alerter/alerter_rules.h: A1 compliance findings from the
 * structured answers of a grade and from the agent's notes. Pure: no I/O,
 * no clock; the notes and keywords arrive normalised (rv/textnorm.h). */
#ifndef RV_ALERTER_RULES_H
#define RV_ALERTER_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/calendar.h"
#include "rv/model.h"
#include "rv/policy.h"

/** One keyword of a compliance question, normalised. */
typedef struct alerter_keyword {
    const rv_question *question; /**< borrowed from the policy */
    char text[128];              /**< normalised phrase */
} alerter_keyword;

/**
 * A1 (seed 000): the broker knew the client's password, operated the
 * account, shared investment profit or promised to cover losses.
 * - A structured answer "yes" to a compliance question of the policy is a
 *   reported violation: one alert of the question's kind, severity and
 *   route (A2: the branch operations director); alert_id =
 *   derive(grade_id, kind).
 * - A keyword of a compliance question found in @p notes_norm (the
 *   grade's notes, normalised; may be NULL) is a suspected violation for
 *   review: an alert with suspected set, unless the same kind is already
 *   reported; alert_id = derive(grade_id, kind, "notes").
 * - Findings on the visit itself, not on the salesperson (issue 5): a
 *   wrong number, out of service or undelivered SMS is a data-quality
 *   finding for the store ("data_quality.phone", general,
 *   store_service_manager); an answered or on-site visit without its
 *   evidence (G3) is "quality.evidence" (important,
 *   call_centre_supervisor); a successful phone visit shorter than
 *   quality.min_talk_time_s is "quality.short_call" (A5, important,
 *   call_centre_supervisor); a grade with issue_raised (G4) is
 *   "G4.dissatisfied" (general, branch_service_manager).
 * - notify is the A4 role for the alert's severity (rv_policy_notify);
 *   case_id from alerter_case_id (A3).
 * Every alert opens a case due at the end of the N-th working day after
 * the grade's local day in the branch's calendar (A2, seed 000): N =
 * cases.self_check_working_days for A1 kinds, cases.answer_working_days
 * for the others; 0 (no deadline) for a branch the calendar lacks.
 * A re-delivered grade raises the same alerts, never new ones.
 * @param keywords  @p keyword_count normalised keywords (borrowed)
 * @param out       room for @p cap alerts
 * @returns the number of alerts written
 */
size_t alerter_findings(const rv_policy *p, const rv_calendar *cal,
                        const rv_grade *g, const char *notes_norm,
                        const alerter_keyword *keywords, size_t keyword_count,
                        rv_alert *out, size_t cap);

/**
 * A3 (seed 002 nos. 7, 8): set a->case_id from the alert alone, so every
 * replica, every arrival order and every replay agrees: the same
 * customer and kind in one merge period (event time divided by
 * cases.merge_window_hours, counted from the Unix epoch) is one case,
 * case_id = derive(customer_id, kind, "case", period); with a window of 0
 * every alert is its own case, derive(alert_id, "case"). Needs alert_id,
 * customer_id, kind and the event time set.
 */
void alerter_case_id(const rv_policy *p, rv_alert *a);

/**
 * A5 (seed 000 第五篇): @p count is the number of successful visits of
 * g's agent in g's clock hour (UTC), this one included. Above
 * quality.max_visits_per_agent_hour it is impossible: one
 * "quality.call_rate" finding per agent and hour, alert_id =
 * derive(agent, hour, kind), event time = the end of that hour, customer
 * "agent:<agent_id>" (the case groups by agent); the grade that crossed
 * the line is its evidence. Every grade past the line raises the same
 * alert_id again (a duplicate of one fact), so none is lost to a crash.
 * @returns true when @p out was filled
 */
bool alerter_rate_finding(const rv_policy *p, const rv_calendar *cal,
                          const rv_grade *g, int64_t count, rv_alert *out);

#endif /* RV_ALERTER_RULES_H */
