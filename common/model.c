/* common/model.c: names of the model's enums and envelope filling. */
#include "rv/model.h"

#include <stdio.h>
#include <string.h>

#include "rv/runner.h"

const char *rv_channel_name(rv_channel c)
{
    switch (c) {
    case RV_CHANNEL_PHONE:
        return "phone";
    case RV_CHANNEL_SMS:
        return "sms";
    case RV_CHANNEL_ON_SITE:
        return "on_site";
    case RV_CHANNEL_UNSPECIFIED:
        break;
    }
    return "unspecified";
}

rv_channel rv_channel_parse(const char *name)
{
    for (int c = RV_CHANNEL_PHONE; c <= RV_CHANNEL_ON_SITE; c++) {
        if (name != NULL && strcmp(name, rv_channel_name(c)) == 0) {
            return (rv_channel)c;
        }
    }
    return RV_CHANNEL_UNSPECIFIED;
}

const char *rv_disposition_name(rv_disposition d)
{
    switch (d) {
    case RV_DISP_ANSWERED:
        return "answered";
    case RV_DISP_ANSWERED_PARTIAL:
        return "answered_partial";
    case RV_DISP_NO_ANSWER:
        return "no_answer";
    case RV_DISP_BUSY:
        return "busy";
    case RV_DISP_POWERED_OFF:
        return "powered_off";
    case RV_DISP_OUT_OF_SERVICE:
        return "out_of_service";
    case RV_DISP_WRONG_NUMBER:
        return "wrong_number";
    case RV_DISP_REFUSED:
        return "refused";
    case RV_DISP_SMS_REPLY:
        return "sms_reply";
    case RV_DISP_SMS_UNDELIVERED:
        return "sms_undelivered";
    case RV_DISP_ON_SITE_DONE:
        return "on_site_done";
    }
    return "unspecified";
}

const char *rv_decision_outcome_name(rv_decision_outcome o)
{
    switch (o) {
    case RV_DECISION_SELECTED:
        return "selected";
    case RV_DECISION_NOT_SELECTED:
        return "not_selected";
    case RV_DECISION_SUPPRESSED_COOLDOWN:
        return "suppressed_cooldown";
    case RV_DECISION_SUPPRESSED_OPT_OUT:
        return "suppressed_opt_out";
    case RV_DECISION_MERGED:
        return "merged";
    }
    return "unspecified";
}

const char *rv_case_action_name(rv_case_action a)
{
    switch (a) {
    case RV_CASE_ANSWER:
        return "answer";
    case RV_CASE_CLOSE:
        return "close";
    }
    return "unspecified";
}

const char *rv_verdict_name(rv_verdict v)
{
    switch (v) {
    case RV_VERDICT_SUCCESS:
        return "success";
    case RV_VERDICT_RETRY:
        return "retry";
    case RV_VERDICT_FAILED:
        return "failed";
    }
    return "unspecified";
}

const char *rv_band_name(rv_band b)
{
    switch (b) {
    case RV_BAND_SATISFIED:
        return "satisfied";
    case RV_BAND_NEUTRAL:
        return "neutral";
    case RV_BAND_DISSATISFIED:
        return "dissatisfied";
    case RV_BAND_NONE:
        break;
    }
    return "none";
}

const char *rv_severity_name(rv_severity s)
{
    switch (s) {
    case RV_SEVERITY_GENERAL:
        return "general";
    case RV_SEVERITY_IMPORTANT:
        return "important";
    case RV_SEVERITY_MAJOR:
        return "major";
    }
    return "unspecified";
}

rv_severity rv_severity_parse(const char *name)
{
    for (int s = RV_SEVERITY_GENERAL; s <= RV_SEVERITY_MAJOR; s++) {
        if (name != NULL && strcmp(name, rv_severity_name(s)) == 0) {
            return (rv_severity)s;
        }
    }
    return (rv_severity)0;
}

const char *rv_work_order_kind_name(rv_work_order_kind k)
{
    switch (k) {
    case RV_WORK_ORDER_COMPLAINT:
        return "complaint";
    case RV_WORK_ORDER_REPAIR:
        return "repair";
    }
    return "unspecified";
}

void rv_copy_str(char *dst, size_t dst_size, const char *src)
{
    if (dst_size == 0) {
        return;
    }
    const char *s = src != NULL ? src : "";
    size_t n = strnlen(s, dst_size);
    if (n == dst_size) {
        /* Too long: cut before the character that does not fit, never in
         * its middle (UTF-8 continuation bytes are 10xxxxxx). */
        n = dst_size - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

void rv_envelope_fill(rv_envelope *env, const char *event_id,
                      int64_t occurred_at_us, const char *worker,
                      const char *cause_event_id)
{
    rv_copy_str(env->event_id, sizeof(env->event_id), event_id);
    env->occurred_at_us = occurred_at_us;
    env->produced_at_us = rv_now_us();
    snprintf(env->producer, sizeof(env->producer), "%s/%s", worker, RV_VERSION);
    rv_copy_str(env->causation_id, sizeof(env->causation_id), cause_event_id);
    env->schema_version = RV_SCHEMA_VERSION;
}
