/* workers/grader/grader_rules.h: the verdict on one outcome (G1-G4)
 * and the second phone attempt (C2). Pure: no I/O, no clock. */
#ifndef RV_GRADER_RULES_H
#define RV_GRADER_RULES_H

#include <stdbool.h>

#include "rv/model.h"
#include "rv/policy.h"

/**
 * Grade @p o under @p p.
 * - G1 (seed 001 §四): success only if the call connected, the number was
 *   right and every asked question has an answer. Powered off, out of
 *   service, wrong number, refused and a partial answer are failures.
 *   An on-site visit done (ON_SITE_DONE) is graded like an answered call.
 * - G3 (seed 000 第一篇, 第三篇): an answered or on-site visit without its
 *   evidence is not a valid visit: failed. Evidence by channel: phone =
 *   recording reference and agent; on-site = signature reference and
 *   agent; SMS = the reply itself.
 * - G2 SMS (seed 004): reply "1" = success, satisfied; "2" and text =
 *   success, dissatisfied, issue raised with that text; any other reply
 *   is a failure. An undelivered SMS is a failure with the gateway's
 *   reason, never a retry (C2 is about phone calls).
 * - G4: a dissatisfied band or an SMS "2" sets issue_raised: the alerter
 *   opens a case that must be answered.
 * - C2 (seed 001 §六.8, issue 5): no answer, busy or powered off on an
 *   attempt below grading.max_phone_attempts gives RETRY and a second
 *   attempt; at the last attempt it is a failure. Never a third call;
 *   never a retry after out of service or wrong number.
 * - G2 (seed 002 no. 4): satisfaction 0..5 banded by grading.satisfied_min
 *   and grading.dissatisfied_max.
 * Answers to compliance questions (policy kind "compliance") are copied
 * to the grade for the alerter.
 * grade_id = derive(outcome_id, "grade").
 * @param retry      on *has_retry, the attempt to book next (for
 *                   visits.retries), not before the call's start +
 *                   grading.retry_gap_minutes (+ 1 µs: another window)
 */
void grader_grade(const rv_policy *p, const rv_outcome *o, rv_grade *grade,
                  rv_task *retry, bool *has_retry);

#endif /* RV_GRADER_RULES_H */
