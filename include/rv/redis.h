/* include/rv/redis.h: Redis client with reconnect and Lua scripts run by
 * SHA. The only module that includes hiredis is common/redis.c.
 *
 * Blocking, one connection, no Redis Cluster redirections (MOVED/ASK come
 * back as RV_REPLY_ERR replies). After an I/O or protocol error the client
 * throws the connection away, connects again at once (logging
 * redis_connection_lost, then redis_reconnected or, rate-limited,
 * redis_reconnect_failed) and returns RV_ERR_UNAVAILABLE; a later call
 * reconnects if that failed. Writes to a closed socket raise SIGPIPE: the
 * process must ignore it (STYLE §9 install_signals does).
 * Threads: an rv_redis belongs to one thread; no internal locking. */
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

/** A flat reply. @c str is owned; free with rv_redis_replies_fini().
 *  Status and bulk strings are copied into @c str (cut at an embedded NUL,
 *  if any). An array reply becomes RV_REPLY_STR: its elements as text
 *  joined with '|' ("a|7||b" for {"a", 7, nil, "b"}; nested arrays are
 *  joined the same way, an empty array is ""), so scripts must not put
 *  '|' inside elements they return. An error reply is RV_REPLY_ERR with
 *  the message in @c str. */
typedef struct rv_redis_reply {
    rv_reply_type type;
    long long integer;
    char *str;
} rv_redis_reply;

/**
 * Connect to @p url ("redis://host:port" or "host:port"; the port
 * defaults to 6379, "[::1]:port" is IPv6, a trailing "/N" selects
 * database N in [0, 15] after every connect (a replay keeps its state
 * apart from the live workers'); no credentials) with @p timeout_ms
 * (1..600000) for connect and every command. errstr never quotes the URL.
 * @param out  on RV_OK the client, closed with rv_redis_close()
 * @returns RV_OK, RV_ERR_INVALID (bad URL or timeout), RV_ERR_UNAVAILABLE
 *          (cannot connect; errstr says why), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_redis_open(const char *url, int timeout_ms,
                                  rv_redis **out, char *errstr,
                                  size_t errstr_size);

/**
 * Check @p url without connecting, with the parser rv_redis_open() uses:
 * no scheme or "redis://", no credentials, a host (a name of letters,
 * digits, '.', '-' and '_', or "[IPv6]"; 1..255 bytes), an optional port
 * in [1, 65535] and an optional database "/N" in [0, 15]. Whether the
 * server exists is not checked.
 * @param url  NUL-terminated, borrowed; never quoted in errstr (a
 *             mistyped URL may carry a password)
 * @returns RV_OK, RV_ERR_INVALID (errstr says which part is wrong)
 * Threads: any.
 */
RV_MUSTCHECK rv_err rv_redis_url_check(const char *url, char *errstr,
                                       size_t errstr_size);

/** Every key a worker's script writes expires this long after its last
 *  write (seconds, wall clock; 800 days): past any due window (at most 366
 *  working days) and any redelivery. The script that writes a key sets its
 *  expiry in the same atomic call, so no key lives without one (issue 6
 *  no. 5); `revisitctl rebuild-state` restores the assigner's from
 *  PostgreSQL. Operators' keys (the opt-out list) never expire. */
#define RV_STATE_TTL_S 69120000
#define RV_STATE_TTL_STR_(x) #x
#define RV_STATE_TTL_STR(x) RV_STATE_TTL_STR_(x)
/** RV_STATE_TTL_S as a string literal, for script sources. */
#define RV_STATE_TTL_S_TEXT RV_STATE_TTL_STR(RV_STATE_TTL_S)

/** A script's memo of its first answer to a call (seconds, wall clock;
 *  30 days), handed back when the call comes again because its output
 *  was lost (a crash, a failed flush). The caller deletes the memo once
 *  that output is durable (rv_runner_opts.on_durable), so a memo lives
 *  for about one batch; this expiry only clears the memos of a worker
 *  that died in between. */
#define RV_MEMO_TTL_S 2592000
/** RV_MEMO_TTL_S as a string literal, for script arguments. */
#define RV_MEMO_TTL_S_TEXT RV_STATE_TTL_STR(RV_MEMO_TTL_S)

/** Disconnect and free. NULL is a no-op. */
void rv_redis_close(rv_redis *rc);

/**
 * SCRIPT LOAD @p s and store its SHA in s->sha.
 * @returns RV_OK, RV_ERR_UNAVAILABLE (connection lost: reconnected if
 *          possible, retry), RV_ERR_INVALID (the script does not compile;
 *          Redis' message is logged as redis_script_invalid), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_redis_script_load(rv_redis *rc, rv_script *s);

/**
 * Run @p s once per call, pipelined; more than one call as one MULTI ...
 * EXEC transaction, so the batch runs whole and in order or not at all
 * (a SCRIPT FLUSH, a failover or a BUSY server cannot land between two
 * calls). EVALSHA; a NOSCRIPT reply loads the script and runs the calls
 * again in order, with EVAL if it vanished once more. Loads the script
 * first if s->sha is empty.
 * On RV_OK @p replies[i] holds call i's reply (a script error is an
 * RV_REPLY_ERR reply, not a failure); free them with
 * rv_redis_replies_fini(). @p call_count 0 does nothing.
 * hiredis 0.14: after an I/O error the outcome of every call in the
 * pipeline is unknown, so the client reconnects and returns
 * RV_ERR_UNAVAILABLE; retry only idempotent scripts.
 * @param replies  @p call_count entries, filled on RV_OK only
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_INVALID (a call
 *          has more than 100000 keys + args, or the script no longer
 *          compiles on reload)
 */
RV_MUSTCHECK rv_err rv_redis_eval_batch(rv_redis *rc, rv_script *s,
                                        const rv_redis_call *calls,
                                        size_t call_count,
                                        rv_redis_reply *replies);

/**
 * The script error among @p count replies of @p s, if any: the first is
 * logged as redis_script_error (script name and Redis' reason) and
 * RV_ERR_FATAL returned, as the scripts of revisit raise none.
 * @returns RV_OK (no reply is an error), RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err rv_redis_replies_check(const rv_script *s,
                                           const rv_redis_reply *replies,
                                           size_t count);

/**
 * Run @p s once with @p key_count keys and @p arg_count args (borrowed),
 * as rv_redis_eval_batch with one call. A script error is a bug here
 * (the scripts of revisit raise none): logged as redis_script_error and
 * returned as RV_ERR_FATAL.
 * @param reply  on RV_OK the reply, freed with rv_redis_replies_fini(reply,
 *               1); NULL to discard it
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_INVALID (as
 *          rv_redis_eval_batch), RV_ERR_FATAL (the script raised an error)
 */
RV_MUSTCHECK rv_err rv_redis_eval(rv_redis *rc, rv_script *s, size_t key_count,
                                  const char *const *keys, size_t arg_count,
                                  const char *const *args,
                                  rv_redis_reply *reply);

/**
 * Run one command given as @p argc strings (borrowed), e.g. {"SADD",
 * "optout", "C1"}. On RV_OK *reply is filled (a Redis error is an
 * RV_REPLY_ERR reply); free it with rv_redis_replies_fini(reply, 1).
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_INVALID
 *          (@p argc 0 or above 100000)
 */
RV_MUSTCHECK rv_err rv_redis_command(rv_redis *rc, size_t argc,
                                     const char *const *argv,
                                     rv_redis_reply *reply);

/**
 * Delete @p count keys (borrowed) with UNLINK, up to 1000 keys a command;
 * a key that does not exist is no error. @p count 0 does nothing.
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_FATAL (Redis
 *          refused the command)
 */
RV_MUSTCHECK rv_err rv_redis_unlink(rv_redis *rc, const char *const *keys,
                                    size_t count);

/** Free the strings of @p count replies and reset them to NIL, so a
 *  second call is harmless. NULL is a no-op. */
void rv_redis_replies_fini(rv_redis_reply *replies, size_t count);

#endif /* RV_REDIS_H */
