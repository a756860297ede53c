/* include/rv/model.h: the domain records that travel between workers, as
 * plain C values. proto/revisit/v1/revisit.proto is their wire form and
 * documents every field; rv/codec.h converts. Strings are fixed arrays
 * with limits checked on decode, so a record owns no heap memory. */
#ifndef RV_MODEL_H
#define RV_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/hash.h"

/** Bytes (with NUL) of a business key: order, customer, branch, store. */
#define RV_KEY_SIZE 64
#define RV_PHONE_SIZE 32
#define RV_SHORT_SIZE 32
#define RV_REASON_SIZE 160
#define RV_NOTES_SIZE 1024
/** C3: at most 3 questions per visit (seed 001 §六.6). */
#define RV_QUESTIONS_MAX 3
#define RV_REASONS_MAX 4
/** Bytes (with NUL) of a customer class, "A".."D" (R9). */
#define RV_CLASS_SIZE 8
/** Product categories kept per sale. */
#define RV_CATEGORIES_MAX 4
/** Most order lines a sale may report: far above any real order, and
 *  inside the record's integer column (a larger count went through the
 *  sampler and was refused only by PostgreSQL, issue 6). */
#define RV_LINES_MAX 100000
#define RV_ANSWERS_MAX 8
/** Most attempts of one visit a message may carry: the policy's
 *  grading.max_phone_attempts is 1..10 (C2; the default policy: 2). */
#define RV_ATTEMPTS_MAX 10
/** Longest talk time an outcome or grade may report, seconds: a day.
 *  Longer is a producer's bug (the record keeps it in an integer). */
#define RV_TALK_TIME_MAX_S 86400
/** Schema version written in every envelope. */
#define RV_SCHEMA_VERSION 1

/** Common header (DESIGN §3). Times are UTC µs since the epoch. */
typedef struct rv_envelope {
    char event_id[RV_KEY_SIZE];
    int64_t occurred_at_us;
    int64_t produced_at_us;
    char producer[RV_SHORT_SIZE * 2];
    char causation_id[RV_KEY_SIZE];
    uint32_t schema_version;
} rv_envelope;

typedef enum rv_channel {
    RV_CHANNEL_UNSPECIFIED = 0,
    RV_CHANNEL_PHONE = 1,
    RV_CHANNEL_SMS = 2,
    RV_CHANNEL_ON_SITE = 3,
} rv_channel;

typedef struct rv_sale {
    rv_envelope env;
    char order_id[RV_KEY_SIZE];
    char customer_id[RV_KEY_SIZE];
    char branch_id[RV_KEY_SIZE];
    char store_id[RV_KEY_SIZE];
    int64_t amount_cents; /**< >= 0 */
    char currency[8];
    char segment[RV_SHORT_SIZE];
    char phone[RV_PHONE_SIZE];
    bool phone_synthetic;
    uint32_t line_count;
    char salesperson_id[RV_KEY_SIZE];   /**< "" if none (R3) */
    int64_t gift_cents;                 /**< >= 0; 0 = no gift (R4) */
    char customer_class[RV_CLASS_SIZE]; /**< "A".."D", "" unknown (R9) */
    bool new_customer;                  /**< first purchase (R8) */
    char categories[RV_CATEGORIES_MAX][RV_SHORT_SIZE];
    size_t category_count;
} rv_sale;

typedef enum rv_work_order_kind {
    RV_WORK_ORDER_COMPLAINT = 1,
    RV_WORK_ORDER_REPAIR = 2,
} rv_work_order_kind;

typedef struct rv_work_order {
    rv_envelope env;
    char work_order_id[RV_KEY_SIZE];
    rv_work_order_kind kind;
    char customer_id[RV_KEY_SIZE];
    char branch_id[RV_KEY_SIZE];
    char store_id[RV_KEY_SIZE];
    char phone[RV_PHONE_SIZE];
    bool phone_synthetic;
} rv_work_order;

typedef struct rv_task {
    rv_envelope env;
    char task_id[RV_ID_SIZE];
    char customer_id[RV_KEY_SIZE];
    char branch_id[RV_KEY_SIZE];
    char store_id[RV_KEY_SIZE];
    char rule_id[RV_SHORT_SIZE];
    char reasons[RV_REASONS_MAX][RV_REASON_SIZE];
    size_t reason_count;
    char source_event_id[RV_KEY_SIZE];
    int64_t due_start_us;
    int64_t due_end_us;
    int32_t priority;
    rv_channel channel;
    char questions[RV_QUESTIONS_MAX][RV_KEY_SIZE];
    size_t question_count;
    char policy_version[RV_SHORT_SIZE];
    uint32_t attempt; /**< 1 or 2 (C2) */
    int64_t not_before_us;
    char phone[RV_PHONE_SIZE];
    double sample_u;
    double sample_rate;
    char salesperson_id[RV_KEY_SIZE];   /**< "" if none (R3) */
    char customer_class[RV_CLASS_SIZE]; /**< "" if unknown (R9) */
} rv_task;

typedef enum rv_assignment_status {
    RV_ASSIGNED = 1,
    RV_UNASSIGNED = 2,
} rv_assignment_status;

typedef struct rv_assignment {
    rv_envelope env;
    char assignment_id[RV_ID_SIZE];
    char task_id[RV_ID_SIZE];
    uint32_t attempt;
    char customer_id[RV_KEY_SIZE];
    char branch_id[RV_KEY_SIZE];
    rv_assignment_status status;
    char agent_id[RV_KEY_SIZE];
    char day[RV_SHORT_SIZE]; /**< local "YYYY-MM-DD" */
    int64_t window_start_us;
    int64_t window_end_us;
    char reason[RV_REASON_SIZE];
    char policy_version[RV_SHORT_SIZE];
    rv_channel channel;
    char questions[RV_QUESTIONS_MAX][RV_KEY_SIZE];
    size_t question_count;
    char phone[RV_PHONE_SIZE];
    int64_t due_end_us;
    int64_t due_start_us;
    char rule_id[RV_SHORT_SIZE];
    char store_id[RV_KEY_SIZE];
    char salesperson_id[RV_KEY_SIZE];
    int32_t window_index; /**< policy call window; -1 when unassigned */
} rv_assignment;

typedef enum rv_disposition {
    RV_DISP_ANSWERED = 1,
    RV_DISP_ANSWERED_PARTIAL = 2,
    RV_DISP_NO_ANSWER = 3,
    RV_DISP_BUSY = 4,
    RV_DISP_POWERED_OFF = 5,
    RV_DISP_OUT_OF_SERVICE = 6,
    RV_DISP_WRONG_NUMBER = 7,
    RV_DISP_REFUSED = 8,
    RV_DISP_SMS_REPLY = 9,        /**< sms_reply "1" or "2 <text>" (G2) */
    RV_DISP_SMS_UNDELIVERED = 10, /**< sms_gateway_reason says why */
    RV_DISP_ON_SITE_DONE = 11,    /**< signature_ref is the evidence (G3) */
} rv_disposition;

typedef struct rv_answer {
    char question_id[RV_KEY_SIZE];
    char value[RV_KEY_SIZE];
} rv_answer;

typedef struct rv_outcome {
    rv_envelope env;
    char outcome_id[RV_ID_SIZE];
    char assignment_id[RV_ID_SIZE];
    char task_id[RV_ID_SIZE];
    uint32_t attempt;
    char customer_id[RV_KEY_SIZE];
    char branch_id[RV_KEY_SIZE];
    char agent_id[RV_KEY_SIZE];
    rv_disposition disposition;
    int64_t started_at_us;
    uint32_t talk_time_s;
    rv_answer answers[RV_ANSWERS_MAX];
    size_t answer_count;
    int32_t satisfaction; /**< 0..5, -1 = none (G2) */
    char recording_ref[RV_KEY_SIZE];
    char notes[RV_NOTES_SIZE];
    char questions[RV_QUESTIONS_MAX][RV_KEY_SIZE];
    size_t question_count;
    int64_t due_end_us;
    rv_channel channel;
    char rule_id[RV_SHORT_SIZE];
    char store_id[RV_KEY_SIZE];
    int64_t due_start_us;
    char phone[RV_PHONE_SIZE];
    char salesperson_id[RV_KEY_SIZE];
    char signature_ref[RV_KEY_SIZE];      /**< on-site (G3) */
    char sms_reply[RV_REASON_SIZE];       /**< "1" or "2 <text>" (G2) */
    char sms_gateway_reason[RV_KEY_SIZE]; /**< SMS undelivered */
} rv_outcome;

typedef enum rv_verdict {
    RV_VERDICT_SUCCESS = 1,
    RV_VERDICT_RETRY = 2,
    RV_VERDICT_FAILED = 3,
} rv_verdict;

typedef enum rv_band {
    RV_BAND_NONE = 0,
    RV_BAND_SATISFIED = 1,
    RV_BAND_NEUTRAL = 2,
    RV_BAND_DISSATISFIED = 3,
} rv_band;

typedef struct rv_grade {
    rv_envelope env;
    char grade_id[RV_ID_SIZE];
    char outcome_id[RV_ID_SIZE];
    char task_id[RV_ID_SIZE];
    uint32_t attempt;
    char customer_id[RV_KEY_SIZE];
    char branch_id[RV_KEY_SIZE];
    char agent_id[RV_KEY_SIZE];
    rv_verdict verdict;
    rv_disposition disposition;
    int32_t satisfaction;
    rv_band band;
    bool evidence_ok;
    char reason[RV_REASON_SIZE];
    rv_answer compliance[RV_ANSWERS_MAX];
    size_t compliance_count;
    bool in_due_window;
    char policy_version[RV_SHORT_SIZE];
    char notes[RV_NOTES_SIZE];
    int64_t started_at_us; /**< call start, UTC µs (A5) */
    uint32_t talk_time_s;  /**< seconds (A5) */
    rv_channel channel;
    bool issue_raised;               /**< G4: a case must answer it */
    char issue_text[RV_REASON_SIZE]; /**< the customer's words, or "" */
    char store_id[RV_KEY_SIZE];
    char salesperson_id[RV_KEY_SIZE];
} rv_grade;

typedef enum rv_severity {
    RV_SEVERITY_GENERAL = 1,
    RV_SEVERITY_IMPORTANT = 2,
    RV_SEVERITY_MAJOR = 3,
} rv_severity;

typedef struct rv_alert {
    rv_envelope env;
    char alert_id[RV_ID_SIZE];
    char grade_id[RV_ID_SIZE];
    char task_id[RV_ID_SIZE];
    char customer_id[RV_KEY_SIZE];
    char branch_id[RV_KEY_SIZE];
    char agent_id[RV_KEY_SIZE];
    char kind[RV_KEY_SIZE];
    rv_severity severity;
    char route_to[RV_KEY_SIZE];
    char evidence[RV_REASON_SIZE];
    char policy_version[RV_SHORT_SIZE];
    bool suspected;           /**< from notes only: to review, not confirmed */
    int64_t deadline_us;      /**< A2: case answer due, UTC µs; 0 = none */
    char case_id[RV_ID_SIZE]; /**< A3: the case (see the proto) */
    char notify[RV_KEY_SIZE]; /**< A4: role told, by severity */
    uint32_t attempt;         /**< 0 when not about one attempt */
    char salesperson_id[RV_KEY_SIZE];
    char store_id[RV_KEY_SIZE];
} rv_alert;

/** Kind of the alert a case past its deadline raises, once (A2: to the
 *  compliance department). */
#define RV_ALERT_KIND_ESCALATION "escalation"

typedef enum rv_decision_outcome {
    RV_DECISION_SELECTED = 1,
    RV_DECISION_NOT_SELECTED = 2,
    RV_DECISION_SUPPRESSED_COOLDOWN = 3,
    RV_DECISION_SUPPRESSED_OPT_OUT = 4,
    RV_DECISION_MERGED = 5,
} rv_decision_outcome;

/** The sampler's decision for one (event, rule) (topic visits.decisions;
 *  every field documented in the proto). */
typedef struct rv_decision {
    rv_envelope env;
    char decision_id[RV_ID_SIZE];
    char source_event_id[RV_KEY_SIZE];
    char customer_id[RV_KEY_SIZE];
    char branch_id[RV_KEY_SIZE];
    char store_id[RV_KEY_SIZE];
    char rule_id[RV_SHORT_SIZE];
    rv_decision_outcome outcome;
    double u;
    double rate; /**< -1: no tier covers the amount */
    char policy_version[RV_SHORT_SIZE];
    char reason[RV_REASON_SIZE];
    char task_id[RV_ID_SIZE]; /**< "" if not selected */
} rv_decision;

typedef enum rv_case_action {
    RV_CASE_ANSWER = 1, /**< self-check or answer submitted (A2) */
    RV_CASE_CLOSE = 2,  /**< compliance department's final opinion */
} rv_case_action;

/** A person's action on a case (topic compliance.cases). */
typedef struct rv_case_event {
    rv_envelope env;
    char case_id[RV_ID_SIZE];
    rv_case_action action;
    char actor[RV_KEY_SIZE];
    char text[RV_NOTES_SIZE];
} rv_case_event;

/** Names for logs, SQL and reports ("phone", "answered", ...). Static. */
const char *rv_channel_name(rv_channel c);
const char *rv_disposition_name(rv_disposition d);
const char *rv_verdict_name(rv_verdict v);
const char *rv_band_name(rv_band b);
const char *rv_severity_name(rv_severity s);
const char *rv_work_order_kind_name(rv_work_order_kind k);
const char *rv_case_action_name(rv_case_action a);
const char *rv_decision_outcome_name(rv_decision_outcome o);

/** Parse "phone"/"sms"/"on_site". @returns RV_CHANNEL_UNSPECIFIED if
 *  unknown. */
rv_channel rv_channel_parse(const char *name);

/** Parse "general"/"important"/"major"; 0 if unknown. */
rv_severity rv_severity_parse(const char *name);

/**
 * Fill @p env for a message derived from @p cause_event_id (borrowed; ""
 * for a source event): event_id = @p event_id, occurred_at = @p
 * occurred_at_us (event time, inherited, never wall time), produced_at =
 * now, producer = "@p worker/RV_VERSION", schema_version = 1.
 */
void rv_envelope_fill(rv_envelope *env, const char *event_id,
                      int64_t occurred_at_us, const char *worker,
                      const char *cause_event_id);

/** Copy NUL-terminated @p src (NULL = "") into @p dst of @p dst_size
 *  bytes; @p dst always terminated. A string too long is cut before the
 *  first character that does not fit, never inside a UTF-8 character
 *  (issue 6: "A" and 85 x "回" into 256 bytes keeps 253). */
void rv_copy_str(char *dst, size_t dst_size, const char *src);

#endif /* RV_MODEL_H */
