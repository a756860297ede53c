/* workers/grader/main.c: visits.outcomes -> visits.grades, and
 * visits.retries for a second phone attempt (C2); R10 spot checks onto
 * visits.tasks when the event-time watermark closes an agent's month. */
#include <stdlib.h>
#include <string.h>

#include "grader_rules.h"
#include "grader_spot.h"
#include "rv/codec.h"
#include "rv/kafka_lag.h"
#include "rv/keying.h"
#include "rv/log.h"
#include "rv/watermark.h"
#include "rv/worker.h"

#define TOPIC_OUTCOMES "visits.outcomes"
#define TOPIC_GRADES "visits.grades"
#define TOPIC_RETRIES "visits.retries"
#define TOPIC_TASKS "visits.tasks"
/* Spot-check tasks raised per tick slice at most. */
#define SPOT_TASKS_PER_TICK 256

typedef struct grader_ctx {
    rv_worker *w;
    int outcome_partitions; /* the R10 watermark waits for all of them */
    rv_task due[SPOT_TASKS_PER_TICK]; /* one tick's spot checks */
    char labels[SPOT_TASKS_PER_TICK][RV_SAMPLE_LABEL_SIZE];
    /* The batch's R10 candidates, offered in one round trip (settle_spots)
     * with their outcome IDs for the log. */
    grader_spot *spots;
    char (*spot_outcomes)[RV_KEY_SIZE];
    bool *spot_late;
    size_t spot_count, spot_cap;
    /* spot_check_late comes once per outcome of a closed month: a replay
     * of old history gives one for nearly every outcome (202,420 lines in
     * a 1,000,000-sale run), so it is logged once per 10 s with a count
     * (STYLE §7). */
    rv_log_ratelimit late_rl;
} grader_ctx;

static rv_err grader_init(rv_worker *w, void **out)
{
    grader_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return RV_ERR_NOMEM;
    }
    *out = c;
    c->w = w;
    if (w->policy->spot_checks.per_agent_month <= 0) {
        return RV_OK;
    }
    char errstr[256] = "";
    rv_err err = rv_kafka_partition_count(&w->kafka, TOPIC_OUTCOMES, 10000,
                                          &c->outcome_partitions, errstr,
                                          sizeof(errstr));
    if (err != RV_OK) {
        RV_LOG(RV_LOG_ERROR, "metadata_failed", RV_KV_STR("reason", errstr));
    }
    return err;
}

static void grader_fini(void *ctx)
{
    grader_ctx *c = ctx;
    if (c != NULL) {
        free(c->spots);
        free(c->spot_outcomes);
        free(c->spot_late);
    }
    free(c);
}

static rv_err send_grade(rv_producer *kp, const rv_grade *g)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_grade(g, &buf, &len);
    if (err == RV_OK) {
        err = rv_producer_send(kp, TOPIC_GRADES, g->customer_id, buf, len, NULL,
                               0);
        free(buf);
    }
    return err;
}

static rv_err send_task(rv_producer *kp, const char *topic, const rv_task *t)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_task(t, &buf, &len);
    if (err == RV_OK) {
        err = rv_producer_send(kp, topic, t->customer_id, buf, len, NULL, 0);
        free(buf);
    }
    return err;
}

/* R10: keep a successful visit for its agent-month's sample (offered
 * by settle_spots) and note its event time for the outcomes' watermark. */
static rv_err collect_spot(grader_ctx *c, const rv_msg *m, const rv_outcome *o,
                           const rv_grade *g, rv_watermark_batch *wm)
{
    rv_worker *w = c->w;
    if (w->policy->spot_checks.per_agent_month <= 0) {
        return RV_OK;
    }
    if (c->spot_count == c->spot_cap) {
        size_t cap = c->spot_cap > 0 ? c->spot_cap * 2 : 64;
        grader_spot *s = realloc(c->spots, cap * sizeof(*s));
        if (s != NULL) {
            c->spots = s;
        }
        char(*ids)[RV_KEY_SIZE] = realloc(c->spot_outcomes, cap * sizeof(*ids));
        if (ids != NULL) {
            c->spot_outcomes = ids;
        }
        bool *late = realloc(c->spot_late, cap * sizeof(*late));
        if (late != NULL) {
            c->spot_late = late;
        }
        if (s == NULL || ids == NULL || late == NULL) {
            return RV_ERR_NOMEM;
        }
        c->spot_cap = cap;
    }
    if (grader_spot_candidate(w->policy, w->cal, o, g,
                              &c->spots[c->spot_count])) {
        rv_copy_str(c->spot_outcomes[c->spot_count], RV_KEY_SIZE,
                    o->outcome_id);
        c->spot_count++;
    }
    if (!rv_watermark_note(wm, m->partition, o->env.occurred_at_us)) {
        RV_LOG(RV_LOG_ERROR, "too_many_partitions",
               RV_KV_INT("max", RV_WATERMARK_PARTITIONS_MAX));
        return RV_ERR_FATAL;
    }
    return RV_OK;
}

/* The batch's R10 offers in one round trip, in message order. */
static rv_err settle_spots(grader_ctx *c)
{
    rv_err err = grader_spot_offer_batch(c->w->rc, c->w->policy, c->spots,
                                         c->spot_count, c->spot_late);
    for (size_t i = 0; err == RV_OK && i < c->spot_count; i++) {
        uint64_t suppressed = 0;
        if (c->spot_late[i] &&
            rv_log_ratelimit_allow(&c->late_rl, &suppressed)) {
            RV_LOG(RV_LOG_WARN, "spot_check_late",
                   RV_KV_STR("outcome_id", c->spot_outcomes[i]),
                   RV_KV_STR("month", c->spots[i].label),
                   RV_KV_INT("suppressed", suppressed));
        }
    }
    return err;
}

/* R10: every agent-month whose end (plus lateness) the watermark passed
 * sends its chosen re-visits, then closes; the tasks are durable before
 * the month closes, and their IDs are derived, so a crash in between or
 * two replicas repeat one fact. */
static rv_err grader_tick(void *ctx, rv_producer *kp, bool *more)
{
    grader_ctx *c = ctx;
    rv_worker *w = c->w;
    if (w->policy->spot_checks.per_agent_month <= 0) {
        return RV_OK;
    }
    int64_t now = 0;
    const rv_watermark_opts wo = {
        .partitions = c->outcome_partitions,
        .idle_us = w->cfg.watermark_idle_ms * 1000,
        .hold_silent = w->cfg.watermark_hold_silent,
        .now_us = rv_now_us(),
    };
    rv_err err = rv_watermark_get(w->rc, GRADER_WATERMARK_KEY, &wo, &now);
    if (err != RV_OK || now == 0) {
        return err;
    }
    size_t n = 0, months = 0;
    err = grader_spot_due(w->rc, now, c->due, SPOT_TASKS_PER_TICK, &n,
                          c->labels, &months);
    /* A slice: months left over (a month whose tasks did not fit waits)
     * come after the next batch; a call that finds none ends it. */
    *more = months > 0;
    for (size_t i = 0; i < n && err == RV_OK; i++) {
        err = send_task(kp, TOPIC_TASKS, &c->due[i]);
    }
    if (err == RV_OK && months > 0) {
        err = rv_producer_flush(kp, (int)w->cfg.flush_timeout_ms);
    }
    if (err == RV_OK && months > 0) {
        err = grader_spot_close(w->rc, c->labels, months);
        RV_LOG(RV_LOG_INFO, "spot_checks_raised", RV_KV_INT("months", months),
               RV_KV_INT("tasks", n));
    }
    return err;
}

static rv_err grader_batch(void *ctx, const rv_msg *msgs, size_t count,
                           rv_producer *kp)
{
    grader_ctx *c = ctx;
    rv_worker *w = c->w;
    c->spot_count = 0;
    rv_outcome *o = malloc(sizeof(*o));
    rv_task *retry = malloc(sizeof(*retry));
    rv_err err = o != NULL && retry != NULL ? RV_OK : RV_ERR_NOMEM;
    rv_watermark_batch wm = {0};
    for (size_t i = 0; i < count && err == RV_OK; i++) {
        char errstr[256] = "";
        if (rv_codec_decode_outcome(msgs[i].payload, msgs[i].len, o, errstr,
                                    sizeof(errstr)) != RV_OK ||
            rv_keying_check(&msgs[i],
                            &(rv_key_values){.customer_id = o->customer_id},
                            errstr, sizeof(errstr)) != RV_OK) {
            err = rv_worker_reject(w, kp, &msgs[i], errstr);
            continue;
        }
        rv_grade g;
        bool has_retry = false;
        grader_grade(w->policy, o, &g, retry, &has_retry);
        err = send_grade(kp, &g);
        if (err == RV_OK && has_retry) {
            err = send_task(kp, TOPIC_RETRIES, retry);
        }
        if (err == RV_OK) {
            err = collect_spot(c, &msgs[i], o, &g, &wm);
        }
    }
    if (err == RV_OK) {
        err = settle_spots(c);
    }
    if (err == RV_OK) {
        err =
            rv_watermark_advance(w->rc, GRADER_WATERMARK_KEY, &wm, rv_now_us());
    }
    free(o);
    free(retry);
    return err;
}

int main(int argc, char **argv)
{
    static const rv_worker_spec spec = {
        .name = "grader",
        .default_group = "revisit-grader",
        .default_topics = TOPIC_OUTCOMES,
        .needs_policy = true,
        .needs_redis = true,
        .tick = grader_tick,
    };
    return rv_worker_main(argc, argv, &spec, grader_init, grader_batch,
                          grader_fini);
}
