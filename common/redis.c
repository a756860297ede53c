/* common/redis.c: blocking hiredis 0.14 client with reconnect, and Lua
 * scripts run by SHA in pipelines. The only file including hiredis. */
#include "rv/redis.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "rv/log.h"

#define REDIS_HOST_MAX 255
#define REDIS_DEFAULT_PORT 6379
#define REDIS_TIMEOUT_MAX_MS 600000
/* Keys + args of one call: far above any script of ours, far below
 * INT_MAX (hiredis counts arguments in an int). */
#define REDIS_CALL_ARGS_MAX 100000
#define REDIS_SHA_LEN 40

struct rv_redis {
    redisContext *ctx; /* NULL while disconnected; reconnected lazily */
    char host[REDIS_HOST_MAX + 1];
    int port;
    int db; /* SELECTed after every connect; 0 = the default */
    struct timeval timeout;
    uint64_t reconnects;      /* successful reconnects since open */
    rv_log_ratelimit fail_rl; /* redis_reconnect_failed lines */
};

/* ---- URL ------------------------------------------------------------- */

static bool parse_port(const char *s, size_t len, int *out)
{
    if (len == 0 || len > 5) {
        return false;
    }
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535) {
        return false;
    }
    *out = v;
    return true;
}

/* A host name (RFC 1123 letters, digits, '-' and '.', and '_' that some
 * names carry) or, when @p is_bracketed, an IPv6 address. */
static bool is_host(const char *host, bool is_bracketed)
{
    if (is_bracketed) {
        struct in6_addr a6;
        return inet_pton(AF_INET6, host, &a6) == 1;
    }
    for (const char *c = host; *c != '\0'; c++) {
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' &&
            *c != '_') {
            return false;
        }
    }
    return true;
}

/* "redis://host:port", "host:port", "host", "[v6]:port"; a trailing "/0"
 * (database 0) is accepted. The URL is never quoted back in errstr: a
 * mistyped one may carry a password. */
static rv_err parse_url(const char *url, char *host, int *port, int *db,
                        char *errstr, size_t errstr_size)
{
    if (url == NULL || url[0] == '\0') {
        rv_errf(errstr, errstr_size, "redis: the URL is empty");
        return RV_ERR_INVALID;
    }
    const char *s = url;
    const char *scheme_end = strstr(s, "://");
    if (scheme_end != NULL) {
        if ((size_t)(scheme_end - s) != 5 || strncmp(s, "redis", 5) != 0) {
            rv_errf(errstr, errstr_size,
                    "redis: URL scheme is not redis:// (TLS and sockets "
                    "are not supported)");
            return RV_ERR_INVALID;
        }
        s = scheme_end + 3;
    }
    if (strchr(s, '@') != NULL) {
        rv_errf(errstr, errstr_size,
                "redis: credentials in the URL are not supported");
        return RV_ERR_INVALID;
    }
    size_t len = strlen(s);
    const char *slash = strchr(s, '/');
    *db = 0;
    if (slash != NULL) {
        const char *d = slash + 1;
        int v = 0;
        for (; *d >= '0' && *d <= '9' && v < 100; d++) {
            v = v * 10 + (*d - '0');
        }
        if (*d != '\0' || v > 15) {
            rv_errf(errstr, errstr_size,
                    "redis: URL database is not a number in [0, 15]");
            return RV_ERR_INVALID;
        }
        *db = v;
        len = (size_t)(slash - s);
    }
    const char *host_start = s;
    size_t host_len;
    const char *rest;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL) {
            rv_errf(errstr, errstr_size, "redis: URL has '[' without ']'");
            return RV_ERR_INVALID;
        }
        host_start = s + 1;
        host_len = (size_t)(close - host_start);
        rest = close + 1;
    } else {
        const char *colon = memchr(s, ':', len);
        host_len = colon != NULL ? (size_t)(colon - s) : len;
        rest = s + host_len;
    }
    size_t rest_len = len - (size_t)(rest - s);
    if (host_len == 0 || host_len > REDIS_HOST_MAX) {
        rv_errf(errstr, errstr_size,
                "redis: URL host is empty or longer than %d bytes",
                REDIS_HOST_MAX);
        return RV_ERR_INVALID;
    }
    int p = REDIS_DEFAULT_PORT;
    if (rest_len > 0 &&
        (rest[0] != ':' || !parse_port(rest + 1, rest_len - 1, &p))) {
        rv_errf(errstr, errstr_size,
                "redis: URL port is not a number in [1, 65535]");
        return RV_ERR_INVALID;
    }
    memcpy(host, host_start, host_len);
    host[host_len] = '\0';
    if (!is_host(host, host_start != s)) {
        rv_errf(errstr, errstr_size,
                host_start != s ? "redis: URL host in [] is not an IPv6 address"
                                : "redis: URL host has a character other than "
                                  "letters, digits, '.', '-' or '_'");
        return RV_ERR_INVALID;
    }
    *port = p;
    return RV_OK;
}

rv_err rv_redis_url_check(const char *url, char *errstr, size_t errstr_size)
{
    char host[REDIS_HOST_MAX + 1];
    int port = 0;
    int db = 0;
    return parse_url(url, host, &port, &db, errstr, errstr_size);
}

/* ---- connection ------------------------------------------------------ */

/* Connect rc->ctx. On failure rc->ctx stays NULL and @p why (if not NULL)
 * gets hiredis' reason. */
static rv_err connect_ctx(rv_redis *rc, char *why, size_t why_size)
{
    redisContext *ctx =
        redisConnectWithTimeout(rc->host, rc->port, rc->timeout);
    if (ctx == NULL) {
        rv_errf(why, why_size, "out of memory");
        return RV_ERR_NOMEM;
    }
    if (ctx->err != 0) {
        rv_errf(why, why_size, "%s", ctx->errstr);
        redisFree(ctx);
        return RV_ERR_UNAVAILABLE;
    }
    if (redisSetTimeout(ctx, rc->timeout) != REDIS_OK) {
        rv_errf(why, why_size, "cannot set the socket timeout");
        redisFree(ctx);
        return RV_ERR_UNAVAILABLE;
    }
    if (rc->db != 0) {
        redisReply *r = redisCommand(ctx, "SELECT %d", rc->db);
        bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;
        if (r != NULL) {
            freeReplyObject(r);
        }
        if (!ok) {
            rv_errf(why, why_size, "SELECT %d failed", rc->db);
            redisFree(ctx);
            return RV_ERR_UNAVAILABLE;
        }
    }
    rc->ctx = ctx;
    return RV_OK;
}

static void log_reconnect_failed(rv_redis *rc, const char *why)
{
    uint64_t suppressed = 0;
    if (!rv_log_ratelimit_allow(&rc->fail_rl, &suppressed)) {
        return;
    }
    RV_LOG(RV_LOG_WARN, "redis_reconnect_failed", RV_KV_STR("host", rc->host),
           RV_KV_INT("port", rc->port), RV_KV_STR("reason", why),
           RV_KV_INT("suppressed", suppressed));
}

/* Connect if disconnected. @returns RV_OK or RV_ERR_UNAVAILABLE/NOMEM. */
static rv_err ensure_connected(rv_redis *rc)
{
    if (rc->ctx != NULL) {
        return RV_OK;
    }
    char why[128];
    rv_err err = connect_ctx(rc, why, sizeof(why));
    if (err != RV_OK) {
        log_reconnect_failed(rc, why);
        return err;
    }
    rc->reconnects++;
    rc->fail_rl = (rv_log_ratelimit){0};
    RV_LOG(RV_LOG_INFO, "redis_reconnected", RV_KV_STR("host", rc->host),
           RV_KV_INT("port", rc->port),
           RV_KV_INT("reconnects", rc->reconnects));
    return RV_OK;
}

/* The connection failed mid-exchange: whatever we sent may or may not have
 * run, and unread replies would be mistaken for the next command's. Throw
 * the context away and connect a new one now, so that the caller's retry
 * usually succeeds. @p call_count: commands whose outcome is unknown. */
static void drop_connection(rv_redis *rc, size_t call_count)
{
    RV_LOG(RV_LOG_WARN, "redis_connection_lost", RV_KV_STR("host", rc->host),
           RV_KV_INT("port", rc->port), RV_KV_STR("reason", rc->ctx->errstr),
           RV_KV_INT("calls_unknown", call_count));
    redisFree(rc->ctx);
    rc->ctx = NULL;
    (void)ensure_connected(rc);
}

/* hiredis failed to buffer a command (out of memory): what is buffered
 * must never be sent, so the context goes. */
static rv_err fail_append(rv_redis *rc)
{
    rv_err err =
        rc->ctx->err == REDIS_ERR_OOM ? RV_ERR_NOMEM : RV_ERR_UNAVAILABLE;
    if (err == RV_ERR_NOMEM) {
        redisFree(rc->ctx);
        rc->ctx = NULL;
    } else {
        drop_connection(rc, 0);
    }
    return err;
}

rv_err rv_redis_open(const char *url, int timeout_ms, rv_redis **out,
                     char *errstr, size_t errstr_size)
{
    if (timeout_ms < 1 || timeout_ms > REDIS_TIMEOUT_MAX_MS) {
        rv_errf(errstr, errstr_size, "redis: timeout %d ms is outside [1, %d]",
                timeout_ms, REDIS_TIMEOUT_MAX_MS);
        return RV_ERR_INVALID;
    }
    rv_redis *rc = calloc(1, sizeof(*rc));
    if (rc == NULL) {
        rv_errf(errstr, errstr_size, "redis: out of memory");
        return RV_ERR_NOMEM;
    }
    rv_err err =
        parse_url(url, rc->host, &rc->port, &rc->db, errstr, errstr_size);
    if (err != RV_OK) {
        goto out;
    }
    rc->timeout.tv_sec = timeout_ms / 1000;
    rc->timeout.tv_usec = (timeout_ms % 1000) * 1000;
    char why[128];
    err = connect_ctx(rc, why, sizeof(why));
    if (err != RV_OK) {
        rv_errf(errstr, errstr_size, "redis: cannot connect to %s:%d: %s",
                rc->host, rc->port, why);
        goto out;
    }
    *out = rc;
    rc = NULL;
out:
    rv_redis_close(rc);
    return err;
}

void rv_redis_close(rv_redis *rc)
{
    if (rc == NULL) {
        return;
    }
    if (rc->ctx != NULL) {
        redisFree(rc->ctx);
    }
    free(rc);
}

/* ---- replies --------------------------------------------------------- */

static void reply_clear(rv_redis_reply *out)
{
    *out = (rv_redis_reply){.type = RV_REPLY_NIL};
}

/* Bytes of @p r as joined text, without the NUL. */
static size_t joined_len(const redisReply *r)
{
    char num[32];
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        return r->len;
    case REDIS_REPLY_INTEGER:
        return (size_t)snprintf(num, sizeof(num), "%lld", r->integer);
    case REDIS_REPLY_ARRAY: {
        size_t n = r->elements > 0 ? r->elements - 1 : 0; /* separators */
        for (size_t i = 0; i < r->elements; i++) {
            n += joined_len(r->element[i]);
        }
        return n;
    }
    default:
        return 0; /* nil */
    }
}

/* Write @p r as joined text at @p buf (room checked by joined_len). */
static size_t join_into(const redisReply *r, char *buf, size_t room)
{
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        memcpy(buf, r->str, r->len);
        return r->len;
    case REDIS_REPLY_INTEGER:
        return (size_t)snprintf(buf, room, "%lld", r->integer);
    case REDIS_REPLY_ARRAY: {
        size_t n = 0;
        for (size_t i = 0; i < r->elements; i++) {
            if (i > 0) {
                buf[n++] = '|';
            }
            n += join_into(r->element[i], buf + n, room - n);
        }
        return n;
    }
    default:
        return 0;
    }
}

static rv_err flatten(const redisReply *r, rv_redis_reply *out)
{
    reply_clear(out);
    switch (r->type) {
    case REDIS_REPLY_NIL:
        return RV_OK;
    case REDIS_REPLY_INTEGER:
        out->type = RV_REPLY_INT;
        out->integer = r->integer;
        return RV_OK;
    case REDIS_REPLY_ERROR:
        out->type = RV_REPLY_ERR;
        break;
    default:
        out->type = RV_REPLY_STR;
        break;
    }
    /* +1 for the NUL, and snprintf's room for an integer element. */
    size_t len = joined_len(r);
    char *s = malloc(len + 32);
    if (s == NULL) {
        reply_clear(out);
        return RV_ERR_NOMEM;
    }
    size_t n = join_into(r, s, len + 32);
    s[n] = '\0';
    out->str = s;
    return RV_OK;
}

void rv_redis_replies_fini(rv_redis_reply *replies, size_t count)
{
    for (size_t i = 0; replies != NULL && i < count; i++) {
        free(replies[i].str);
        reply_clear(&replies[i]);
    }
}

static bool is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->len >= 8 &&
           strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* ---- commands -------------------------------------------------------- */

/* Send one command and read its raw reply (*out, freed by the caller with
 * freeReplyObject). */
/* Whether @p r is an error that says "not now" rather than "never": the
 * server is loading its data after a restart (LOADING), a script runs too
 * long (BUSY), a failover is under way (MASTERDOWN, READONLY, TRYAGAIN,
 * CLUSTERDOWN). The call is retried, like a lost connection. */
static bool is_transient(const redisReply *r)
{
    static const char *const prefixes[] = {
        "LOADING ",  "BUSY ",     "MASTERDOWN ",
        "READONLY ", "TRYAGAIN ", "CLUSTERDOWN ",
    };
    if (r->type != REDIS_REPLY_ERROR || r->str == NULL) {
        return false;
    }
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t n = strlen(prefixes[i]);
        if (r->len >= n && strncmp(r->str, prefixes[i], n) == 0) {
            return true;
        }
    }
    return false;
}

static void log_transient(const rv_redis *rc, const redisReply *r)
{
    RV_LOG(RV_LOG_WARN, "redis_not_ready", RV_KV_STR("host", rc->host),
           RV_KV_INT("port", rc->port), RV_KV_STR("reason", r->str));
}

static rv_err roundtrip(rv_redis *rc, int argc, const char **argv,
                        redisReply **out)
{
    rv_err err = ensure_connected(rc);
    if (err != RV_OK) {
        return err;
    }
    if (redisAppendCommandArgv(rc->ctx, argc, argv, NULL) != REDIS_OK) {
        return fail_append(rc);
    }
    void *r = NULL;
    if (redisGetReply(rc->ctx, &r) != REDIS_OK || r == NULL) {
        drop_connection(rc, 1);
        return RV_ERR_UNAVAILABLE;
    }
    if (is_transient(r)) {
        log_transient(rc, r);
        freeReplyObject(r);
        return RV_ERR_UNAVAILABLE;
    }
    *out = r;
    return RV_OK;
}

rv_err rv_redis_command(rv_redis *rc, size_t argc, const char *const *argv,
                        rv_redis_reply *reply)
{
    if (argc == 0 || argc > REDIS_CALL_ARGS_MAX) {
        return RV_ERR_INVALID;
    }
    redisReply *r = NULL;
    /* hiredis takes char ** but only reads the strings. */
    rv_err err = roundtrip(rc, (int)argc, (const char **)argv, &r);
    if (err != RV_OK) {
        return err;
    }
    rv_redis_reply tmp;
    err = flatten(r, &tmp);
    freeReplyObject(r);
    if (err == RV_OK) {
        *reply = tmp;
    }
    return err;
}

#define UNLINK_CHUNK 1000

rv_err rv_redis_unlink(rv_redis *rc, const char *const *keys, size_t count)
{
    const char *argv[UNLINK_CHUNK + 1];
    argv[0] = "UNLINK";
    for (size_t done = 0; done < count;) {
        size_t n = count - done < UNLINK_CHUNK ? count - done : UNLINK_CHUNK;
        memcpy(argv + 1, keys + done, n * sizeof(*keys));
        rv_redis_reply reply = {0};
        rv_err err = rv_redis_command(rc, n + 1, argv, &reply);
        if (err == RV_OK && reply.type == RV_REPLY_ERR) {
            RV_LOG(RV_LOG_ERROR, "redis_unlink_refused",
                   RV_KV_STR("reason", reply.str != NULL ? reply.str : ""));
            err = RV_ERR_FATAL;
        }
        rv_redis_replies_fini(&reply, 1);
        if (err != RV_OK) {
            return err;
        }
        done += n;
    }
    return RV_OK;
}

rv_err rv_redis_script_load(rv_redis *rc, rv_script *s)
{
    const char *argv[] = {"SCRIPT", "LOAD", s->source};
    redisReply *r = NULL;
    rv_err err = roundtrip(rc, 3, argv, &r);
    if (err != RV_OK) {
        return err;
    }
    if (r->type == REDIS_REPLY_STRING && r->len == REDIS_SHA_LEN) {
        memcpy(s->sha, r->str, REDIS_SHA_LEN);
        s->sha[REDIS_SHA_LEN] = '\0';
    } else {
        /* Compiler errors name the script line, never data. */
        RV_LOG(RV_LOG_ERROR, "redis_script_invalid",
               RV_KV_STR("script", s->name),
               RV_KV_STR("reason", r->type == REDIS_REPLY_ERROR
                                       ? r->str
                                       : "SCRIPT LOAD gave no SHA"));
        err = RV_ERR_INVALID;
    }
    freeReplyObject(r);
    return err;
}

/* argv for EVALSHA/EVAL of @p call into @p argv (room checked by the
 * caller); @p numkeys is the buffer for the key count. */
static int call_argv(const char *cmd, const char *script,
                     const rv_redis_call *call, const char **argv,
                     char *numkeys, size_t numkeys_size)
{
    snprintf(numkeys, numkeys_size, "%zu", call->key_count);
    int argc = 0;
    argv[argc++] = cmd;
    argv[argc++] = script;
    argv[argc++] = numkeys;
    for (size_t k = 0; k < call->key_count; k++) {
        argv[argc++] = call->keys[k];
    }
    for (size_t a = 0; a < call->arg_count; a++) {
        argv[argc++] = call->args[a];
    }
    return argc;
}

/* Run one call alone: EVALSHA, and EVAL with the source if the script
 * vanished again in between (another SCRIPT FLUSH). */
static rv_err run_one(rv_redis *rc, const rv_script *s,
                      const rv_redis_call *call, const char **argv,
                      rv_redis_reply *out)
{
    char numkeys[24];
    int argc =
        call_argv("EVALSHA", s->sha, call, argv, numkeys, sizeof(numkeys));
    redisReply *r = NULL;
    rv_err err = roundtrip(rc, argc, argv, &r);
    if (err == RV_OK && is_noscript(r)) {
        freeReplyObject(r);
        r = NULL;
        argc =
            call_argv("EVAL", s->source, call, argv, numkeys, sizeof(numkeys));
        err = roundtrip(rc, argc, argv, &r);
    }
    if (err != RV_OK) {
        return err;
    }
    err = flatten(r, out);
    freeReplyObject(r);
    return err;
}

/* One call's reply @p r, as pipeline() takes it: transient errors make
 * the batch UNAVAILABLE (logged once), NOSCRIPT marks the call, anything
 * else is flattened into @p out unless an error came first. */
static void take_reply(rv_redis *rc, const redisReply *r, rv_redis_reply *out,
                       bool *noscript, rv_err *err)
{
    if (is_transient(r)) {
        if (*err != RV_ERR_UNAVAILABLE) {
            log_transient(rc, r);
        }
        *err = RV_ERR_UNAVAILABLE;
    } else if (is_noscript(r)) {
        *noscript = true;
    } else if (*err == RV_OK) {
        *err = flatten(r, out);
    }
}

/* Append every call as EVALSHA, then read every reply. More than one
 * call goes inside MULTI ... EXEC, so the batch runs whole or not at all:
 * no SCRIPT FLUSH, failover or BUSY can land between two of its calls,
 * and a batch refused part-way is retried with none of it run (before,
 * the calls that had run answered a retry as re-deliveries, and their
 * first answers were lost). NOSCRIPT calls are marked in @p noscript and
 * left NIL in @p tmp; inside a transaction that is all of them or none.
 * A memory failure while flattening is remembered but the replies are
 * still all read, so that the connection stays in step. */
static rv_err pipeline(rv_redis *rc, const rv_script *s,
                       const rv_redis_call *calls, size_t call_count,
                       const char **argv, rv_redis_reply *tmp, bool *noscript)
{
    const char *multi[] = {"MULTI"};
    const char *exec[] = {"EXEC"};
    bool tx = call_count > 1;
    char numkeys[24];
    if (tx && redisAppendCommandArgv(rc->ctx, 1, multi, NULL) != REDIS_OK) {
        return fail_append(rc);
    }
    for (size_t i = 0; i < call_count; i++) {
        int argc = call_argv("EVALSHA", s->sha, &calls[i], argv, numkeys,
                             sizeof(numkeys));
        if (redisAppendCommandArgv(rc->ctx, argc, argv, NULL) != REDIS_OK) {
            return fail_append(rc);
        }
    }
    if (tx && redisAppendCommandArgv(rc->ctx, 1, exec, NULL) != REDIS_OK) {
        return fail_append(rc);
    }
    rv_err err = RV_OK;
    bool queued_noscript = false; /* refused as NOSCRIPT while queueing */
    bool no_multi = false; /* MULTI refused: the calls ran (or not) alone */
    size_t expect = tx ? call_count + 2 : call_count;
    for (size_t i = 0; i < expect; i++) {
        void *v = NULL;
        if (redisGetReply(rc->ctx, &v) != REDIS_OK || v == NULL) {
            drop_connection(rc, call_count);
            return RV_ERR_UNAVAILABLE;
        }
        const redisReply *r = v;
        if (!tx) {
            take_reply(rc, r, &tmp[i], &noscript[i], &err);
        } else if (i == 0 && r->type == REDIS_REPLY_ERROR) {
            /* A server that refused MULTI (LOADING, BUSY) may take the
             * calls after it one by one: their replies are theirs, and
             * EXEC's ("without MULTI") says nothing. */
            no_multi = true;
        } else if (no_multi) {
            if (i + 1 < expect) {
                take_reply(rc, r, &tmp[i - 1], &noscript[i - 1], &err);
            }
        } else if (i + 1 < expect) {
            /* MULTI's +OK and each call's +QUEUED. An error here (LOADING,
             * BUSY, OOM) makes Redis refuse the EXEC: nothing runs. */
            if (r->type == REDIS_REPLY_ERROR && is_noscript(r)) {
                queued_noscript = true;
            } else if (r->type == REDIS_REPLY_ERROR) {
                if (err != RV_ERR_UNAVAILABLE) {
                    log_transient(rc, r);
                }
                err = RV_ERR_UNAVAILABLE;
            }
        } else if (r->type == REDIS_REPLY_ARRAY && r->elements == call_count) {
            for (size_t c = 0; c < call_count; c++) {
                take_reply(rc, r->element[c], &tmp[c], &noscript[c], &err);
            }
        } else if (queued_noscript && err == RV_OK) {
            /* Aborted for want of the script: every call is to run again
             * once it is loaded, in order. */
            for (size_t c = 0; c < call_count; c++) {
                noscript[c] = true;
            }
        } else {
            /* EXECABORT, a transient error, or no transaction at all:
             * none of the calls ran. */
            if (err != RV_ERR_UNAVAILABLE && r->type == REDIS_REPLY_ERROR) {
                log_transient(rc, r);
            }
            err = RV_ERR_UNAVAILABLE;
        }
        freeReplyObject(v);
    }
    return err;
}

rv_err rv_redis_eval_batch(rv_redis *rc, rv_script *s,
                           const rv_redis_call *calls, size_t call_count,
                           rv_redis_reply *replies)
{
    if (call_count == 0) {
        return RV_OK;
    }
    size_t max_args = 0;
    for (size_t i = 0; i < call_count; i++) {
        if (calls[i].key_count > REDIS_CALL_ARGS_MAX ||
            calls[i].arg_count > REDIS_CALL_ARGS_MAX - calls[i].key_count) {
            return RV_ERR_INVALID;
        }
        size_t n = calls[i].key_count + calls[i].arg_count;
        max_args = n > max_args ? n : max_args;
    }
    rv_err err = ensure_connected(rc);
    if (err != RV_OK) {
        return err;
    }
    if (s->sha[0] == '\0') {
        err = rv_redis_script_load(rc, s);
        if (err != RV_OK) {
            return err;
        }
    }
    const char **argv = calloc(max_args + 3, sizeof(*argv));
    rv_redis_reply *tmp = calloc(call_count, sizeof(*tmp));
    bool *noscript = calloc(call_count, sizeof(*noscript));
    if (argv == NULL || tmp == NULL || noscript == NULL) {
        err = RV_ERR_NOMEM;
        goto out;
    }
    err = pipeline(rc, s, calls, call_count, argv, tmp, noscript);
    if (err != RV_OK) {
        goto out;
    }
    /* The script cache was flushed (a restart, SCRIPT FLUSH, a failover):
     * load it again and rerun the calls that did not run, in order. In a
     * transaction (pipeline) that is every call, so the order of the
     * batch is kept. */
    bool loaded = false;
    for (size_t i = 0; i < call_count && err == RV_OK; i++) {
        if (!noscript[i]) {
            continue;
        }
        if (!loaded) {
            err = rv_redis_script_load(rc, s);
            loaded = true;
        }
        if (err == RV_OK) {
            err = run_one(rc, s, &calls[i], argv, &tmp[i]);
        }
    }
    if (err != RV_OK) {
        goto out;
    }
    memcpy(replies, tmp, call_count * sizeof(*tmp));
    free(tmp);
    tmp = NULL;
out:
    if (tmp != NULL) {
        rv_redis_replies_fini(tmp, call_count);
    }
    free(tmp);
    free(noscript);
    free(argv);
    return err;
}

rv_err rv_redis_replies_check(const rv_script *s, const rv_redis_reply *replies,
                              size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (replies[i].type == RV_REPLY_ERR) {
            RV_LOG(RV_LOG_ERROR, "redis_script_error",
                   RV_KV_STR("script", s->name),
                   RV_KV_STR("reason",
                             replies[i].str != NULL ? replies[i].str : ""));
            return RV_ERR_FATAL;
        }
    }
    return RV_OK;
}

rv_err rv_redis_eval(rv_redis *rc, rv_script *s, size_t key_count,
                     const char *const *keys, size_t arg_count,
                     const char *const *args, rv_redis_reply *reply)
{
    rv_redis_call call = {key_count, keys, arg_count, args};
    rv_redis_reply r = {0};
    rv_err err = rv_redis_eval_batch(rc, s, &call, 1, &r);
    if (err != RV_OK) {
        return err;
    }
    err = rv_redis_replies_check(s, &r, 1);
    if (err != RV_OK) {
        rv_redis_replies_fini(&r, 1);
        return err;
    }
    if (reply != NULL) {
        *reply = r;
    } else {
        rv_redis_replies_fini(&r, 1);
    }
    return RV_OK;
}
