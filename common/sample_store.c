/* common/sample_store.c: bottom-k samples in Redis (rv/sample_store.h). */
#include "rv/sample_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/log.h"

#define KEY_SIZE (RV_SAMPLE_LABEL_SIZE + 64)
#define NUM_SIZE 32
/* Keys live 400 days: longer than any group stays open. */
#define SAMPLE_TTL_S "34560000"

/* KEYS[5], the offer's memo: its first answer when that trimmed anyone,
 * handed back on a re-delivery (ARGV[8] its expiry, "0": no memo). */
static rv_script offer_script = {
    .name = "sample_offer",
    .source = "if ARGV[8] ~= '0' then\n"
              "  local m = redis.call('GET', KEYS[5])\n"
              "  if m then return {m} end\n"
              "end\n"
              "if redis.call('EXISTS', KEYS[4]) == 1 then return {'late'} end\n"
              "redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])\n"
              "redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])\n"
              "local k = tonumber(ARGV[4])\n"
              "local out = {'ok'}\n"
              "for _, m in ipairs(redis.call('ZRANGE', KEYS[1], k, -1)) do\n"
              "  out[#out + 1] = redis.call('HGET', KEYS[2], m) or ''\n"
              "  redis.call('HDEL', KEYS[2], m)\n"
              "end\n"
              "redis.call('ZREMRANGEBYRANK', KEYS[1], k, -1)\n"
              "redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])\n"
              "for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[7]) end\n"
              "if ARGV[8] ~= '0' and #out > 1 then\n"
              "  redis.call('SET', KEYS[5], table.concat(out, '|'), 'EX', "
              "ARGV[8])\n"
              "end\n"
              "return out\n",
};

static rv_script read_script = {
    .name = "sample_read",
    .source = "local out = {}\n"
              "for b = 0, tonumber(ARGV[2]) - 1 do\n"
              "  local z = redis.call('ZRANGE', ARGV[1] .. ':' .. b, 0, -1, "
              "'WITHSCORES')\n"
              "  for i = 1, #z, 2 do\n"
              "    out[#out + 1] = b\n"
              "    out[#out + 1] = z[i + 1]\n"
              "    out[#out + 1] = redis.call('HGET', ARGV[1] .. ':p', z[i]) "
              "or ''\n"
              "  end\n"
              "end\n"
              "return out\n",
};

static rv_script close_script = {
    .name = "sample_close",
    .source = "redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])\n"
              "redis.call('DEL', KEYS[2])\n"
              "for b = 0, tonumber(ARGV[4]) - 1 do\n"
              "  redis.call('DEL', ARGV[3] .. ':' .. b)\n"
              "end\n"
              "redis.call('ZREM', KEYS[3], ARGV[1])\n"
              "return 1\n",
};

static void group_prefix(char *out, const char *ns, const char *label)
{
    snprintf(out, KEY_SIZE, "rv:ss:%s:%s", ns, label);
}

void rv_sample_memo_key(const rv_sample_offer *o,
                        char out[RV_SAMPLE_MEMO_KEY_SIZE])
{
    snprintf(out, RV_SAMPLE_MEMO_KEY_SIZE, "rv:ss:%s:%s:m:%s", o->ns, o->label,
             o->member);
}

/* One offer's keys and arguments, as text, for the offer script. */
typedef struct offer_text {
    char zkey[KEY_SIZE + 8], pkey[KEY_SIZE + 4], open[KEY_SIZE],
        closed[KEY_SIZE + 8], memo[RV_SAMPLE_MEMO_KEY_SIZE];
    char u[NUM_SIZE], keep[NUM_SIZE], close_s[NUM_SIZE];
    const char *keys[5];
    const char *args[8];
} offer_text;

static void offer_prepare(const rv_sample_offer *o, offer_text *t,
                          rv_redis_call *call)
{
    char prefix[KEY_SIZE];
    group_prefix(prefix, o->ns, o->label);
    snprintf(t->zkey, sizeof(t->zkey), "%s:%d", prefix, o->bucket);
    snprintf(t->pkey, sizeof(t->pkey), "%s:p", prefix);
    snprintf(t->open, sizeof(t->open), "rv:ss:%s:open", o->ns);
    snprintf(t->closed, sizeof(t->closed), "%s:closed", prefix);
    snprintf(t->u, sizeof(t->u), "%.17g", o->u);
    snprintf(t->keep, sizeof(t->keep), "%" PRId64, o->keep);
    snprintf(t->close_s, sizeof(t->close_s), "%" PRId64, o->close_us);
    rv_sample_memo_key(o, t->memo);
    const char *keys[] = {t->zkey, t->pkey, t->open, t->closed, t->memo};
    const char *args[] = {t->u,         o->member,
                          o->payload,   t->keep,
                          t->close_s,   o->label,
                          SAMPLE_TTL_S, o->memo ? RV_MEMO_TTL_S_TEXT : "0"};
    memcpy(t->keys, keys, sizeof(keys));
    memcpy(t->args, args, sizeof(args));
    *call = (rv_redis_call){5, t->keys, 8, t->args};
}

rv_err rv_sample_offer_batch(rv_redis *rc, const rv_sample_offer *offers,
                             size_t count, bool *late, char **trimmed)
{
    for (size_t i = 0; i < count; i++) {
        late[i] = false;
        trimmed[i] = NULL;
    }
    if (count == 0) {
        return RV_OK;
    }
    offer_text *text = malloc(count * sizeof(*text));
    rv_redis_call *calls = calloc(count, sizeof(*calls));
    rv_redis_reply *replies = calloc(count, sizeof(*replies));
    rv_err err =
        text != NULL && calls != NULL && replies != NULL ? RV_OK : RV_ERR_NOMEM;
    for (size_t i = 0; err == RV_OK && i < count; i++) {
        offer_prepare(&offers[i], &text[i], &calls[i]);
    }
    if (err == RV_OK) {
        err = rv_redis_eval_batch(rc, &offer_script, calls, count, replies);
    }
    if (err == RV_OK) {
        err = rv_redis_replies_check(&offer_script, replies, count);
    }
    for (size_t i = 0; err == RV_OK && i < count; i++) {
        const char *s =
            replies[i].type == RV_REPLY_STR && replies[i].str != NULL
                ? replies[i].str
                : "";
        if (strcmp(s, "late") == 0) {
            late[i] = true;
            s = "ok";
        }
        /* "ok" or "ok|payload|payload...": hand back what follows "ok|". */
        trimmed[i] = strdup(strncmp(s, "ok|", 3) == 0 ? s + 3 : "");
        if (trimmed[i] == NULL) {
            err = RV_ERR_NOMEM;
        }
    }
    if (err != RV_OK) {
        for (size_t i = 0; i < count; i++) {
            free(trimmed[i]);
            trimmed[i] = NULL;
        }
    }
    if (replies != NULL) {
        rv_redis_replies_fini(replies, count);
    }
    free(replies);
    free(calls);
    free(text);
    return err;
}

rv_err rv_sample_offer_one(rv_redis *rc, const rv_sample_offer *o, bool *late,
                           char **trimmed)
{
    return rv_sample_offer_batch(rc, o, 1, late, trimmed);
}

rv_err rv_sample_due(rv_redis *rc, const char *ns, int64_t now_us,
                     char (*labels)[RV_SAMPLE_LABEL_SIZE], size_t cap,
                     size_t *count)
{
    *count = 0;
    char open[KEY_SIZE], now[NUM_SIZE], limit[NUM_SIZE];
    snprintf(open, sizeof(open), "rv:ss:%s:open", ns);
    snprintf(now, sizeof(now), "%" PRId64, now_us);
    snprintf(limit, sizeof(limit), "%zu", cap);
    const char *argv[] = {"ZRANGEBYSCORE", open, "-inf", now,
                          "LIMIT",         "0",  limit};
    rv_redis_reply reply = {0};
    rv_err err = rv_redis_command(rc, 7, argv, &reply);
    if (err != RV_OK) {
        return err;
    }
    if (reply.type == RV_REPLY_ERR) {
        err = RV_ERR_FATAL;
    }
    char *save = NULL;
    for (char *tok =
             err == RV_OK && reply.type == RV_REPLY_STR && reply.str != NULL
                 ? strtok_r(reply.str, "|", &save)
                 : NULL;
         tok != NULL && *count < cap; tok = strtok_r(NULL, "|", &save)) {
        snprintf(labels[(*count)++], RV_SAMPLE_LABEL_SIZE, "%s", tok);
    }
    rv_redis_replies_fini(&reply, 1);
    return err;
}

void rv_sample_members_free(rv_sample_member *m, size_t count)
{
    for (size_t i = 0; m != NULL && i < count; i++) {
        free(m[i].payload);
    }
    free(m);
}

rv_err rv_sample_read(rv_redis *rc, const char *ns, const char *label,
                      int bucket_count, rv_sample_member **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    char prefix[KEY_SIZE], n[NUM_SIZE];
    group_prefix(prefix, ns, label);
    snprintf(n, sizeof(n), "%d", bucket_count);
    const char *args[] = {prefix, n};
    rv_redis_reply reply = {0};
    rv_err err = rv_redis_eval(rc, &read_script, 0, NULL, 2, args, &reply);
    if (err != RV_OK) {
        return err;
    }
    /* "bucket|u|payload|bucket|u|payload...": count the triples first. */
    const char *s =
        reply.type == RV_REPLY_STR && reply.str != NULL ? reply.str : "";
    size_t fields = s[0] != '\0';
    for (const char *p = s; *p != '\0'; p++) {
        fields += *p == '|';
    }
    size_t cap = fields / 3;
    rv_sample_member *m = calloc(cap > 0 ? cap : 1, sizeof(*m));
    if (m == NULL) {
        rv_redis_replies_fini(&reply, 1);
        return RV_ERR_NOMEM;
    }
    char *save = NULL;
    char *p = reply.str;
    size_t k = 0;
    for (char *b = cap > 0 ? strtok_r(p, "|", &save) : NULL;
         b != NULL && k < cap; b = strtok_r(NULL, "|", &save)) {
        char *u = strtok_r(NULL, "|", &save);
        char *payload = u != NULL ? strtok_r(NULL, "|", &save) : NULL;
        if (payload == NULL) {
            break;
        }
        m[k].bucket = atoi(b);
        m[k].u = strtod(u, NULL);
        m[k].payload = strdup(payload);
        if (m[k++].payload == NULL) {
            err = RV_ERR_NOMEM;
            break;
        }
    }
    rv_redis_replies_fini(&reply, 1);
    if (err != RV_OK) {
        rv_sample_members_free(m, k);
        return err;
    }
    *out = m;
    *count = k;
    return RV_OK;
}

rv_err rv_sample_close(rv_redis *rc, const char *ns, const char *label,
                       int bucket_count)
{
    char prefix[KEY_SIZE], pkey[KEY_SIZE + 4], open[KEY_SIZE],
        closed[KEY_SIZE + 8], n[NUM_SIZE];
    group_prefix(prefix, ns, label);
    snprintf(pkey, sizeof(pkey), "%s:p", prefix);
    snprintf(open, sizeof(open), "rv:ss:%s:open", ns);
    snprintf(closed, sizeof(closed), "%s:closed", prefix);
    snprintf(n, sizeof(n), "%d", bucket_count);
    const char *keys[] = {closed, pkey, open};
    const char *args[] = {label, SAMPLE_TTL_S, prefix, n};
    return rv_redis_eval(rc, &close_script, 3, keys, 4, args, NULL);
}
