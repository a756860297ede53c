/* workers/sampler/main.c: sales.events + service.events -> visits.tasks
 * and visits.decisions. Decides which customers need a visit (R1, R5 and
 * whatever rules the policy holds), applies the C4 cooldown in Redis,
 * publishes tasks and one decision per (event, rule) evaluated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/codec.h"
#include "rv/log.h"
#include "rv/worker.h"
#include "sampler_cooldown.h"
#include "sampler_rules.h"

#define TOPIC_SALES "sales.events"
#define TOPIC_SERVICE "service.events"
#define TOPIC_TASKS "visits.tasks"
#define TOPIC_DECISIONS "visits.decisions"
#define US_PER_DAY 86400000000LL

typedef struct sampler_ctx {
    rv_worker *w;
    rv_task *tasks; /* batch_max candidate tasks */
    rv_redis_reply *replies;
    rv_redis_call *calls;
    char (*keys)[2][SAMPLER_KEY_SIZE];
    char (*args)[4][40];
    bool *bypass;
    const char *(*key_ptrs)[2];
    const char *(*arg_ptrs)[4];
    sampler_decisions dec; /* one event's decisions */
    /* Selected and merged decisions of the batch, waiting for their
     * task's cooldown verdict; held_task[i] is the task's index. */
    rv_decision *held;
    size_t *held_task;
    size_t held_count, held_cap;
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
    c->keys = calloc(n, sizeof(*c->keys));
    c->args = calloc(n, sizeof(*c->args));
    c->bypass = calloc(n, sizeof(*c->bypass));
    c->key_ptrs = calloc(n, sizeof(*c->key_ptrs));
    c->arg_ptrs = calloc(n, sizeof(*c->arg_ptrs));
    *out = c;
    if (c->tasks == NULL || c->replies == NULL || c->calls == NULL ||
        c->keys == NULL || c->args == NULL || c->bypass == NULL ||
        c->key_ptrs == NULL || c->arg_ptrs == NULL) {
        return RV_ERR_NOMEM;
    }
    rv_err err = rv_redis_script_load(w->rc, &sampler_cooldown_script);
    if (err != RV_OK) {
        RV_LOG(RV_LOG_ERROR, "script_load_failed",
               RV_KV_STR("script", sampler_cooldown_script.name),
               RV_KV_STR("error", rv_err_str(err)));
    }
    return err;
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
    free(c->keys);
    free(c->args);
    free(c->bypass);
    free(c->key_ptrs);
    free(c->arg_ptrs);
    free(c->held);
    free(c->held_task);
    free(c);
}

/* Decodes one message into a planned task. RV_ERR_INVALID = dead-letter
 * it with errstr. */
static rv_err plan_one(sampler_ctx *c, const rv_msg *m, rv_task *task,
                       bool *selected, bool *bypass, char *errstr,
                       size_t errstr_size)
{
    sampler_event ev = {0};
    rv_sale sale;
    rv_work_order wo;
    rv_err err;
    if (strcmp(m->topic, TOPIC_SERVICE) == 0) {
        err = rv_codec_decode_work_order(m->payload, m->len, &wo, errstr,
                                         errstr_size);
        if (err != RV_OK) {
            return err;
        }
        ev = (sampler_event){.kind = rv_work_order_kind_name(wo.kind),
                             .env = &wo.env,
                             .customer_id = wo.customer_id,
                             .branch_id = wo.branch_id,
                             .store_id = wo.store_id,
                             .phone = wo.phone};
    } else {
        err = rv_codec_decode_sale(m->payload, m->len, &sale, errstr,
                                   errstr_size);
        if (err != RV_OK) {
            return err;
        }
        ev = (sampler_event){.kind = "sale",
                             .env = &sale.env,
                             .customer_id = sale.customer_id,
                             .branch_id = sale.branch_id,
                             .store_id = sale.store_id,
                             .phone = sale.phone,
                             .salesperson_id = sale.salesperson_id,
                             .amount_cents = sale.amount_cents};
    }
    return sampler_plan(c->w->policy, c->w->cal, &ev, "sampler", task, selected,
                        bypass, &c->dec, errstr, errstr_size);
}

static rv_err send_decision(rv_producer *kp, const rv_decision *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_decision(d, &buf, &len);
    if (err == RV_OK) {
        err = rv_producer_send(kp, TOPIC_DECISIONS, d->customer_id, buf, len,
                               NULL, 0);
        free(buf);
    }
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
static rv_err route_decisions(sampler_ctx *c, rv_producer *kp, size_t task)
{
    rv_err err = RV_OK;
    for (size_t d = 0; d < c->dec.count && err == RV_OK; d++) {
        const rv_decision *dec = &c->dec.items[d];
        err = dec->outcome == RV_DECISION_NOT_SELECTED ? send_decision(kp, dec)
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

static rv_err sampler_batch(void *ctx, const rv_msg *msgs, size_t count,
                            rv_producer *kp)
{
    sampler_ctx *c = ctx;
    size_t n = 0;
    c->held_count = 0;
    int64_t cooldown_us = c->w->policy->cooldown_days * US_PER_DAY;
    for (size_t i = 0; i < count; i++) {
        char errstr[256] = "";
        bool selected = false;
        rv_err err = plan_one(c, &msgs[i], &c->tasks[n], &selected,
                              &c->bypass[n], errstr, sizeof(errstr));
        if (err == RV_OK) {
            err = route_decisions(c, kp, n);
        } else if (err == RV_ERR_INVALID) {
            selected = false;
            err = rv_worker_reject(c->w, kp, &msgs[i], errstr);
        }
        if (err != RV_OK) {
            return err;
        }
        if (!selected) {
            continue;
        }
        rv_task *t = &c->tasks[n];
        sampler_cooldown_keys(t->customer_id, c->keys[n][0], c->keys[n][1]);
        snprintf(c->args[n][0], sizeof(c->args[n][0]), "%s", t->task_id);
        snprintf(c->args[n][1], sizeof(c->args[n][1]), "%lld",
                 (long long)t->env.occurred_at_us);
        snprintf(c->args[n][2], sizeof(c->args[n][2]), "%lld",
                 (long long)cooldown_us);
        snprintf(c->args[n][3], sizeof(c->args[n][3]), "%s",
                 c->bypass[n] ? "bypass" : "");
        c->key_ptrs[n][0] = c->keys[n][0];
        c->key_ptrs[n][1] = c->keys[n][1];
        for (int a = 0; a < 4; a++) {
            c->arg_ptrs[n][a] = c->args[n][a];
        }
        c->calls[n] = (rv_redis_call){.key_count = 2,
                                      .keys = c->key_ptrs[n],
                                      .arg_count = 4,
                                      .args = c->arg_ptrs[n]};
        n++;
    }
    if (n == 0) {
        return RV_OK;
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
        uint8_t *buf = NULL;
        size_t len = 0;
        err = rv_codec_encode_task(&c->tasks[i], &buf, &len);
        if (err == RV_OK) {
            err = rv_producer_send(kp, TOPIC_TASKS, c->tasks[i].customer_id,
                                   buf, len, NULL, 0);
            free(buf);
        }
    }
    rv_redis_replies_fini(c->replies, n);
    for (size_t h = 0; h < c->held_count && err == RV_OK; h++) {
        err = send_decision(kp, &c->held[h]);
    }
    return err;
}

int main(int argc, char **argv)
{
    static const rv_worker_spec spec = {
        .name = "sampler",
        .default_group = "revisit-sampler",
        .default_topics = TOPIC_SALES "," TOPIC_SERVICE,
        .needs_redis = true,
        .needs_policy = true,
    };
    return rv_worker_main(argc, argv, &spec, sampler_init, sampler_batch,
                          sampler_fini);
}
