/* include/rv/sample_store.h: bottom-k samples per group and period in
 * Redis, closed by an event-time clock (DESIGN §4 "quota per period"):
 * each group (a label such as "R1@Seattle@2016-03-01") has numbered
 * buckets that keep the members with the smallest draw u, each member
 * with a payload (the caller's encoded record, as text without '|'). The
 * group closes when the caller's watermark passes its close time; a
 * member offered after that is late. Same input, same sample, whatever
 * the order of arrival before the close. Keys, all with an expiry:
 *   rv:ss:<ns>:open             zset label -> close time (µs UTC)
 *   rv:ss:<ns>:<label>:<bucket> zset member -> u
 *   rv:ss:<ns>:<label>:p        hash member -> payload
 *   rv:ss:<ns>:<label>:closed   the group is closed
 *   rv:ss:<ns>:<label>:m:<member>  an offer's memo (rv_sample_offer.memo)
 * One Redis, not Redis Cluster (the scripts name keys they build). */
#ifndef RV_SAMPLE_STORE_H
#define RV_SAMPLE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/redis.h"

/** Most buckets a group may have. */
#define RV_SAMPLE_BUCKETS_MAX 16
/** Bytes of a label with its NUL. */
#define RV_SAMPLE_LABEL_SIZE 160

/** One offer of a member to a bucket of a group. Borrowed strings. */
typedef struct rv_sample_offer {
    const char *ns;      /**< namespace, e.g. "r10", "quota" */
    const char *label;   /**< the group; no '|' */
    int bucket;          /**< 0 .. RV_SAMPLE_BUCKETS_MAX-1 */
    double u;            /**< draw in [0, 1) */
    const char *member;  /**< unique in the group; no '|' */
    const char *payload; /**< no '|' */
    int64_t keep;        /**< the bucket keeps this many smallest u */
    int64_t close_us;    /**< when the group may close (µs UTC) */
    /** Keep the offer's answer when it trimmed anyone, and hand it back
     *  when the offer comes again (a re-delivery), instead of answering
     *  "nothing trimmed": for a caller that acts on what is trimmed. The
     *  caller deletes the memo (rv_sample_memo_key, rv_redis_unlink) once
     *  what it did with the answer is durable; else it expires after
     *  RV_MEMO_TTL_S. The member must then be at most 100 bytes. */
    bool memo;
} rv_sample_offer;

/** Bytes of an offer's memo key with its NUL. */
#define RV_SAMPLE_MEMO_KEY_SIZE (RV_SAMPLE_LABEL_SIZE + 128)

/** The memo key of offer @p o (its ns, label and member) into @p out. */
void rv_sample_memo_key(const rv_sample_offer *o,
                        char out[RV_SAMPLE_MEMO_KEY_SIZE]);

/**
 * Offer one member (one atomic, idempotent script). *late is set when
 * the group was already closed (nothing changes). Members pushed out of
 * the bucket (they can no longer be chosen) are returned in @p trimmed
 * as '|'-joined payloads, "" if none. Offered again, a member already in
 * the bucket trims nothing, unless o->memo kept the first answer.
 * @param trimmed  on RV_OK a string freed with free(), never NULL
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err rv_sample_offer_one(rv_redis *rc, const rv_sample_offer *o,
                                        bool *late, char **trimmed);

/**
 * rv_sample_offer_one for @p count offers in one round trip (a pipeline
 * of the offer script, run by Redis in the order given, so the result is
 * that of the same offers made one by one). late[i] and trimmed[i] are
 * offer i's; on an error every trimmed[i] is NULL.
 * @param late     @p count flags, set on RV_OK
 * @param trimmed  @p count strings, each freed with free() on RV_OK
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_INVALID (an
 *          offer too long for one call), RV_ERR_FATAL (the script raised
 *          an error: a bug)
 */
RV_MUSTCHECK rv_err rv_sample_offer_batch(rv_redis *rc,
                                          const rv_sample_offer *offers,
                                          size_t count, bool *late,
                                          char **trimmed);

/**
 * Up to @p cap labels of namespace @p ns whose close time is at or
 * before @p now_us, into @p labels.
 * @returns RV_OK (*count set), RV_ERR_UNAVAILABLE, RV_ERR_NOMEM,
 *          RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err rv_sample_due(rv_redis *rc, const char *ns, int64_t now_us,
                                  char (*labels)[RV_SAMPLE_LABEL_SIZE],
                                  size_t cap, size_t *count);

/** One kept member of a group, as read for its close. */
typedef struct rv_sample_member {
    int bucket;
    double u;
    char *payload; /**< owned: freed by rv_sample_members_free */
} rv_sample_member;

/**
 * Every member of the @p bucket_count buckets of group @p label, by
 * bucket then u ascending (then member, for ties).
 * @param out    on RV_OK an array freed with rv_sample_members_free
 * @returns RV_OK (*count set), RV_ERR_UNAVAILABLE, RV_ERR_NOMEM,
 *          RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err rv_sample_read(rv_redis *rc, const char *ns,
                                   const char *label, int bucket_count,
                                   rv_sample_member **out, size_t *count);

/** Free what rv_sample_read returned. NULL is a no-op. */
void rv_sample_members_free(rv_sample_member *m, size_t count);

/**
 * Close group @p label once its outcome is durable: later offers are
 * late; its members are dropped. Idempotent.
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err rv_sample_close(rv_redis *rc, const char *ns,
                                    const char *label, int bucket_count);

#endif /* RV_SAMPLE_STORE_H */
