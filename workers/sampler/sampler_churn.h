/* workers/sampler/sampler_churn.h: churn visits (R7, seed 002 no. 10). A
 * rule in mode "inactivity" visits a customer once inactivity.after_days
 * (event time) after the last purchase, unless a purchase came in
 * between; the visit is raised when the sales' event-time watermark
 * passes that moment plus inactivity.lateness_hours. Per rule, Redis
 * keeps (keys with an expiry):
 *   rv:churn:<rule>:due          zset customer -> churn time + lateness
 *   rv:churn:<rule>:c:<customer> hash ev, t (the last purchase) and task
 *                                (the churn visit it would give, hex;
 *                                gone once that visit was raised, so
 *                                that a later purchase does not raise
 *                                it again)
 *   rv:churn:<rule>:m:<event>    an offer's memo: its SUPERSEDED or
 *                                OVERDUE answer, handed back when the
 *                                sale comes again (RV_MEMO_TTL_S)
 * One Redis, not Redis Cluster. */
#ifndef RV_SAMPLER_CHURN_H
#define RV_SAMPLER_CHURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/calendar.h"
#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/model.h"
#include "rv/policy.h"
#include "rv/redis.h"
#include "sampler_rules.h"

/** What an offered purchase did to the customer's churn clock. */
typedef enum sampler_churn_result {
    SAMPLER_CHURN_NEW = 1,    /**< the customer's first known purchase,
                                 or the first since the last one's visit
                                 was raised (sampler_churn_fired) */
    SAMPLER_CHURN_SAME,       /**< this purchase again (re-delivered NEW) */
    SAMPLER_CHURN_OLDER,      /**< older than the last known: ignored */
    SAMPLER_CHURN_SUPERSEDED, /**< came within the inactivity period: the
                                 previous purchase's visit is off */
    SAMPLER_CHURN_OVERDUE,    /**< came after it: the previous purchase's
                                 visit is due (raise it now) */
} sampler_churn_result;

/**
 * The churn visit sale @p ev would give under inactivity rule @p rule:
 * task_id = derive(event_id, rule), event time = the purchase +
 * after_days, due window counted from then; sample_u the rule's draw (for
 * the record). @returns false if the branch is not in the calendar.
 */
bool sampler_churn_task(const rv_policy *p, const rv_calendar *cal,
                        const rv_rule *rule, const sampler_event *ev,
                        const char *worker, rv_task *out);

/** One churn-clock offer, as text for the offer script; filled by
 *  sampler_churn_offer_prepare. */
typedef struct sampler_churn_offer_call {
    char due[RV_KEY_SIZE + 64];
    char hkey[2 * RV_KEY_SIZE + 128];
    char t[32], after[32], offset[32];
    char customer[RV_KEY_SIZE];
    char event[RV_KEY_SIZE];
    char memo[2 * RV_KEY_SIZE + 64]; /**< the offer's memo key */
    char *hex;                       /**< the churn task (hex); borrowed */
} sampler_churn_offer_call;

/** The offer of sale @p ev (borrowed; copied) to @p rule's clock, with
 *  churn task @p task_hex (borrowed: must outlive the call), into
 *  @p out. */
void sampler_churn_offer_prepare(const rv_rule *rule, const sampler_event *ev,
                                 char *task_hex, sampler_churn_offer_call *out);

/**
 * Set each offer's customer's last purchase to its sale if that is newer
 * (one atomic, idempotent script an offer), @p count prepared offers in
 * one round trip: a pipeline Redis runs in the order given, so the
 * results are those of the offers made one by one. results[i] and
 * prev_hex[i] are offer i's; on SUPERSEDED and OVERDUE, prev_hex[i] is
 * the previous purchase's churn task (hex), else NULL. Those two answers
 * are kept in the offer's memo (offers[i].memo) and handed back when the
 * sale is offered again, so a sampler that died before its decisions
 * were durable makes them on the re-delivery; the caller deletes the
 * memos once its output is durable (rv_redis_unlink).
 * @param prev_hex  @p count pointers; each NULL or a string to free(); all
 *                  NULL on an error
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_INVALID,
 *          RV_ERR_FATAL (an unknown reply or a script error: a bug)
 */
RV_MUSTCHECK rv_err sampler_churn_offer_batch(
    rv_redis *rc, const sampler_churn_offer_call *offers, size_t count,
    sampler_churn_result *results, char **prev_hex);

/** A churn visit due at the watermark. */
typedef struct sampler_churn_due {
    char customer[RV_KEY_SIZE];
    char score[32]; /**< as stored, for sampler_churn_fired */
    char *hex;      /**< the task; owned (free()) */
} sampler_churn_due;

/**
 * Up to @p cap customers of @p rule whose churn time plus lateness is at
 * or before @p now_us, with their tasks. Free each hex with free().
 * @returns RV_OK (*count set), RV_ERR_UNAVAILABLE, RV_ERR_NOMEM,
 *          RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err sampler_churn_due_list(rv_redis *rc, const rv_rule *rule,
                                           int64_t now_us,
                                           sampler_churn_due *out, size_t cap,
                                           size_t *count);

/** Take @p count entries @p due (borrowed) off the clock once their
 *  visits are durable, each unless a newer purchase moved the clock
 *  meanwhile, and drop the customer's pending task with it: the next
 *  purchase starts a new clock (SAMPLER_CHURN_NEW) instead of finding
 *  the raised visit overdue again. One round trip (one MULTI ... EXEC).
 *  @returns as rv_redis_eval_batch: RV_OK, RV_ERR_UNAVAILABLE,
 *  RV_ERR_NOMEM, RV_ERR_INVALID; RV_ERR_FATAL (the script raised an
 *  error: a bug) */
RV_MUSTCHECK rv_err sampler_churn_fired(rv_redis *rc, const rv_rule *rule,
                                        const sampler_churn_due *due,
                                        size_t count);

#endif /* RV_SAMPLER_CHURN_H */
