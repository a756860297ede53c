/* common/policy.c: the policy file, read with libcyaml against the schema
 * below, then validated as a whole. The only file including libcyaml.
 * The YAML layout is documented at the top of deploy/policy/default.yaml;
 * a change to the schema here changes that comment in the same commit. */
#include "rv/policy.h"

#include "policy_where.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cyaml/cyaml.h>

#include "rv/calendar.h"
#include "rv/hash.h"
#include "rv/model.h"

/* Field sizes of include/rv/model.h that policy strings are copied into:
 * a longer value would be cut silently there, so it is refused here. */
#define POLICY_SHORT_MAX 31    /* RV_SHORT_SIZE - 1: version, rule id */
#define POLICY_KEY_MAX 63      /* RV_KEY_SIZE - 1: question, branch, agent */
#define POLICY_REASON_MAX 159  /* RV_REASON_SIZE - 1: rule reason */
#define POLICY_QUESTIONS_MAX 3 /* C3 */

/* Upper bounds on list lengths, so a broken file cannot make us allocate
 * without limit. */
#define SEQ_SMALL_MAX 64
/* Bytes of a class ID (rv/model.h RV_CLASS_SIZE without the NUL). */
#define POLICY_CLASS_MAX 7
#define SEQ_DAYS_MAX 4096
#define SEQ_ROSTER_MAX 10000

/* Room for libcyaml's own error lines, quoted in errstr. */
#define CYAML_DETAIL_SIZE 256
/* An unknown key's path: steps kept, and bytes of one step. */
#define CYAML_SEGMENTS_MAX 8
#define CYAML_SEGMENT_SIZE 64

static const char *const trigger_kinds[] = {
    "sale", "complaint",  "repair",     "account_opened",
    "gift", "spot_check", "population",
};
static const char *const channels[] = {"phone", "sms", "on_site"};
static const char *const question_kinds[] = {"satisfaction", "info",
                                             "compliance", "spot_check"};
static const char *const severities[] = {"general", "important", "major"};

/* ---- schema ---------------------------------------------------------- */

static const cyaml_schema_value_t string_entry = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_value_t int64_entry = {
    CYAML_VALUE_INT(CYAML_FLAG_DEFAULT, int64_t),
};

static const cyaml_schema_field_t schedule_fields[] = {
    CYAML_FIELD_SEQUENCE_COUNT("days", CYAML_FLAG_POINTER, rv_schedule, days,
                               day_count, &int64_entry, 1, 16),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t when_fields[] = {
    CYAML_FIELD_SEQUENCE_COUNT(
        "segments", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, rv_when, segments,
        segment_count, &string_entry, 0, SEQ_SMALL_MAX),
    CYAML_FIELD_SEQUENCE_COUNT(
        "classes", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, rv_when, classes,
        class_count, &string_entry, 0, SEQ_SMALL_MAX),
    CYAML_FIELD_SEQUENCE_COUNT(
        "categories", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, rv_when,
        categories, category_count, &string_entry, 0, SEQ_SMALL_MAX),
    CYAML_FIELD_BOOL_PTR("new_customer",
                         CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, rv_when,
                         new_customer),
    CYAML_FIELD_BOOL_PTR("developed", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                         rv_when, developed),
    CYAML_FIELD_BOOL_PTR("gift", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                         rv_when, gift),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t class_fields[] = {
    CYAML_FIELD_STRING_PTR("id", CYAML_FLAG_POINTER, rv_class, id, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_INT_PTR("cooldown_days",
                        CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, rv_class,
                        cooldown_days),
    CYAML_FIELD_INT("priority", CYAML_FLAG_OPTIONAL, rv_class, priority),
    CYAML_FIELD_BOOL_PTR("routine", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                         rv_class, routine),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t class_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, rv_class, class_fields),
};

static const cyaml_schema_field_t tier_fields[] = {
    CYAML_FIELD_INT("min_cents", CYAML_FLAG_DEFAULT, rv_tier, min_cents),
    CYAML_FIELD_INT("max_cents", CYAML_FLAG_DEFAULT, rv_tier, max_cents),
    CYAML_FIELD_FLOAT("rate", CYAML_FLAG_OPTIONAL, rv_tier, rate),
    CYAML_FIELD_INT("quota", CYAML_FLAG_OPTIONAL, rv_tier, quota),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t quota_fields[] = {
    CYAML_FIELD_STRING_PTR("per", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_quota, per, 1, CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("period", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_quota, period, 1, CYAML_UNLIMITED),
    CYAML_FIELD_INT("lateness_hours", CYAML_FLAG_OPTIONAL, rv_quota,
                    lateness_hours),
    CYAML_FIELD_STRING_PTR("weight", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_quota, weight, 1, CYAML_UNLIMITED),
    CYAML_FIELD_INT("percent", CYAML_FLAG_OPTIONAL, rv_quota, percent),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t inactivity_fields[] = {
    CYAML_FIELD_INT("after_days", CYAML_FLAG_DEFAULT, rv_inactivity,
                    after_days),
    CYAML_FIELD_INT("lateness_hours", CYAML_FLAG_OPTIONAL, rv_inactivity,
                    lateness_hours),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t tier_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, rv_tier, tier_fields),
};

static const cyaml_schema_field_t due_fields[] = {
    CYAML_FIELD_INT("delay_working_days", CYAML_FLAG_OPTIONAL, rv_due,
                    delay_working_days),
    CYAML_FIELD_INT("length_working_days", CYAML_FLAG_OPTIONAL, rv_due,
                    length_working_days),
    CYAML_FIELD_INT("within_hours", CYAML_FLAG_OPTIONAL, rv_due, within_hours),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t rule_fields[] = {
    CYAML_FIELD_STRING_PTR("id", CYAML_FLAG_POINTER, rv_rule, id, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT("triggers", CYAML_FLAG_POINTER, rv_rule,
                               triggers, trigger_count, &string_entry, 0,
                               SEQ_SMALL_MAX),
    CYAML_FIELD_STRING_PTR("reason", CYAML_FLAG_POINTER, rv_rule, reason, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT(
        "tiers", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, rv_rule, tiers,
        tier_count, &tier_entry, 0, SEQ_SMALL_MAX),
    CYAML_FIELD_FLOAT("rate", CYAML_FLAG_OPTIONAL, rv_rule, rate),
    CYAML_FIELD_INT("priority", CYAML_FLAG_OPTIONAL, rv_rule, priority),
    CYAML_FIELD_BOOL("bypass_cooldown", CYAML_FLAG_OPTIONAL, rv_rule,
                     bypass_cooldown),
    CYAML_FIELD_STRING_PTR("pool", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_rule, pool, 1, CYAML_UNLIMITED),
    CYAML_FIELD_BOOL("independent", CYAML_FLAG_OPTIONAL, rv_rule, independent),
    CYAML_FIELD_STRING_PTR("channel", CYAML_FLAG_POINTER, rv_rule, channel, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT("questions", CYAML_FLAG_POINTER, rv_rule,
                               questions, question_count, &string_entry, 0,
                               SEQ_SMALL_MAX),
    CYAML_FIELD_MAPPING("due", CYAML_FLAG_DEFAULT, rv_rule, due, due_fields),
    CYAML_FIELD_STRING_PTR("mode", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_rule, mode, 1, CYAML_UNLIMITED),
    CYAML_FIELD_MAPPING("quota", CYAML_FLAG_OPTIONAL, rv_rule, quota,
                        quota_fields),
    CYAML_FIELD_MAPPING("inactivity", CYAML_FLAG_OPTIONAL, rv_rule, inactivity,
                        inactivity_fields),
    CYAML_FIELD_MAPPING("schedule", CYAML_FLAG_OPTIONAL, rv_rule, schedule,
                        schedule_fields),
    CYAML_FIELD_MAPPING("when", CYAML_FLAG_OPTIONAL, rv_rule, when,
                        when_fields),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t rule_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, rv_rule, rule_fields),
};

static const cyaml_schema_field_t question_fields[] = {
    CYAML_FIELD_STRING_PTR("id", CYAML_FLAG_POINTER, rv_question, id, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("text", CYAML_FLAG_POINTER, rv_question, text, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("kind", CYAML_FLAG_POINTER, rv_question, kind, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("alert", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_question, alert, 0, CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("severity", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_question, severity, 0, CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("route_to", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_question, route_to, 0, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT(
        "keywords", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, rv_question,
        keywords, keyword_count, &string_entry, 0, 64),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t question_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, rv_question, question_fields),
};

/* start_min, end_min and skip_mask are derived, so not in the schema. */
static const cyaml_schema_field_t window_fields[] = {
    CYAML_FIELD_STRING_PTR("start", CYAML_FLAG_POINTER, rv_window, start, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("end", CYAML_FLAG_POINTER, rv_window, end, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT(
        "skip_weekdays", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, rv_window,
        skip_weekdays, skip_weekday_count, &string_entry, 0, 7),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t window_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, rv_window, window_fields),
};

static const cyaml_schema_field_t calendar_fields[] = {
    CYAML_FIELD_STRING_PTR("id", CYAML_FLAG_POINTER, rv_calendar_def, id, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT("weekend", CYAML_FLAG_POINTER, rv_calendar_def,
                               weekend, weekend_count, &string_entry, 0, 7),
    CYAML_FIELD_SEQUENCE_COUNT(
        "holidays", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, rv_calendar_def,
        holidays, holiday_count, &string_entry, 0, SEQ_DAYS_MAX),
    CYAML_FIELD_SEQUENCE_COUNT(
        "workdays", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, rv_calendar_def,
        workdays, workday_count, &string_entry, 0, SEQ_DAYS_MAX),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t calendar_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, rv_calendar_def, calendar_fields),
};

static const cyaml_schema_field_t branch_fields[] = {
    CYAML_FIELD_STRING_PTR("id", CYAML_FLAG_POINTER, rv_branch, id, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("tz", CYAML_FLAG_POINTER, rv_branch, tz, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("calendar", CYAML_FLAG_POINTER, rv_branch, calendar,
                           0, CYAML_UNLIMITED),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t branch_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, rv_branch, branch_fields),
};

static const cyaml_schema_field_t agent_fields[] = {
    CYAML_FIELD_STRING_PTR("id", CYAML_FLAG_POINTER, rv_agent, id, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("branch", CYAML_FLAG_POINTER, rv_agent, branch, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_INT("daily_capacity", CYAML_FLAG_DEFAULT, rv_agent,
                    daily_capacity),
    CYAML_FIELD_STRING_PTR("pool", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_agent, pool, 1, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT(
        "channels", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, rv_agent,
        channels, channel_count, &string_entry, 0, 3),
    CYAML_FIELD_SEQUENCE_COUNT(
        "working_days", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, rv_agent,
        working_days, working_day_count, &string_entry, 0, 7),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t case_fields[] = {
    CYAML_FIELD_INT("self_check_working_days", CYAML_FLAG_OPTIONAL,
                    rv_case_policy, self_check_working_days),
    CYAML_FIELD_INT("answer_working_days", CYAML_FLAG_OPTIONAL, rv_case_policy,
                    answer_working_days),
    CYAML_FIELD_INT("merge_window_hours", CYAML_FLAG_OPTIONAL, rv_case_policy,
                    merge_window_hours),
    CYAML_FIELD_STRING_PTR("escalate_to",
                           CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_case_policy, escalate_to, 1, POLICY_KEY_MAX),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t spot_check_fields[] = {
    CYAML_FIELD_INT("per_agent_month", CYAML_FLAG_OPTIONAL,
                    rv_spot_check_policy, per_agent_month),
    CYAML_FIELD_STRING_PTR("rule", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_spot_check_policy, rule, 1, POLICY_KEY_MAX),
    CYAML_FIELD_INT("lateness_hours", CYAML_FLAG_OPTIONAL, rv_spot_check_policy,
                    lateness_hours),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t routing_fields[] = {
    CYAML_FIELD_STRING_PTR("general", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_routing_policy, general, 1, POLICY_KEY_MAX),
    CYAML_FIELD_STRING_PTR("important",
                           CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_routing_policy, important, 1, POLICY_KEY_MAX),
    CYAML_FIELD_STRING_PTR("major", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           rv_routing_policy, major, 1, POLICY_KEY_MAX),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t quality_fields[] = {
    CYAML_FIELD_INT("min_talk_time_s", CYAML_FLAG_OPTIONAL, rv_quality_policy,
                    min_talk_time_s),
    CYAML_FIELD_INT("max_visits_per_agent_hour", CYAML_FLAG_OPTIONAL,
                    rv_quality_policy, max_visits_per_agent_hour),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t booking_fields[] = {
    CYAML_FIELD_INT("priority_reserve_percent", CYAML_FLAG_OPTIONAL,
                    rv_booking_policy, priority_reserve_percent),
    CYAML_FIELD_INT("high_priority_min", CYAML_FLAG_OPTIONAL, rv_booking_policy,
                    high_priority_min),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t agent_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, rv_agent, agent_fields),
};

static const cyaml_schema_field_t grading_fields[] = {
    CYAML_FIELD_INT("max_phone_attempts", CYAML_FLAG_DEFAULT, rv_grading,
                    max_phone_attempts),
    CYAML_FIELD_INT("satisfied_min", CYAML_FLAG_DEFAULT, rv_grading,
                    satisfied_min),
    CYAML_FIELD_INT("dissatisfied_max", CYAML_FLAG_DEFAULT, rv_grading,
                    dissatisfied_max),
    CYAML_FIELD_INT("retry_gap_minutes", CYAML_FLAG_OPTIONAL, rv_grading,
                    retry_gap_minutes),
    CYAML_FIELD_INT("band_commendable_above", CYAML_FLAG_OPTIONAL, rv_grading,
                    band_commendable_above),
    CYAML_FIELD_INT("band_warning_below", CYAML_FLAG_OPTIONAL, rv_grading,
                    band_warning_below),
    CYAML_FIELD_INT("band_severe_below", CYAML_FLAG_OPTIONAL, rv_grading,
                    band_severe_below),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t policy_fields[] = {
    CYAML_FIELD_STRING_PTR("version", CYAML_FLAG_POINTER, rv_policy, version, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("salt", CYAML_FLAG_POINTER, rv_policy, salt, 0,
                           CYAML_UNLIMITED),
    CYAML_FIELD_INT("cooldown_days", CYAML_FLAG_DEFAULT, rv_policy,
                    cooldown_days),
    CYAML_FIELD_MAPPING("grading", CYAML_FLAG_DEFAULT, rv_policy, grading,
                        grading_fields),
    CYAML_FIELD_MAPPING("booking", CYAML_FLAG_OPTIONAL, rv_policy, booking,
                        booking_fields),
    CYAML_FIELD_MAPPING("cases", CYAML_FLAG_OPTIONAL, rv_policy, cases,
                        case_fields),
    CYAML_FIELD_MAPPING("routing", CYAML_FLAG_OPTIONAL, rv_policy, routing,
                        routing_fields),
    CYAML_FIELD_MAPPING("quality", CYAML_FLAG_OPTIONAL, rv_policy, quality,
                        quality_fields),
    CYAML_FIELD_MAPPING("spot_checks", CYAML_FLAG_OPTIONAL, rv_policy,
                        spot_checks, spot_check_fields),
    CYAML_FIELD_SEQUENCE_COUNT(
        "classes", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, rv_policy, classes,
        class_count, &class_entry, 0, SEQ_SMALL_MAX),
    CYAML_FIELD_SEQUENCE_COUNT("rules", CYAML_FLAG_POINTER, rv_policy, rules,
                               rule_count, &rule_entry, 0, SEQ_SMALL_MAX),
    CYAML_FIELD_SEQUENCE_COUNT("questions", CYAML_FLAG_POINTER, rv_policy,
                               questions, question_count, &question_entry, 0,
                               SEQ_ROSTER_MAX),
    CYAML_FIELD_SEQUENCE_COUNT("call_windows", CYAML_FLAG_POINTER, rv_policy,
                               windows, window_count, &window_entry, 0,
                               SEQ_SMALL_MAX),
    CYAML_FIELD_SEQUENCE_COUNT("calendars", CYAML_FLAG_POINTER, rv_policy,
                               calendars, calendar_count, &calendar_entry, 0,
                               SEQ_SMALL_MAX),
    CYAML_FIELD_SEQUENCE_COUNT("branches", CYAML_FLAG_POINTER, rv_policy,
                               branches, branch_count, &branch_entry, 0,
                               SEQ_ROSTER_MAX),
    CYAML_FIELD_SEQUENCE_COUNT("agents", CYAML_FLAG_POINTER, rv_policy, agents,
                               agent_count, &agent_entry, 0, SEQ_ROSTER_MAX),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t policy_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, rv_policy, policy_fields),
};

/* Used by rv_policy_free: cyaml_free needs only the allocator. */
static const cyaml_config_t free_config = {
    .log_fn = NULL,
    .mem_fn = cyaml_mem,
    .log_level = CYAML_LOG_ERROR,
    .flags = CYAML_CFG_DEFAULT,
};

/* ---- errors ---------------------------------------------------------- */

typedef struct check {
    const char *path;
    char *errstr;
    size_t errstr_size;
    const uint8_t *text; /* the file's bytes, read once */
    size_t text_len;
} check;

static rv_err invalid(const check *c, const char *fmt, ...) RV_PRINTF(2, 3);

/* Write "policy <path>: <sentence>" and return RV_ERR_INVALID. */
static rv_err invalid(const check *c, const char *fmt, ...)
{
    if (c->errstr == NULL || c->errstr_size == 0) {
        return RV_ERR_INVALID;
    }
    int n = snprintf(c->errstr, c->errstr_size, "policy %s: ", c->path);
    if (n >= 0 && (size_t)n < c->errstr_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->errstr + n, c->errstr_size - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return RV_ERR_INVALID;
}

/* libcyaml explains a load error in several log lines (the problem, then
 * a backtrace of keys); keep them, joined, for errstr. An unknown key is
 * also kept apart, with the backtrace as path segments (innermost
 * first): libcyaml's own line for it is the line of the value before the
 * key, not the key's (libcyaml 1.3 marks the last event it read). */
typedef struct cyaml_detail {
    char text[CYAML_DETAIL_SIZE];
    size_t len;
    char key[CYAML_SEGMENT_SIZE]; /* "Unexpected key: <key>" */
    /* "Missing required mapping field: <field>" */
    char missing[CYAML_SEGMENT_SIZE];
    char segments[CYAML_SEGMENTS_MAX][CYAML_SEGMENT_SIZE];
    size_t segment_count;
} cyaml_detail;

/* Copies the text of @p s up to @p stop (or the line's end) into @p out;
 * false if @p s has no @p stop or it does not fit. */
static bool copy_until(const char *s, char stop, char *out, size_t out_size)
{
    size_t n = strcspn(s, "\n");
    const char *end = memchr(s, stop, n);
    if (end == NULL || (size_t)(end - s) >= out_size) {
        return false;
    }
    memcpy(out, s, (size_t)(end - s));
    out[end - s] = '\0';
    return true;
}

/* Keeps what an unknown key's line says of where it is: the key itself,
 * or one step of the backtrace ("in mapping field 'rules' (...)" or "in
 * sequence entry '5' (...)"; a bare "in mapping" adds nothing). */
static void note_key_path(cyaml_detail *d, const char *s)
{
    static const char unexpected[] = "Unexpected key: ";
    static const char missing[] = "Missing required mapping field: ";
    static const char field[] = "in mapping field '";
    static const char entry[] = "in sequence entry '";
    char seg[CYAML_SEGMENT_SIZE];
    if (strncmp(s, unexpected, sizeof(unexpected) - 1) == 0) {
        snprintf(d->key, sizeof(d->key), "%s", s + sizeof(unexpected) - 1);
        d->key[strcspn(d->key, "\n")] = '\0';
        return;
    }
    if (strncmp(s, missing, sizeof(missing) - 1) == 0) {
        snprintf(d->missing, sizeof(d->missing), "%s", s + sizeof(missing) - 1);
        d->missing[strcspn(d->missing, "\n")] = '\0';
        return;
    }
    if (d->segment_count >= CYAML_SEGMENTS_MAX) {
        return;
    }
    if (strncmp(s, field, sizeof(field) - 1) == 0 &&
        copy_until(s + sizeof(field) - 1, '\'', seg, sizeof(seg))) {
        snprintf(d->segments[d->segment_count++], CYAML_SEGMENT_SIZE, "%s",
                 seg);
    } else if (strncmp(s, entry, sizeof(entry) - 1) == 0 &&
               copy_until(s + sizeof(entry) - 1, '\'', seg, sizeof(seg))) {
        /* libcyaml counts the entry being read: '1' is the first. */
        char *end = NULL;
        unsigned long n = strtoul(seg, &end, 10);
        if (end != seg && *end == '\0' && n >= 1 && n <= SEQ_ROSTER_MAX) {
            snprintf(d->segments[d->segment_count++], CYAML_SEGMENT_SIZE,
                     "[%lu]", n - 1);
        }
    }
}

static void collect_cyaml_log(cyaml_log_t level, void *ctx, const char *fmt,
                              va_list args) RV_PRINTF(3, 0);

static void collect_cyaml_log(cyaml_log_t level, void *ctx, const char *fmt,
                              va_list args)
{
    cyaml_detail *d = ctx;
    if (level < CYAML_LOG_ERROR) {
        return;
    }
    char line[CYAML_DETAIL_SIZE];
    vsnprintf(line, sizeof(line), fmt, args);
    /* Lines look like "Load: Unexpected key: x\n", "Load: Backtrace:\n",
     * "  in mapping field 'rules' (line: 3, column: 1)\n". */
    const char *s = line;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (strncmp(s, "Load: ", 6) == 0) {
        s += 6;
    }
    if (strncmp(s, "Backtrace:", 10) == 0) {
        return;
    }
    note_key_path(d, s);
    size_t n = strcspn(s, "\n");
    if (n == 0) {
        return;
    }
    int w = snprintf(d->text + d->len, sizeof(d->text) - d->len, "%s%.*s",
                     d->len > 0 ? "; " : "", (int)n, s);
    if (w > 0) {
        d->len += (size_t)w;
        if (d->len >= sizeof(d->text)) {
            d->len = sizeof(d->text) - 1; /* cut, NUL-terminated */
        }
    }
}

/* ---- small checks ---------------------------------------------------- */

static bool is_blank(const char *s)
{
    return s == NULL || s[0] == '\0';
}

static const char *show(const char *s)
{
    return s != NULL ? s : "";
}

static bool is_one_of(const char *s, const char *const *set, size_t count)
{
    if (s == NULL) {
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(s, set[i]) == 0) {
            return true;
        }
    }
    return false;
}

#define ONE_OF(s, set) is_one_of((s), (set), sizeof(set) / sizeof((set)[0]))

static bool is_rate(double rate)
{
    return rate >= 0.0 && rate <= 1.0; /* false for NaN too */
}

/* "HH:MM", 00:00..23:59, exactly five characters; or "24:00" when
 * @p allow_24 (the end of the day). */
static bool parse_hhmm(const char *s, bool allow_24, int *out)
{
    if (s == NULL || strlen(s) != 5 || s[2] != ':') {
        return false;
    }
    for (int i = 0; i < 5; i++) {
        if (i != 2 && (s[i] < '0' || s[i] > '9')) {
            return false;
        }
    }
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && (!allow_24 || m != 0))) {
        return false;
    }
    *out = h * 60 + m;
    return true;
}

/* Item @p i of a list whose elements (@p stride bytes each, from @p items)
 * all begin with their `char *id`: set, at most @p max_len bytes, and not
 * the ID of an earlier item. */
static rv_err check_id(const check *c, const char *list, const void *items,
                       size_t stride, unsigned i, size_t max_len)
{
    const char *id = *(char *const *)(const void *)((const char *)items +
                                                    (size_t)i * stride);
    if (is_blank(id)) {
        return invalid(c, "%s[%u].id is empty", list, i);
    }
    if (strlen(id) > max_len) {
        return invalid(c, "%s[%u].id \"%s\" is %zu bytes, longer than %zu",
                       list, i, id, strlen(id), max_len);
    }
    for (unsigned j = 0; j < i; j++) {
        const char *prev = *(char *const *)(const void *)((const char *)items +
                                                          (size_t)j * stride);
        if (strcmp(prev, id) == 0) {
            return invalid(c, "%s[%u].id \"%s\" repeats %s[%u]", list, i, id,
                           list, j);
        }
    }
    return RV_OK;
}

/* check_id reads each element's first member as its ID. */
static_assert(offsetof(rv_rule, id) == 0, "rv_rule starts with id");
static_assert(offsetof(rv_question, id) == 0, "rv_question starts with id");
static_assert(offsetof(rv_calendar_def, id) == 0,
              "rv_calendar_def starts with id");
static_assert(offsetof(rv_branch, id) == 0, "rv_branch starts with id");
static_assert(offsetof(rv_agent, id) == 0, "rv_agent starts with id");
static_assert(offsetof(rv_class, id) == 0, "rv_class starts with id");

/* ---- sections -------------------------------------------------------- */

static rv_err check_top(const check *c, const rv_policy *p)
{
    if (is_blank(p->version)) {
        return invalid(c, "version is empty");
    }
    if (strlen(p->version) > POLICY_SHORT_MAX) {
        return invalid(c, "version \"%s\" is longer than %d bytes", p->version,
                       POLICY_SHORT_MAX);
    }
    /* The salt is secret: never quote it. */
    if (is_blank(p->salt)) {
        return invalid(c, "salt is empty");
    }
    if (p->cooldown_days < 0 || p->cooldown_days > 3650) {
        return invalid(c, "cooldown_days %lld is outside [0, 3650]",
                       (long long)p->cooldown_days);
    }
    const rv_grading *g = &p->grading;
    if (g->max_phone_attempts < 1 || g->max_phone_attempts > 10) {
        return invalid(c, "grading.max_phone_attempts %lld is outside [1, 10]",
                       (long long)g->max_phone_attempts);
    }
    if (g->satisfied_min < 0 || g->satisfied_min > 5) {
        return invalid(c, "grading.satisfied_min %lld is outside [0, 5] (G2)",
                       (long long)g->satisfied_min);
    }
    if (g->dissatisfied_max < 0 || g->dissatisfied_max >= g->satisfied_min) {
        return invalid(c,
                       "grading.dissatisfied_max %lld is outside [0, "
                       "satisfied_min %lld)",
                       (long long)g->dissatisfied_max,
                       (long long)g->satisfied_min);
    }
    if (g->band_severe_below < 0 ||
        g->band_severe_below > g->band_warning_below ||
        g->band_warning_below > g->band_commendable_above ||
        g->band_commendable_above > 100) {
        return invalid(c,
                       "grading bands %lld <= %lld <= %lld must hold within "
                       "[0, 100] (G5)",
                       (long long)g->band_severe_below,
                       (long long)g->band_warning_below,
                       (long long)g->band_commendable_above);
    }
    if (g->retry_gap_minutes < 0 || g->retry_gap_minutes > 1440) {
        return invalid(c,
                       "grading.retry_gap_minutes %lld is outside [0, 1440] "
                       "(C2)",
                       (long long)g->retry_gap_minutes);
    }
    return RV_OK;
}

static rv_err check_questions(const check *c, const rv_policy *p)
{
    for (unsigned i = 0; i < p->question_count; i++) {
        const rv_question *q = &p->questions[i];
        rv_err err = check_id(c, "questions", p->questions,
                              sizeof(*p->questions), i, POLICY_KEY_MAX);
        if (err != RV_OK) {
            return err;
        }
        if (is_blank(q->text)) {
            return invalid(c, "questions[%s].text is empty", q->id);
        }
        if (!ONE_OF(q->kind, question_kinds)) {
            return invalid(c,
                           "questions[%s].kind \"%s\" is not satisfaction, "
                           "info or compliance",
                           q->id, show(q->kind));
        }
        if (q->severity != NULL && !ONE_OF(q->severity, severities)) {
            return invalid(c,
                           "questions[%s].severity \"%s\" is not general, "
                           "important or major (A4)",
                           q->id, q->severity);
        }
        if ((strcmp(q->kind, "compliance") == 0 ||
             strcmp(q->kind, "spot_check") == 0) &&
            (is_blank(q->alert) || is_blank(q->severity) ||
             is_blank(q->route_to))) {
            return invalid(c,
                           "questions[%s] is a compliance or spot_check "
                           "question without alert, severity and route_to "
                           "(A1, A2, R10)",
                           q->id);
        }
    }
    return RV_OK;
}

/* Quota mode (issue 3): tiers with quotas, a known group and period. */
static rv_err check_quota(const check *c, const rv_rule *r)
{
    if (r->mode != NULL && strcmp(r->mode, "bernoulli") != 0 &&
        strcmp(r->mode, "quota") != 0 && strcmp(r->mode, "inactivity") != 0 &&
        strcmp(r->mode, "schedule") != 0) {
        return invalid(c,
                       "rules[%s].mode \"%s\" is not bernoulli, quota, "
                       "inactivity or schedule",
                       r->id, r->mode);
    }
    if (rv_rule_is_schedule(r)) {
        if (r->schedule.day_count == 0) {
            return invalid(c, "rules[%s].schedule.days is missing (R6)", r->id);
        }
        for (unsigned i = 0; i < r->schedule.day_count; i++) {
            int64_t d = r->schedule.days[i];
            if (d < 1 || d > 3650 || (i > 0 && d <= r->schedule.days[i - 1])) {
                return invalid(c,
                               "rules[%s].schedule.days[%u] %lld is not in "
                               "[1, 3650] or not above the one before (R6)",
                               r->id, i, (long long)d);
            }
        }
    }
    if (rv_rule_is_inactivity(r)) {
        if (r->inactivity.after_days < 1 || r->inactivity.after_days > 3650 ||
            r->inactivity.lateness_hours < 0 ||
            r->inactivity.lateness_hours > 744) {
            return invalid(c,
                           "rules[%s].inactivity after_days %lld / "
                           "lateness_hours %lld are outside [1, 3650] / "
                           "[0, 744] (R7)",
                           r->id, (long long)r->inactivity.after_days,
                           (long long)r->inactivity.lateness_hours);
        }
        if (r->trigger_count != 1 || strcmp(r->triggers[0], "sale") != 0) {
            return invalid(c,
                           "rules[%s] visits inactive customers: its only "
                           "trigger must be sale",
                           r->id);
        }
    }
    if (!rv_rule_is_quota(r)) {
        return RV_OK;
    }
    const rv_quota *q = &r->quota;
    if (q->percent < 0 || q->percent > 100) {
        return invalid(c, "rules[%s].quota.percent %lld is outside [0, 100]",
                       r->id, (long long)q->percent);
    }
    if ((q->percent == 0 && r->tier_count == 0) || r->tier_count > 15) {
        return invalid(c,
                       "rules[%s] samples by quota but has %u tiers (1..15; "
                       "0 only with quota.percent)",
                       r->id, r->tier_count);
    }
    if (r->trigger_count != 1 || (strcmp(r->triggers[0], "sale") != 0 &&
                                  strcmp(r->triggers[0], "gift") != 0)) {
        return invalid(c,
                       "rules[%s] samples by quota: its only trigger must "
                       "be sale or gift (a sale that reports a gift)",
                       r->id);
    }
    for (unsigned i = 0; i < r->tier_count; i++) {
        if (r->tiers[i].quota < 0 || r->tiers[i].quota > 10000) {
            return invalid(c,
                           "rules[%s].tiers[%u].quota %lld is outside "
                           "[0, 10000]",
                           r->id, i, (long long)r->tiers[i].quota);
        }
    }
    if (q->per != NULL && strcmp(q->per, "store") != 0 &&
        strcmp(q->per, "branch") != 0) {
        return invalid(c, "rules[%s].quota.per \"%s\" is not store or branch",
                       r->id, q->per);
    }
    if (q->period != NULL && strcmp(q->period, "day") != 0 &&
        strcmp(q->period, "week") != 0) {
        return invalid(c, "rules[%s].quota.period \"%s\" is not day or week",
                       r->id, q->period);
    }
    if (q->weight != NULL && strcmp(q->weight, "amount") != 0 &&
        strcmp(q->weight, "gift") != 0) {
        return invalid(c,
                       "rules[%s].quota.weight \"%s\" is not amount or gift "
                       "(R4)",
                       r->id, q->weight);
    }
    if (q->lateness_hours < 0 || q->lateness_hours > 744) {
        return invalid(c,
                       "rules[%s].quota.lateness_hours %lld is outside "
                       "[0, 744]",
                       r->id, (long long)q->lateness_hours);
    }
    return RV_OK;
}

static rv_err check_tiers(const check *c, const rv_rule *r)
{
    rv_err qerr = check_quota(c, r);
    if (qerr != RV_OK) {
        return qerr;
    }
    for (unsigned i = 0; i < r->tier_count; i++) {
        const rv_tier *t = &r->tiers[i];
        if (!is_rate(t->rate)) {
            return invalid(c, "rules[%s].tiers[%u].rate %g is outside [0, 1]",
                           r->id, i, t->rate);
        }
        if (t->min_cents < 0) {
            return invalid(c, "rules[%s].tiers[%u].min_cents %lld is below 0",
                           r->id, i, (long long)t->min_cents);
        }
        if (t->max_cents != -1 && t->max_cents <= t->min_cents) {
            return invalid(c,
                           "rules[%s].tiers[%u].max_cents %lld is not above "
                           "min_cents %lld (-1 = no upper bound)",
                           r->id, i, (long long)t->max_cents,
                           (long long)t->min_cents);
        }
        if (i == 0) {
            continue;
        }
        const rv_tier *prev = &r->tiers[i - 1];
        if (prev->max_cents == -1 || t->min_cents < prev->max_cents) {
            return invalid(c,
                           "rules[%s].tiers[%u] starts at %lld cents, inside "
                           "tiers[%u] [%lld, %lld); tiers must ascend "
                           "without overlap",
                           r->id, i, (long long)t->min_cents, i - 1,
                           (long long)prev->min_cents,
                           (long long)prev->max_cents);
        }
    }
    return RV_OK;
}

static rv_err check_due(const check *c, const rv_rule *r)
{
    const rv_due *d = &r->due;
    if (d->within_hours < 0 || d->within_hours > 8784) {
        return invalid(c,
                       "rules[%s].due.within_hours %lld is outside "
                       "[0, 8784]",
                       r->id, (long long)d->within_hours);
    }
    if (d->within_hours > 0) {
        if (d->delay_working_days != 0 || d->length_working_days != 0) {
            return invalid(c,
                           "rules[%s].due sets within_hours and working "
                           "days; use one or the other",
                           r->id);
        }
        return RV_OK;
    }
    if (d->delay_working_days < 0 || d->delay_working_days > 366) {
        return invalid(c,
                       "rules[%s].due.delay_working_days %lld is outside "
                       "[0, 366]",
                       r->id, (long long)d->delay_working_days);
    }
    if (d->length_working_days < 1 || d->length_working_days > 366) {
        return invalid(c,
                       "rules[%s].due.length_working_days %lld is outside "
                       "[1, 366] (or set within_hours)",
                       r->id, (long long)d->length_working_days);
    }
    return RV_OK;
}

/* Issue 3 trigger conditions: every class named is defined (R9), no
 * list entry is empty. */
static rv_err check_when(const check *c, const rv_policy *p, const rv_rule *r)
{
    const rv_when *w = &r->when;
    for (unsigned j = 0; j < w->class_count; j++) {
        if (rv_policy_class(p, w->classes[j]) == NULL) {
            return invalid(c,
                           "rules[%s].when.classes[%u] \"%s\" is not a "
                           "defined class",
                           r->id, j, show(w->classes[j]));
        }
    }
    for (unsigned j = 0; j < w->segment_count; j++) {
        if (is_blank(w->segments[j])) {
            return invalid(c, "rules[%s].when.segments[%u] is empty", r->id, j);
        }
    }
    for (unsigned j = 0; j < w->category_count; j++) {
        if (is_blank(w->categories[j])) {
            return invalid(c, "rules[%s].when.categories[%u] is empty", r->id,
                           j);
        }
    }
    return RV_OK;
}

/* R9 (seed 002 no. 13): class IDs unique and short, cooldowns and
 * priorities in range. */
static rv_err check_classes(const check *c, const rv_policy *p)
{
    for (unsigned i = 0; i < p->class_count; i++) {
        const rv_class *k = &p->classes[i];
        rv_err err = check_id(c, "classes", p->classes, sizeof(*p->classes), i,
                              POLICY_CLASS_MAX);
        if (err != RV_OK) {
            return err;
        }
        if (k->cooldown_days != NULL &&
            (*k->cooldown_days < 0 || *k->cooldown_days > 3650)) {
            return invalid(c,
                           "classes[%s].cooldown_days %lld is outside "
                           "[0, 3650]",
                           k->id, (long long)*k->cooldown_days);
        }
        if (k->priority < -1000 || k->priority > 1000) {
            return invalid(c,
                           "classes[%s].priority %lld is outside "
                           "[-1000, 1000]",
                           k->id, (long long)k->priority);
        }
    }
    return RV_OK;
}

static rv_err check_rule(const check *c, const rv_policy *p, unsigned i)
{
    const rv_rule *r = &p->rules[i];
    rv_err err =
        check_id(c, "rules", p->rules, sizeof(*p->rules), i, POLICY_SHORT_MAX);
    if (err != RV_OK) {
        return err;
    }
    if (r->trigger_count == 0) {
        return invalid(c, "rules[%s].triggers is empty", r->id);
    }
    for (unsigned j = 0; j < r->trigger_count; j++) {
        if (!ONE_OF(r->triggers[j], trigger_kinds)) {
            return invalid(c,
                           "rules[%s].triggers[%u] \"%s\" is not sale, "
                           "complaint, repair, account_opened, gift, "
                           "spot_check or population",
                           r->id, j, show(r->triggers[j]));
        }
    }
    if (is_blank(r->reason) || strlen(r->reason) > POLICY_REASON_MAX) {
        return invalid(c, "rules[%s].reason is empty or longer than %d bytes",
                       r->id, POLICY_REASON_MAX);
    }
    if (!is_rate(r->rate)) {
        return invalid(c, "rules[%s].rate %g is outside [0, 1]", r->id,
                       r->rate);
    }
    err = check_tiers(c, r);
    if (err != RV_OK) {
        return err;
    }
    if (r->priority < 0 || r->priority > 1000) {
        return invalid(c, "rules[%s].priority %d is outside [0, 1000]", r->id,
                       (int)r->priority);
    }
    if (!ONE_OF(r->channel, channels)) {
        return invalid(c,
                       "rules[%s].channel \"%s\" is not phone, sms or "
                       "on_site",
                       r->id, show(r->channel));
    }
    if (r->question_count > POLICY_QUESTIONS_MAX) {
        return invalid(c, "rules[%s] has %u questions, more than %d (C3)",
                       r->id, r->question_count, POLICY_QUESTIONS_MAX);
    }
    for (unsigned j = 0; j < r->question_count; j++) {
        if (rv_policy_question(p, r->questions[j]) == NULL) {
            return invalid(c,
                           "rules[%s].questions[%u] \"%s\" is not a "
                           "defined question",
                           r->id, j, show(r->questions[j]));
        }
        for (unsigned k = 0; k < j; k++) {
            if (strcmp(r->questions[k], r->questions[j]) == 0) {
                return invalid(c, "rules[%s].questions[%u] \"%s\" repeats",
                               r->id, j, r->questions[j]);
            }
        }
    }
    err = check_when(c, p, r);
    return err == RV_OK ? check_due(c, r) : err;
}

/* Fills the derived start_min, end_min and skip_mask. */
static rv_err check_windows(const check *c, rv_policy *p)
{
    if (p->window_count == 0) {
        return invalid(c, "call_windows is empty; at least one is needed "
                          "(C1)");
    }
    for (unsigned i = 0; i < p->window_count; i++) {
        rv_window *w = &p->windows[i];
        if (!parse_hhmm(w->start, false, &w->start_min)) {
            return invalid(c,
                           "call_windows[%u].start \"%s\" is not HH:MM "
                           "in 00:00..23:59",
                           i, show(w->start));
        }
        if (!parse_hhmm(w->end, true, &w->end_min)) {
            return invalid(c,
                           "call_windows[%u].end \"%s\" is not HH:MM "
                           "in 00:00..24:00",
                           i, show(w->end));
        }
        if (w->start_min >= w->end_min) {
            return invalid(c,
                           "call_windows[%u] starts at %s, not before "
                           "its end %s",
                           i, w->start, w->end);
        }
        w->skip_mask = 0;
        for (unsigned j = 0; j < w->skip_weekday_count; j++) {
            int wd;
            if (rv_calendar_weekday_parse(w->skip_weekdays[j], &wd) != RV_OK) {
                return invalid(c,
                               "call_windows[%u].skip_weekdays[%u] \"%s\" "
                               "is not mon..sun",
                               i, j, show(w->skip_weekdays[j]));
            }
            w->skip_mask |= 1u << wd;
        }
        if (i > 0 && w->start_min < p->windows[i - 1].end_min) {
            return invalid(c,
                           "call_windows[%u] starts at %s, before "
                           "call_windows[%u] ends at %s; windows must "
                           "ascend without overlap",
                           i, w->start, i - 1, p->windows[i - 1].end);
        }
    }
    return RV_OK;
}

static int cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Parse every date of @p days into @p out (sorted). */
static rv_err parse_days(const check *c, const rv_calendar_def *cd,
                         const char *field, char **days, unsigned count,
                         int64_t *out)
{
    for (unsigned i = 0; i < count; i++) {
        if (rv_calendar_day_parse(days[i], &out[i]) != RV_OK) {
            return invalid(c,
                           "calendars[%s].%s[%u] \"%s\" is not a "
                           "YYYY-MM-DD date",
                           cd->id, field, i, show(days[i]));
        }
    }
    qsort(out, count, sizeof(*out), cmp_day);
    return RV_OK;
}

static rv_err check_calendar_days(const check *c, const rv_calendar_def *cd)
{
    size_t total = (size_t)cd->holiday_count + cd->workday_count;
    int64_t *hol = calloc(total > 0 ? total : 1, sizeof(*hol));
    if (hol == NULL) {
        return RV_ERR_NOMEM;
    }
    int64_t *work = hol + cd->holiday_count;
    rv_err err =
        parse_days(c, cd, "holidays", cd->holidays, cd->holiday_count, hol);
    if (err == RV_OK) {
        err = parse_days(c, cd, "workdays", cd->workdays, cd->workday_count,
                         work);
    }
    /* Both lists are sorted: one merge pass finds a date in both. */
    for (size_t i = 0, j = 0;
         err == RV_OK && i < cd->holiday_count && j < cd->workday_count;) {
        if (hol[i] < work[j]) {
            i++;
        } else if (hol[i] > work[j]) {
            j++;
        } else {
            char s[RV_DAY_SIZE];
            rv_calendar_day_str(hol[i], s);
            err = invalid(c,
                          "calendars[%s] lists %s as both a holiday and "
                          "a workday",
                          cd->id, s);
        }
    }
    free(hol);
    return err;
}

static rv_err check_calendars(const check *c, const rv_policy *p)
{
    for (unsigned i = 0; i < p->calendar_count; i++) {
        const rv_calendar_def *cd = &p->calendars[i];
        rv_err err = check_id(c, "calendars", p->calendars,
                              sizeof(*p->calendars), i, POLICY_KEY_MAX);
        if (err != RV_OK) {
            return err;
        }
        unsigned mask = 0;
        for (unsigned j = 0; j < cd->weekend_count; j++) {
            int wd;
            if (rv_calendar_weekday_parse(cd->weekend[j], &wd) != RV_OK) {
                return invalid(c,
                               "calendars[%s].weekend[%u] \"%s\" is not "
                               "mon..sun",
                               cd->id, j, show(cd->weekend[j]));
            }
            mask |= 1u << wd;
        }
        if (mask == 0x7fu) {
            return invalid(c,
                           "calendars[%s].weekend has all 7 days; at "
                           "most 6",
                           cd->id);
        }
        err = check_calendar_days(c, cd);
        if (err != RV_OK) {
            return err;
        }
    }
    return RV_OK;
}

static bool has_calendar(const rv_policy *p, const char *id)
{
    for (unsigned i = 0; id != NULL && i < p->calendar_count; i++) {
        if (strcmp(p->calendars[i].id, id) == 0) {
            return true;
        }
    }
    return false;
}

static rv_err check_branches(const check *c, const rv_policy *p)
{
    for (unsigned i = 0; i < p->branch_count; i++) {
        const rv_branch *b = &p->branches[i];
        rv_err err = check_id(c, "branches", p->branches, sizeof(*p->branches),
                              i, POLICY_KEY_MAX);
        if (err != RV_OK) {
            return err;
        }
        /* Whether the zone exists is rv_calendar_new's check. */
        if (is_blank(b->tz)) {
            return invalid(c, "branches[%s].tz is empty", b->id);
        }
        if (!has_calendar(p, b->calendar)) {
            return invalid(c,
                           "branches[%s].calendar \"%s\" is not a "
                           "defined calendar",
                           b->id, show(b->calendar));
        }
    }
    return RV_OK;
}

static rv_err check_agents(const check *c, rv_policy *p)
{
    const rv_case_policy *cp = &p->cases;
    if (cp->self_check_working_days < 0 || cp->self_check_working_days > 60 ||
        cp->answer_working_days < 0 || cp->answer_working_days > 60) {
        return invalid(c,
                       "cases working days %lld/%lld are outside [0, 60] "
                       "(A2)",
                       (long long)cp->self_check_working_days,
                       (long long)cp->answer_working_days);
    }
    if (cp->merge_window_hours < 0 || cp->merge_window_hours > 8784) {
        return invalid(c,
                       "cases.merge_window_hours %lld is outside [0, 8784] "
                       "(A3)",
                       (long long)cp->merge_window_hours);
    }
    const rv_spot_check_policy *sc = &p->spot_checks;
    if (sc->per_agent_month < 0 || sc->per_agent_month > 100 ||
        sc->lateness_hours < 0 || sc->lateness_hours > 744) {
        return invalid(c,
                       "spot_checks per_agent_month %lld / lateness_hours "
                       "%lld are outside [0, 100] / [0, 744] (R10)",
                       (long long)sc->per_agent_month,
                       (long long)sc->lateness_hours);
    }
    if (sc->per_agent_month > 0) {
        const rv_rule *r =
            sc->rule != NULL ? rv_policy_rule(p, sc->rule) : NULL;
        if (r == NULL || !rv_rule_has_trigger(r, "spot_check")) {
            return invalid(c,
                           "spot_checks.rule \"%s\" is not a rule with "
                           "trigger spot_check (R10)",
                           show(sc->rule));
        }
    }
    const rv_quality_policy *qp = &p->quality;
    if (qp->min_talk_time_s < 0 || qp->min_talk_time_s > 3600 ||
        qp->max_visits_per_agent_hour < 0 ||
        qp->max_visits_per_agent_hour > 3600) {
        return invalid(c,
                       "quality min_talk_time_s %lld / "
                       "max_visits_per_agent_hour %lld are outside [0, 3600] "
                       "(A5)",
                       (long long)qp->min_talk_time_s,
                       (long long)qp->max_visits_per_agent_hour);
    }
    const rv_booking_policy *bp = &p->booking;
    if (bp->priority_reserve_percent < 0 ||
        bp->priority_reserve_percent > 100) {
        return invalid(c,
                       "booking.priority_reserve_percent %lld is outside "
                       "[0, 100] (R8)",
                       (long long)bp->priority_reserve_percent);
    }
    for (unsigned i = 0; i < p->agent_count; i++) {
        rv_agent *a = &p->agents[i];
        rv_err err = check_id(c, "agents", p->agents, sizeof(*p->agents), i,
                              POLICY_KEY_MAX);
        if (err != RV_OK) {
            return err;
        }
        if (rv_policy_branch(p, a->branch) == NULL) {
            return invalid(c,
                           "agents[%s].branch \"%s\" is not a defined "
                           "branch",
                           a->id, show(a->branch));
        }
        for (unsigned j = 0; j < a->channel_count; j++) {
            if (rv_channel_parse(a->channels[j]) == RV_CHANNEL_UNSPECIFIED) {
                return invalid(c,
                               "agents[%s].channels \"%s\" is not phone, "
                               "sms or on_site",
                               a->id, show(a->channels[j]));
            }
        }
        a->day_mask = a->working_day_count == 0 ? 0x7fu : 0u;
        for (unsigned j = 0; j < a->working_day_count; j++) {
            int wd = 0;
            if (rv_calendar_weekday_parse(a->working_days[j], &wd) != RV_OK) {
                return invalid(c,
                               "agents[%s].working_days \"%s\" is not "
                               "mon..sun",
                               a->id, show(a->working_days[j]));
            }
            a->day_mask |= 1u << wd;
        }
        if (a->daily_capacity < 0 || a->daily_capacity > 10000) {
            return invalid(c,
                           "agents[%s].daily_capacity %lld is outside "
                           "[0, 10000] (C5)",
                           a->id, (long long)a->daily_capacity);
        }
    }
    return RV_OK;
}

static rv_err validate(const check *c, rv_policy *p)
{
    rv_err err = check_top(c, p);
    if (err == RV_OK) {
        err = check_questions(c, p);
    }
    if (err == RV_OK) {
        err = check_classes(c, p);
    }
    for (unsigned i = 0; err == RV_OK && i < p->rule_count; i++) {
        err = check_rule(c, p, i);
    }
    if (err == RV_OK) {
        err = check_windows(c, p);
    }
    if (err == RV_OK) {
        err = check_calendars(c, p);
    }
    if (err == RV_OK) {
        err = check_branches(c, p);
    }
    if (err == RV_OK) {
        err = check_agents(c, p);
    }
    return err;
}

/* ---- number syntax --------------------------------------------------- */

/* libcyaml 1.3 reads numbers with strtoll(base 0)/strtod and ignores what
 * follows the number: "30 per day" loads as 30, "010" as 8, "0.2O" as
 * 0.2. So the file is read a second time with every number as text, into
 * the shadow structs below, and each is checked to be plain decimal. */
typedef struct num_tier {
    char *min_cents;
    char *max_cents;
    char *rate;
} num_tier;

typedef struct num_due {
    char *delay_working_days;
    char *length_working_days;
    char *within_hours;
} num_due;

typedef struct num_rule {
    char *id;
    num_tier *tiers;
    unsigned tier_count;
    char *rate;
    char *priority;
    num_due due;
} num_rule;

typedef struct num_agent {
    char *id;
    char *daily_capacity;
} num_agent;

typedef struct num_grading {
    char *max_phone_attempts;
    char *satisfied_min;
    char *dissatisfied_max;
} num_grading;

typedef struct num_policy {
    char *cooldown_days;
    num_grading grading;
    num_rule *rules;
    unsigned rule_count;
    num_agent *agents;
    unsigned agent_count;
} num_policy;

#define NUM_TEXT(key, type, member)                                            \
    CYAML_FIELD_STRING_PTR(key, CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,      \
                           type, member, 0, CYAML_UNLIMITED)

static const cyaml_schema_field_t num_tier_fields[] = {
    NUM_TEXT("min_cents", num_tier, min_cents),
    NUM_TEXT("max_cents", num_tier, max_cents),
    NUM_TEXT("rate", num_tier, rate),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t num_tier_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, num_tier, num_tier_fields),
};

static const cyaml_schema_field_t num_due_fields[] = {
    NUM_TEXT("delay_working_days", num_due, delay_working_days),
    NUM_TEXT("length_working_days", num_due, length_working_days),
    NUM_TEXT("within_hours", num_due, within_hours),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t num_rule_fields[] = {
    NUM_TEXT("id", num_rule, id),
    CYAML_FIELD_SEQUENCE_COUNT(
        "tiers", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, num_rule, tiers,
        tier_count, &num_tier_entry, 0, SEQ_SMALL_MAX),
    NUM_TEXT("rate", num_rule, rate),
    NUM_TEXT("priority", num_rule, priority),
    CYAML_FIELD_MAPPING("due", CYAML_FLAG_OPTIONAL, num_rule, due,
                        num_due_fields),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t num_rule_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, num_rule, num_rule_fields),
};

static const cyaml_schema_field_t num_agent_fields[] = {
    NUM_TEXT("id", num_agent, id),
    NUM_TEXT("daily_capacity", num_agent, daily_capacity),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t num_agent_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, num_agent, num_agent_fields),
};

static const cyaml_schema_field_t num_grading_fields[] = {
    NUM_TEXT("max_phone_attempts", num_grading, max_phone_attempts),
    NUM_TEXT("satisfied_min", num_grading, satisfied_min),
    NUM_TEXT("dissatisfied_max", num_grading, dissatisfied_max),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t num_policy_fields[] = {
    NUM_TEXT("cooldown_days", num_policy, cooldown_days),
    CYAML_FIELD_MAPPING("grading", CYAML_FLAG_OPTIONAL, num_policy, grading,
                        num_grading_fields),
    CYAML_FIELD_SEQUENCE_COUNT(
        "rules", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, num_policy, rules,
        rule_count, &num_rule_entry, 0, SEQ_SMALL_MAX),
    CYAML_FIELD_SEQUENCE_COUNT(
        "agents", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, num_policy, agents,
        agent_count, &num_agent_entry, 0, SEQ_ROSTER_MAX),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t num_policy_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, num_policy, num_policy_fields),
};

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* -?[0-9]+ without a leading zero (which strtoll would read as octal).
 * NULL (key absent) passes: the typed load already checked presence. */
static bool is_decimal_int(const char *s)
{
    if (s == NULL) {
        return true;
    }
    if (*s == '-') {
        s++;
    }
    if (!is_digit(s[0]) || (s[0] == '0' && s[1] != '\0')) {
        return false;
    }
    while (is_digit(*s)) {
        s++;
    }
    return *s == '\0';
}

/* -?[0-9]+(.[0-9]+)?([eE][-+]?[0-9]+)? : no hex, inf or nan. */
static bool is_decimal_number(const char *s)
{
    if (s == NULL) {
        return true;
    }
    if (*s == '-') {
        s++;
    }
    if (!is_digit(*s)) {
        return false;
    }
    while (is_digit(*s)) {
        s++;
    }
    if (*s == '.') {
        s++;
        if (!is_digit(*s)) {
            return false;
        }
        while (is_digit(*s)) {
            s++;
        }
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+') {
            s++;
        }
        if (!is_digit(*s)) {
            return false;
        }
        while (is_digit(*s)) {
            s++;
        }
    }
    return *s == '\0';
}

static rv_err bad_int(const check *c, const char *field, const char *text)
{
    return invalid(c, "%s \"%s\" is not a plain decimal integer", field, text);
}

static rv_err check_rule_numbers(const check *c, const num_rule *r)
{
    char field[128];
    const char *id = show(r->id);
    for (unsigned j = 0; j < r->tier_count; j++) {
        const num_tier *t = &r->tiers[j];
        snprintf(field, sizeof(field), "rules[%s].tiers[%u]", id, j);
        if (!is_decimal_int(t->min_cents) || !is_decimal_int(t->max_cents)) {
            return invalid(c,
                           "%s cents \"%s\", \"%s\" are not plain "
                           "decimal integers",
                           field, show(t->min_cents), show(t->max_cents));
        }
        if (!is_decimal_number(t->rate)) {
            return invalid(c, "%s.rate \"%s\" is not a decimal number", field,
                           t->rate);
        }
    }
    if (!is_decimal_number(r->rate)) {
        return invalid(c, "rules[%s].rate \"%s\" is not a decimal number", id,
                       r->rate);
    }
    const char *ints[] = {r->priority, r->due.delay_working_days,
                          r->due.length_working_days, r->due.within_hours};
    const char *names[] = {"priority", "due.delay_working_days",
                           "due.length_working_days", "due.within_hours"};
    for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
        if (!is_decimal_int(ints[k])) {
            snprintf(field, sizeof(field), "rules[%s].%s", id, names[k]);
            return bad_int(c, field, ints[k]);
        }
    }
    return RV_OK;
}

static rv_err check_numbers(const check *c, const num_policy *n)
{
    if (!is_decimal_int(n->cooldown_days)) {
        return bad_int(c, "cooldown_days", n->cooldown_days);
    }
    const num_grading *g = &n->grading;
    if (!is_decimal_int(g->max_phone_attempts)) {
        return bad_int(c, "grading.max_phone_attempts", g->max_phone_attempts);
    }
    if (!is_decimal_int(g->satisfied_min)) {
        return bad_int(c, "grading.satisfied_min", g->satisfied_min);
    }
    if (!is_decimal_int(g->dissatisfied_max)) {
        return bad_int(c, "grading.dissatisfied_max", g->dissatisfied_max);
    }
    for (unsigned i = 0; i < n->rule_count; i++) {
        rv_err err = check_rule_numbers(c, &n->rules[i]);
        if (err != RV_OK) {
            return err;
        }
    }
    for (unsigned i = 0; i < n->agent_count; i++) {
        if (!is_decimal_int(n->agents[i].daily_capacity)) {
            char field[128];
            snprintf(field, sizeof(field), "agents[%s].daily_capacity",
                     show(n->agents[i].id));
            return bad_int(c, field, n->agents[i].daily_capacity);
        }
    }
    return RV_OK;
}

/* ---- public ---------------------------------------------------------- */

/* "<path> is an unknown key (line N)": the path from libcyaml's
 * backtrace (outermost first) and the key, the line the key's own, found
 * with libyaml (policy_where), not libcyaml's. */
/* Every step and a key, each with its '.', and the NUL. */
#define CYAML_PATH_SIZE ((CYAML_SEGMENTS_MAX + 1) * CYAML_SEGMENT_SIZE + 1)

/* The backtrace's steps joined outermost first ("rules[4].tiers[1]"),
 * leaving out the @p skip innermost; its length. */
static size_t join_steps(const cyaml_detail *d, size_t skip,
                         char path[CYAML_PATH_SIZE])
{
    size_t len = 0;
    path[0] = '\0';
    for (size_t i = d->segment_count; i > skip; i--) {
        const char *seg = d->segments[i - 1];
        len += (size_t)snprintf(path + len, CYAML_PATH_SIZE - len, "%s%s",
                                len > 0 && seg[0] != '[' ? "." : "", seg);
    }
    return len;
}

static rv_err unknown_key(const check *c, const cyaml_detail *d)
{
    char path[CYAML_PATH_SIZE];
    size_t len = join_steps(d, 0, path);
    snprintf(path + len, sizeof(path) - len, "%s%s", len > 0 ? "." : "",
             d->key);
    char shown[256];
    int line = policy_where(c->path, path, shown, sizeof(shown));
    if (line > 0) {
        return invalid(c, "%s is an unknown key (line %d)", shown, line);
    }
    return invalid(c, "%s is an unknown key", shown);
}

/* "<mapping>.<field> is required (the mapping at line N)": libcyaml
 * notices a missing field when its mapping ends, and its backtrace's
 * innermost step is then the mapping's last field, not the missing one
 * ("version; in mapping field 'agents'"): the mapping is the steps
 * outside it. */
static rv_err missing_field(const check *c, const cyaml_detail *d)
{
    if (d->segment_count <= 1) {
        return invalid(c, "%s is required at the top level", d->missing);
    }
    char path[CYAML_PATH_SIZE];
    join_steps(d, 1, path);
    char shown[256];
    int line = policy_where(c->path, path, shown, sizeof(shown));
    if (line > 0) {
        return invalid(c, "%s.%s is required (the mapping at line %d)", shown,
                       d->missing, line);
    }
    return invalid(c, "%s.%s is required", shown, d->missing);
}

/* Load @p path against @p schema into *out; a libcyaml failure becomes
 * one sentence with libcyaml's own explanation. */
static rv_err load_yaml(const check *c, const cyaml_schema_value_t *schema,
                        cyaml_cfg_flags_t flags, void **out)
{
    cyaml_detail detail = {.len = 0};
    detail.text[0] = '\0';
    const cyaml_config_t config = {
        .log_fn = collect_cyaml_log,
        .log_ctx = &detail,
        .mem_fn = cyaml_mem,
        .log_level = CYAML_LOG_ERROR,
        .flags = flags,
    };
    cyaml_data_t *data = NULL;
    cyaml_err_t cerr =
        cyaml_load_data(c->text, c->text_len, &config, schema, &data, NULL);
    if (cerr == CYAML_ERR_OOM) {
        rv_errf(c->errstr, c->errstr_size, "policy %s: out of memory", c->path);
        return RV_ERR_NOMEM;
    }
    if (cerr == CYAML_ERR_INVALID_KEY && detail.key[0] != '\0') {
        return unknown_key(c, &detail);
    }
    if (cerr == CYAML_ERR_MAPPING_FIELD_MISSING && detail.missing[0] != '\0') {
        return missing_field(c, &detail);
    }
    if (cerr != CYAML_OK) {
        return invalid(c, "%s (%s)", cyaml_strerror(cerr),
                       detail.len > 0 ? detail.text : "no detail");
    }
    if (data == NULL) {
        return invalid(c, "the file holds no policy");
    }
    *out = data;
    return RV_OK;
}

/* A failed check names a field ("rules[R1].tiers[1].rate 1.5 is ..."):
 * append the line it is on in the file, " (line N)", when found. */
static void add_line(const check *c)
{
    if (c->errstr == NULL || c->errstr_size == 0) {
        return;
    }
    size_t pre = strlen("policy ") + strlen(c->path) + strlen(": ");
    size_t len = strlen(c->errstr);
    if (len <= pre) {
        return;
    }
    char field[256];
    size_t n = strcspn(c->errstr + pre, " ");
    if (n == 0 || n >= sizeof(field)) {
        return;
    }
    memcpy(field, c->errstr + pre, n);
    field[n] = '\0';
    int line = policy_line_of(c->path, field);
    if (line > 0 && len + 1 < c->errstr_size) {
        snprintf(c->errstr + len, c->errstr_size - len, " (line %d)", line);
    }
}

/* Largest policy file read, in bytes. */
#define POLICY_FILE_MAX (4 << 20)

/* Reads the whole file of @p c into a new buffer (NUL-terminated) at
 * @p *out, @p *len bytes: every pass over the policy, and its digest,
 * see the same bytes even while the file is being replaced. */
static rv_err read_policy_file(const check *c, uint8_t **out, size_t *len)
{
    FILE *f = fopen(c->path, "rb");
    if (f == NULL) {
        return invalid(c, "cannot open the file (%s)", strerror(errno));
    }
    uint8_t *buf = malloc(POLICY_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        rv_errf(c->errstr, c->errstr_size, "policy %s: out of memory", c->path);
        return RV_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, POLICY_FILE_MAX + 1, f);
    bool failed = ferror(f) != 0;
    int saved_errno = errno;
    fclose(f);
    if (failed || n > POLICY_FILE_MAX) {
        free(buf);
        return failed ? invalid(c, "cannot read the file (%s)",
                                strerror(saved_errno))
                      : invalid(c, "the file is larger than %d bytes",
                                POLICY_FILE_MAX);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return RV_OK;
}

rv_err rv_policy_load(const char *path, rv_policy **out, char *errstr,
                      size_t errstr_size)
{
    check c = {.path = path != NULL ? path : "(null)",
               .errstr = errstr,
               .errstr_size = errstr_size};
    if (path == NULL) {
        return invalid(&c, "no path given");
    }
    rv_policy *p = NULL;
    num_policy *nums = NULL;
    uint8_t *text = NULL;
    rv_err err = read_policy_file(&c, &text, &c.text_len);
    c.text = text;
    if (err == RV_OK) {
        err = load_yaml(&c, &policy_schema, CYAML_CFG_DEFAULT, (void **)&p);
    }
    if (err == RV_OK) {
        err = load_yaml(&c, &num_policy_schema, CYAML_CFG_IGNORE_UNKNOWN_KEYS,
                        (void **)&nums);
    }
    if (err == RV_OK) {
        err = check_numbers(&c, nums);
        if (err == RV_OK) {
            err = validate(&c, p);
        }
        if (err == RV_ERR_INVALID) {
            add_line(&c);
        }
    }
    if (err == RV_OK) {
        rv_sha256_hex(text, c.text_len, p->digest);
    }
    free(text);
    if (err == RV_ERR_NOMEM) {
        rv_errf(errstr, errstr_size, "policy %s: out of memory", c.path);
    }
    if (nums != NULL) {
        cyaml_free(&free_config, &num_policy_schema, nums, 0);
    }
    if (err != RV_OK) {
        rv_policy_free(p);
        return err;
    }
    *out = p;
    return RV_OK;
}

void rv_policy_free(rv_policy *p)
{
    if (p == NULL) {
        return;
    }
    cyaml_free(&free_config, &policy_schema, p, 0);
}

const rv_rule *rv_policy_rule(const rv_policy *p, const char *id)
{
    for (unsigned i = 0; p != NULL && id != NULL && i < p->rule_count; i++) {
        if (p->rules[i].id != NULL && strcmp(p->rules[i].id, id) == 0) {
            return &p->rules[i];
        }
    }
    return NULL;
}

const rv_question *rv_policy_question(const rv_policy *p, const char *id)
{
    for (unsigned i = 0; p != NULL && id != NULL && i < p->question_count;
         i++) {
        if (p->questions[i].id != NULL && strcmp(p->questions[i].id, id) == 0) {
            return &p->questions[i];
        }
    }
    return NULL;
}

const rv_branch *rv_policy_branch(const rv_policy *p, const char *id)
{
    for (unsigned i = 0; p != NULL && id != NULL && i < p->branch_count; i++) {
        if (p->branches[i].id != NULL && strcmp(p->branches[i].id, id) == 0) {
            return &p->branches[i];
        }
    }
    return NULL;
}

const rv_tier *rv_rule_tier(const rv_rule *rule, int64_t amount_cents)
{
    for (unsigned i = 0; rule != NULL && i < rule->tier_count; i++) {
        const rv_tier *t = &rule->tiers[i];
        if (amount_cents >= t->min_cents &&
            (t->max_cents == -1 || amount_cents < t->max_cents)) {
            return t;
        }
    }
    return NULL;
}

const rv_class *rv_policy_class(const rv_policy *p, const char *id)
{
    for (unsigned i = 0; p != NULL && id != NULL && i < p->class_count; i++) {
        if (strcmp(p->classes[i].id, id) == 0) {
            return &p->classes[i];
        }
    }
    return NULL;
}

int64_t rv_policy_cooldown_days(const rv_policy *p, const char *class_id)
{
    const rv_class *k = rv_policy_class(p, class_id);
    return k != NULL && k->cooldown_days != NULL ? *k->cooldown_days
                                                 : p->cooldown_days;
}

bool rv_rule_has_trigger(const rv_rule *rule, const char *kind)
{
    for (unsigned i = 0;
         rule != NULL && kind != NULL && i < rule->trigger_count; i++) {
        if (strcmp(rule->triggers[i], kind) == 0) {
            return true;
        }
    }
    return false;
}

const char *rv_agent_pool(const rv_agent *a)
{
    return a->pool != NULL ? a->pool : a->branch;
}

const char *rv_rule_pool(const rv_rule *rule, const char *branch_id)
{
    return rule != NULL && rule->pool != NULL ? rule->pool : branch_id;
}

bool rv_agent_has_channel(const rv_agent *a, const char *channel)
{
    if (a->channel_count == 0) {
        return true;
    }
    for (unsigned i = 0; i < a->channel_count; i++) {
        if (strcmp(a->channels[i], channel) == 0) {
            return true;
        }
    }
    return false;
}

const char *rv_policy_notify(const rv_policy *p, int severity)
{
    switch (severity) {
    case 1:
        return p->routing.general != NULL ? p->routing.general : "assistant";
    case 2:
        return p->routing.important != NULL ? p->routing.important
                                            : "supervisor";
    default:
        return p->routing.major != NULL ? p->routing.major : "manager";
    }
}

const char *rv_policy_escalate_to(const rv_policy *p)
{
    return p->cases.escalate_to != NULL ? p->cases.escalate_to
                                        : "compliance_department";
}

bool rv_rule_is_quota(const rv_rule *rule)
{
    return rule->mode != NULL && strcmp(rule->mode, "quota") == 0;
}

bool rv_rule_is_inactivity(const rv_rule *rule)
{
    return rule->mode != NULL && strcmp(rule->mode, "inactivity") == 0;
}

bool rv_rule_is_schedule(const rv_rule *rule)
{
    return rule->mode != NULL && strcmp(rule->mode, "schedule") == 0;
}
