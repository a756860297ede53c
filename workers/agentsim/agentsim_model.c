/* workers/agentsim/agentsim_model.c: seeded, order-free call outcomes. */
#include "agentsim_model.h"

#include <stdio.h>
#include <string.h>

#include "rv/hash.h"

#define US_PER_S 1000000LL

/* A draw in [0, 1) for one aspect of one call. */
static double draw(const char *seed, const rv_assignment *a, const char *aspect)
{
    return rv_hash_unit(seed, aspect, a->assignment_id);
}

static rv_disposition pick_disposition(double u)
{
    static const struct {
        int upto;
        rv_disposition d;
    } table[] = {
        {665, RV_DISP_ANSWERED},     {700, RV_DISP_ANSWERED_PARTIAL},
        {820, RV_DISP_NO_ANSWER},    {870, RV_DISP_BUSY},
        {910, RV_DISP_POWERED_OFF},  {940, RV_DISP_OUT_OF_SERVICE},
        {970, RV_DISP_WRONG_NUMBER}, {1000, RV_DISP_REFUSED},
    };
    int r = (int)(u * 1000.0);
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (r < table[i].upto) {
            return table[i].d;
        }
    }
    return RV_DISP_REFUSED;
}

static int32_t pick_satisfaction(double u)
{
    static const int upto[] = {500, 750, 870, 940, 980, 1000};
    static const int32_t score[] = {5, 4, 3, 2, 1, 0};
    int r = (int)(u * 1000.0);
    for (size_t i = 0; i < 6; i++) {
        if (r < upto[i]) {
            return score[i];
        }
    }
    return 0;
}

static void add_answer(rv_outcome *o, const char *q, const char *v)
{
    if (o->answer_count < RV_ANSWERS_MAX) {
        rv_copy_str(o->answers[o->answer_count].question_id, RV_KEY_SIZE, q);
        rv_copy_str(o->answers[o->answer_count].value, RV_KEY_SIZE, v);
        o->answer_count++;
    }
}

static void answer_questions(const rv_policy *p, const char *seed,
                             const rv_assignment *a, rv_outcome *o,
                             bool partial)
{
    for (size_t q = 0; q < a->question_count; q++) {
        if (partial && q + 1 == a->question_count) {
            break; /* the customer hung up before the last question */
        }
        const rv_question *def = rv_policy_question(p, a->questions[q]);
        if (def != NULL && def->kind != NULL &&
            strcmp(def->kind, "spot_check") == 0) {
            /* R10: 3 in 100 customers say nobody called them. */
            add_answer(o, a->questions[q],
                       draw(seed, a, "spot_check") < 0.03 ? "no" : "yes");
        } else if (def != NULL && def->kind != NULL &&
                   strcmp(def->kind, "satisfaction") == 0) {
            char v[8];
            snprintf(v, sizeof(v), "%d", (int)o->satisfaction);
            add_answer(o, a->questions[q], v);
        } else {
            add_answer(o, a->questions[q], "ok");
        }
    }
    /* Compliance questions: about 1 in 100 connected calls says "yes" to
     * one of them (A1, seed 000). */
    bool finding = draw(seed, a, "compliance") < 0.01;
    unsigned pick = (unsigned)(draw(seed, a, "compliance.which") * 1000.0);
    unsigned compliance_seen = 0, compliance_total = 0;
    for (unsigned i = 0; i < p->question_count; i++) {
        if (p->questions[i].kind != NULL &&
            strcmp(p->questions[i].kind, "compliance") == 0) {
            compliance_total++;
        }
    }
    for (unsigned i = 0; i < p->question_count; i++) {
        const rv_question *def = &p->questions[i];
        if (def->kind == NULL || strcmp(def->kind, "compliance") != 0) {
            continue;
        }
        bool yes = finding && compliance_total > 0 &&
                   compliance_seen == pick % compliance_total;
        add_answer(o, def->id, yes ? "yes" : "no");
        compliance_seen++;
    }
}

/* An SMS visit (G2, seed 004): the gateway delivers 95%; of the
 * delivered, 85% reply "1", 10% "2" with a complaint, 5% something else. */
static void sms_visit(const char *seed, const rv_assignment *a, rv_outcome *o)
{
    static const char *const complaints[] = {
        "2 送货太慢了",
        "2 客服電話一直打不通",
        "2 the package arrived damaged",
    };
    if (draw(seed, a, "sms.delivered") >= 0.95) {
        o->disposition = RV_DISP_SMS_UNDELIVERED;
        rv_copy_str(o->sms_gateway_reason, sizeof(o->sms_gateway_reason),
                    "number not in service");
        return;
    }
    o->disposition = RV_DISP_SMS_REPLY;
    double u = draw(seed, a, "sms.reply");
    if (u < 0.85) {
        rv_copy_str(o->sms_reply, sizeof(o->sms_reply), "1");
    } else if (u < 0.95) {
        unsigned pick = (unsigned)(draw(seed, a, "sms.text") * 3.0) % 3;
        rv_copy_str(o->sms_reply, sizeof(o->sms_reply), complaints[pick]);
    } else {
        rv_copy_str(o->sms_reply, sizeof(o->sms_reply), "ok thanks");
    }
}

void agentsim_call(const rv_policy *p, const char *seed, const rv_assignment *a,
                   rv_outcome *o)
{
    memset(o, 0, sizeof(*o));
    const char *parts[] = {a->assignment_id, "outcome"};
    rv_id_derive(o->outcome_id, 2, parts);
    int64_t span = a->window_end_us - a->window_start_us - 600 * US_PER_S;
    if (span < US_PER_S) {
        span = US_PER_S;
    }
    o->started_at_us =
        a->window_start_us + (int64_t)(draw(seed, a, "start") * (double)span);
    /* Event time of the outcome is the call itself. */
    rv_envelope_fill(&o->env, o->outcome_id, o->started_at_us, "agentsim",
                     a->env.event_id);
    rv_copy_str(o->assignment_id, sizeof(o->assignment_id), a->assignment_id);
    rv_copy_str(o->task_id, sizeof(o->task_id), a->task_id);
    o->attempt = a->attempt;
    rv_copy_str(o->customer_id, sizeof(o->customer_id), a->customer_id);
    rv_copy_str(o->branch_id, sizeof(o->branch_id), a->branch_id);
    rv_copy_str(o->agent_id, sizeof(o->agent_id), a->agent_id);
    for (size_t q = 0; q < a->question_count; q++) {
        rv_copy_str(o->questions[q], RV_KEY_SIZE, a->questions[q]);
    }
    o->question_count = a->question_count;
    o->due_end_us = a->due_end_us;
    o->due_start_us = a->due_start_us;
    o->channel = a->channel;
    rv_copy_str(o->rule_id, sizeof(o->rule_id), a->rule_id);
    rv_copy_str(o->store_id, sizeof(o->store_id), a->store_id);
    rv_copy_str(o->phone, sizeof(o->phone), a->phone);
    rv_copy_str(o->salesperson_id, sizeof(o->salesperson_id),
                a->salesperson_id);
    o->satisfaction = -1;
    if (a->channel == RV_CHANNEL_SMS) {
        sms_visit(seed, a, o);
        return;
    }
    o->disposition = pick_disposition(draw(seed, a, "disposition"));
    if (a->channel == RV_CHANNEL_ON_SITE) {
        /* On site the visit happens; the customer signs (G3) unless the
         * agent forgot the form (2%). */
        o->disposition = RV_DISP_ON_SITE_DONE;
        o->talk_time_s = (uint32_t)(600 + draw(seed, a, "talk") * 1800.0);
        if (draw(seed, a, "signature") >= 0.02) {
            snprintf(o->signature_ref, sizeof(o->signature_ref), "sig-%.16s",
                     a->assignment_id);
        }
        o->satisfaction = pick_satisfaction(draw(seed, a, "satisfaction"));
        answer_questions(p, seed, a, o, false);
        return;
    }
    bool connected = o->disposition == RV_DISP_ANSWERED ||
                     o->disposition == RV_DISP_ANSWERED_PARTIAL ||
                     o->disposition == RV_DISP_REFUSED;
    if (connected) {
        o->talk_time_s =
            (uint32_t)(30 + draw(seed, a, "talk") * 570.0); /* 30..600 s */
        if (draw(seed, a, "fake") < 0.01) {
            /* A5: a "visit" logged after a few seconds on the line. */
            o->talk_time_s = (uint32_t)(3 + draw(seed, a, "talk") * 15.0);
        }
        snprintf(o->recording_ref, sizeof(o->recording_ref), "rec-%.16s",
                 a->assignment_id);
    }
    if (o->disposition == RV_DISP_ANSWERED ||
        o->disposition == RV_DISP_ANSWERED_PARTIAL) {
        o->satisfaction = pick_satisfaction(draw(seed, a, "satisfaction"));
        answer_questions(p, seed, a, o,
                         o->disposition == RV_DISP_ANSWERED_PARTIAL);
    }
}
