/* workers/alerter/alerter_rules.c: A1 from structured answers and notes. */
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

static bool is_compliance(const rv_question *q)
{
    return q != NULL && q->kind != NULL && strcmp(q->kind, "compliance") == 0 &&
           q->alert != NULL;
}

/* R10 (seed 000 第五篇): the customer of a spot check says the visit did
 * not happen ("no" to "did we call you?"): the original is refuted. */
static bool is_refuted_spot_check(const rv_question *q, const char *v)
{
    return q != NULL && q->kind != NULL && strcmp(q->kind, "spot_check") == 0 &&
           q->alert != NULL &&
           (strcmp(v, "no") == 0 || strcmp(v, "n") == 0 ||
            strcmp(v, "0") == 0 || strcmp(v, "false") == 0 ||
            strcmp(v, "否") == 0);
}

/* An alert of @p kind on grade @p g; ID derive(grade_id, kind[, "notes"]). */
static void fill_base(const rv_policy *p, const rv_grade *g, const char *kind,
                      bool suspected, const char *evidence, rv_alert *a)
{
    memset(a, 0, sizeof(*a));
    const char *parts[] = {g->grade_id, kind, "notes"};
    rv_id_derive(a->alert_id, suspected ? 3 : 2, parts);
    rv_envelope_fill(&a->env, a->alert_id, g->env.occurred_at_us, "alerter",
                     g->env.event_id);
    rv_copy_str(a->grade_id, sizeof(a->grade_id), g->grade_id);
    rv_copy_str(a->task_id, sizeof(a->task_id), g->task_id);
    rv_copy_str(a->customer_id, sizeof(a->customer_id), g->customer_id);
    rv_copy_str(a->branch_id, sizeof(a->branch_id), g->branch_id);
    rv_copy_str(a->agent_id, sizeof(a->agent_id), g->agent_id);
    rv_copy_str(a->kind, sizeof(a->kind), kind);
    rv_copy_str(a->evidence, sizeof(a->evidence), evidence);
    rv_copy_str(a->policy_version, sizeof(a->policy_version), p->version);
    rv_copy_str(a->store_id, sizeof(a->store_id), g->store_id);
    rv_copy_str(a->salesperson_id, sizeof(a->salesperson_id),
                g->salesperson_id);
    a->attempt = g->attempt;
    a->suspected = suspected;
}

static void route(rv_alert *a, rv_severity severity, const char *route_to)
{
    a->severity = severity;
    rv_copy_str(a->route_to, sizeof(a->route_to), route_to);
}

static void fill_alert(const rv_policy *p, const rv_grade *g,
                       const rv_question *q, bool suspected,
                       const char *evidence, rv_alert *a)
{
    fill_base(p, g, q->alert, suspected, evidence, a);
    a->severity = rv_severity_parse(q->severity);
    if (a->severity == 0) {
        a->severity = RV_SEVERITY_MAJOR;
    }
    rv_copy_str(a->route_to, sizeof(a->route_to),
                q->route_to != NULL ? q->route_to
                                    : "branch_operations_director");
}

/* Findings on the visit itself, not on the salesperson (issue 5): a wrong
 * or dead number is the store's data to fix; a "visit" without its
 * evidence (G3) is a quality matter for the call centre. */
static size_t visit_findings(const rv_policy *p, const rv_grade *g,
                             rv_alert *out, size_t cap)
{
    char evidence[RV_REASON_SIZE];
    size_t n = 0;
    if (n < cap && (g->disposition == RV_DISP_WRONG_NUMBER ||
                    g->disposition == RV_DISP_OUT_OF_SERVICE ||
                    g->disposition == RV_DISP_SMS_UNDELIVERED)) {
        snprintf(evidence, sizeof(evidence), "disposition=%s",
                 rv_disposition_name(g->disposition));
        fill_base(p, g, "data_quality.phone", false, evidence, &out[n]);
        route(&out[n++], RV_SEVERITY_GENERAL, "store_service_manager");
    }
    if (n < cap &&
        (g->disposition == RV_DISP_ANSWERED ||
         g->disposition == RV_DISP_ON_SITE_DONE) &&
        !g->evidence_ok) {
        fill_base(p, g, "quality.evidence", false, g->reason, &out[n]);
        route(&out[n++], RV_SEVERITY_IMPORTANT, "call_centre_supervisor");
    }
    /* A5 (seed 000 第五篇): a phone visit "completed" in seconds. */
    if (n < cap && g->verdict == RV_VERDICT_SUCCESS &&
        g->channel == RV_CHANNEL_PHONE && p->quality.min_talk_time_s > 0 &&
        (int64_t)g->talk_time_s < p->quality.min_talk_time_s) {
        snprintf(evidence, sizeof(evidence),
                 "talk time %u s under the minimum %lld s", g->talk_time_s,
                 (long long)p->quality.min_talk_time_s);
        fill_base(p, g, "quality.short_call", false, evidence, &out[n]);
        route(&out[n++], RV_SEVERITY_IMPORTANT, "call_centre_supervisor");
    }
    /* G4 (件件有着落, 事事有回音): dissatisfaction or an issue raised is
     * answered by the branch's service manager (A2). */
    if (n < cap && g->issue_raised) {
        if (g->issue_text[0] != '\0') {
            snprintf(evidence, sizeof(evidence), "customer: %.140s",
                     g->issue_text);
        } else {
            snprintf(evidence, sizeof(evidence), "satisfaction %d (%s)",
                     (int)g->satisfaction, rv_band_name(g->band));
        }
        fill_base(p, g, "G4.dissatisfied", false, evidence, &out[n]);
        route(&out[n++], RV_SEVERITY_GENERAL, "branch_service_manager");
    }
    return n;
}

static bool has_kind(const rv_alert *out, size_t n, const char *kind)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(out[i].kind, kind) == 0) {
            return true;
        }
    }
    return false;
}

static size_t findings(const rv_policy *p, const rv_grade *g,
                       const char *notes_norm, const alerter_keyword *keywords,
                       size_t keyword_count, rv_alert *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < g->compliance_count && n < cap; i++) {
        const rv_answer *ans = &g->compliance[i];
        const rv_question *q = rv_policy_question(p, ans->question_id);
        bool hit = (is_compliance(q) && is_yes(ans->value)) ||
                   is_refuted_spot_check(q, ans->value);
        if (!hit || has_kind(out, n, q->alert)) {
            continue;
        }
        char evidence[RV_REASON_SIZE];
        snprintf(evidence, sizeof(evidence), "%s=%s", ans->question_id,
                 ans->value);
        fill_alert(p, g, q, false, evidence, &out[n++]);
    }
    for (size_t k = 0; notes_norm != NULL && k < keyword_count && n < cap;
         k++) {
        const alerter_keyword *kw = &keywords[k];
        if (kw->text[0] == '\0' || has_kind(out, n, kw->question->alert) ||
            strstr(notes_norm, kw->text) == NULL) {
            continue;
        }
        char evidence[RV_REASON_SIZE];
        snprintf(evidence, sizeof(evidence), "notes: %s", kw->text);
        fill_alert(p, g, kw->question, true, evidence, &out[n++]);
    }
    return n + visit_findings(p, g, out + n, cap - n);
}

/* A2: the end of the N-th working day after the grade, local time. */
static int64_t case_deadline(const rv_policy *p, const rv_calendar *cal,
                             const rv_grade *g, const rv_alert *a)
{
    int branch = cal != NULL ? rv_calendar_branch(cal, g->branch_id) : -1;
    if (branch < 0) {
        return 0;
    }
    int64_t days = strncmp(a->kind, "A1.", 3) == 0
                       ? p->cases.self_check_working_days
                       : p->cases.answer_working_days;
    int64_t day = rv_calendar_local_day(cal, branch, g->env.occurred_at_us);
    int64_t last = rv_calendar_add_working_days(cal, branch, day, days);
    return rv_calendar_local_to_us(cal, branch, last + 1, 0);
}

void alerter_case_id(const rv_policy *p, rv_alert *a)
{
    int64_t window_us = p->cases.merge_window_hours * 3600LL * 1000000LL;
    if (window_us <= 0) {
        const char *parts[] = {a->alert_id, "case"};
        rv_id_derive(a->case_id, 2, parts);
        return;
    }
    char period[24];
    snprintf(period, sizeof(period), "%lld",
             (long long)(a->env.occurred_at_us / window_us));
    const char *parts[] = {a->customer_id, a->kind, "case", period};
    rv_id_derive(a->case_id, 4, parts);
}

size_t alerter_findings(const rv_policy *p, const rv_calendar *cal,
                        const rv_grade *g, const char *notes_norm,
                        const alerter_keyword *keywords, size_t keyword_count,
                        rv_alert *out, size_t cap)
{
    size_t n = findings(p, g, notes_norm, keywords, keyword_count, out, cap);
    for (size_t i = 0; i < n; i++) {
        out[i].deadline_us = case_deadline(p, cal, g, &out[i]);
        rv_copy_str(out[i].notify, sizeof(out[i].notify),
                    rv_policy_notify(p, (int)out[i].severity));
        alerter_case_id(p, &out[i]);
    }
    return n;
}

bool alerter_rate_finding(const rv_policy *p, const rv_calendar *cal,
                          const rv_grade *g, int64_t count, rv_alert *out)
{
    int64_t max = p->quality.max_visits_per_agent_hour;
    if (max <= 0 || count <= max || g->verdict != RV_VERDICT_SUCCESS) {
        return false;
    }
    int64_t hour = g->started_at_us / (3600LL * 1000000LL);
    char hour_s[24];
    snprintf(hour_s, sizeof(hour_s), "%lld", (long long)hour);
    char evidence[RV_REASON_SIZE];
    snprintf(evidence, sizeof(evidence),
             "more than %lld successful visits by agent %.40s in the "
             "hour starting %lld h UTC since 1970",
             (long long)max, g->agent_id, (long long)hour);
    fill_base(p, g, "quality.call_rate", false, evidence, out);
    /* One finding per agent-hour, whichever grade crossed the line. */
    const char *parts[] = {g->agent_id, hour_s, "quality.call_rate"};
    rv_id_derive(out->alert_id, 3, parts);
    rv_copy_str(out->env.event_id, sizeof(out->env.event_id), out->alert_id);
    out->env.occurred_at_us = (hour + 1) * 3600LL * 1000000LL;
    /* The finding is about the agent: its case groups by agent. */
    snprintf(out->customer_id, sizeof(out->customer_id), "agent:%.56s",
             g->agent_id);
    out->store_id[0] = '\0';
    out->salesperson_id[0] = '\0';
    route(out, RV_SEVERITY_IMPORTANT, "call_centre_supervisor");
    rv_copy_str(out->notify, sizeof(out->notify),
                rv_policy_notify(p, (int)out->severity));
    out->deadline_us = case_deadline(p, cal, g, out);
    alerter_case_id(p, out);
    return true;
}
