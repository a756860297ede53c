/* workers/revisitctl/case_event.c: see case_event.h. */
#include "case_event.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_time.h"
#include "rv/codec.h"
#include "rv/hash.h"

/* Refuse, rather than truncate: a shortened self-check is not what the
 * branch said, and its derived ID would be another fact's. */
static bool fits(const char *field, const char *value, size_t size,
                 char *errstr, size_t errstr_size)
{
    size_t len = strlen(value);
    if (len == 0) {
        rv_errf(errstr, errstr_size, "%s is empty", field);
        return false;
    }
    if (len >= size) {
        rv_errf(errstr, errstr_size, "%s has %zu bytes, limit %zu", field, len,
                size - 1);
        return false;
    }
    return true;
}

rv_err case_event_build(const char *case_id, rv_case_action action,
                        const char *actor, const char *text,
                        int64_t occurred_at_us, rv_case_event *out,
                        char *errstr, size_t errstr_size)
{
    if (action != RV_CASE_ANSWER && action != RV_CASE_CLOSE) {
        rv_errf(errstr, errstr_size, "case action %d unknown", (int)action);
        return RV_ERR_INVALID;
    }
    if (!fits("case id", case_id, RV_ID_SIZE, errstr, errstr_size) ||
        !fits("actor", actor, RV_KEY_SIZE, errstr, errstr_size) ||
        !fits("text", text, RV_NOTES_SIZE, errstr, errstr_size)) {
        return RV_ERR_INVALID;
    }
    rv_case_event *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return RV_ERR_NOMEM;
    }
    const char *parts[] = {case_id, rv_case_action_name(action), actor, text};
    char event_id[RV_ID_SIZE];
    rv_id_derive(event_id, 4, parts);
    rv_envelope_fill(&e->env, event_id, occurred_at_us, CASE_EVENT_PRODUCER,
                     "");
    rv_copy_str(e->case_id, sizeof(e->case_id), case_id);
    e->action = action;
    rv_copy_str(e->actor, sizeof(e->actor), actor);
    rv_copy_str(e->text, sizeof(e->text), text);
    /* The decoder is the contract (UTF-8, time range, sizes): run the
     * event through it, as the recorder will. */
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_case_event(e, &buf, &len);
    if (err == RV_OK) {
        err = rv_codec_decode_case_event(buf, len, out, errstr, errstr_size);
    }
    free(buf);
    free(e);
    return err;
}

rv_err case_event_check(const rv_case_event *e, const case_record *r,
                        char *errstr, size_t errstr_size)
{
    const char *sub = e->action == RV_CASE_CLOSE ? "a close" : "an answer";
    char at[CTL_TIME_SIZE], then[CTL_TIME_SIZE];
    ctl_time_format(e->env.occurred_at_us, at);
    if (!r->exists) {
        rv_errf(errstr, errstr_size, "no case \"%s\" in the record",
                e->case_id);
        return RV_ERR_CONFLICT;
    }
    if (e->env.occurred_at_us < r->opened_at_us) {
        ctl_time_format(r->opened_at_us, then);
        rv_errf(errstr, errstr_size,
                "case %s opened at %s: %s at %s would come before it",
                e->case_id, then, sub, at);
        return RV_ERR_CONFLICT;
    }
    if (e->action == RV_CASE_CLOSE && r->is_answered &&
        e->env.occurred_at_us < r->answered_at_us) {
        ctl_time_format(r->answered_at_us, then);
        rv_errf(errstr, errstr_size,
                "case %s was first answered at %s: a close at %s would come "
                "before it",
                e->case_id, then, at);
        return RV_ERR_CONFLICT;
    }
    if (r->has_event) {
        return RV_OK; /* the same fact again: nothing new downstream */
    }
    if (r->is_closed) {
        ctl_time_format(r->closed_at_us, then);
        rv_errf(errstr, errstr_size,
                "case %s was closed at %s: it takes no more events, %s "
                "neither (only the same command again)",
                e->case_id, then, sub);
        return RV_ERR_CONFLICT;
    }
    if (e->action == RV_CASE_CLOSE && !r->is_answered) {
        rv_errf(errstr, errstr_size,
                "case %s has no answer in the record yet: the branch answers "
                "first (revisitctl case answer), then the compliance "
                "department closes it",
                e->case_id);
        return RV_ERR_CONFLICT;
    }
    return RV_OK;
}
