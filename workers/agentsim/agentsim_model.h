/* workers/agentsim/agentsim_model.h: what a simulated agent reports for a
 * booked attempt. A pure function of the seed and the assignment, never
 * of timing or arrival order, so two runs give the same outcomes. */
#ifndef RV_AGENTSIM_MODEL_H
#define RV_AGENTSIM_MODEL_H

#include "rv/model.h"
#include "rv/policy.h"

/**
 * Simulate the call of assigned attempt @p a (status RV_ASSIGNED).
 * Dispositions (per mille): answered 665, answered partially 35, no
 * answer 120, busy 50, powered off 40, out of service 30, wrong number
 * 30, refused 30. Satisfaction of an answered call: 5 (50%), 4 (25%),
 * 3 (12%), 2 (7%), 1 (4%), 0 (2%). Connected calls are asked the policy's
 * compliance questions; about 1 in 100 answers one of them "yes"; about
 * 1 in 100 is logged after 3..17 s on the line (a fake visit, A5).
 * SMS tasks: 5% undelivered; of the replies 85% "1", 10% "2" with a
 * complaint, 5% neither. On-site tasks: done, signed except 2% (G3).
 * A spot-check question (R10) is answered "no" (nobody called) by 3%.
 * outcome_id = derive(assignment_id, "outcome").
 */
void agentsim_call(const rv_policy *p, const char *seed, const rv_assignment *a,
                   rv_outcome *out);

#endif /* RV_AGENTSIM_MODEL_H */
