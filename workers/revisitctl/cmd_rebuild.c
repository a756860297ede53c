/* workers/revisitctl/cmd_rebuild.c: `revisitctl rebuild-state`. Restores
 * the assigner's Redis state (bookings, capacity counters) from the
 * record, so that losing Redis loses nothing (DESIGN §4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_args.h"
#include "rv/booking.h"
#include "rv/log.h"
#include "rv/pg.h"
#include "rv/policy.h"
#include "rv/redis.h"

/* Every booking attempt with the rule and branch that choose its pool.
 * Days are local day numbers; times UTC µs. */
static const char *const rebuild_sql =
    "SELECT a.task_id, a.attempt, a.status, coalesce(a.agent_id, ''),"
    " coalesce((a.day - date '1970-01-01')::text, ''),"
    " coalesce(a.window_index::text, ''),"
    " coalesce((extract(epoch FROM a.window_start) * 1000000)::bigint::text,"
    " ''),"
    " coalesce((extract(epoch FROM a.window_end) * 1000000)::bigint::text,"
    " ''),"
    " coalesce(a.reason, ''), t.rule_id, t.branch_id"
    " FROM assignments a JOIN visit_tasks t USING (task_id)"
    " ORDER BY a.task_id, a.attempt";

/* Between a counters hash and its field in a counters entry. */
#define FIELD_SEP '\x1f'

typedef struct counters {
    char **keys; /* one entry per booking and counter, "hash\x1ffield":
                    sorted, counted */
    size_t count;
    size_t cap;
} counters;

static int add_key(counters *c, const char *hash, const char *field)
{
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        char **k = realloc(c->keys, cap * sizeof(*k));
        if (k == NULL) {
            return -1;
        }
        c->keys = k;
        c->cap = cap;
    }
    size_t hl = strlen(hash), fl = strlen(field);
    char *k = malloc(hl + fl + 2);
    if (k == NULL) {
        return -1;
    }
    memcpy(k, hash, hl);
    k[hl] = FIELD_SEP;
    memcpy(k + hl + 1, field, fl + 1);
    c->keys[c->count++] = k;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs @p argv (@p argc words); an error reply is reported and
 * RV_ERR_UNAVAILABLE. */
static rv_err redis_run(rv_redis *rc, size_t argc, const char *const *argv)
{
    rv_redis_reply reply;
    rv_err err = rv_redis_command(rc, argc, argv, &reply);
    if (err != RV_OK) {
        return err;
    }
    if (reply.type == RV_REPLY_ERR) {
        fprintf(stderr, "rebuild-state: %s %s: %s\n", argv[0], argv[1],
                reply.str);
        err = RV_ERR_UNAVAILABLE;
    }
    rv_redis_replies_fini(&reply, 1);
    return err;
}

static rv_err redis_set(rv_redis *rc, const char *key, const char *value)
{
    /* With the expiry the assigner's script gives it (issue 6 no. 5). */
    const char *argv[] = {"SET", key, value, "EX", RV_STATE_TTL_S_TEXT};
    return redis_run(rc, 5, argv);
}

/* Writes the booking of one row and queues its counters. */
static rv_err restore_row(const rv_policy *p, const rv_pg_result *res,
                          size_t row, rv_redis *rc, counters *cnt,
                          size_t *bookings)
{
    const char *task_id = rv_pg_result_value(res, row, 0);
    unsigned attempt =
        (unsigned)strtoul(rv_pg_result_value(res, row, 1), NULL, 10);
    const char *status = rv_pg_result_value(res, row, 2);
    const char *rule_id = rv_pg_result_value(res, row, 9);
    const char *branch = rv_pg_result_value(res, row, 10);
    const char *pool = rv_rule_pool(rv_policy_rule(p, rule_id), branch);
    char key[RV_BOOKING_KEY_SIZE], value[RV_BOOKING_KEY_SIZE];
    rv_booking_key(key, sizeof(key), pool, task_id, attempt);
    if (strcmp(status, "assigned") != 0) {
        /* Only a booking that found every slot full left a key; the other
         * reasons (no window, no agent) never reached Redis. */
        if (strcmp(rv_pg_result_value(res, row, 8), RV_BOOKING_FULL_REASON) !=
            0) {
            return RV_OK;
        }
        (*bookings)++;
        return redis_set(rc, key, RV_BOOKING_NONE);
    }
    rv_booked b = {0};
    snprintf(b.agent_id, sizeof(b.agent_id), "%s",
             rv_pg_result_value(res, row, 3));
    b.day = strtoll(rv_pg_result_value(res, row, 4), NULL, 10);
    b.window = (int)strtol(rv_pg_result_value(res, row, 5), NULL, 10);
    b.start_us = strtoll(rv_pg_result_value(res, row, 6), NULL, 10);
    b.end_us = strtoll(rv_pg_result_value(res, row, 7), NULL, 10);
    if (rv_pg_result_value(res, row, 5)[0] == '\0') {
        fprintf(stderr,
                "rebuild-state: task %s attempt %u has no window index "
                "(recorded before migration 002); skipped\n",
                task_id, attempt);
        return RV_OK;
    }
    rv_booking_label(value, sizeof(value), &b);
    rv_err err = redis_set(rc, key, value);
    if (err != RV_OK) {
        return err;
    }
    (*bookings)++;
    char hash[RV_BOOKING_KEY_SIZE], day_field[RV_BOOKING_KEY_SIZE],
        win_field[RV_BOOKING_KEY_SIZE];
    rv_booking_counters_key(hash, sizeof(hash), pool, b.day);
    rv_booking_day_field(day_field, sizeof(day_field), b.agent_id);
    rv_booking_window_field(win_field, sizeof(win_field), b.agent_id, b.window);
    return add_key(cnt, hash, day_field) == 0 &&
                   add_key(cnt, hash, win_field) == 0
               ? RV_OK
               : RV_ERR_NOMEM;
}

/* HSET @p hash @p field @p value, then the expiry the assigner's script
 * gives the hash (issue 6 no. 5). */
static rv_err redis_hset(rv_redis *rc, const char *hash, const char *field,
                         const char *value)
{
    const char *hset[] = {"HSET", hash, field, value};
    const char *expire[] = {"EXPIRE", hash, RV_STATE_TTL_S_TEXT};
    rv_err err = redis_run(rc, 4, hset);
    return err == RV_OK ? redis_run(rc, 3, expire) : err;
}

/* Sets every counter to the number of bookings behind it. */
static rv_err write_counters(counters *cnt, rv_redis *rc, size_t *written)
{
    if (cnt->count > 0) {
        qsort(cnt->keys, cnt->count, sizeof(*cnt->keys), cmp_str);
    }
    rv_err err = RV_OK;
    for (size_t i = 0; i < cnt->count && err == RV_OK;) {
        size_t j = i;
        while (j < cnt->count && strcmp(cnt->keys[j], cnt->keys[i]) == 0) {
            j++;
        }
        char n[24];
        snprintf(n, sizeof(n), "%zu", j - i);
        char *sep = strchr(cnt->keys[i], FIELD_SEP);
        *sep = '\0';
        err = redis_hset(rc, cnt->keys[i], sep + 1, n);
        *sep = FIELD_SEP;
        (*written)++;
        i = j;
    }
    return err;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: revisitctl rebuild-state [--dsn DSN] [--redis-url "
                 "URL] [--policy PATH]\n"
                 "  restore every booking and capacity counter of the "
                 "assigner in Redis\n"
                 "  from PostgreSQL; DSN, URL and PATH default to "
                 "$RV_PG_DSN, $RV_REDIS_URL\n"
                 "  and $RV_POLICY_PATH (else "
                 "deploy/policy/default.yaml)\n");
}

int rv_ctl_rebuild_state(int argc, char **argv)
{
    const char *dsn = getenv("RV_PG_DSN");
    const char *url = getenv("RV_REDIS_URL");
    const char *policy_path = getenv("RV_POLICY_PATH");
    if (policy_path == NULL) {
        policy_path = "deploy/policy/default.yaml";
    }
    for (int i = 1; i < argc; i++) {
        char errstr[256] = "";
        rv_err err = RV_OK;
        if (ctl_arg_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--dsn") == 0) {
            err = ctl_arg_value(argc, argv, &i, &dsn, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--redis-url") == 0) {
            err = ctl_arg_value(argc, argv, &i, &url, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--policy") == 0) {
            err = ctl_arg_value(argc, argv, &i, &policy_path, errstr,
                                sizeof(errstr));
        } else {
            rv_errf(errstr, sizeof(errstr), "unknown argument \"%s\"", argv[i]);
            err = RV_ERR_INVALID;
        }
        if (err != RV_OK) {
            fprintf(stderr, "rebuild-state: %s\n", errstr);
            usage(stderr);
            return CTL_EX_USAGE;
        }
    }
    if (dsn == NULL || url == NULL) {
        fprintf(stderr, "rebuild-state: set RV_PG_DSN and RV_REDIS_URL (or "
                        "--dsn, --redis-url)\n");
        return 78;
    }
    rv_log_init("revisitctl", RV_LOG_WARN, RV_LOG_LOGFMT);
    char errstr[512] = "";
    rv_policy *p = NULL;
    rv_pg *pg = NULL;
    rv_redis *rc = NULL;
    rv_pg_result *res = NULL;
    counters cnt = {0};
    size_t bookings = 0, written = 0;
    int code = 1;
    if (rv_policy_load(policy_path, &p, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "rebuild-state: %s\n", errstr);
        code = 78;
        goto out;
    }
    if (rv_pg_open(dsn, &pg, errstr, sizeof(errstr)) != RV_OK ||
        rv_redis_open(url, 5000, &rc, errstr, sizeof(errstr)) != RV_OK ||
        rv_pg_exec(pg, rebuild_sql, 0, NULL, &res, errstr, sizeof(errstr)) !=
            RV_OK) {
        fprintf(stderr, "rebuild-state: %s\n", errstr);
        goto out;
    }
    rv_err err = RV_OK;
    for (size_t row = 0; row < rv_pg_result_rows(res) && err == RV_OK; row++) {
        err = restore_row(p, res, row, rc, &cnt, &bookings);
    }
    if (err == RV_OK) {
        err = write_counters(&cnt, rc, &written);
    }
    if (err != RV_OK) {
        fprintf(stderr, "rebuild-state: %s\n", rv_err_str(err));
        goto out;
    }
    printf("rebuild-state: bookings=%zu counters=%zu\n", bookings, written);
    code = 0;
out:
    for (size_t i = 0; i < cnt.count; i++) {
        free(cnt.keys[i]);
    }
    free(cnt.keys);
    rv_pg_result_free(res);
    rv_redis_close(rc);
    rv_pg_close(pg);
    rv_policy_free(p);
    return code;
}
