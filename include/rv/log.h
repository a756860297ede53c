/* include/rv/log.h: structured logging, one line per event on stderr. */
#ifndef RV_LOG_H
#define RV_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/err.h"

typedef enum rv_log_level {
    RV_LOG_DEBUG = 0,
    RV_LOG_INFO,
    RV_LOG_WARN,
    RV_LOG_ERROR,
} rv_log_level;

typedef enum rv_log_format {
    RV_LOG_LOGFMT = 0,
    RV_LOG_JSON,
} rv_log_format;

typedef enum rv_kv_type {
    RV_KV_T_STR,
    RV_KV_T_INT,
    RV_KV_T_DBL,
    RV_KV_T_BOOL,
} rv_kv_type;

/** One field of a log line. Strings are borrowed for the call. Never put
 *  a phone number, a name or a secret in a field (DESIGN §8). */
typedef struct rv_kv {
    const char *key;
    rv_kv_type type;
    const char *s;
    int64_t i;
    double d;
} rv_kv;

#define RV_KV_STR(k, v) ((rv_kv){.key = (k), .type = RV_KV_T_STR, .s = (v)})
#define RV_KV_INT(k, v)                                                        \
    ((rv_kv){.key = (k), .type = RV_KV_T_INT, .i = (int64_t)(v)})
#define RV_KV_DBL(k, v)                                                        \
    ((rv_kv){.key = (k), .type = RV_KV_T_DBL, .d = (double)(v)})
#define RV_KV_BOOL(k, v)                                                       \
    ((rv_kv){.key = (k), .type = RV_KV_T_BOOL, .i = (v) ? 1 : 0})

/** Emit @p event at @p level with the given fields, if the level is on.
 *  The fields are built only when the level is enabled. */
#define RV_LOG(level, event, ...)                                              \
    do {                                                                       \
        if (rv_log_enabled(level)) {                                           \
            const rv_kv rv_log_kvs_[] = {__VA_ARGS__};                         \
            rv_log_emit((level), (event), rv_log_kvs_,                         \
                        sizeof(rv_log_kvs_) / sizeof(rv_log_kvs_[0]));         \
        }                                                                      \
    } while (0)

/** Event with no fields. */
#define RV_LOG0(level, event)                                                  \
    do {                                                                       \
        if (rv_log_enabled(level)) {                                           \
            rv_log_emit((level), (event), NULL, 0);                            \
        }                                                                      \
    } while (0)

/**
 * Set the worker name (copied, at most 63 bytes), minimum level and format.
 * Call once at start-up, before any thread logs.
 */
void rv_log_init(const char *worker, rv_log_level level, rv_log_format format);

/** Parse "debug"/"info"/"warn"/"error" into @p out.
 *  @returns RV_OK or RV_ERR_INVALID (unknown name; @p out untouched). */
RV_MUSTCHECK rv_err rv_log_level_parse(const char *name, rv_log_level *out);

/** Parse "logfmt"/"json" into @p out.
 *  @returns RV_OK or RV_ERR_INVALID (unknown name; @p out untouched). */
RV_MUSTCHECK rv_err rv_log_format_parse(const char *name, rv_log_format *out);

/** True if lines at @p level are written. */
bool rv_log_enabled(rv_log_level level);

/**
 * Write one line: ts, level, worker, event, then @p kv_count fields from
 * @p kvs (borrowed). Values are escaped. Thread-safe (one write(2) per line).
 */
void rv_log_emit(rv_log_level level, const char *event, const rv_kv *kvs,
                 size_t kv_count);

/** Interval of rv_log_ratelimit_allow, ms (STYLE §7: one line / 10 s). */
#define RV_LOG_RATELIMIT_MS 10000

/** Rate limit of one repeated event. Zero-initialise; one per event and
 *  owner; not thread-safe (one thread per limiter). */
typedef struct rv_log_ratelimit {
    int64_t last_ms;     /**< monotonic ms of the last logged line; 0: none */
    uint64_t suppressed; /**< events dropped since then */
} rv_log_ratelimit;

/**
 * True if the event may be logged now: the first one, then at most one
 * per RV_LOG_RATELIMIT_MS. On true, *suppressed is the number of events
 * dropped since the last logged one (log it as suppressed=N).
 */
bool rv_log_ratelimit_allow(rv_log_ratelimit *rl, uint64_t *suppressed);

/**
 * Mask a phone number for display: keep the first 3 and last 4 digits
 * ("138****1234", DESIGN §8). Shorter numbers become all '*'.
 * @param out  at least @p out_size bytes; always NUL-terminated
 */
void rv_log_mask_phone(const char *phone, char *out, size_t out_size);

#endif /* RV_LOG_H */
