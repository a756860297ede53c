/* include/rv/policy.h: the policy file (YAML, read with libcyaml):
 * rules, tiers, questions, call windows, calendars, branches, roster.
 * Every number of DESIGN §2 is a value here, not a constant in code.
 * The only module that includes libcyaml is common/policy.c. */
#ifndef RV_POLICY_H
#define RV_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/err.h"
#include "rv/hash.h"

/** R1 amount tier: [min_cents, max_cents) sampled at @c rate. */
typedef struct rv_tier {
    int64_t min_cents;
    int64_t max_cents; /**< -1 = no upper bound */
    double rate;       /**< Bernoulli rate in [0, 1] */
    int64_t quota;     /**< quota mode: visits per group and period */
} rv_tier;

/** Quota mode (issue 3, R1 seed 001 §四): per group (store or branch) and
 *  period (local day or week), the tier's quota of sales with the
 *  smallest draws; a tier short of sales is filled from the next lower
 *  tier, then from the sales below the lowest tier. */
typedef struct rv_quota {
    char *per;              /**< "store" (default) or "branch" */
    char *period;           /**< "day" (default) or "week" (from Monday) */
    int64_t lateness_hours; /**< the period closes this long after its
                               end, on the sales' event-time watermark */
    /** NULL: every sale alike; "amount": weighted by the amount (R4:
     *  gifts by value), the sample keeps the smallest -ln(u)/w, which is
     *  the largest u^(1/w) (weighted sampling without replacement). */
    char *weight;
    /** 0: each tier takes its quota; 1..100: every bucket takes this
     *  percent of its sales, rounded up (R4: 40% of gift records, seed
     *  001 §五); the sample then keeps every sale of the period. */
    int64_t percent;
} rv_quota;

/** Conditions on a business event beyond its kind (issue 3). An empty
 *  list or a NULL flag does not restrict; a list holds when the event's
 *  value is in it. */
typedef struct rv_when {
    char **segments; /**< "Consumer", "Corporate", "Home Office" */
    unsigned segment_count;
    char **classes; /**< R9 customer classes, "A".."D" */
    unsigned class_count;
    char **categories; /**< any of the order's product categories */
    unsigned category_count;
    bool *new_customer; /**< true: first purchases only; false: never */
    bool *developed;    /**< true: customers developed by a salesperson
                             only (R3); false: never */
    bool *gift;         /**< true: sales that report a gift only (R4) */
} rv_when;

/** R9 (seed 002 no. 13): a customer class sets how often the customer is
 *  visited and in what order. */
typedef struct rv_class {
    char *id; /**< "A".."D" (1..7 bytes) */
    /** C4 cooldown of this class in days (0..3650); NULL = the policy's
     *  cooldown_days. */
    int64_t *cooldown_days;
    int64_t priority; /**< added to the rule's priority (R8), -1000..1000 */
    /** false: only rules whose when.classes names the class visit it (D:
     *  holiday greetings only); NULL = true. */
    bool *routine;
} rv_class;

/** Due window of a rule: either working days after the event's local day
 *  (delay, length) or hours after the event (within_hours > 0). */
/** Inactivity mode (R7, seed 002 no. 10): a customer with no purchase
 *  for after_days (event time) gets one churn visit, when the sales'
 *  event-time watermark passes that moment plus lateness_hours. */
typedef struct rv_inactivity {
    int64_t after_days;     /**< 1..3650, e.g. 182 (six months) */
    int64_t lateness_hours; /**< 0..744 */
} rv_inactivity;

/** Schedule mode (R6, seed 002 tips): a selected sale gets one follow-up
 *  visit at each of these offsets (days after the sale, ascending). */
typedef struct rv_schedule {
    int64_t *days;
    unsigned day_count; /**< 1..16 */
} rv_schedule;

typedef struct rv_due {
    int64_t delay_working_days;  /**< window opens N working days after */
    int64_t length_working_days; /**< and lasts N working days (>= 1) */
    int64_t within_hours;        /**< if > 0: [t, t + h) instead */
} rv_due;

typedef struct rv_rule {
    char *id;        /**< "R1" */
    char **triggers; /**< event kinds: "sale", "complaint", "repair" */
    unsigned trigger_count;
    char *reason;   /**< human text, with its seed and clause */
    rv_tier *tiers; /**< for "sale"; empty = use @c rate */
    unsigned tier_count;
    double rate; /**< Bernoulli rate when there are no tiers */
    int32_t priority;
    char *channel;    /**< "phone", "sms", "on_site" */
    char **questions; /**< question IDs, at most 3 (C3) */
    unsigned question_count;
    rv_due due;
    /** The C4 cooldown does not hold this rule back (R5: every complaint
     *  is visited, seed 002 nos. 1, 5); nor does its visit start one. */
    bool bypass_cooldown;
    /** Agent pool that serves this rule's visits; NULL = the agents of
     *  the customer's branch. */
    char *pool;
    /** R3 (seed 000; seed 002 supervision post): never booked to the
     *  salesperson who developed the customer nor to anyone of the
     *  customer's branch. */
    bool independent;
    char *mode; /**< "bernoulli" (NULL), "quota", "inactivity", "schedule" */
    rv_quota quota;           /**< quota mode */
    rv_inactivity inactivity; /**< inactivity mode */
    rv_schedule schedule;     /**< schedule mode */
    rv_when when;             /**< conditions beyond the trigger kind */
} rv_rule;

/** True if @p rule gives a selected sale follow-ups at fixed offsets
 *  (mode "schedule", R6). */
bool rv_rule_is_schedule(const rv_rule *rule);

/** True if @p rule visits customers who stopped buying (mode
 *  "inactivity", R7). */
bool rv_rule_is_inactivity(const rv_rule *rule);

/** True if @p rule samples by quota per period (mode "quota"). */
bool rv_rule_is_quota(const rv_rule *rule);

typedef struct rv_question {
    char *id; /**< "q.satisfaction", "a1.password_known" */
    char *text;
    char *kind;     /**< "satisfaction", "info" or "compliance" */
    char *alert;    /**< compliance: alert kind, e.g. "A1.password_known" */
    char *severity; /**< compliance: "general", "important", "major" */
    char *route_to; /**< compliance: role that must act (A2) */
    /** compliance: phrases that, found in an agent's notes after
     *  normalisation (rv/textnorm.h), raise a suspected alert (A1) */
    char **keywords;
    unsigned keyword_count;
} rv_question;

/** A call window in local time (C1), minutes after local midnight. */
typedef struct rv_window {
    char *start;          /**< "10:00" */
    char *end;            /**< "11:30" */
    char **skip_weekdays; /**< "mon".."sun": no window on those days */
    unsigned skip_weekday_count;
    int start_min;      /**< derived from start at load */
    int end_min;        /**< derived from end at load */
    unsigned skip_mask; /**< derived: bit 0 = Monday .. bit 6 = Sunday */
} rv_window;

typedef struct rv_calendar_def {
    char *id;
    char **weekend; /**< "sat", "sun" */
    unsigned weekend_count;
    char **holidays; /**< "YYYY-MM-DD": no work */
    unsigned holiday_count;
    char **workdays; /**< "YYYY-MM-DD": make-up working days (调休) */
    unsigned workday_count;
} rv_calendar_def;

typedef struct rv_branch {
    char *id;       /**< "West" */
    char *tz;       /**< IANA zone, "America/Los_Angeles" */
    char *calendar; /**< id of an rv_calendar_def */
} rv_branch;

typedef struct rv_agent {
    char *id;
    char *branch;
    int64_t daily_capacity; /**< bookings per working day (C5) */
    char *pool;             /**< pool the agent serves; NULL = its branch */
    char **channels;        /**< "phone", "sms", "on_site"; empty = all */
    unsigned channel_count;
    char **working_days; /**< "mon".."sun"; empty = every working day */
    unsigned working_day_count;
    unsigned day_mask; /**< derived: bit 0 Monday .. 6 Sunday; 0x7f = all */
} rv_agent;

/** True if @p a takes visits by @p channel ("phone", ...). */
bool rv_agent_has_channel(const rv_agent *a, const char *channel);

/** R8 (seed 000 第二篇 第四条): scarce capacity goes to priority first.
 *  Tasks below high_priority_min may fill only (100 - reserve_percent) %
 *  of an agent's day; the rest is kept for priority tasks. */
typedef struct rv_booking_policy {
    int64_t priority_reserve_percent; /**< 0..100 */
    int64_t high_priority_min;        /**< priority that may use it all */
} rv_booking_policy;

/** The pool @p a serves: its pool, else its branch. Borrowed. */
const char *rv_agent_pool(const rv_agent *a);

/** The pool that serves @p rule's visits for a customer of @p branch_id:
 *  the rule's pool, else the branch. Borrowed. */
const char *rv_rule_pool(const rv_rule *rule, const char *branch_id);

typedef struct rv_grading {
    int64_t max_phone_attempts; /**< C2: 2 */
    int64_t satisfied_min;      /**< G2: score >= this is satisfied (4) */
    int64_t dissatisfied_max;   /**< G2: score <= this is dissatisfied (2) */
    /** C2: the second call comes at least this many minutes after the
     *  first one started, and in another call window (0..1440). */
    int64_t retry_gap_minutes;
    /** G5 (seed 002 no. 1): an agent's monthly satisfaction rate, in
     *  percent: above commendable_above is commendable, below warning_below
     *  a warning, below severe_below severe (90, 70, 50). */
    int64_t band_commendable_above;
    int64_t band_warning_below;
    int64_t band_severe_below;
} rv_grading;

/** A2 (seed 000): how long a branch has to act on an alert, in working
 *  days of its calendar. */
typedef struct rv_case_policy {
    int64_t self_check_working_days; /**< compliance alerts: 3 */
    int64_t answer_working_days;     /**< other findings: 5 */
    /** A3 (seed 002 nos. 7, 8): alerts of one customer and kind in the
     *  same period of this many hours (event time, periods counted from
     *  the Unix epoch) are one case, whatever their arrival order; 0 =
     *  every alert is its own case. 0..8784. */
    int64_t merge_window_hours;
    /** A2: who gets the escalation of an overdue case; NULL =
     *  "compliance_department". */
    char *escalate_to;
} rv_case_policy;

/** A4 (seed 002 no. 8): who is told of an alert, by severity. NULL
 *  members take the defaults assistant / supervisor / manager. */
typedef struct rv_routing_policy {
    char *general;
    char *important;
    char *major;
} rv_routing_policy;

/** A5 (seed 000 第五篇): what a real visit looks like. 0 = check off. */
/** R10 (seed 000 第五篇, seed 004): a supervisor re-contacts
 *  per_agent_month of each agent's successful visits of a month. */
typedef struct rv_spot_check_policy {
    int64_t per_agent_month; /**< 0 = off; 0..100 */
    char *rule;              /**< rule (trigger spot_check) of the visit */
    /** The month closes when the event-time watermark passes its end
     *  plus this many hours (0..744). */
    int64_t lateness_hours;
} rv_spot_check_policy;

typedef struct rv_quality_policy {
    /** A successful phone visit shorter than this (s) is suspect. */
    int64_t min_talk_time_s;
    /** More successful visits by one agent in one clock hour (UTC) than
     *  this is impossible. */
    int64_t max_visits_per_agent_hour;
} rv_quality_policy;

/** Bytes of a policy digest: 64 hex digits and a NUL. */
#define RV_POLICY_DIGEST_SIZE RV_SHA256_HEX_SIZE

typedef struct rv_policy {
    char *version;
    /** SHA-256 of the file's bytes, hex, set by rv_policy_load: two files
     *  under one version are told apart (a comment counts). */
    char digest[RV_POLICY_DIGEST_SIZE];
    char *salt;            /**< sampling salt (DESIGN §4) */
    int64_t cooldown_days; /**< C4: days between two visits of a customer */
    rv_grading grading;
    rv_booking_policy booking;
    rv_case_policy cases;
    rv_routing_policy routing;
    rv_quality_policy quality;
    rv_spot_check_policy spot_checks;
    rv_class *classes; /**< R9 customer classes */
    unsigned class_count;
    rv_rule *rules;
    unsigned rule_count;
    rv_question *questions;
    unsigned question_count;
    rv_window *windows;
    unsigned window_count;
    rv_calendar_def *calendars;
    unsigned calendar_count;
    rv_branch *branches;
    unsigned branch_count;
    rv_agent *agents;
    unsigned agent_count;
} rv_policy;

/**
 * Load and validate the policy file at @p path. Checks: version and salt
 * set; every rate in [0, 1]; tiers ordered and not overlapping; at most 3
 * questions per rule (C3) and every question ID defined; windows "HH:MM"
 * with start < end; dates "YYYY-MM-DD"; every branch's calendar exists;
 * every agent's branch exists; capacities >= 0. Also: IDs unique and as
 * long as the fields of rv/model.h allow (version and rule IDs 31 bytes,
 * other IDs 63, reasons 159); triggers, channel, kinds and severities from
 * their fixed sets; due either within_hours > 0 or length_working_days
 * >= 1; call windows ascending without overlap; no calendar with 7
 * weekend days or a date both holiday and workday; 0 <= dissatisfied_max
 * < satisfied_min <= 5. Unknown keys are errors (typos do not pass).
 * Time zones are checked by rv_calendar_new. The YAML layout is described
 * at the top of deploy/policy/default.yaml.
 * @param out  on RV_OK the policy, freed with rv_policy_free(); read-only
 *             from then on (any thread may read it)
 * The file is read once (at most 4 MiB) and its SHA-256 kept in
 * digest.
 * @returns RV_OK, RV_ERR_INVALID (unreadable file, YAML or schema error,
 *          a failed check; errstr is one sentence naming the field, the
 *          value and the limit; never the salt), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_policy_load(const char *path, rv_policy **out,
                                   char *errstr, size_t errstr_size);

/** Free a loaded policy. NULL is a no-op. */
void rv_policy_free(rv_policy *p);

/** The class with @p id, or NULL (also for NULL or ""). Borrowed. */
const rv_class *rv_policy_class(const rv_policy *p, const char *id);

/** C4 cooldown in days for a customer of class @p class_id (may be NULL
 *  or ""): the class's cooldown_days, else the policy's (R9, seed 002
 *  no. 13). */
int64_t rv_policy_cooldown_days(const rv_policy *p, const char *class_id);

/** The rule with @p id, or NULL. Borrowed from @p p. */
const rv_rule *rv_policy_rule(const rv_policy *p, const char *id);

/** A4: the role told of an alert of @p severity (policy `routing`, or
 *  the default assistant / supervisor / manager). Borrowed or static. */
const char *rv_policy_notify(const rv_policy *p, int severity);

/** A2: the role an overdue case escalates to. Borrowed or static. */
const char *rv_policy_escalate_to(const rv_policy *p);

/** The question with @p id, or NULL. Borrowed from @p p. */
const rv_question *rv_policy_question(const rv_policy *p, const char *id);

/** The branch with @p id, or NULL. Borrowed from @p p. */
const rv_branch *rv_policy_branch(const rv_policy *p, const char *id);

/** The tier of @p rule holding @p amount_cents, or NULL. */
const rv_tier *rv_rule_tier(const rv_rule *rule, int64_t amount_cents);

/** True if @p rule fires on event kind @p kind ("sale", ...). */
bool rv_rule_has_trigger(const rv_rule *rule, const char *kind);

#endif /* RV_POLICY_H */
