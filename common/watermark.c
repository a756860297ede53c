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
    .source = "local c = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or "
              "'0')\n"
              "if tonumber(ARGV[2]) > c then\n"
              "  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
              "end\n"
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
                            rv_watermark_batch *b)
{
    if (b->count == 0) {
        return RV_OK;
    }
    char part[RV_WATERMARK_PARTITIONS_MAX][I64_SIZE];
    char t[RV_WATERMARK_PARTITIONS_MAX][I64_SIZE];
    const char *args[RV_WATERMARK_PARTITIONS_MAX][3];
    rv_redis_call calls[RV_WATERMARK_PARTITIONS_MAX];
    rv_redis_reply replies[RV_WATERMARK_PARTITIONS_MAX];
    const char *keys[] = {key};
    for (size_t i = 0; i < b->count; i++) {
        snprintf(part[i], I64_SIZE, "%" PRId32, b->partition[i]);
        snprintf(t[i], I64_SIZE, "%" PRId64, b->max_us[i]);
        args[i][0] = part[i];
        args[i][1] = t[i];
        args[i][2] = WATERMARK_TTL_S;
        calls[i] = (rv_redis_call){1, keys, 3, args[i]};
    }
    rv_err err =
        rv_redis_eval_batch(rc, &watermark_script, calls, b->count, replies);
    if (err != RV_OK) {
        return err;
    }
    for (size_t i = 0; i < b->count; i++) {
        if (replies[i].type == RV_REPLY_ERR) {
            RV_LOG(RV_LOG_ERROR, "redis_script_error",
                   RV_KV_STR("script", watermark_script.name));
            err = RV_ERR_FATAL;
        }
    }
    rv_redis_replies_fini(replies, b->count);
    if (err == RV_OK) {
        b->count = 0;
    }
    return err;
}

rv_err rv_watermark_get(rv_redis *rc, const char *key, int partitions,
                        int64_t *out_us)
{
    *out_us = 0;
    const char *argv[] = {"HVALS", key};
    rv_redis_reply reply = {0};
    rv_err err = rv_redis_command(rc, 2, argv, &reply);
    if (err != RV_OK) {
        return err;
    }
    if (reply.type == RV_REPLY_ERR) {
        err = RV_ERR_FATAL;
    } else if (reply.type == RV_REPLY_STR && reply.str != NULL) {
        char *save = NULL;
        int seen = 0;
        for (char *tok = strtok_r(reply.str, "|", &save); tok != NULL;
             tok = strtok_r(NULL, "|", &save)) {
            int64_t v = strtoll(tok, NULL, 10);
            if (*out_us == 0 || v < *out_us) {
                *out_us = v;
            }
            seen++;
        }
        if (seen < partitions) {
            *out_us = 0;
        }
    }
    rv_redis_replies_fini(&reply, 1);
    return err;
}
