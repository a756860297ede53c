/* workers/alerter/main.c: visits.grades -> compliance.alerts (A1, A5, G3,
 * G4, data quality), each alert in its case (A3); compliance.cases stops a
 * case's clock; a tick raises the escalation of every case past its
 * deadline (A2), by wall time live or by the event-time watermark when
 * replaying (alerter.clock). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "alerter_cases.h"
#include "alerter_rules.h"
#include "rv/codec.h"
#include "rv/kafka_lag.h"
#include "rv/keying.h"
#include "rv/log.h"
#include "rv/textnorm.h"
#include "rv/watermark.h"
#include "rv/worker.h"

#define TOPIC_GRADES "visits.grades"
#define TOPIC_CASES "compliance.cases"
#define TOPIC_ALERTS "compliance.alerts"
/* Findings one grade may raise: A1 kinds, visit findings, A5 rate. */
#define ALERTS_PER_GRADE (RV_ANSWERS_MAX + 5)
/* Escalations raised per tick slice; the rest come in the next slice,
 * after the next batch (rv_runner_opts.on_tick). */
#define ESCALATIONS_PER_TICK 256

typedef struct alerter_cfg {
    char *clock;         /* "wall" or "event" */
    int64_t lateness_ms; /* event clock: watermark minus this */
    int64_t state_ttl_days;
} alerter_cfg;

typedef struct alerter_ctx {
    rv_worker *w;
    alerter_cfg *cfg;
    rv_textnorm *tn;
    alerter_keyword *keywords; /* every compliance keyword, normalised */
    size_t keyword_count;
    rv_grade grade;
    rv_case_event case_event;
    char notes[RV_NOTES_SIZE * 2];
    rv_alert *alerts; /* one batch's alerts */
    size_t alert_cap;
    rv_alert due[ESCALATIONS_PER_TICK];
    rv_alert escalation;
    int grade_partitions; /* of visits.grades: the event clock waits for all */
} alerter_ctx;

static alerter_cfg g_cfg;

#define F(m) offsetof(alerter_cfg, m)
static const rv_cfg_key alerter_keys[] = {
    {"alerter.clock", RV_CFG_STR, F(clock), "wall", 0, 0, 0,
     "clock of the escalations: wall (live) or event (replay: the "
     "event-time watermark of visits.grades)"},
    {"alerter.lateness.ms", RV_CFG_INT, F(lateness_ms), "0", 0,
     INT64_C(31622400000), 0,
     "event clock: escalate once the watermark minus this passes a deadline"},
    {"alerter.state.ttl.days", RV_CFG_INT, F(state_ttl_days), "120", 1, 3660, 0,
     "expiry of case keys in Redis, days after their last change (must "
     "exceed the longest case deadline)"},
    {0},
};
#undef F

static int64_t ttl_s(const alerter_ctx *c)
{
    return c->cfg->state_ttl_days * 86400;
}

static rv_err alerter_init(rv_worker *w, void **out)
{
    alerter_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return RV_ERR_NOMEM;
    }
    *out = c;
    c->w = w;
    c->cfg = &g_cfg;
    if (strcmp(g_cfg.clock, "wall") != 0 && strcmp(g_cfg.clock, "event") != 0) {
        RV_LOG(RV_LOG_ERROR, "config_invalid",
               RV_KV_STR("key", "alerter.clock"),
               RV_KV_STR("reason", "must be wall or event"));
        return RV_ERR_INVALID;
    }
    char errstr[256] = "";
    rv_err err = RV_OK;
    if (strcmp(g_cfg.clock, "event") == 0) {
        err = rv_kafka_partition_count(&w->kafka, TOPIC_GRADES, 10000,
                                       &c->grade_partitions, errstr,
                                       sizeof(errstr));
        if (err != RV_OK) {
            RV_LOG(RV_LOG_ERROR, "metadata_failed",
                   RV_KV_STR("reason", errstr));
            return err;
        }
    }
    err = rv_textnorm_open(&c->tn, errstr, sizeof(errstr));
    if (err != RV_OK) {
        RV_LOG(RV_LOG_ERROR, "textnorm_open_failed",
               RV_KV_STR("reason", errstr));
        return err;
    }
    const rv_policy *p = w->policy;
    size_t total = 0;
    for (unsigned i = 0; i < p->question_count; i++) {
        total += p->questions[i].keyword_count;
    }
    c->keywords = calloc(total > 0 ? total : 1, sizeof(*c->keywords));
    if (c->keywords == NULL) {
        return RV_ERR_NOMEM;
    }
    for (unsigned i = 0; i < p->question_count; i++) {
        const rv_question *q = &p->questions[i];
        for (unsigned k = 0; k < q->keyword_count; k++) {
            alerter_keyword *kw = &c->keywords[c->keyword_count++];
            kw->question = q;
            err = rv_textnorm_apply(c->tn, q->keywords[k], kw->text,
                                    sizeof(kw->text));
            if (err != RV_OK) {
                return err;
            }
        }
    }
    return RV_OK;
}

static void alerter_fini(void *ctx)
{
    alerter_ctx *c = ctx;
    if (c == NULL) {
        return;
    }
    rv_textnorm_close(c->tn);
    free(c->keywords);
    free(c->alerts);
    free(c);
}

/* Room for @p more alerts after the @p used ones. */
static rv_err reserve(alerter_ctx *c, size_t used, size_t more)
{
    if (used + more <= c->alert_cap) {
        return RV_OK;
    }
    size_t cap = c->alert_cap == 0 ? 64 : c->alert_cap;
    while (cap < used + more) {
        cap *= 2;
    }
    rv_alert *a = realloc(c->alerts, cap * sizeof(*a));
    if (a == NULL) {
        return RV_ERR_NOMEM;
    }
    c->alerts = a;
    c->alert_cap = cap;
    return RV_OK;
}

static rv_err send_alert(rv_producer *kp, const rv_alert *a)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_alert(a, &buf, &len);
    if (err == RV_OK) {
        err = rv_producer_send(kp, TOPIC_ALERTS, a->customer_id, buf, len, NULL,
                               0);
        free(buf);
    }
    return err;
}

/* Note an event for the batch's watermark update. */
static rv_err note_event(rv_watermark_batch *wm, int32_t partition,
                         int64_t event_us)
{
    if (!rv_watermark_note(wm, partition, event_us)) {
        RV_LOG(RV_LOG_ERROR, "too_many_partitions",
               RV_KV_INT("max", RV_WATERMARK_PARTITIONS_MAX));
        return RV_ERR_FATAL;
    }
    return RV_OK;
}

/* The findings of one grade, appended at c->alerts + *n; its event time
 * noted in @p wm. */
static rv_err grade_findings(alerter_ctx *c, const rv_msg *m, size_t *n,
                             rv_watermark_batch *wm)
{
    rv_err err = reserve(c, *n, ALERTS_PER_GRADE);
    if (err != RV_OK) {
        return err;
    }
    const char *notes = NULL;
    if (c->grade.notes[0] != '\0' &&
        rv_textnorm_apply(c->tn, c->grade.notes, c->notes, sizeof(c->notes)) ==
            RV_OK) {
        notes = c->notes;
    }
    *n += alerter_findings(c->w->policy, c->w->cal, &c->grade, notes,
                           c->keywords, c->keyword_count, c->alerts + *n,
                           ALERTS_PER_GRADE - 1);
    if (c->grade.verdict == RV_VERDICT_SUCCESS &&
        c->w->policy->quality.max_visits_per_agent_hour > 0 &&
        c->grade.agent_id[0] != '\0') {
        int64_t count = 0;
        err = alerter_agent_hour_count(c->w->rc, &c->grade, &count);
        if (err != RV_OK) {
            return err;
        }
        if (alerter_rate_finding(c->w->policy, c->w->cal, &c->grade, count,
                                 &c->alerts[*n])) {
            (*n)++;
        }
    }
    return note_event(wm, m->partition, c->grade.env.occurred_at_us);
}

static rv_err alerter_batch(void *ctx, const rv_msg *msgs, size_t count,
                            rv_producer *kp)
{
    alerter_ctx *c = ctx;
    rv_err err = RV_OK;
    size_t n = 0;
    rv_watermark_batch wm = {0};
    for (size_t i = 0; i < count && err == RV_OK; i++) {
        char errstr[256] = "";
        if (strcmp(msgs[i].topic, TOPIC_CASES) == 0) {
            if (rv_codec_decode_case_event(msgs[i].payload, msgs[i].len,
                                           &c->case_event, errstr,
                                           sizeof(errstr)) != RV_OK ||
                rv_keying_check(
                    &msgs[i],
                    &(rv_key_values){.case_id = c->case_event.case_id}, errstr,
                    sizeof(errstr)) != RV_OK) {
                err = rv_worker_reject(c->w, kp, &msgs[i], errstr);
                continue;
            }
            err = alerter_cases_act(c->w->rc, &c->case_event, ttl_s(c));
            continue;
        }
        if (rv_codec_decode_grade(msgs[i].payload, msgs[i].len, &c->grade,
                                  errstr, sizeof(errstr)) != RV_OK ||
            rv_keying_check(
                &msgs[i], &(rv_key_values){.customer_id = c->grade.customer_id},
                errstr, sizeof(errstr)) != RV_OK) {
            err = rv_worker_reject(c->w, kp, &msgs[i], errstr);
            continue;
        }
        err = grade_findings(c, &msgs[i], &n, &wm);
    }
    if (err == RV_OK) {
        err = alerter_cases_track(c->w->rc, c->alerts, n, ttl_s(c));
    }
    if (err == RV_OK) {
        err = rv_watermark_advance(c->w->rc, ALERTER_WATERMARK_KEY, &wm,
                                   rv_now_us());
    }
    for (size_t a = 0; a < n && err == RV_OK; a++) {
        err = send_alert(kp, &c->alerts[a]);
        RV_LOG(RV_LOG_INFO, "alert_raised",
               RV_KV_STR("alert_id", c->alerts[a].alert_id),
               RV_KV_STR("kind", c->alerts[a].kind),
               RV_KV_STR("case_id", c->alerts[a].case_id),
               RV_KV_BOOL("suspected", c->alerts[a].suspected),
               RV_KV_STR("branch", c->alerts[a].branch_id));
    }
    return err;
}

/* A2: every case past its deadline on the worker's clock and still
 * unanswered gets its escalation, once: the alert is made durable before
 * the case leaves the clock, and its ID is the case's, so a crash in
 * between, or two replicas ticking together, repeat one fact. */
static rv_err alerter_tick(void *ctx, rv_producer *kp, bool *more)
{
    alerter_ctx *c = ctx;
    int64_t now = rv_now_us();
    if (strcmp(c->cfg->clock, "event") == 0) {
        const rv_watermark_opts wo = {
            .partitions = c->grade_partitions,
            .idle_us = c->w->cfg.watermark_idle_ms * 1000,
            .hold_silent = c->w->cfg.watermark_hold_silent,
            .now_us = now,
        };
        rv_err err =
            rv_watermark_get(c->w->rc, ALERTER_WATERMARK_KEY, &wo, &now);
        if (err != RV_OK) {
            return err;
        }
        if (now == 0) {
            return RV_OK; /* no event yet */
        }
        now -= c->cfg->lateness_ms * 1000;
    }
    size_t n = 0;
    rv_err err =
        alerter_cases_due(c->w->rc, now, c->due, ESCALATIONS_PER_TICK, &n);
    *more = n == ESCALATIONS_PER_TICK; /* a slice: the rest after a batch */
    for (size_t i = 0; i < n && err == RV_OK; i++) {
        alerter_escalation(&c->due[i], rv_policy_escalate_to(c->w->policy),
                           rv_policy_notify(c->w->policy, RV_SEVERITY_MAJOR),
                           &c->escalation);
        err = send_alert(kp, &c->escalation);
        RV_LOG(RV_LOG_INFO, "case_escalated",
               RV_KV_STR("case_id", c->due[i].case_id),
               RV_KV_STR("kind", c->due[i].kind),
               RV_KV_STR("branch", c->due[i].branch_id));
    }
    if (err == RV_OK && n > 0) {
        err = rv_producer_flush(kp, (int)c->w->cfg.flush_timeout_ms);
    }
    if (err == RV_OK && n > 0) {
        err = alerter_cases_escalated(c->w->rc, c->due, n, ttl_s(c));
    }
    return err;
}

int main(int argc, char **argv)
{
    static const rv_worker_spec spec = {
        .name = "alerter",
        .default_group = "revisit-alerter",
        .default_topics = TOPIC_GRADES "," TOPIC_CASES,
        .needs_policy = true,
        .needs_redis = true,
        .extra_keys = alerter_keys,
        .extra_base = &g_cfg,
        .tick = alerter_tick,
    };
    return rv_worker_main(argc, argv, &spec, alerter_init, alerter_batch,
                          alerter_fini);
}
