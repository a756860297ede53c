/* include/rv/redis.h: Redis client with reconnect and Lua scripts run by
 * SHA. The only module that includes hiredis is common/redis.c. */
#ifndef RV_REDIS_H
#define RV_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "rv/err.h"

typedef struct rv_redis rv_redis;

/** A Lua script: its source (borrowed, static) and SHA-1 once loaded. */
typedef struct rv_script {
    const char *name;   /**< for logs, e.g. "cooldown" */
    const char *source; /**< Lua source text */
    char sha[41];       /**< filled by rv_redis_script_load */
} rv_script;

/** One invocation of a script: keys and args borrowed for the call. */
typedef struct rv_redis_call {
    size_t key_count;
    const char *const *keys;
    size_t arg_count;
    const char *const *args;
} rv_redis_call;

typedef enum rv_reply_type {
    RV_REPLY_NIL = 0,
    RV_REPLY_INT,
    RV_REPLY_STR, /**< status or bulk string */
    RV_REPLY_ERR, /**< the script raised an error; str holds it */
} rv_reply_type;

/** A flat reply. @c str is owned; free with rv_redis_replies_fini(). */
typedef struct rv_redis_reply {
    rv_reply_type type;
    long long integer;
    char *str;
} rv_redis_reply;

/**
 * Connect to @p url ("redis://host:port" or "host:port") with
 * @p timeout_ms for connect and every command.
 * @returns RV_OK, RV_ERR_INVALID (bad URL), RV_ERR_UNAVAILABLE (cannot
 *          connect; errstr says why), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_redis_open(const char *url, int timeout_ms,
                                  rv_redis **out, char *errstr,
                                  size_t errstr_size);

/** Disconnect and free. NULL is a no-op. */
void rv_redis_close(rv_redis *rc);

/**
 * SCRIPT LOAD @p s and store its SHA in s->sha.
 * @returns RV_OK, RV_ERR_UNAVAILABLE (connection lost: reconnected if
 *          possible, retry), RV_ERR_INVALID (the script does not compile)
 */
RV_MUSTCHECK rv_err rv_redis_script_load(rv_redis *rc, rv_script *s);

/**
 * Run @p s once per call, pipelined (EVALSHA; a NOSCRIPT reply loads the
 * script and runs that call again). On RV_OK @p replies[i] holds call i's
 * reply (a script error is an RV_REPLY_ERR reply, not a failure).
 * hiredis 0.14: after an I/O error the outcome of every call in the
 * pipeline is unknown, so the client reconnects and returns
 * RV_ERR_UNAVAILABLE; retry only idempotent scripts.
 * @param replies  @p call_count entries, filled on RV_OK only
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_redis_eval_batch(rv_redis *rc, rv_script *s,
                                        const rv_redis_call *calls,
                                        size_t call_count,
                                        rv_redis_reply *replies);

/**
 * Run one command given as @p argc strings (borrowed), e.g. {"SADD",
 * "optout", "C1"}. On RV_OK *reply is filled.
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_redis_command(rv_redis *rc, size_t argc,
                                     const char *const *argv,
                                     rv_redis_reply *reply);

/** Free the strings of @p count replies. */
void rv_redis_replies_fini(rv_redis_reply *replies, size_t count);

#endif /* RV_REDIS_H */
