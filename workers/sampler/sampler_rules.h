/* workers/sampler/sampler_rules.h: which rules fire for a business event
 * and the visit task they ask for. Pure functions: no I/O, no clock. */
#ifndef RV_SAMPLER_RULES_H
#define RV_SAMPLER_RULES_H

#include <stdbool.h>

#include "rv/calendar.h"
#include "rv/err.h"
#include "rv/model.h"
#include "rv/policy.h"

/** A business event, whichever topic it came from. Borrowed fields. */
typedef struct sampler_event {
    const char *kind; /**< "sale", "complaint", "repair" */
    const rv_envelope *env;
    const char *customer_id;
    const char *branch_id;
    const char *store_id;
    const char *phone;
    const char *salesperson_id; /**< may be NULL or "" (R3) */
    int64_t amount_cents;       /**< sales only; 0 otherwise */
    int64_t gift_cents;         /**< sales: reported gift value (R4) */
    const char *segment;        /**< sales; NULL otherwise */
    const char *customer_class; /**< sales: "A".."D" or ""; NULL (R9) */
    bool new_customer;          /**< sales: first purchase (R8) */
    const char (*categories)[RV_SHORT_SIZE]; /**< sales; may be NULL */
    size_t category_count;
} sampler_event;

/** Whether a rule is evaluated for an event (issue 3 triggers). */
typedef enum sampler_match {
    SAMPLER_NO_TRIGGER = 0,  /**< the event's kind is not a trigger */
    SAMPLER_CONDITION_FAILS, /**< triggered, but a condition excludes it */
    SAMPLER_APPLIES,
} sampler_match;

/**
 * Does @p rule apply to @p ev? The trigger is the event's kind; a sale
 * that reports a gift (gift_cents > 0) also triggers "gift" (R4, seed 001
 * §五). Then every condition of rule->when must hold (segments, classes
 * (R9), categories (any line), new_customer (R8), developed (R3: a
 * salesperson is named), gift), and a customer whose class has routine:
 * false is visited only by rules whose when.classes names the class (R9,
 * seed 002 no. 13: class D gets holiday greetings only).
 * @param why  on SAMPLER_CONDITION_FAILS, the reason for the decision
 */
sampler_match sampler_rule_match(const rv_policy *p, const rv_rule *rule,
                                 const sampler_event *ev, char *why,
                                 size_t why_size);

/**
 * The visit task @p ev gets from @p rules (@p n >= 1, highest priority
 * first; borrowed): task_id = derive(event_id, rules[0]->id), reasons and
 * questions of every rule (C3: at most 3 questions), priority and channel
 * of the first plus the customer class's priority (R9, R8), the class,
 * attempt 1. Due window, draw and rate are left for the caller.
 */
void sampler_task_for(const rv_policy *p, const sampler_event *ev,
                      const char *worker, const rv_rule *const *rules, size_t n,
                      rv_task *out);

/**
 * R6 (seed 002 tips): the follow-ups a sale gets from schedule rule
 * @p rule: none unless the rule's draw selects it (u < rate, by tier if
 * it has tiers), else one task per schedule.days offset (at most @p cap):
 * task_id = derive(event_id, rule, "+<days>"), event time = the sale +
 * days, due window from then. *u and *rate are the draw and the rate
 * (-1: no tier covers the amount) for the decision.
 * @returns the number of tasks written
 */
size_t sampler_schedule_tasks(const rv_policy *p, const rv_calendar *cal,
                              const rv_rule *rule, const sampler_event *ev,
                              const char *worker, rv_task *out, size_t cap,
                              double *u, double *rate);

/** Rules one event can trigger and be recorded for (the policy's limit). */
#define SAMPLER_DECISIONS_MAX 64

/** One decision per rule the event triggered, in policy order. */
typedef struct sampler_decisions {
    rv_decision items[SAMPLER_DECISIONS_MAX];
    size_t count;
} sampler_decisions;

/**
 * Decide whether @p ev needs a visit. Every rule of @p p triggered by the
 * event's kind draws u = hash(salt, rule_id, event_id) (DESIGN §4) and is
 * selected when u < rate (R1: the rate of the amount tier, seed 001 §四;
 * R5: 100%, seed 002 nos. 1, 5). The selected rules merge into one task
 * (C3, seed 001 §六.6): the highest-priority rule names it, task_id =
 * derive(event_id, rule_id), reasons list every rule, questions are the
 * union in rule order, at most 3; the due window is the primary rule's,
 * from the event time in the branch's calendar.
 * @param out       on RV_OK with *selected, the task (envelope filled,
 *                  producer @p worker); untouched otherwise
 * @param selected  set on RV_OK
 * @param bypass_cooldown  may be NULL; on RV_OK with *selected, true if a
 *                  selected rule has bypass_cooldown (R5: C4 never holds a
 *                  complaint back)
 * @param dec       may be NULL; on RV_OK the decision of every rule the
 *                  event's kind triggers (issue 3: decisions are records):
 *                  selected (the primary rule), merged (C3), or not
 *                  selected with u and rate; the caller turns selected and
 *                  merged into suppressed when C4 holds the task back
 * @returns RV_OK, RV_ERR_INVALID (branch not in the policy; errstr)
 */
RV_MUSTCHECK rv_err sampler_plan(const rv_policy *p, const rv_calendar *cal,
                                 const sampler_event *ev, const char *worker,
                                 rv_task *out, bool *selected,
                                 bool *bypass_cooldown, sampler_decisions *dec,
                                 char *errstr, size_t errstr_size);

/**
 * Refuse an event dated more than @p max_ahead_ms after its Kafka message
 * was produced (@p produced_ms, the message's timestamp; < 0 when the
 * broker gave none: not checked; @p max_ahead_ms 0: not checked). Such
 * an event (a sale of 2099 sent today) would move the sales' event-time
 * watermark past every open quota period and churn clock: once the other
 * partitions had been silent for watermark.idle.ms, the live sampler
 * closed them all at once, a replay (which holds silent partitions) did
 * not. The message's timestamp is part of the input, so a replay judges
 * it as the live run did.
 * @param id  the event's ID, for the sentence (borrowed)
 * @returns RV_OK, RV_ERR_INVALID (errstr: dead-letter it)
 */
RV_MUSTCHECK rv_err sampler_event_time_check(const char *id,
                                             int64_t occurred_us,
                                             int64_t produced_ms,
                                             int64_t max_ahead_ms, char *errstr,
                                             size_t errstr_size);

#endif /* RV_SAMPLER_RULES_H */
