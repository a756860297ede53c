/* common/watermark.c: event-time watermark in Redis (rv/watermark.h). */
#include "rv/watermark.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/log.h"

/* Entries live a year after their last move. */
#define WATERMARK_TTL_S "31622400"
#define I64_SIZE 24

static rv_script watermark_script = {
    .name = "watermark",
    .source = "local f = 'p' .. ARGV[1]\n"
              "local c = tonumber(redis.call('HGET', KEYS[1], f) or '0')\n"
              "if tonumber(ARGV[2]) > c then\n"
              "  redis.call('HSET', KEYS[1], f, ARGV[2])\n"
              "end\n"
              "redis.call('HSET', KEYS[1], 'w' .. ARGV[1], ARGV[4])\n"
              "redis.call('HSETNX', KEYS[1], 'c', ARGV[4])\n"
              "redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
              "return 1\n",
};

bool rv_watermark_note(rv_watermark_batch *b, int32_t partition,
                       int64_t event_us)
{
    for (size_t i = 0; i < b->count; i++) {
        if (b->partition[i] == partition) {
            if (event_us > b->max_us[i]) {
                b->max_us[i] = event_us;
            }
            return true;
        }
    }
    if (b->count == RV_WATERMARK_PARTITIONS_MAX) {
        return false;
    }
    b->partition[b->count] = partition;
    b->max_us[b->count++] = event_us;
    return true;
}

rv_err rv_watermark_advance(rv_redis *rc, const char *key,
                            rv_watermark_batch *b, int64_t now_us)
{
    if (b->count == 0) {
        return RV_OK;
    }
    char part[RV_WATERMARK_PARTITIONS_MAX][I64_SIZE];
    char t[RV_WATERMARK_PARTITIONS_MAX][I64_SIZE];
    const char *args[RV_WATERMARK_PARTITIONS_MAX][4];
    char now[I64_SIZE];
    snprintf(now, sizeof(now), "%" PRId64, now_us);
    rv_redis_call calls[RV_WATERMARK_PARTITIONS_MAX];
    rv_redis_reply replies[RV_WATERMARK_PARTITIONS_MAX];
    const char *keys[] = {key};
    for (size_t i = 0; i < b->count; i++) {
        snprintf(part[i], I64_SIZE, "%" PRId32, b->partition[i]);
        snprintf(t[i], I64_SIZE, "%" PRId64, b->max_us[i]);
        args[i][0] = part[i];
        args[i][1] = t[i];
        args[i][2] = WATERMARK_TTL_S;
        args[i][3] = now;
        calls[i] = (rv_redis_call){1, keys, 4, args[i]};
    }
    rv_err err =
        rv_redis_eval_batch(rc, &watermark_script, calls, b->count, replies);
    if (err != RV_OK) {
        return err;
    }
    err = rv_redis_replies_check(&watermark_script, replies, b->count);
    rv_redis_replies_fini(replies, b->count);
    if (err == RV_OK) {
        b->count = 0;
    }
    return err;
}

/* Partition entries of a HGETALL reply "f|v|f|v...": "p<N>" event
 * time, "w<N>" wall time of the last message, "c" the first. */
typedef struct wm_entry {
    int32_t partition;
    int64_t max_us;
    int64_t wall_us;
} wm_entry;

/* @returns the number of entries, created_us set (0 if absent). */
static size_t parse_entries(char *s, wm_entry *e, size_t cap,
                            int64_t *created_us)
{
    size_t n = 0;
    *created_us = 0;
    char *save = NULL;
    for (char *f = strtok_r(s, "|", &save); f != NULL;
         f = strtok_r(NULL, "|", &save)) {
        char *v = strtok_r(NULL, "|", &save);
        if (v == NULL) {
            break;
        }
        int64_t val = strtoll(v, NULL, 10);
        if (strcmp(f, "c") == 0) {
            *created_us = val;
            continue;
        }
        if (f[0] != 'p' && f[0] != 'w') {
            continue;
        }
        int32_t part = (int32_t)strtol(f + 1, NULL, 10);
        size_t k = 0;
        while (k < n && e[k].partition != part) {
            k++;
        }
        if (k == n) {
            if (n == cap) {
                continue;
            }
            e[n++] = (wm_entry){part, -1, 0};
        }
        if (f[0] == 'p') {
            e[k].max_us = val;
        } else {
            e[k].wall_us = val;
        }
    }
    return n;
}

rv_err rv_watermark_get(rv_redis *rc, const char *key,
                        const rv_watermark_opts *o, int64_t *out_us)
{
    *out_us = 0;
    const char *argv[] = {"HGETALL", key};
    rv_redis_reply reply = {0};
    rv_err err = rv_redis_command(rc, 2, argv, &reply);
    if (err != RV_OK) {
        return err;
    }
    if (reply.type == RV_REPLY_ERR) {
        rv_redis_replies_fini(&reply, 1);
        return RV_ERR_FATAL;
    }
    wm_entry e[RV_WATERMARK_PARTITIONS_MAX];
    int64_t created = 0;
    size_t n =
        reply.type == RV_REPLY_STR && reply.str != NULL
            ? parse_entries(reply.str, e, RV_WATERMARK_PARTITIONS_MAX, &created)
            : 0;
    rv_redis_replies_fini(&reply, 1);
    size_t seen = 0;
    int64_t all = 0, active = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].max_us < 0) {
            continue;
        }
        seen++;
        all = all == 0 || e[i].max_us < all ? e[i].max_us : all;
        bool is_active = o->hold_silent || o->idle_us <= 0 ||
                         o->now_us - e[i].wall_us < o->idle_us;
        if (is_active && (active == 0 || e[i].max_us < active)) {
            active = e[i].max_us;
        }
    }
    bool waiting = seen < (size_t)(o->partitions > 0 ? o->partitions : 0) &&
                   (o->idle_us <= 0 || o->now_us - created < o->idle_us);
    if (seen > 0 && !waiting) {
        *out_us = active != 0 ? active : all;
    }
    return RV_OK;
}
