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

rv_err rv_watermark_advance(rv_redis *rc, const char *key, int32_t partition,
                            int64_t event_us)
{
    char part[I64_SIZE], t[I64_SIZE];
    snprintf(part, sizeof(part), "%" PRId32, partition);
    snprintf(t, sizeof(t), "%" PRId64, event_us);
    const char *keys[] = {key};
    const char *args[] = {part, t, WATERMARK_TTL_S};
    rv_redis_call call = {1, keys, 3, args};
    rv_redis_reply reply = {0};
    rv_err err = rv_redis_eval_batch(rc, &watermark_script, &call, 1, &reply);
    if (err == RV_OK) {
        err = reply.type == RV_REPLY_ERR ? RV_ERR_FATAL : RV_OK;
        rv_redis_replies_fini(&reply, 1);
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
