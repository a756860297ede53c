/* workers/alerter/alerter_rules.c: A1 from structured answers. */
#include "alerter_rules.h"

#include <stdio.h>
#include <string.h>

#include "rv/hash.h"

static bool is_yes(const char *v)
{
    return strcmp(v, "yes") == 0 || strcmp(v, "y") == 0 ||
           strcmp(v, "1") == 0 || strcmp(v, "true") == 0 ||
           strcmp(v, "是") == 0;
}

size_t alerter_findings(const rv_policy *p, const rv_grade *g, rv_alert *out,
                        size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < g->compliance_count && n < cap; i++) {
        const rv_answer *ans = &g->compliance[i];
        const rv_question *q = rv_policy_question(p, ans->question_id);
        if (q == NULL || q->kind == NULL ||
            strcmp(q->kind, "compliance") != 0 || q->alert == NULL ||
            !is_yes(ans->value)) {
            continue;
        }
        rv_alert *a = &out[n];
        memset(a, 0, sizeof(*a));
        const char *parts[] = {g->grade_id, q->alert};
        rv_id_derive(a->alert_id, 2, parts);
        rv_envelope_fill(&a->env, a->alert_id, g->env.occurred_at_us, "alerter",
                         g->env.event_id);
        rv_copy_str(a->grade_id, sizeof(a->grade_id), g->grade_id);
        rv_copy_str(a->task_id, sizeof(a->task_id), g->task_id);
        rv_copy_str(a->customer_id, sizeof(a->customer_id), g->customer_id);
        rv_copy_str(a->branch_id, sizeof(a->branch_id), g->branch_id);
        rv_copy_str(a->agent_id, sizeof(a->agent_id), g->agent_id);
        rv_copy_str(a->kind, sizeof(a->kind), q->alert);
        a->severity = rv_severity_parse(q->severity);
        if (a->severity == 0) {
            a->severity = RV_SEVERITY_MAJOR;
        }
        rv_copy_str(a->route_to, sizeof(a->route_to),
                    q->route_to != NULL ? q->route_to
                                        : "branch_operations_director");
        snprintf(a->evidence, sizeof(a->evidence), "%s=%s", ans->question_id,
                 ans->value);
        rv_copy_str(a->policy_version, sizeof(a->policy_version), p->version);
        n++;
    }
    return n;
}
