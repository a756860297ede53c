/* include/rv/codec.h: protobuf wire form <-> rv/model.h records. The only
 * module that includes the generated protobuf-c code is common/codec.c;
 * protobuf-c messages never reach domain code. */
#ifndef RV_CODEC_H
#define RV_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "rv/err.h"
#include "rv/model.h"

/** Largest payload any decoder accepts, bytes. */
#define RV_CODEC_MAX_BYTES (256 * 1024)

/** Event times must lie in [1990-01-01, 2100-01-01) UTC (µs since the
 *  epoch): a time outside is a producer's bug, dead-lettered (issue 6). */
#define RV_CODEC_MIN_TIME_US 631152000000000LL
#define RV_CODEC_MAX_TIME_US 4102444800000000LL

/*
 * Encoders: serialise @p in into a new buffer. On RV_OK *buf (owned by the
 * caller, free()) and *len are set. @returns RV_OK, RV_ERR_NOMEM.
 *
 * Decoders: parse @p len bytes at @p buf (borrowed) and validate: payload
 * size within RV_CODEC_MAX_BYTES, envelope (event_id exactly 32 lowercase
 * hex digits, the form of rv_id_derive, tester finding 7; occurred_at in
 * [RV_CODEC_MIN_TIME_US, RV_CODEC_MAX_TIME_US), schema_version 1), required
 * IDs non-empty,
 * every string valid UTF-8 and within its field's limit, enums known,
 * counts within their maxima. A NUL byte in any string field, at any
 * depth, is refused before protobuf-c would cut the string at it, and so
 * are messages nested more than 16 deep. On RV_OK *out is
 * filled; on error it is untouched and @p errstr (may be NULL) holds one
 * sentence naming the field, value and limit.
 * @returns RV_OK, RV_ERR_INVALID (not that message or invalid)
 */
RV_MUSTCHECK rv_err rv_codec_encode_sale(const rv_sale *in, uint8_t **buf,
                                         size_t *len);
RV_MUSTCHECK rv_err rv_codec_decode_sale(const uint8_t *buf, size_t len,
                                         rv_sale *out, char *errstr,
                                         size_t errstr_size);
RV_MUSTCHECK rv_err rv_codec_encode_work_order(const rv_work_order *in,
                                               uint8_t **buf, size_t *len);
RV_MUSTCHECK rv_err rv_codec_decode_work_order(const uint8_t *buf, size_t len,
                                               rv_work_order *out, char *errstr,
                                               size_t errstr_size);
RV_MUSTCHECK rv_err rv_codec_encode_task(const rv_task *in, uint8_t **buf,
                                         size_t *len);
RV_MUSTCHECK rv_err rv_codec_decode_task(const uint8_t *buf, size_t len,
                                         rv_task *out, char *errstr,
                                         size_t errstr_size);
RV_MUSTCHECK rv_err rv_codec_encode_assignment(const rv_assignment *in,
                                               uint8_t **buf, size_t *len);
RV_MUSTCHECK rv_err rv_codec_decode_assignment(const uint8_t *buf, size_t len,
                                               rv_assignment *out, char *errstr,
                                               size_t errstr_size);
RV_MUSTCHECK rv_err rv_codec_encode_outcome(const rv_outcome *in, uint8_t **buf,
                                            size_t *len);
RV_MUSTCHECK rv_err rv_codec_decode_outcome(const uint8_t *buf, size_t len,
                                            rv_outcome *out, char *errstr,
                                            size_t errstr_size);
RV_MUSTCHECK rv_err rv_codec_encode_grade(const rv_grade *in, uint8_t **buf,
                                          size_t *len);
RV_MUSTCHECK rv_err rv_codec_decode_grade(const uint8_t *buf, size_t len,
                                          rv_grade *out, char *errstr,
                                          size_t errstr_size);
RV_MUSTCHECK rv_err rv_codec_encode_alert(const rv_alert *in, uint8_t **buf,
                                          size_t *len);
RV_MUSTCHECK rv_err rv_codec_decode_alert(const uint8_t *buf, size_t len,
                                          rv_alert *out, char *errstr,
                                          size_t errstr_size);
/** A task as lowercase hex of its VisitTask protobuf, for text stores
 *  (rv/sample_store.h payloads). *hex is freed with free().
 *  @returns RV_OK, RV_ERR_NOMEM */
RV_MUSTCHECK rv_err rv_codec_encode_task_hex(const rv_task *in, char **hex);
/** The task of @p hex (from rv_codec_encode_task_hex).
 *  @returns RV_OK, RV_ERR_INVALID (not hex, or not a valid task; errstr),
 *           RV_ERR_NOMEM */
RV_MUSTCHECK rv_err rv_codec_decode_task_hex(const char *hex, rv_task *out,
                                             char *errstr, size_t errstr_size);
/** SamplingDecision (visits.decisions): decision_id, source_event_id,
 *  customer_id, branch_id, rule_id, policy_version required; outcome
 *  known; u in [0, 1); rate -1 or in [0, 1]. Same contract as above. */
RV_MUSTCHECK rv_err rv_codec_encode_decision(const rv_decision *in,
                                             uint8_t **buf, size_t *len);
/** Decodes a message of one decision; one that carries more (`more`,
 *  from rv_codec_join_decisions) is RV_ERR_INVALID: read it with
 *  rv_codec_decode_decisions. */
RV_MUSTCHECK rv_err rv_codec_decode_decision(const uint8_t *buf, size_t len,
                                             rv_decision *out, char *errstr,
                                             size_t errstr_size);

/** Most decisions one visits.decisions message carries. */
#define RV_CODEC_DECISIONS_MAX 64

/**
 * One visits.decisions message carrying @p n decisions (1 ..
 * RV_CODEC_DECISIONS_MAX) of one customer, in order: part 0 as the
 * message's own fields, the others as its `more`. Each part is the
 * borrowed output of rv_codec_encode_decision; they are joined as bytes
 * (a protobuf embedded message is its encoding behind a tag and a
 * length), not decoded again.
 * @param buf  on RV_OK a new buffer of *len bytes, freed with free()
 * @returns RV_OK, RV_ERR_INVALID (@p n 0 or above RV_CODEC_DECISIONS_MAX,
 *          or the message would exceed RV_CODEC_MAX_BYTES), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_codec_join_decisions(const uint8_t *const *parts,
                                            const size_t *lens, size_t n,
                                            uint8_t **buf, size_t *len);

/**
 * Decodes a visits.decisions message of one or more decisions (from
 * rv_codec_encode_decision or rv_codec_join_decisions) into @p out, in
 * order; each is validated as by rv_codec_decode_decision, and a decision
 * in `more` with a `more` of its own, or of another customer than the
 * first, is invalid.
 * @param out    @p cap entries; on RV_OK the first *count are filled
 * @param count  set on RV_OK (>= 1)
 * @returns RV_OK, RV_ERR_INVALID (as rv_codec_decode_decision, or more
 *          than @p cap decisions; errstr names the decision), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_codec_decode_decisions(const uint8_t *buf, size_t len,
                                              rv_decision *out, size_t cap,
                                              size_t *count, char *errstr,
                                              size_t errstr_size);
/** CaseEvent (compliance.cases): case_id, actor and text required, action
 *  ANSWER or CLOSE. Same contract as the pairs above. */
RV_MUSTCHECK rv_err rv_codec_encode_case_event(const rv_case_event *in,
                                               uint8_t **buf, size_t *len);
RV_MUSTCHECK rv_err rv_codec_decode_case_event(const uint8_t *buf, size_t len,
                                               rv_case_event *out, char *errstr,
                                               size_t errstr_size);

#endif /* RV_CODEC_H */
