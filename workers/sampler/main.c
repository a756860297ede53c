/* workers/sampler/main.c: sales.events + service.events -> visits.tasks
 * and visits.decisions. Decides which customers need a visit (R1, R5 and
 * whatever rules the policy holds), applies the C4 cooldown in Redis,
 * publishes tasks and one decision per (event, rule) evaluated. Quota
 * rules (sampler_quota.h) offer each sale to their period's sample and
 * decide when the sales' event-time watermark closes the period (tick). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/codec.h"
#include "rv/kafka_lag.h"
#include "rv/keying.h"
#include "rv/log.h"
#include "rv/sample_store.h"
#include "rv/watermark.h"
#include "rv/worker.h"
#include "sampler_churn.h"
#include "sampler_cooldown.h"
#include "sampler_quota.h"
#include "sampler_rules.h"

#define TOPIC_SALES "sales.events"
#define TOPIC_SERVICE "service.events"
#define TOPIC_TASKS "visits.tasks"
#define TOPIC_DECISIONS "visits.decisions"
#define US_PER_DAY 86400000000LL
/* rv/watermark.h hash of sales.events, for closing quota periods. */
#define SAMPLER_WATERMARK_KEY "rv:sampler:watermark"
/* Churn visits raised per rule and tick slice at most (and at most
 * batch_max): two round trips for them all (C4 verdicts, then off the
 * clock). Slices follow each other between batches while visits are due
 * (run_tick), so a backlog drains at full speed without holding a batch
 * of new sales behind it for more than one slice (issue 8). */
#define CHURN_PER_SLICE 128
/* Why a quota's chosen visit was selected. */
#define QUOTA_CHOSEN "among the smallest draws its quota takes"

/* A sale's offer to a quota rule's sample, waiting for the batch's
 * round trip; o's strings are label, member and hex. */
typedef struct quota_offer {
    rv_sample_offer o;
    char label[RV_SAMPLE_LABEL_SIZE];
    char member[RV_KEY_SIZE];
    char *hex; /* the candidate task; owned */
} quota_offer;

/* One decision waiting in sampler_ctx.arena. */
typedef struct pending_decision {
    char customer[RV_KEY_SIZE]; /* the message key */
    size_t off, len;            /* its encoding in the arena */
    size_t seq;                 /* the order it was made in */
} pending_decision;

/* The sampler's own keys (rv_worker_spec.extra_keys). */
typedef struct sampler_cfg {
    int64_t max_ahead_ms;
} sampler_cfg;

static sampler_cfg s_cfg;

#define F(m) offsetof(sampler_cfg, m)
static const rv_cfg_key sampler_keys[] = {
    {"sampler.max.ahead.ms", RV_CFG_INT, F(max_ahead_ms), "86400000", 0,
     INT64_C(31622400000), 0,
     "a sale or work order dated more than this after its Kafka message "
     "was produced is dead-lettered (it would move the event-time "
     "watermark past every open period); 0 = no limit"},
    {0},
};
#undef F

typedef struct sampler_ctx {
    rv_worker *w;
    rv_task *tasks; /* batch_max candidate tasks */
    rv_redis_reply *replies;
    rv_redis_call *calls;
    sampler_cooldown_call *cd_calls; /* the calls' buffers */
    bool *bypass;
    sampler_decisions dec; /* one event's decisions */
    /* Selected and merged decisions of the batch, waiting for their
     * task's cooldown verdict; held_task[i] is the task's index. */
    rv_decision *held;
    size_t *held_task;
    size_t held_count, held_cap;
    /* Quota rules (issue 3). */
    bool has_quota;
    bool has_churn;       /* inactivity rules (R7) */
    bool has_schedule;    /* schedule rules (R6) */
    int sales_partitions; /* the watermark waits for all of them */
    sampler_churn_due churn_due[CHURN_PER_SLICE];
    rv_task schedule[16]; /* one sale's R6 follow-ups */
    rv_sale sale;         /* the batch's current event */
    rv_work_order wo;
    sampler_candidate cand;
    rv_decision scratch;
    rv_task close_task;
    /* The batch's quota and churn offers, made in one round trip each
     * once every message is planned (settle_quota, settle_churn). */
    quota_offer *quota;
    size_t quota_count, quota_cap;
    sampler_churn_offer_call *churn;
    size_t churn_count, churn_cap;
    /* The memos the batch's offers kept in Redis (their first answers,
     * for a re-delivery), deleted once the batch's output is durable
     * (sampler_durable). */
    char (*memo)[RV_SAMPLE_MEMO_KEY_SIZE];
    size_t memo_count, memo_cap;
    /* The decisions made so far in this batch or tick, encoded in arena,
     * sent one message per customer at its end (decisions_send). */
    pending_decision *pend;
    size_t pend_count, pend_cap;
    uint8_t *arena;
    size_t arena_len, arena_cap;
} sampler_ctx;

static rv_err sampler_init(rv_worker *w, void **out)
{
    size_t n = (size_t)w->cfg.batch_max;
    sampler_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return RV_ERR_NOMEM;
    }
    c->w = w;
    c->tasks = calloc(n, sizeof(*c->tasks));
    c->replies = calloc(n, sizeof(*c->replies));
    c->calls = calloc(n, sizeof(*c->calls));
    c->cd_calls = calloc(n, sizeof(*c->cd_calls));
    c->bypass = calloc(n, sizeof(*c->bypass));
    *out = c;
    if (c->tasks == NULL || c->replies == NULL || c->calls == NULL ||
        c->cd_calls == NULL || c->bypass == NULL) {
        return RV_ERR_NOMEM;
    }
    rv_err err = rv_redis_script_load(w->rc, &sampler_cooldown_script);
    if (err != RV_OK) {
        RV_LOG(RV_LOG_ERROR, "script_load_failed",
               RV_KV_STR("script", sampler_cooldown_script.name),
               RV_KV_STR("error", rv_err_str(err)));
        return err;
    }
    for (unsigned r = 0; r < w->policy->rule_count; r++) {
        c->has_quota = c->has_quota || rv_rule_is_quota(&w->policy->rules[r]);
        c->has_churn =
            c->has_churn || rv_rule_is_inactivity(&w->policy->rules[r]);
        c->has_schedule =
            c->has_schedule || rv_rule_is_schedule(&w->policy->rules[r]);
    }
    if (c->has_quota || c->has_churn) {
        char errstr[256] = "";
        err = rv_kafka_partition_count(&w->kafka, TOPIC_SALES, 10000,
                                       &c->sales_partitions, errstr,
                                       sizeof(errstr));
        if (err != RV_OK) {
            RV_LOG(RV_LOG_ERROR, "metadata_failed",
                   RV_KV_STR("reason", errstr));
        }
    }
    return err;
}

/* Drop the batch's pending offers (their task texts). */
static void offers_clear(sampler_ctx *c)
{
    for (size_t i = 0; i < c->quota_count; i++) {
        free(c->quota[i].hex);
    }
    for (size_t i = 0; i < c->churn_count; i++) {
        free(c->churn[i].hex);
    }
    c->quota_count = 0;
    c->churn_count = 0;
}

/* Room for @p need elements of @p size bytes in *@p arr: its capacity
 * *@p cap doubles from @p first until it holds them. */
static bool reserve(void **arr, size_t size, size_t need, size_t *cap,
                    size_t first)
{
    if (need <= *cap) {
        return true;
    }
    size_t n = *cap > 0 ? *cap : first;
    while (n < need) {
        n *= 2;
    }
    void *p = realloc(*arr, n * size);
    if (p == NULL) {
        return false;
    }
    *arr = p;
    *cap = n;
    return true;
}

/* Room for one more element in *@p arr (of @p size bytes each). */
static bool grow(void **arr, size_t size, size_t count, size_t *cap)
{
    return reserve(arr, size, count + 1, cap, 64);
}

static void sampler_fini(void *ctx)
{
    sampler_ctx *c = ctx;
    if (c == NULL) {
        return;
    }
    free(c->tasks);
    free(c->replies);
    free(c->calls);
    free(c->cd_calls);
    free(c->bypass);
    free(c->held);
    free(c->held_task);
    offers_clear(c);
    free(c->quota);
    free(c->churn);
    free(c->memo);
    free(c->pend);
    free(c->arena);
    free(c);
}

/* Note memo key @p key of this batch. */
static rv_err memo_note(sampler_ctx *c, const char *key)
{
    if (!grow((void **)&c->memo, sizeof(*c->memo), c->memo_count,
              &c->memo_cap)) {
        return RV_ERR_NOMEM;
    }
    snprintf(c->memo[c->memo_count++], sizeof(*c->memo), "%s", key);
    return RV_OK;
}

/* The batch's output is durable: its offers' memos have done their job.
 * If they cannot be deleted now they expire (RV_MEMO_TTL_S); a memo left
 * over only hands back the same answer, whose decisions are idempotent. */
static void sampler_durable(void *ctx)
{
    sampler_ctx *c = ctx;
    if (c->memo_count == 0) {
        return;
    }
    const char **keys = malloc(c->memo_count * sizeof(*keys));
    rv_err err = keys != NULL ? RV_OK : RV_ERR_NOMEM;
    for (size_t i = 0; err == RV_OK && i < c->memo_count; i++) {
        keys[i] = c->memo[i];
    }
    if (err == RV_OK) {
        err = rv_redis_unlink(c->w->rc, keys, c->memo_count);
    }
    if (err != RV_OK) {
        RV_LOG(RV_LOG_WARN, "memo_forget_failed",
               RV_KV_STR("err", rv_err_str(err)),
               RV_KV_INT("count", c->memo_count));
    }
    free(keys);
    c->memo_count = 0;
}

/* Decodes one message into @p ev (its strings in c->sale or c->wo),
 * checks its Kafka key (rv/keying.h) and plans a task. RV_ERR_INVALID =
 * dead-letter it with errstr. */
static rv_err plan_one(sampler_ctx *c, const rv_msg *m, sampler_event *out,
                       rv_task *task, bool *selected, bool *bypass,
                       char *errstr, size_t errstr_size)
{
    sampler_event ev = {0};
    rv_sale *sale = &c->sale;
    rv_work_order *wo = &c->wo;
    rv_err err;
    if (strcmp(m->topic, TOPIC_SERVICE) == 0) {
        err = rv_codec_decode_work_order(m->payload, m->len, wo, errstr,
                                         errstr_size);
        if (err != RV_OK) {
            return err;
        }
        ev = (sampler_event){.kind = rv_work_order_kind_name(wo->kind),
                             .env = &wo->env,
                             .customer_id = wo->customer_id,
                             .branch_id = wo->branch_id,
                             .store_id = wo->store_id,
                             .phone = wo->phone};
    } else {
        err =
            rv_codec_decode_sale(m->payload, m->len, sale, errstr, errstr_size);
        if (err != RV_OK) {
            return err;
        }
        ev = (sampler_event){.kind = "sale",
                             .env = &sale->env,
                             .customer_id = sale->customer_id,
                             .branch_id = sale->branch_id,
                             .store_id = sale->store_id,
                             .phone = sale->phone,
                             .salesperson_id = sale->salesperson_id,
                             .amount_cents = sale->amount_cents,
                             .gift_cents = sale->gift_cents,
                             .segment = sale->segment,
                             .customer_class = sale->customer_class,
                             .new_customer = sale->new_customer,
                             .categories =
                                 (const char(*)[RV_SHORT_SIZE])sale->categories,
                             .category_count = sale->category_count};
    }
    *out = ev;
    err = rv_keying_check(m, &(rv_key_values){.customer_id = ev.customer_id},
                          errstr, errstr_size);
    if (err != RV_OK) {
        return err;
    }
    err = sampler_event_time_check(ev.env->event_id, ev.env->occurred_at_us,
                                   m->timestamp_ms, s_cfg.max_ahead_ms, errstr,
                                   errstr_size);
    if (err != RV_OK) {
        return err;
    }
    return sampler_plan(c->w->policy, c->w->cal, &ev, "sampler", task, selected,
                        bypass, &c->dec, errstr, errstr_size);
}

static rv_err send_task(rv_producer *kp, const rv_task *t)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_task(t, &buf, &len);
    if (err == RV_OK) {
        err = rv_producer_send(kp, TOPIC_TASKS, t->customer_id, buf, len, NULL,
                               0);
        free(buf);
    }
    return err;
}

/* Decision @p d, encoded into the batch's pending decisions; sent with
 * the customer's others by decisions_send. */
static rv_err add_decision(sampler_ctx *c, const rv_decision *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_decision(d, &buf, &len);
    if (err != RV_OK) {
        return err;
    }
    if (!grow((void **)&c->pend, sizeof(*c->pend), c->pend_count,
              &c->pend_cap) ||
        !reserve((void **)&c->arena, 1, c->arena_len + len, &c->arena_cap,
                 65536)) {
        free(buf);
        return RV_ERR_NOMEM;
    }
    pending_decision *p = &c->pend[c->pend_count];
    snprintf(p->customer, sizeof(p->customer), "%s", d->customer_id);
    p->off = c->arena_len;
    p->len = len;
    p->seq = c->pend_count++;
    memcpy(c->arena + c->arena_len, buf, len);
    c->arena_len += len;
    free(buf);
    return RV_OK;
}

static int by_customer_then_seq(const void *a, const void *b)
{
    const pending_decision *x = a, *y = b;
    int r = strcmp(x->customer, y->customer);
    return r != 0 ? r : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Issue 8: the pending decisions as one visits.decisions message per
 * customer (at most RV_CODEC_DECISIONS_MAX decisions each), in the order
 * they were made, keyed by the customer as before; the pending list is
 * emptied either way. */
static rv_err decisions_send(sampler_ctx *c, rv_producer *kp)
{
    if (c->pend_count == 0) {
        return RV_OK;
    }
    qsort(c->pend, c->pend_count, sizeof(*c->pend), by_customer_then_seq);
    const uint8_t *parts[RV_CODEC_DECISIONS_MAX];
    size_t lens[RV_CODEC_DECISIONS_MAX];
    rv_err err = RV_OK;
    for (size_t i = 0; i < c->pend_count && err == RV_OK;) {
        size_t n = 0;
        for (; i + n < c->pend_count && n < RV_CODEC_DECISIONS_MAX &&
               strcmp(c->pend[i + n].customer, c->pend[i].customer) == 0;
             n++) {
            parts[n] = c->arena + c->pend[i + n].off;
            lens[n] = c->pend[i + n].len;
        }
        uint8_t *buf = NULL;
        size_t len = 0;
        err = rv_codec_join_decisions(parts, lens, n, &buf, &len);
        if (err == RV_ERR_INVALID && n > 1) {
            n = 1; /* too big together: one message a decision */
            err = rv_codec_join_decisions(parts, lens, n, &buf, &len);
        }
        if (err == RV_OK) {
            err = rv_producer_send(kp, TOPIC_DECISIONS, c->pend[i].customer,
                                   buf, len, NULL, 0);
            free(buf);
        }
        i += n;
    }
    c->pend_count = 0;
    c->arena_len = 0;
    return err;
}

/* Hold decision @p d of task @p task until its cooldown verdict. */
static rv_err hold(sampler_ctx *c, const rv_decision *d, size_t task)
{
    if (c->held_count == c->held_cap) {
        size_t cap = c->held_cap == 0 ? 64 : c->held_cap * 2;
        rv_decision *h = realloc(c->held, cap * sizeof(*h));
        if (h == NULL) {
            return RV_ERR_NOMEM;
        }
        c->held = h;
        size_t *t = realloc(c->held_task, cap * sizeof(*t));
        if (t == NULL) {
            return RV_ERR_NOMEM;
        }
        c->held_task = t;
        c->held_cap = cap;
    }
    c->held[c->held_count] = *d;
    c->held_task[c->held_count++] = task;
    return RV_OK;
}

/* The event's decisions: not selected ones now, the others held for the
 * cooldown verdict of task @p task. */
static rv_err route_decisions(sampler_ctx *c, size_t task)
{
    rv_err err = RV_OK;
    for (size_t d = 0; d < c->dec.count && err == RV_OK; d++) {
        const rv_decision *dec = &c->dec.items[d];
        err = dec->outcome == RV_DECISION_NOT_SELECTED ? add_decision(c, dec)
                                                       : hold(c, dec, task);
    }
    return err;
}

/* C4 held task @p verdict ("cooldown", "optout") back: its decisions say
 * so. */
static void suppress(rv_decision *d, const char *verdict)
{
    bool optout = strcmp(verdict, "optout") == 0;
    d->outcome = optout ? RV_DECISION_SUPPRESSED_OPT_OUT
                        : RV_DECISION_SUPPRESSED_COOLDOWN;
    size_t used = strlen(d->reason);
    snprintf(d->reason + used, sizeof(d->reason) - used, "; %s (C4)",
             optout ? "the customer opted out" : "within the cooldown");
}

/* Everything this batch or tick produced so far made durable: its queued
 * decisions sent, then the producer flushed. Before a Redis change that
 * stops the work from being done again (a quota group closed, a churn
 * visit taken off the clock). */
static rv_err make_durable(sampler_ctx *c, rv_producer *kp)
{
    rv_err err = decisions_send(c, kp);
    return err == RV_OK ? rv_producer_flush(kp, (int)c->w->cfg.flush_timeout_ms)
                        : err;
}

/* Issue 3: the decision about quota task @p t, added to the batch's. */
static rv_err quota_decide(sampler_ctx *c, const rv_task *t,
                           rv_decision_outcome outcome, const char *reason)
{
    sampler_quota_decision(t, outcome, reason, "sampler", &c->scratch);
    return add_decision(c, &c->scratch);
}

/* Every decoded task of '|'-joined hex @p payloads is not selected, for
 * @p reason. */
static rv_err quota_not_selected(sampler_ctx *c, char *payloads,
                                 const char *reason)
{
    rv_err err = RV_OK;
    char *save = NULL;
    for (char *hex = strtok_r(payloads, "|", &save);
         hex != NULL && err == RV_OK; hex = strtok_r(NULL, "|", &save)) {
        char errstr[160] = "";
        if (rv_codec_decode_task_hex(hex, &c->close_task, errstr,
                                     sizeof(errstr)) != RV_OK) {
            RV_LOG(RV_LOG_WARN, "quota_task_unreadable",
                   RV_KV_STR("reason", errstr));
            continue;
        }
        err = quota_decide(c, &c->close_task, RV_DECISION_NOT_SELECTED, reason);
    }
    return err;
}

/* Task @p t decided by a watermark, after the C4 verdict @p verdict
 * ("accept", "cooldown", "optout"): published if accepted, and its
 * decision (selected for @p reason, or suppressed) either way. */
static rv_err publish_verdict(sampler_ctx *c, rv_producer *kp, const rv_task *t,
                              const char *verdict, const char *reason)
{
    sampler_quota_decision(t, RV_DECISION_SELECTED, reason, "sampler",
                           &c->scratch);
    rv_err err = RV_OK;
    if (strcmp(verdict, "accept") != 0) {
        suppress(&c->scratch, verdict);
    } else {
        err = send_task(kp, t);
    }
    return err == RV_OK ? add_decision(c, &c->scratch) : err;
}

/* The C4 verdict on task @p t alone ("accept", "cooldown", "optout")
 * into @p verdict; @p bypass and @p register_ as in
 * sampler_cooldown_prepare. */
static rv_err cooldown_verdict(sampler_ctx *c, const rv_task *t, bool bypass,
                               bool register_, char verdict[16])
{
    sampler_cooldown_call cc;
    rv_redis_call call;
    sampler_cooldown_prepare(
        &cc, t,
        rv_policy_cooldown_days(c->w->policy, t->customer_class) * US_PER_DAY,
        bypass, register_, &call);
    rv_redis_reply r = {0};
    rv_err err =
        rv_redis_eval(c->w->rc, &sampler_cooldown_script, call.key_count,
                      call.keys, call.arg_count, call.args, &r);
    if (err == RV_OK && (r.type != RV_REPLY_STR || r.str == NULL)) {
        err = RV_ERR_UNAVAILABLE; /* retried: the script is idempotent */
    }
    if (err == RV_OK) {
        snprintf(verdict, 16, "%s", r.str);
    }
    rv_redis_replies_fini(&r, 1);
    return err;
}

/* One task decided by a watermark (a churn visit): the C4 cooldown, then
 * the task and its decision (selected, or suppressed). */
static rv_err publish_one(sampler_ctx *c, rv_producer *kp, const rv_task *t,
                          const char *reason)
{
    char verdict[16];
    rv_err err = cooldown_verdict(c, t, false, false, verdict);
    return err == RV_OK ? publish_verdict(c, kp, t, verdict, reason) : err;
}

/* R6: the follow-ups of sale @p ev under every schedule rule, each
 * through C4; one decision per rule: selected (the first follow-up
 * published), suppressed (none was) or not selected (u, rate). */
static rv_err offer_schedule(sampler_ctx *c, rv_producer *kp,
                             const sampler_event *ev)
{
    const rv_policy *p = c->w->policy;
    rv_err err = RV_OK;
    for (unsigned r = 0; r < p->rule_count && err == RV_OK; r++) {
        const rv_rule *rule = &p->rules[r];
        char cond[RV_REASON_SIZE] = "";
        sampler_match match =
            rv_rule_is_schedule(rule)
                ? sampler_rule_match(p, rule, ev, cond, sizeof(cond))
                : SAMPLER_NO_TRIGGER;
        if (match == SAMPLER_NO_TRIGGER) {
            continue;
        }
        double u = 0.0, rate = -1.0;
        size_t n = sampler_schedule_tasks(p, c->w->cal, rule, ev, "sampler",
                                          c->schedule, 16, &u, &rate);
        const rv_rule *rules[] = {rule};
        sampler_task_for(p, ev, "sampler", rules, 1, &c->close_task);
        c->close_task.sample_u = u;
        char verdict[16] = "accept", why[RV_REASON_SIZE];
        const rv_task *first = NULL;
        for (size_t i = 0; i < n && err == RV_OK; i++) {
            /* A follow-up is promised at the sale: the opt-out list
             * holds it, the cooldown does not (its time is ahead of the
             * events that could hold it). */
            err = cooldown_verdict(c, &c->schedule[i], true, false, verdict);
            if (err == RV_OK && strcmp(verdict, "accept") == 0) {
                err = send_task(kp, &c->schedule[i]);
                first = first != NULL ? first : &c->schedule[i];
            }
        }
        if (err != RV_OK) {
            break;
        }
        if (match == SAMPLER_CONDITION_FAILS) {
            snprintf(why, sizeof(why), "%s", cond);
        } else if (n == 0) {
            snprintf(why, sizeof(why), "u %.6f >= rate %.6f", u, rate);
        } else {
            snprintf(why, sizeof(why), "u %.6f < rate %.6f: %zu follow-ups", u,
                     rate, n);
        }
        sampler_quota_decision(first != NULL ? first : &c->close_task,
                               n == 0 ? RV_DECISION_NOT_SELECTED
                                      : RV_DECISION_SELECTED,
                               why, "sampler", &c->scratch);
        c->scratch.rate = rate;
        c->scratch.env.occurred_at_us = ev->env->occurred_at_us;
        if (n > 0 && first == NULL) {
            rv_copy_str(c->scratch.task_id, sizeof(c->scratch.task_id),
                        c->schedule[0].task_id);
            suppress(&c->scratch, verdict);
        }
        err = add_decision(c, &c->scratch);
    }
    return err;
}

/* R7: sale @p ev restarts its customer's churn clock under every
 * inactivity rule; the offers are made by settle_churn. */
static rv_err collect_churn(sampler_ctx *c, const sampler_event *ev)
{
    const rv_policy *p = c->w->policy;
    for (unsigned r = 0; r < p->rule_count; r++) {
        const rv_rule *rule = &p->rules[r];
        char why[RV_REASON_SIZE];
        if (!rv_rule_is_inactivity(rule) ||
            sampler_rule_match(p, rule, ev, why, sizeof(why)) !=
                SAMPLER_APPLIES ||
            !sampler_churn_task(p, c->w->cal, rule, ev, "sampler",
                                &c->cand.task)) {
            continue;
        }
        char *hex = NULL;
        if (!grow((void **)&c->churn, sizeof(*c->churn), c->churn_count,
                  &c->churn_cap) ||
            rv_codec_encode_task_hex(&c->cand.task, &hex) != RV_OK) {
            return RV_ERR_NOMEM;
        }
        sampler_churn_offer_prepare(rule, ev, hex, &c->churn[c->churn_count++]);
    }
    return RV_OK;
}

/* The batch's churn offers in one round trip, in message order; the
 * previous purchase's visit is off when the sale came within the
 * period, due now when after it (sampler_churn.h). */
static rv_err settle_churn(sampler_ctx *c, rv_producer *kp)
{
    size_t n = c->churn_count;
    if (n == 0) {
        return RV_OK;
    }
    sampler_churn_result *res = calloc(n, sizeof(*res));
    char **prev = calloc(n, sizeof(*prev));
    rv_err err =
        res != NULL && prev != NULL
            ? sampler_churn_offer_batch(c->w->rc, c->churn, n, res, prev)
            : RV_ERR_NOMEM;
    for (size_t i = 0; err == RV_OK && i < n; i++) {
        char errstr[160] = "";
        if (res[i] == SAMPLER_CHURN_OLDER) {
            if (rv_codec_decode_task_hex(c->churn[i].hex, &c->cand.task, errstr,
                                         sizeof(errstr)) != RV_OK) {
                err = RV_ERR_FATAL; /* we encoded it: a bug */
                break;
            }
            err = quota_decide(c, &c->cand.task, RV_DECISION_NOT_SELECTED,
                               "a later purchase of the customer is known");
            continue;
        }
        if (prev[i] != NULL) {
            err = memo_note(c, c->churn[i].memo);
        }
        if (err == RV_OK && prev[i] != NULL &&
            rv_codec_decode_task_hex(prev[i], &c->close_task, errstr,
                                     sizeof(errstr)) == RV_OK) {
            err =
                res[i] == SAMPLER_CHURN_SUPERSEDED
                    ? quota_decide(c, &c->close_task, RV_DECISION_NOT_SELECTED,
                                   "the customer bought again within the "
                                   "inactivity period")
                    : publish_one(c, kp, &c->close_task,
                                  "no purchase for the inactivity period "
                                  "(R7)");
        }
    }
    for (size_t i = 0; prev != NULL && i < n; i++) {
        free(prev[i]);
    }
    free(prev);
    free(res);
    return err;
}

/* Offer sale @p ev to the sample of every quota rule it triggers (made
 * by settle_quota); a sale whose condition fails is decided (not
 * selected) now. */
static rv_err collect_quota(sampler_ctx *c, const sampler_event *ev)
{
    const rv_policy *p = c->w->policy;
    rv_err err = RV_OK;
    for (unsigned r = 0; r < p->rule_count && err == RV_OK; r++) {
        const rv_rule *rule = &p->rules[r];
        char why[RV_REASON_SIZE];
        sampler_match match =
            rv_rule_is_quota(rule)
                ? sampler_rule_match(p, rule, ev, why, sizeof(why))
                : SAMPLER_NO_TRIGGER;
        if (match == SAMPLER_NO_TRIGGER ||
            !sampler_quota_candidate(p, c->w->cal, rule, ev, "sampler",
                                     &c->cand)) {
            continue;
        }
        if (match == SAMPLER_CONDITION_FAILS) {
            err = quota_decide(c, &c->cand.task, RV_DECISION_NOT_SELECTED, why);
            continue;
        }
        if (!grow((void **)&c->quota, sizeof(*c->quota), c->quota_count,
                  &c->quota_cap)) {
            return RV_ERR_NOMEM;
        }
        quota_offer *q = &c->quota[c->quota_count];
        q->hex = NULL;
        err = rv_codec_encode_task_hex(&c->cand.task, &q->hex);
        if (err != RV_OK) {
            break;
        }
        c->quota_count++;
        snprintf(q->label, sizeof(q->label), "%s", c->cand.label);
        snprintf(q->member, sizeof(q->member), "%s", ev->env->event_id);
        q->o = (rv_sample_offer){
            .ns = SAMPLER_QUOTA_NS,
            .bucket = c->cand.bucket,
            .u = c->cand.key,
            .keep = c->cand.keep,
            .close_us = c->cand.close_us,
            .memo = true, /* what it trims is decided now */
        };                /* its strings: settle_quota */
    }
    return err;
}

/* The batch's quota offers in one round trip, in message order; a sale
 * pushed out of its bucket, or one whose period had closed, is decided
 * (not selected) now, the others when the period closes. */
static rv_err settle_quota(sampler_ctx *c)
{
    size_t n = c->quota_count;
    if (n == 0) {
        return RV_OK;
    }
    rv_sample_offer *offers = malloc(n * sizeof(*offers));
    bool *late = calloc(n, sizeof(*late));
    char **trimmed = calloc(n, sizeof(*trimmed));
    rv_err err = offers != NULL && late != NULL && trimmed != NULL
                     ? RV_OK
                     : RV_ERR_NOMEM;
    for (size_t i = 0; err == RV_OK && i < n; i++) {
        /* Pointed here, not when collected: growing c->quota moves it. */
        offers[i] = c->quota[i].o;
        offers[i].label = c->quota[i].label;
        offers[i].member = c->quota[i].member;
        offers[i].payload = c->quota[i].hex;
    }
    if (err == RV_OK) {
        err = rv_sample_offer_batch(c->w->rc, offers, n, late, trimmed);
    }
    for (size_t i = 0; err == RV_OK && i < n; i++) {
        const quota_offer *q = &c->quota[i];
        if (late[i]) {
            char errstr[160] = "";
            RV_LOG(RV_LOG_WARN, "quota_event_late",
                   RV_KV_STR("event_id", q->member),
                   RV_KV_STR("group", q->label));
            if (rv_codec_decode_task_hex(q->hex, &c->cand.task, errstr,
                                         sizeof(errstr)) != RV_OK) {
                err = RV_ERR_FATAL; /* we encoded it: a bug */
                break;
            }
            err = quota_decide(c, &c->cand.task, RV_DECISION_NOT_SELECTED,
                               "late: its quota period had closed");
        }
        if (err == RV_OK && trimmed[i][0] != '\0') {
            char key[RV_SAMPLE_MEMO_KEY_SIZE];
            rv_sample_memo_key(&offers[i], key);
            err = memo_note(c, key);
        }
        if (err == RV_OK) {
            err = quota_not_selected(c, trimmed[i],
                                     "not among the smallest draws its tier "
                                     "and the tiers above can take");
        }
    }
    for (size_t i = 0; trimmed != NULL && i < n; i++) {
        free(trimmed[i]);
    }
    free(trimmed);
    free(late);
    free(offers);
    return err;
}

/* The C4 cooldown call of c->tasks[@p slot] (bypassed when
 * c->bypass[slot]), into c->calls[slot]; the cooldown is the customer
 * class's (R9). @p register_: decided on arrival (see the script). */
static void prepare_cooldown(sampler_ctx *c, size_t slot, bool register_)
{
    const rv_task *t = &c->tasks[slot];
    sampler_cooldown_prepare(
        &c->cd_calls[slot], t,
        rv_policy_cooldown_days(c->w->policy, t->customer_class) * US_PER_DAY,
        c->bypass[slot], register_, &c->calls[slot]);
}

static rv_err plan_batch(sampler_ctx *c, const rv_msg *msgs, size_t count,
                         rv_producer *kp)
{
    size_t n = 0;
    c->held_count = 0;
    c->memo_count = 0; /* a retry makes the same offers again */
    offers_clear(c);
    rv_watermark_batch wm = {0};
    for (size_t i = 0; i < count; i++) {
        char errstr[256] = "";
        bool selected = false;
        sampler_event ev = {0};
        rv_err err = plan_one(c, &msgs[i], &ev, &c->tasks[n], &selected,
                              &c->bypass[n], errstr, sizeof(errstr));
        if (err == RV_ERR_INVALID) {
            selected = false;
            err = rv_worker_reject(c->w, kp, &msgs[i], errstr);
        } else if (err == RV_OK) {
            err = route_decisions(c, n);
            if (err == RV_OK && c->has_schedule) {
                err = offer_schedule(c, kp, &ev);
            }
            if (err == RV_OK && (c->has_quota || c->has_churn) &&
                strcmp(msgs[i].topic, TOPIC_SALES) == 0) {
                err = collect_quota(c, &ev);
                if (err == RV_OK) {
                    err = collect_churn(c, &ev);
                }
                if (err == RV_OK &&
                    !rv_watermark_note(&wm, msgs[i].partition,
                                       ev.env->occurred_at_us)) {
                    err = RV_ERR_FATAL; /* more partitions than supported */
                }
            }
        }
        if (err != RV_OK) {
            return err;
        }
        if (!selected) {
            continue;
        }
        /* A visit that bypasses C4 (R5, from service.events) does not
         * start a cooldown either: its topic is not ordered with the
         * customer's sales, so it would make their verdicts depend on
         * arrival order. */
        prepare_cooldown(c, n, !c->bypass[n]);
        n++;
    }
    /* The offers after every message's plan: same Redis state, one round
     * trip each instead of one per sale and rule. */
    rv_err settled = settle_quota(c);
    if (settled == RV_OK) {
        settled = settle_churn(c, kp);
    }
    offers_clear(c);
    if (settled != RV_OK) {
        return settled;
    }
    if (n == 0) {
        return rv_watermark_advance(c->w->rc, SAMPLER_WATERMARK_KEY, &wm,
                                    rv_now_us());
    }
    rv_err err = rv_redis_eval_batch(c->w->rc, &sampler_cooldown_script,
                                     c->calls, n, c->replies);
    if (err != RV_OK) {
        return err;
    }
    for (size_t i = 0; i < n && err == RV_OK; i++) {
        const rv_redis_reply *r = &c->replies[i];
        if (r->type != RV_REPLY_STR) {
            RV_LOG(RV_LOG_WARN, "cooldown_script_error",
                   RV_KV_STR("task_id", c->tasks[i].task_id),
                   RV_KV_INT("reply_type", r->type));
            err = RV_ERR_UNAVAILABLE; /* retry the batch: idempotent */
            break;
        }
        if (strcmp(r->str, "accept") != 0) {
            RV_LOG(RV_LOG_DEBUG, "task_suppressed",
                   RV_KV_STR("task_id", c->tasks[i].task_id),
                   RV_KV_STR("decision", r->str));
            for (size_t h = 0; h < c->held_count; h++) {
                if (c->held_task[h] == i) {
                    suppress(&c->held[h], r->str);
                }
            }
            continue;
        }
        err = send_task(kp, &c->tasks[i]);
    }
    rv_redis_replies_fini(c->replies, n);
    for (size_t h = 0; h < c->held_count && err == RV_OK; h++) {
        err = add_decision(c, &c->held[h]);
    }
    if (err == RV_OK) {
        err = rv_watermark_advance(c->w->rc, SAMPLER_WATERMARK_KEY, &wm,
                                   rv_now_us());
    }
    return err;
}

/* The @p n chosen tasks in c->tasks[0..n): the C4 cooldown decides,
 * then each is published with its decision (selected or suppressed). */
static rv_err publish_chosen(sampler_ctx *c, rv_producer *kp, size_t n,
                             const char *reason)
{
    for (size_t i = 0; i < n; i++) {
        c->bypass[i] = false;
        prepare_cooldown(c, i, false);
    }
    rv_err err = rv_redis_eval_batch(c->w->rc, &sampler_cooldown_script,
                                     c->calls, n, c->replies);
    if (err != RV_OK) {
        return err;
    }
    for (size_t i = 0; i < n && err == RV_OK; i++) {
        const rv_redis_reply *r = &c->replies[i];
        if (r->type != RV_REPLY_STR) {
            err = RV_ERR_UNAVAILABLE; /* retried on the next tick */
            break;
        }
        err = publish_verdict(c, kp, &c->tasks[i], r->str, reason);
    }
    rv_redis_replies_fini(c->replies, n);
    return err;
}

/* Close quota group @p label: allocate its sample (sampler_quota.h),
 * publish the chosen visits and every decision, make them durable, then
 * close the group. A crash in between repeats the same facts. */
static rv_err close_group(sampler_ctx *c, rv_producer *kp, const char *label)
{
    char rule_id[RV_SHORT_SIZE];
    sampler_quota_rule_of(label, rule_id, sizeof(rule_id));
    const rv_rule *rule = rv_policy_rule(c->w->policy, rule_id);
    if (rule == NULL || !rv_rule_is_quota(rule)) {
        RV_LOG(RV_LOG_WARN, "quota_rule_gone", RV_KV_STR("group", label));
        return rv_sample_close(c->w->rc, SAMPLER_QUOTA_NS, label,
                               RV_SAMPLE_BUCKETS_MAX);
    }
    int buckets = sampler_quota_buckets(rule);
    rv_sample_member *m = NULL;
    size_t count = 0;
    rv_err err =
        rv_sample_read(c->w->rc, SAMPLER_QUOTA_NS, label, buckets, &m, &count);
    if (err != RV_OK) {
        return err;
    }
    size_t counts[RV_SAMPLE_BUCKETS_MAX] = {0}, take[RV_SAMPLE_BUCKETS_MAX],
           seen[RV_SAMPLE_BUCKETS_MAX] = {0};
    for (size_t i = 0; i < count; i++) {
        if (m[i].bucket >= 0 && m[i].bucket < buckets) {
            counts[m[i].bucket]++;
        }
    }
    sampler_quota_allocate(rule, counts, take);
    size_t slots = (size_t)c->w->cfg.batch_max, n = 0;
    for (size_t i = 0; i < count && err == RV_OK; i++) {
        int b = m[i].bucket;
        char errstr[160] = "";
        if (b < 0 || b >= buckets ||
            rv_codec_decode_task_hex(m[i].payload, &c->tasks[n], errstr,
                                     sizeof(errstr)) != RV_OK) {
            RV_LOG(RV_LOG_WARN, "quota_task_unreadable",
                   RV_KV_STR("group", label), RV_KV_STR("reason", errstr));
            continue;
        }
        if (seen[b]++ >= take[b]) {
            err = quota_decide(c, &c->tasks[n], RV_DECISION_NOT_SELECTED,
                               "not taken by the quota after the tier fill");
            continue;
        }
        if (++n == slots) {
            err = publish_chosen(c, kp, n, QUOTA_CHOSEN);
            n = 0;
        }
    }
    if (err == RV_OK && n > 0) {
        err = publish_chosen(c, kp, n, QUOTA_CHOSEN);
    }
    rv_sample_members_free(m, count);
    if (err == RV_OK) {
        err = make_durable(c, kp);
    }
    if (err == RV_OK) {
        err = rv_sample_close(c->w->rc, SAMPLER_QUOTA_NS, label, buckets);
        RV_LOG(RV_LOG_INFO, "quota_period_closed", RV_KV_STR("group", label),
               RV_KV_INT("members", (int64_t)count));
    }
    return err;
}

/* R7: the churn visits of @p rule whose moment (plus lateness) the
 * watermark @p now passed: published, made durable, then off the clock;
 * a slice of them at most (*full: there may be more). */
static rv_err fire_churn(sampler_ctx *c, rv_producer *kp, const rv_rule *rule,
                         int64_t now, bool *full)
{
    size_t cap = (size_t)c->w->cfg.batch_max, n = 0, k = 0;
    cap = cap < CHURN_PER_SLICE ? cap : CHURN_PER_SLICE;
    rv_err err =
        sampler_churn_due_list(c->w->rc, rule, now, c->churn_due, cap, &n);
    *full = n == cap;
    for (size_t i = 0; i < n && err == RV_OK; i++) {
        char errstr[160] = "";
        if (rv_codec_decode_task_hex(c->churn_due[i].hex, &c->tasks[k], errstr,
                                     sizeof(errstr)) != RV_OK) {
            RV_LOG(RV_LOG_WARN, "churn_task_unreadable",
                   RV_KV_STR("customer", c->churn_due[i].customer),
                   RV_KV_STR("reason", errstr));
            continue;
        }
        k++;
    }
    if (err == RV_OK && k > 0) {
        err = publish_chosen(c, kp, k,
                             "no purchase for the inactivity period (R7)");
    }
    if (err == RV_OK && n > 0) {
        err = make_durable(c, kp);
    }
    if (err == RV_OK) {
        err = sampler_churn_fired(c->w->rc, rule, c->churn_due, n);
    }
    for (size_t i = 0; i < n; i++) {
        free(c->churn_due[i].hex);
    }
    return err;
}

/* One slice of the timed work (rv_runner_opts.on_tick): one quota period
 * the sales' event-time watermark has passed (end plus lateness) closed
 * (issue 3), else up to CHURN_PER_SLICE churn visits of each inactivity
 * rule; *more when due work is left, so that the runner interleaves the
 * slices with the batches of new sales instead of holding them behind a
 * whole backlog. */
static rv_err run_tick(sampler_ctx *c, rv_producer *kp, bool *more)
{
    if (!c->has_quota && !c->has_churn) {
        return RV_OK;
    }
    const rv_watermark_opts wo = {
        .partitions = c->sales_partitions,
        .idle_us = c->w->cfg.watermark_idle_ms * 1000,
        .hold_silent = c->w->cfg.watermark_hold_silent,
        .now_us = rv_now_us(),
    };
    int64_t now = 0;
    rv_err err = rv_watermark_get(c->w->rc, SAMPLER_WATERMARK_KEY, &wo, &now);
    if (err != RV_OK || now == 0) {
        return err;
    }
    char labels[1][RV_SAMPLE_LABEL_SIZE];
    size_t n = 0;
    if (c->has_quota) {
        err = rv_sample_due(c->w->rc, SAMPLER_QUOTA_NS, now, labels, 1, &n);
    }
    if (err == RV_OK && n > 0) {
        /* Periods close first, one a slice: churn waits its turn. */
        *more = true;
        return close_group(c, kp, labels[0]);
    }
    for (unsigned r = 0; r < c->w->policy->rule_count && err == RV_OK; r++) {
        if (rv_rule_is_inactivity(&c->w->policy->rules[r])) {
            bool full = false;
            err = fire_churn(c, kp, &c->w->policy->rules[r], now, &full);
            *more = *more || full;
        }
    }
    return err;
}

/* The decisions made by a batch or a tick go out at its end, grouped by
 * customer; those made before a failure too (they are idempotent, and a
 * retry makes them again). */
static rv_err with_decisions(sampler_ctx *c, rv_producer *kp, rv_err err)
{
    rv_err sent = decisions_send(c, kp);
    return err != RV_OK ? err : sent;
}

static rv_err sampler_batch(void *ctx, const rv_msg *msgs, size_t count,
                            rv_producer *kp)
{
    sampler_ctx *c = ctx;
    c->pend_count = 0;
    c->arena_len = 0;
    return with_decisions(c, kp, plan_batch(c, msgs, count, kp));
}

static rv_err sampler_tick(void *ctx, rv_producer *kp, bool *more)
{
    sampler_ctx *c = ctx;
    c->pend_count = 0;
    c->arena_len = 0;
    return with_decisions(c, kp, run_tick(c, kp, more));
}

int main(int argc, char **argv)
{
    static const rv_worker_spec spec = {
        .name = "sampler",
        .default_group = "revisit-sampler",
        .default_topics = TOPIC_SALES "," TOPIC_SERVICE,
        .needs_redis = true,
        .needs_policy = true,
        .extra_keys = sampler_keys,
        .extra_base = &s_cfg,
        .tick = sampler_tick,
        .durable = sampler_durable,
    };
    return rv_worker_main(argc, argv, &spec, sampler_init, sampler_batch,
                          sampler_fini);
}
