/* workers/assigner/main.c: visits.tasks + visits.retries ->
 * visits.assignments. Books each attempt with an agent, a day and a call
 * window inside the due window, against capacity counters in Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "assigner_book.h"
#include "assigner_slots.h"
#include "rv/codec.h"
#include "rv/keying.h"
#include "rv/log.h"
#include "rv/worker.h"

#define TOPIC_TASKS "visits.tasks"
#define TOPIC_RETRIES "visits.retries"
/* Who hears of a task that could not be booked (issue 4 shortfall). */
#define CAPACITY_ROUTE "call_centre_supervisor"

/* One task of the batch and what is known of its booking so far. */
typedef struct pending {
    rv_task task;
    char why[RV_REASON_SIZE]; /* set when there is nothing to book */
    size_t call;              /* index into calls when slots exist */
    bool has_call;
} pending;

typedef struct assigner_cfg {
    char *output_topic;
    char *alerts_topic;
    /* Fault injection for issue 6 no. 1: exit (137, as if killed) right
     * after this many batches' booking scripts, before their assignments
     * are produced and their offsets committed; 0 = never. */
    int64_t crash_after_bookings;
} assigner_cfg;

static assigner_cfg out_cfg; /* filled by rv_worker_main's config load */

#define F(m) offsetof(assigner_cfg, m)
static const rv_cfg_key assigner_keys[] = {
    {"assigner.output.topic", RV_CFG_STR, F(output_topic), "visits.assignments",
     0, 0, 0, "topic of the bookings"},
    {"assigner.alerts.topic", RV_CFG_STR, F(alerts_topic), "compliance.alerts",
     0, 0, 0, "topic of the capacity alerts"},
    {"assigner.crash_after_bookings", RV_CFG_INT, F(crash_after_bookings), "0",
     0, 1000000, 0,
     "tests only: exit 137 after this many batches' bookings, before their "
     "assignments are produced and committed (0 = never)"},
    {0},
};
#undef F

typedef struct assigner_ctx {
    rv_worker *w;
    pending *items;
    assigner_call *calls; /* batch_max; buffers kept from batch to batch */
    size_t call_cap;
    rv_redis_call *rc_calls;
    rv_redis_reply *replies;
    assigner_slot slots[ASSIGNER_SLOTS_MAX];
    int64_t bookings; /* batches booked, for crash_after_bookings */
} assigner_ctx;

static rv_err assigner_init(rv_worker *w, void **out)
{
    size_t n = (size_t)w->cfg.batch_max;
    assigner_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return RV_ERR_NOMEM;
    }
    *out = c;
    c->w = w;
    c->items = calloc(n, sizeof(*c->items));
    c->calls = calloc(n, sizeof(*c->calls));
    c->call_cap = n;
    c->rc_calls = calloc(n, sizeof(*c->rc_calls));
    c->replies = calloc(n, sizeof(*c->replies));
    if (c->items == NULL || c->calls == NULL || c->rc_calls == NULL ||
        c->replies == NULL) {
        return RV_ERR_NOMEM;
    }
    return rv_redis_script_load(w->rc, &assigner_book_script);
}

static void assigner_fini(void *ctx)
{
    assigner_ctx *c = ctx;
    if (c == NULL) {
        return;
    }
    free(c->items);
    for (size_t i = 0; c->calls != NULL && i < c->call_cap; i++) {
        assigner_call_fini(&c->calls[i]);
    }
    free(c->calls);
    free(c->rc_calls);
    free(c->replies);
    free(c);
}

/* assigner.crash_after_bookings: the Redis step is done, nothing is
 * produced or committed. The second of sleep first lets a background
 * auto commit (enable.auto.commit, if an operator turned it on) run: it
 * must find no offset stored. */
static void maybe_crash(assigner_ctx *c)
{
    if (out_cfg.crash_after_bookings > 0 &&
        ++c->bookings >= out_cfg.crash_after_bookings) {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        RV_LOG(RV_LOG_WARN, "crash_injected",
               RV_KV_INT("bookings", c->bookings));
        fflush(NULL);
        _exit(137);
    }
}

static void fill_assignment(rv_assignment *a, const rv_task *t,
                            const char *policy_version)
{
    char attempt[16];
    snprintf(attempt, sizeof(attempt), "%u", t->attempt);
    const char *parts[] = {t->task_id, attempt};
    memset(a, 0, sizeof(*a));
    rv_id_derive(a->assignment_id, 2, parts);
    rv_envelope_fill(&a->env, a->assignment_id, t->env.occurred_at_us,
                     "assigner", t->env.event_id);
    rv_copy_str(a->task_id, sizeof(a->task_id), t->task_id);
    a->attempt = t->attempt;
    rv_copy_str(a->customer_id, sizeof(a->customer_id), t->customer_id);
    rv_copy_str(a->branch_id, sizeof(a->branch_id), t->branch_id);
    rv_copy_str(a->policy_version, sizeof(a->policy_version), policy_version);
    a->channel = t->channel;
    for (size_t q = 0; q < t->question_count; q++) {
        rv_copy_str(a->questions[q], RV_KEY_SIZE, t->questions[q]);
    }
    a->question_count = t->question_count;
    rv_copy_str(a->phone, sizeof(a->phone), t->phone);
    a->due_start_us = t->due_start_us;
    a->due_end_us = t->due_end_us;
    rv_copy_str(a->rule_id, sizeof(a->rule_id), t->rule_id);
    rv_copy_str(a->store_id, sizeof(a->store_id), t->store_id);
    rv_copy_str(a->salesperson_id, sizeof(a->salesperson_id),
                t->salesperson_id);
    a->window_index = -1;
}

/* A task that cannot be booked inside its due window is a shortfall the
 * supervisors must hear of: a capacity alert, derived from the
 * assignment so that a re-delivery raises no second one. */
static rv_err publish_capacity_alert(rv_producer *kp, const rv_assignment *a)
{
    rv_alert al;
    memset(&al, 0, sizeof(al));
    const char *parts[] = {a->assignment_id, "capacity"};
    rv_id_derive(al.alert_id, 2, parts);
    rv_envelope_fill(&al.env, al.alert_id, a->env.occurred_at_us, "assigner",
                     a->env.event_id);
    rv_copy_str(al.task_id, sizeof(al.task_id), a->task_id);
    rv_copy_str(al.customer_id, sizeof(al.customer_id), a->customer_id);
    rv_copy_str(al.branch_id, sizeof(al.branch_id), a->branch_id);
    rv_copy_str(al.kind, sizeof(al.kind), "capacity");
    al.severity = RV_SEVERITY_IMPORTANT;
    rv_copy_str(al.route_to, sizeof(al.route_to), CAPACITY_ROUTE);
    rv_copy_str(al.evidence, sizeof(al.evidence), a->reason);
    rv_copy_str(al.policy_version, sizeof(al.policy_version),
                a->policy_version);
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_alert(&al, &buf, &len);
    if (err == RV_OK) {
        err = rv_producer_send(kp, out_cfg.alerts_topic, al.customer_id, buf,
                               len, NULL, 0);
        free(buf);
    }
    return err;
}

static rv_err publish(rv_producer *kp, const rv_assignment *a)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_assignment(a, &buf, &len);
    if (err == RV_OK) {
        err = rv_producer_send(kp, out_cfg.output_topic, a->customer_id, buf,
                               len, NULL, 0);
        free(buf);
    }
    if (err == RV_OK && a->status == RV_UNASSIGNED) {
        err = publish_capacity_alert(kp, a);
    }
    return err;
}

/* Builds the assignment of item @p it from the script's @p reply. */
static rv_err settle(assigner_ctx *c, const pending *it,
                     const rv_redis_reply *reply, rv_assignment *a)
{
    fill_assignment(a, &it->task, c->w->policy->version);
    if (!it->has_call) {
        a->status = RV_UNASSIGNED;
        rv_copy_str(a->reason, sizeof(a->reason), it->why);
        return RV_OK;
    }
    if (reply->type != RV_REPLY_STR) {
        return RV_ERR_UNAVAILABLE; /* script error: retry, idempotent */
    }
    rv_booked b;
    bool booked = false;
    if (rv_booking_parse(reply->str, &b, &booked) != RV_OK) {
        RV_LOG(RV_LOG_ERROR, "booking_label_invalid",
               RV_KV_STR("task_id", it->task.task_id));
        return RV_ERR_FATAL; /* only this worker writes labels */
    }
    if (!booked) {
        a->status = RV_UNASSIGNED;
        rv_copy_str(a->reason, sizeof(a->reason), RV_BOOKING_FULL_REASON);
        return RV_OK;
    }
    a->status = RV_ASSIGNED;
    rv_copy_str(a->agent_id, sizeof(a->agent_id), b.agent_id);
    rv_calendar_day_str(b.day, a->day);
    a->window_start_us = b.start_us;
    a->window_end_us = b.end_us;
    a->window_index = b.window;
    return RV_OK;
}

static rv_err assigner_batch(void *ctx, const rv_msg *msgs, size_t count,
                             rv_producer *kp)
{
    assigner_ctx *c = ctx;
    size_t n = 0, calls = 0;
    for (size_t i = 0; i < count; i++) {
        char errstr[256] = "";
        pending *it = &c->items[n];
        rv_err err = rv_codec_decode_task(msgs[i].payload, msgs[i].len,
                                          &it->task, errstr, sizeof(errstr));
        if (err == RV_OK) {
            err = rv_keying_check(
                &msgs[i], &(rv_key_values){.customer_id = it->task.customer_id},
                errstr, sizeof(errstr));
        }
        if (err == RV_OK && !assigner_task_ok(c->w->policy, &it->task, errstr,
                                              sizeof(errstr))) {
            err = RV_ERR_INVALID;
        }
        if (err != RV_OK) {
            err = rv_worker_reject(c->w, kp, &msgs[i], errstr);
            if (err != RV_OK) {
                return err;
            }
            continue;
        }
        it->why[0] = '\0';
        const char *pool = NULL;
        size_t slot_count =
            assigner_slots(c->w->policy, c->w->cal, &it->task, c->slots,
                           ASSIGNER_SLOTS_MAX, &pool, it->why, sizeof(it->why));
        it->has_call = slot_count > 0;
        if (it->has_call) {
            it->call = calls;
            err = assigner_call_build(&c->calls[calls], pool, it->task.task_id,
                                      it->task.attempt, c->slots, slot_count,
                                      &c->rc_calls[calls]);
            if (err != RV_OK) {
                return err;
            }
            calls++;
        }
        n++;
    }
    if (calls > 0) {
        rv_err err = rv_redis_eval_batch(c->w->rc, &assigner_book_script,
                                         c->rc_calls, calls, c->replies);
        if (err != RV_OK) {
            return err;
        }
        maybe_crash(c);
    }
    rv_err err = RV_OK;
    for (size_t i = 0; i < n && err == RV_OK; i++) {
        const pending *it = &c->items[i];
        rv_assignment a;
        err = settle(c, it, it->has_call ? &c->replies[it->call] : NULL, &a);
        if (err == RV_OK) {
            err = publish(kp, &a);
        }
        if (err == RV_OK) {
            RV_LOG(RV_LOG_DEBUG, "booked", RV_KV_STR("task_id", a.task_id),
                   RV_KV_INT("attempt", a.attempt),
                   RV_KV_STR("agent", a.agent_id),
                   RV_KV_STR("status", a.status == RV_ASSIGNED ? "assigned"
                                                               : "unassigned"));
        }
    }
    rv_redis_replies_fini(c->replies, calls);
    return err;
}

int main(int argc, char **argv)
{
    static const rv_worker_spec spec = {
        .name = "assigner",
        .default_group = "revisit-assigner",
        .default_topics = TOPIC_TASKS "," TOPIC_RETRIES,
        .needs_redis = true,
        .needs_policy = true,
        .extra_keys = assigner_keys,
        .extra_base = &out_cfg,
    };
    return rv_worker_main(argc, argv, &spec, assigner_init, assigner_batch,
                          assigner_fini);
}
