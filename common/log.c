/* common/log.c: logfmt/JSON lines on stderr; the only logger state. */
#include "rv/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096

static char log_worker[64] = "revisit";
static rv_log_level log_level = RV_LOG_INFO;
static rv_log_format log_format = RV_LOG_LOGFMT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void rv_log_init(const char *worker, rv_log_level level, rv_log_format format)
{
    if (worker != NULL) {
        snprintf(log_worker, sizeof(log_worker), "%s", worker);
    }
    log_level = level;
    log_format = format;
}

rv_err rv_log_level_parse(const char *name, rv_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (name != NULL && strcmp(name, level_names[i]) == 0) {
            *out = (rv_log_level)i;
            return RV_OK;
        }
    }
    return RV_ERR_INVALID;
}

rv_err rv_log_format_parse(const char *name, rv_log_format *out)
{
    if (name != NULL && strcmp(name, "logfmt") == 0) {
        *out = RV_LOG_LOGFMT;
        return RV_OK;
    }
    if (name != NULL && strcmp(name, "json") == 0) {
        *out = RV_LOG_JSON;
        return RV_OK;
    }
    return RV_ERR_INVALID;
}

bool rv_log_enabled(rv_log_level level)
{
    return level >= log_level;
}

/* Appends to buf at *pos, never past cap - 1; truncation is silent. */
static void put(char *buf, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (*pos + 1 >= cap) {
        return;
    }
    size_t room = cap - 1 - *pos;
    if (n > room) {
        n = room;
    }
    memcpy(buf + *pos, s, n);
    *pos += n;
    buf[*pos] = '\0';
}

static void puts_(char *buf, size_t cap, size_t *pos, const char *s)
{
    put(buf, cap, pos, s, strlen(s));
}

static bool needs_quotes(const char *s)
{
    if (*s == '\0') {
        return true;
    }
    for (const char *p = s; *p; p++) {
        if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' ||
            (unsigned char)*p < 0x20) {
            return true;
        }
    }
    return false;
}

static void put_escaped(char *buf, size_t cap, size_t *pos, const char *s,
                        bool quote)
{
    if (quote) {
        put(buf, cap, pos, "\"", 1);
    }
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(buf, cap, pos, e, 2);
        } else if (c == '\n') {
            put(buf, cap, pos, "\\n", 2);
        } else if (c < 0x20) {
            char e[8];
            snprintf(e, sizeof(e), "\\u%04x", c);
            puts_(buf, cap, pos, e);
        } else {
            put(buf, cap, pos, (const char *)p, 1);
        }
    }
    if (quote) {
        put(buf, cap, pos, "\"", 1);
    }
}

static void put_value(char *buf, size_t cap, size_t *pos, const rv_kv *kv,
                      bool json)
{
    char num[48];
    switch (kv->type) {
    case RV_KV_T_STR: {
        const char *s = kv->s != NULL ? kv->s : "";
        put_escaped(buf, cap, pos, s, json || needs_quotes(s));
        return;
    }
    case RV_KV_T_INT:
        snprintf(num, sizeof(num), "%lld", (long long)kv->i);
        break;
    case RV_KV_T_DBL:
        snprintf(num, sizeof(num), "%.6g", kv->d);
        break;
    case RV_KV_T_BOOL:
        snprintf(num, sizeof(num), "%s", kv->i ? "true" : "false");
        break;
    }
    puts_(buf, cap, pos, num);
}

static void put_field(char *buf, size_t cap, size_t *pos, const rv_kv *kv,
                      bool json)
{
    if (json) {
        puts_(buf, cap, pos, ",\"");
        put_escaped(buf, cap, pos, kv->key, false);
        puts_(buf, cap, pos, "\":");
    } else {
        puts_(buf, cap, pos, " ");
        puts_(buf, cap, pos, kv->key);
        puts_(buf, cap, pos, "=");
    }
    put_value(buf, cap, pos, kv, json);
}

void rv_log_emit(rv_log_level level, const char *event, const rv_kv *kvs,
                 size_t kv_count)
{
    char line[LINE_MAX_BYTES];
    size_t pos = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    bool json = log_format == RV_LOG_JSON;
    line[0] = '\0';
    rv_kv fixed[] = {RV_KV_STR("level", level_names[level]),
                     RV_KV_STR("worker", log_worker),
                     RV_KV_STR("event", event)};
    if (json) {
        puts_(line, sizeof(line), &pos, "{\"ts\":\"");
        puts_(line, sizeof(line), &pos, when);
        puts_(line, sizeof(line), &pos, "\"");
    } else {
        puts_(line, sizeof(line), &pos, "ts=");
        puts_(line, sizeof(line), &pos, when);
    }
    for (size_t i = 0; i < 3; i++) {
        put_field(line, sizeof(line), &pos, &fixed[i], json);
    }
    for (size_t i = 0; i < kv_count; i++) {
        put_field(line, sizeof(line), &pos, &kvs[i], json);
    }
    /* Keep room for the closing brace and newline even when truncated. */
    if (pos > sizeof(line) - 3) {
        pos = sizeof(line) - 3;
    }
    if (json) {
        line[pos++] = '}';
    }
    line[pos++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, pos);
    (void)w;
}

void rv_log_mask_phone(const char *phone, char *out, size_t out_size)
{
    if (out_size == 0) {
        return;
    }
    size_t n = phone != NULL ? strlen(phone) : 0;
    size_t i = 0;
    for (; i < n && i + 1 < out_size; i++) {
        bool keep = n >= 8 && (i < 3 || i >= n - 4);
        out[i] = keep ? phone[i] : '*';
    }
    out[i] = '\0';
}

bool rv_log_ratelimit_allow(rv_log_ratelimit *rl, uint64_t *suppressed)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (rl->last_ms != 0 && now_ms - rl->last_ms < RV_LOG_RATELIMIT_MS) {
        rl->suppressed++;
        return false;
    }
    *suppressed = rl->suppressed;
    rl->suppressed = 0;
    rl->last_ms = now_ms;
    return true;
}
