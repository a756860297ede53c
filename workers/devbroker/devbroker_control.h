/* workers/devbroker/devbroker_control.h: fault injection for the chaos run
 * (issue 6). `stack.sh fault DIR COMMAND` drops a file of commands next
 * to the broker; the broker applies them to its mock cluster. One command
 * a line:
 *
 *   down BROKER          broker BROKER (1..N) stops answering: its
 *                        connections close and new ones are refused
 *   up BROKER            it answers again
 *   rtt BROKER MS        every response of BROKER is delayed MS ms
 *                        (0 = none; above a client's request timeout the
 *                        client sees a timeout and retries)
 *   errors API COUNT ERR the next COUNT requests of API (Produce, Fetch,
 *                        Metadata, OffsetCommit, ...) to any broker fail
 *                        with ERR, a Kafka error name such as
 *                        NOT_LEADER_FOR_PARTITION or REQUEST_TIMED_OUT
 *   coordinator GROUP BROKER
 *                        consumer group GROUP's coordinator is BROKER
 *                        (set before the group's members look it up)
 *
 * Blank lines and lines starting with '#' are skipped. Parsing is I/O-free
 * and testable; applying needs the cluster (main.c). */
#ifndef RV_DEVBROKER_CONTROL_H
#define RV_DEVBROKER_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "rv/compiler.h"
#include "rv/err.h"

/** Upper bounds of the commands' numbers. */
#define DEVBROKER_CTL_BROKER_MAX 16
#define DEVBROKER_CTL_RTT_MAX_MS 600000
#define DEVBROKER_CTL_COUNT_MAX 10000

typedef enum devbroker_ctl_kind {
    DEVBROKER_CTL_SKIP, /**< blank or comment line */
    DEVBROKER_CTL_DOWN,
    DEVBROKER_CTL_UP,
    DEVBROKER_CTL_RTT,
    DEVBROKER_CTL_ERRORS,
    DEVBROKER_CTL_COORDINATOR,
} devbroker_ctl_kind;

/** One parsed command; a passive value. */
typedef struct devbroker_ctl {
    devbroker_ctl_kind kind;
    int32_t broker_id; /**< down, up, rtt: 1..DEVBROKER_CTL_BROKER_MAX */
    int rtt_ms;        /**< rtt: 0..DEVBROKER_CTL_RTT_MAX_MS */
    int16_t api_key;   /**< errors: the Kafka API key */
    int count;         /**< errors: 1..DEVBROKER_CTL_COUNT_MAX */
    int err_code;      /**< errors: the Kafka error code (librdkafka's) */
    char group[250];   /**< coordinator: the group id, [A-Za-z0-9._-] */
} devbroker_ctl;

/**
 * Kafka API key of request name @p name ("Produce", "Fetch", ...; case
 * ignored), or -1 if unknown.
 */
int16_t devbroker_ctl_api_key(const char *name);

/**
 * Parse one command line @p line (NUL-terminated, borrowed; a trailing
 * newline is ignored). Error names are looked up in librdkafka's table
 * (rd_kafka_get_err_descs), without its RD_KAFKA_RESP_ERR_ prefix; only
 * broker errors (code > 0) are accepted.
 * @param out     set on RV_OK
 * @param errstr  may be NULL; on RV_ERR_INVALID says what is wrong
 * @returns RV_OK, RV_ERR_INVALID (unknown command, API or error, a
 *          number missing or out of range, a bad group id, extra words)
 */
RV_MUSTCHECK rv_err devbroker_ctl_parse(const char *line, devbroker_ctl *out,
                                        char *errstr, size_t errstr_size);

#endif /* RV_DEVBROKER_CONTROL_H */
