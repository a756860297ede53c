/* workers/grader/grader_rules.c: G1, G2, G3 and C2. */
#include "grader_rules.h"

#include <stdio.h>
#include <string.h>

#include "rv/hash.h"

static bool answered(const rv_outcome *o, const char *question_id)
{
    for (size_t i = 0; i < o->answer_count; i++) {
        if (strcmp(o->answers[i].question_id, question_id) == 0 &&
            o->answers[i].value[0] != '\0') {
            return true;
        }
    }
    return false;
}

/* G3 (seed 000 第一篇, 第三篇): the evidence a visit of its channel
 * needs: on-site the customer's signature, by phone a recording, and the
 * agent's name either way; an SMS visit is its reply. */
static bool has_evidence(const rv_outcome *o)
{
    switch (o->channel) {
    case RV_CHANNEL_SMS:
        return o->sms_reply[0] != '\0';
    case RV_CHANNEL_ON_SITE:
        return o->signature_ref[0] != '\0' && o->agent_id[0] != '\0';
    case RV_CHANNEL_PHONE:
    case RV_CHANNEL_UNSPECIFIED:
        break;
    }
    return o->recording_ref[0] != '\0' && o->agent_id[0] != '\0';
}

/* G2 (seed 004): an SMS reply is "1" (satisfied) or "2" and the
 * customer's text (dissatisfied or has an issue). @returns 1, 2, or 0
 * for anything else; *text points after the "2" and its separators. */
static int sms_reply_code(const char *reply, const char **text)
{
    while (*reply == ' ' || *reply == '\t') {
        reply++;
    }
    if (reply[0] != '1' && reply[0] != '2') {
        return 0;
    }
    const char *rest = reply + 1;
    if (*rest != '\0' && *rest != ' ' && *rest != ',' && *rest != ':' &&
        *rest != '\t' && *rest != '\n') {
        return 0; /* "12", "1a": not a code */
    }
    while (*rest == ' ' || *rest == ',' || *rest == ':' || *rest == '\t' ||
           *rest == '\n') {
        rest++;
    }
    *text = rest;
    return reply[0] == '1' ? 1 : 2;
}

/* Every asked question answered (G1), else the reason. */
static bool all_answered(const rv_outcome *o, rv_grade *g)
{
    for (size_t q = 0; q < o->question_count; q++) {
        if (!answered(o, o->questions[q])) {
            g->verdict = RV_VERDICT_FAILED;
            snprintf(g->reason, sizeof(g->reason), "G1: question %s unanswered",
                     o->questions[q]);
            return false;
        }
    }
    return true;
}

static void sms_verdict(const rv_outcome *o, rv_grade *g)
{
    const char *text = "";
    int code = sms_reply_code(o->sms_reply, &text);
    if (code == 0) {
        g->verdict = RV_VERDICT_FAILED;
        snprintf(g->reason, sizeof(g->reason),
                 "G2: SMS reply is neither 1 nor 2, not a visit");
        return;
    }
    g->verdict = RV_VERDICT_SUCCESS;
    g->band = code == 1 ? RV_BAND_SATISFIED : RV_BAND_DISSATISFIED;
    if (code == 2) {
        g->issue_raised = true;
        rv_copy_str(g->issue_text, sizeof(g->issue_text), text);
    }
    snprintf(g->reason, sizeof(g->reason), "G2: SMS reply %d (%s)", code,
             code == 1 ? "satisfied" : "dissatisfied or has an issue");
}

static rv_band band_of(const rv_policy *p, int32_t score)
{
    if (score < 0) {
        return RV_BAND_NONE;
    }
    if (score >= p->grading.satisfied_min) {
        return RV_BAND_SATISFIED;
    }
    if (score <= p->grading.dissatisfied_max) {
        return RV_BAND_DISSATISFIED;
    }
    return RV_BAND_NEUTRAL;
}

static void verdict_of(const rv_policy *p, const rv_outcome *o, rv_grade *g)
{
    switch (o->disposition) {
    case RV_DISP_SMS_REPLY:
        sms_verdict(o, g);
        return;
    case RV_DISP_SMS_UNDELIVERED:
        g->verdict = RV_VERDICT_FAILED;
        snprintf(g->reason, sizeof(g->reason), "SMS undelivered: %s",
                 o->sms_gateway_reason[0] != '\0' ? o->sms_gateway_reason
                                                  : "no reason given");
        return;
    case RV_DISP_ANSWERED:
    case RV_DISP_ON_SITE_DONE:
        if (!all_answered(o, g)) {
            return;
        }
        if (!has_evidence(o)) {
            /* G3 (seed 000 第一篇, 第三篇): no recording (phone) or
             * signature (on-site) reference: not a valid visit. */
            g->verdict = RV_VERDICT_FAILED;
            snprintf(g->reason, sizeof(g->reason),
                     "G3: no %s reference, not a valid visit",
                     o->channel == RV_CHANNEL_ON_SITE ? "signature"
                                                      : "recording");
            return;
        }
        g->verdict = RV_VERDICT_SUCCESS;
        snprintf(g->reason, sizeof(g->reason),
                 "G1: connected, every question answered");
        return;
    case RV_DISP_NO_ANSWER:
    case RV_DISP_BUSY:
    case RV_DISP_POWERED_OFF:
        if ((int64_t)o->attempt < p->grading.max_phone_attempts) {
            g->verdict = RV_VERDICT_RETRY;
            snprintf(g->reason, sizeof(g->reason),
                     "C2: %s on attempt %u of %lld, calling again",
                     rv_disposition_name(o->disposition), o->attempt,
                     (long long)p->grading.max_phone_attempts);
        } else {
            g->verdict = RV_VERDICT_FAILED;
            snprintf(g->reason, sizeof(g->reason),
                     "G1/C2: %s on the last attempt (%u)",
                     rv_disposition_name(o->disposition), o->attempt);
        }
        return;
    case RV_DISP_ANSWERED_PARTIAL:
    case RV_DISP_OUT_OF_SERVICE:
    case RV_DISP_WRONG_NUMBER:
    case RV_DISP_REFUSED:
        break;
    }
    g->verdict = RV_VERDICT_FAILED;
    snprintf(g->reason, sizeof(g->reason), "G1: %s is not a success",
             rv_disposition_name(o->disposition));
}

static void fill_retry(const rv_outcome *o, const char *policy_version,
                       int64_t gap_us, rv_task *t)
{
    char attempt[16];
    snprintf(attempt, sizeof(attempt), "%u", o->attempt + 1);
    char event_id[RV_ID_SIZE];
    const char *parts[] = {o->task_id, attempt};
    rv_id_derive(event_id, 2, parts);
    memset(t, 0, sizeof(*t));
    rv_envelope_fill(&t->env, event_id, o->env.occurred_at_us, "grader",
                     o->env.event_id);
    rv_copy_str(t->task_id, sizeof(t->task_id), o->task_id);
    rv_copy_str(t->customer_id, sizeof(t->customer_id), o->customer_id);
    rv_copy_str(t->branch_id, sizeof(t->branch_id), o->branch_id);
    rv_copy_str(t->store_id, sizeof(t->store_id), o->store_id);
    rv_copy_str(t->rule_id, sizeof(t->rule_id),
                o->rule_id[0] != '\0' ? o->rule_id : "retry");
    rv_copy_str(t->reasons[0], RV_REASON_SIZE,
                "C2: second phone attempt after no answer (seed 001 §六.8)");
    t->reason_count = 1;
    rv_copy_str(t->source_event_id, sizeof(t->source_event_id),
                o->env.event_id);
    t->due_start_us = o->due_start_us > 0 ? o->due_start_us : o->started_at_us;
    t->due_end_us = o->due_end_us;
    t->channel = o->channel;
    for (size_t q = 0; q < o->question_count; q++) {
        rv_copy_str(t->questions[q], RV_KEY_SIZE, o->questions[q]);
    }
    t->question_count = o->question_count;
    rv_copy_str(t->policy_version, sizeof(t->policy_version), policy_version);
    t->attempt = o->attempt + 1;
    /* C2: at least the policy's gap after the first call, and never in
     * the same window (the assigner books whole windows starting at or
     * after not_before, and the first call's window started before it). */
    t->not_before_us = o->started_at_us + 1 + gap_us;
    rv_copy_str(t->phone, sizeof(t->phone), o->phone);
    rv_copy_str(t->salesperson_id, sizeof(t->salesperson_id),
                o->salesperson_id);
}

void grader_grade(const rv_policy *p, const rv_outcome *o, rv_grade *g,
                  rv_task *retry, bool *has_retry)
{
    memset(g, 0, sizeof(*g));
    const char *parts[] = {o->outcome_id, "grade"};
    rv_id_derive(g->grade_id, 2, parts);
    rv_envelope_fill(&g->env, g->grade_id, o->env.occurred_at_us, "grader",
                     o->env.event_id);
    rv_copy_str(g->outcome_id, sizeof(g->outcome_id), o->outcome_id);
    rv_copy_str(g->task_id, sizeof(g->task_id), o->task_id);
    g->attempt = o->attempt;
    rv_copy_str(g->customer_id, sizeof(g->customer_id), o->customer_id);
    rv_copy_str(g->branch_id, sizeof(g->branch_id), o->branch_id);
    rv_copy_str(g->agent_id, sizeof(g->agent_id), o->agent_id);
    rv_copy_str(g->policy_version, sizeof(g->policy_version), p->version);
    g->disposition = o->disposition;
    rv_copy_str(g->notes, sizeof(g->notes), o->notes);
    verdict_of(p, o, g);
    bool success = g->verdict == RV_VERDICT_SUCCESS;
    if (o->disposition != RV_DISP_SMS_REPLY) {
        /* An SMS reply has no 0..5 score; sms_verdict set its band. */
        g->satisfaction = success ? o->satisfaction : -1;
        g->band = success ? band_of(p, o->satisfaction) : RV_BAND_NONE;
    } else {
        g->satisfaction = -1;
    }
    /* G4: dissatisfaction opens a case that must be answered. */
    if (g->band == RV_BAND_DISSATISFIED) {
        g->issue_raised = true;
    }
    g->evidence_ok = has_evidence(o);
    g->started_at_us = o->started_at_us;
    g->talk_time_s = o->talk_time_s;
    g->channel = o->channel;
    rv_copy_str(g->store_id, sizeof(g->store_id), o->store_id);
    rv_copy_str(g->salesperson_id, sizeof(g->salesperson_id),
                o->salesperson_id);
    g->in_due_window = success && o->started_at_us < o->due_end_us;
    for (size_t i = 0; i < o->answer_count; i++) {
        const rv_question *q = rv_policy_question(p, o->answers[i].question_id);
        if (q != NULL && q->kind != NULL &&
            (strcmp(q->kind, "compliance") == 0 ||
             strcmp(q->kind, "spot_check") == 0) &&
            g->compliance_count < RV_ANSWERS_MAX) {
            g->compliance[g->compliance_count++] = o->answers[i];
        }
    }
    *has_retry = g->verdict == RV_VERDICT_RETRY;
    if (*has_retry) {
        fill_retry(o, p->version,
                   p->grading.retry_gap_minutes * 60LL * 1000000LL, retry);
    }
}
