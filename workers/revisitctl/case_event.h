/* workers/revisitctl/case_event.h: the CaseEvent a person's action on a
 * case becomes (`revisitctl case answer` / `case close`; DESIGN §2 A2,
 * G4). I/O-free, so the rules are unit-tested without a broker. */
#ifndef RV_CASE_EVENT_H
#define RV_CASE_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/model.h"

/** Producer name in the envelope of every CaseEvent revisitctl sends. */
#define CASE_EVENT_PRODUCER "revisitctl"

/**
 * Build the CaseEvent for @p action on @p case_id by @p actor saying
 * @p text, at @p occurred_at_us (UTC µs; a person's action, so the wall
 * clock unless backfilled). event_id = rv_id_derive(case_id, action name,
 * actor, text): the same command given twice is one fact downstream.
 * The envelope's producer is "revisitctl/<version>", causation_id "" (a
 * person's action derives from no event).
 *
 * Checks what the codec's decoder would refuse, so that nothing is sent
 * that the recorder dead-letters: every string non-empty, within its
 * field (case_id < RV_ID_SIZE, actor < RV_KEY_SIZE, text < RV_NOTES_SIZE
 * bytes: never truncated) and valid UTF-8; @p occurred_at_us in
 * [RV_CODEC_MIN_TIME_US, RV_CODEC_MAX_TIME_US).
 *
 * @param case_id, actor, text  NUL-terminated, borrowed
 * @param out                   on RV_OK the event; untouched on error
 * @param errstr                one sentence naming the field, the value's
 *                              size and the limit; may be NULL
 * @returns RV_OK, RV_ERR_INVALID (input refused), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err case_event_build(const char *case_id, rv_case_action action,
                                     const char *actor, const char *text,
                                     int64_t occurred_at_us, rv_case_event *out,
                                     char *errstr, size_t errstr_size);

#endif /* RV_CASE_EVENT_H */
