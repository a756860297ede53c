/* workers/devbroker/devbroker_topics.h: the "name:partitions,..." list of
 * topics the development broker creates up front. I/O-free. */
#ifndef RV_DEVBROKER_TOPICS_H
#define RV_DEVBROKER_TOPICS_H

#include <stddef.h>

#include "rv/compiler.h"
#include "rv/err.h"

/** Longest topic name Kafka accepts. */
#define DEVBROKER_TOPIC_NAME_MAX 249
/** Suffix of every topic's dead-letter twin (DESIGN §3). */
#define DEVBROKER_DLQ_SUFFIX ".dlq"
/** Limits on the list: entries (before twins) and partitions per topic. */
#define DEVBROKER_TOPICS_MAX 256
#define DEVBROKER_PARTITIONS_MAX 1000

typedef struct devbroker_topic {
    char name[DEVBROKER_TOPIC_NAME_MAX + 1];
    int partitions; /**< 1..DEVBROKER_PARTITIONS_MAX */
} devbroker_topic;

/** A parsed list; a passive value. Free with devbroker_topics_fini(). */
typedef struct devbroker_topics {
    size_t count;
    devbroker_topic *items; /**< @p count entries, owned */
} devbroker_topics;

/**
 * Parse @p spec, a comma-separated list of "name:partitions" entries
 * (blanks around an entry, the name and the count are ignored; nothing
 * else is). Names use Kafka's legal characters [A-Za-z0-9._-]. When
 * @p with_dlq is non-zero each entry is followed by its twin
 * "<name>.dlq" with the same partition count. A name may not appear
 * twice, twins included.
 *
 * @param spec  NUL-terminated, borrowed
 * @param out   on RV_OK the list, released by the caller with
 *              devbroker_topics_fini(); untouched on error
 * @param errstr  may be NULL; on RV_ERR_INVALID names the bad entry
 * @returns RV_OK, RV_ERR_INVALID (empty list, bad entry, duplicate, more
 *          than DEVBROKER_TOPICS_MAX entries), RV_ERR_NOMEM
 * Threads: no shared state.
 */
RV_MUSTCHECK rv_err devbroker_topics_parse(const char *spec, int with_dlq,
                                           devbroker_topics *out, char *errstr,
                                           size_t errstr_size);

/** Free the list's entries and zero it. NULL is a no-op. */
void devbroker_topics_fini(devbroker_topics *t);

#endif /* RV_DEVBROKER_TOPICS_H */
