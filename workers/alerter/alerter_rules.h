/* workers/alerter/alerter_rules.h: A1 compliance findings from the
 * structured answers of a grade. Pure: no I/O, no clock. */
#ifndef RV_ALERTER_RULES_H
#define RV_ALERTER_RULES_H

#include <stddef.h>

#include "rv/model.h"
#include "rv/policy.h"

/**
 * A1 (seed 000): for every compliance answer "yes" in @p g to a policy
 * question of kind "compliance" (the broker knew the password, operated
 * the account, shared profit, promised to cover losses), one alert of the
 * question's alert kind, severity and route (A2: the branch operations
 * director). alert_id = derive(grade_id, kind), so a re-delivered grade
 * raises the same alerts, never new ones.
 * @param out  room for @p cap alerts
 * @returns the number of alerts written
 */
size_t alerter_findings(const rv_policy *p, const rv_grade *g, rv_alert *out,
                        size_t cap);

#endif /* RV_ALERTER_RULES_H */
