/* tests/integration/it_recorder_pii_key.c: the record's key check
 * (deploy/sql/013_pii_key_check.sql). A recorder started with another
 * pii.key.file than the record's used to write phone_enc values no one
 * could open with the first key. Now:
 *   - a recorder with key A on an empty record writes A's check value,
 *     and a second start with A records as before;
 *   - a start with key B exits 78 with pii_key_mismatch naming B's file
 *     (never a key) and records nothing;
 *   - `revisitctl reveal-phone` with B refuses ("wrong key file for this
 *     record", exit 78), with A prints the number;
 *   - a record without the table (before migration 013) stops the
 *     recorder with pii_key_check_failed, exit 78.
 * The record is a schema of this run's own (the migrations applied with
 * search_path set to it, as `replay rebuild` does), dropped at the end,
 * so the stack's own key and record are never touched. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "it_stack.h"
#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/pg.h"
#include "rv/pii.h"

#define TEST "it_recorder_pii_key"
#define DAY "2005-04-12"
#define DAY_US INT64_C(86400000000)
#define TASKS 3
/* Two keys of this test only (the stack's own key is random). */
#define KEY_A_HEX                                                              \
    "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0"         \
    "c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0"
#define KEY_B_HEX                                                              \
    "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"         \
    "1122334455667788991011121314151617181920212223242526272829303132"
/* Seconds a recorder may take to record a task, or to give up. */
#define WAIT_S 90

static struct {
    const char *build_dir, *dsn, *source_dir;
    char nonce[32], group[64];
    char schema[48], old_schema[48]; /* old: migrations up to 012 */
    char schema_dsn[1024], old_schema_dsn[1024];
    char dir[64], key_a[128], key_b[128];
    char check_a[RV_PII_CHECK_SIZE];
    char task_id[TASKS][RV_ID_SIZE];
    char phone[TASKS][16];
    rv_producer *kp;
    rv_pg *pg; /* the stack's superuser, search_path as the stack's */
    it_kafka k;
} env;

static void exec_ok(const char *sql)
{
    char err[512] = "";
    if (rv_pg_exec(env.pg, sql, 0, NULL, NULL, err, sizeof(err)) != RV_OK) {
        fail_msg("%s: %s", sql, err);
    }
}

static void write_key(const char *path, const char *hex)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    size_t len = strlen(hex);
    assert_int_equal(write(fd, hex, len), (ssize_t)len);
    assert_int_equal(write(fd, "\n", 1), 1);
    assert_int_equal(close(fd), 0);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* deploy/sql/[0-9]*.sql in name order, those named below @p before only
 * (NULL: all), run with search_path set to new schema @p schema. */
static void make_record(const char *schema, const char *before)
{
    char sql[256], err[512] = "", dir[1024];
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
    exec_ok(sql);
    snprintf(dir, sizeof(dir), "%s/deploy/sql", env.source_dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *names[128];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 128) {
        size_t len = strlen(e->d_name);
        if (len > 4 && e->d_name[0] >= '0' && e->d_name[0] <= '9' &&
            strcmp(e->d_name + len - 4, ".sql") == 0 &&
            (before == NULL || strcmp(e->d_name, before) < 0)) {
            names[n] = strdup(e->d_name);
            assert_non_null(names[n]);
            n++;
        }
    }
    closedir(d);
    assert_true(n >= 12);
    qsort(names, n, sizeof(names[0]), name_cmp);
    snprintf(sql, sizeof(sql), "SET search_path TO %s", schema);
    assert_int_equal(rv_pg_exec_script(env.pg, sql, err, sizeof(err)), RV_OK);
    for (size_t i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static char text[256 * 1024];
        size_t len = fread(text, 1, sizeof(text) - 1, f);
        assert_true(len < sizeof(text) - 1);
        text[len] = '\0';
        fclose(f);
        if (rv_pg_exec_script(env.pg, text, err, sizeof(err)) != RV_OK) {
            fail_msg("%s in %s: %s", names[i], schema, err);
        }
        free(names[i]);
    }
    assert_int_equal(
        rv_pg_exec_script(env.pg, "RESET search_path", err, sizeof(err)),
        RV_OK);
}

static void dsn_with_schema(const char *schema, char *out, size_t size)
{
    if (strncmp(env.dsn, "postgres://", 11) == 0 ||
        strncmp(env.dsn, "postgresql://", 13) == 0) {
        snprintf(out, size, "%s%coptions=-csearch_path%%3D%s", env.dsn,
                 strchr(env.dsn, '?') != NULL ? '&' : '?', schema);
    } else {
        snprintf(out, size, "%s options='-csearch_path=%s'", env.dsn, schema);
    }
}

static int setup(void **state)
{
    (void)state;
    env.build_dir = it_need(TEST, "RV_BUILD_DIR");
    env.dsn = it_need(TEST, "RV_IT_PG_DSN");
    env.source_dir = it_need(TEST, "RV_SOURCE_DIR");
    it_kafka_init(&env.k, TEST);
    int pid = (int)getpid();
    /* Letters before the numbers: it_pipeline, reading the same topics
     * later, takes a word of 10 digits in a log line for a phone number
     * (a branch ID in a sampler's rejection, say). */
    snprintf(env.nonce, sizeof(env.nonce), "t%ldp%d", (long)time(NULL), pid);
    snprintf(env.group, sizeof(env.group), "it-pii-key-%s", env.nonce);
    snprintf(env.schema, sizeof(env.schema), "it_pii_key_%d", pid);
    snprintf(env.old_schema, sizeof(env.old_schema), "it_pii_key_old_%d", pid);
    dsn_with_schema(env.schema, env.schema_dsn, sizeof(env.schema_dsn));
    dsn_with_schema(env.old_schema, env.old_schema_dsn,
                    sizeof(env.old_schema_dsn));
    snprintf(env.dir, sizeof(env.dir), "/tmp/it_pii_key_XXXXXX");
    if (mkdtemp(env.dir) == NULL) {
        fprintf(stderr, "%s: mkdtemp: %s\n", TEST, strerror(errno));
        return -1;
    }
    snprintf(env.key_a, sizeof(env.key_a), "%s/a.key", env.dir);
    snprintf(env.key_b, sizeof(env.key_b), "%s/b.key", env.dir);
    /* 11 digits no other test uses: 196, then the pid and the index. */
    for (int i = 0; i < TASKS; i++) {
        snprintf(env.phone[i], sizeof(env.phone[i]), "196%06d%02d",
                 pid % 1000000, i);
    }
    char err[512] = "";
    rv_pii_key *a = NULL;
    if (rv_pii_key_parse(KEY_A_HEX, &a, err, sizeof(err)) != RV_OK ||
        rv_pii_key_check_value(a, env.check_a, sizeof(env.check_a)) != RV_OK ||
        rv_producer_open(&env.k.props, TEST, &env.kp, err, sizeof(err)) !=
            RV_OK ||
        rv_pg_open(env.dsn, &env.pg, err, sizeof(err)) != RV_OK) {
        fprintf(stderr, "%s: %s\n", TEST, err);
        rv_pii_key_free(a);
        return -1;
    }
    rv_pii_key_free(a);
    write_key(env.key_a, KEY_A_HEX);
    write_key(env.key_b, KEY_B_HEX);
    make_record(env.schema, NULL);
    make_record(env.old_schema, "013");
    setenv("RV_GROUP_ID", env.group, 1);
    setenv("RV_TOPICS", "visits.tasks", 1);
    setenv("RV_LOG_LEVEL", "info", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char sql[256];
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", env.schema);
    exec_ok(sql);
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE",
             env.old_schema);
    exec_ok(sql);
    unlink(env.key_a);
    unlink(env.key_b);
    rmdir(env.dir);
    rv_producer_close(env.kp, 5000);
    rv_pg_close(env.pg);
    return 0;
}

/* Visit task @p i of this run, with its phone number, to visits.tasks. */
static void send_task(int i)
{
    char name[96], id[RV_ID_SIZE];
    snprintf(name, sizeof(name), "task%d-%s", i, env.nonce);
    const char *parts[] = {TEST, name};
    rv_id_derive(env.task_id[i], 2, parts);
    snprintf(name, sizeof(name), "sale%d-%s", i, env.nonce);
    rv_id_derive(id, 2, parts);
    int64_t at = it_day_noon_us(DAY);
    rv_task *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    rv_envelope_fill(&t->env, env.task_id[i], at, "it", id);
    snprintf(t->task_id, sizeof(t->task_id), "%s", env.task_id[i]);
    snprintf(t->customer_id, sizeof(t->customer_id), "itpk-c%d-%s", i,
             env.nonce);
    snprintf(t->branch_id, sizeof(t->branch_id), "itpk-%s", env.nonce);
    snprintf(t->store_id, sizeof(t->store_id), "itpk-store");
    snprintf(t->rule_id, sizeof(t->rule_id), "R1");
    snprintf(t->source_event_id, sizeof(t->source_event_id), "%s", id);
    snprintf(t->policy_version, sizeof(t->policy_version), "it-pii-key");
    snprintf(t->phone, sizeof(t->phone), "%s", env.phone[i]);
    t->channel = RV_CHANNEL_PHONE;
    t->attempt = 1;
    t->due_start_us = at + DAY_US;
    t->due_end_us = at + 6 * DAY_US;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_task(t, &buf, &len), RV_OK);
    assert_int_equal(rv_producer_send(env.kp, "visits.tasks", t->customer_id,
                                      buf, len, NULL, 0),
                     RV_OK);
    free(buf);
    free(t);
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
}

/* The one text value of @p sql with up to one parameter, "(none)" if it
 * returns no row. */
static void query_one(const char *sql, const char *param, char *out,
                      size_t size)
{
    const char *params[] = {param};
    rv_pg_result *res = NULL;
    char err[512] = "";
    if (rv_pg_exec(env.pg, sql, param != NULL ? 1 : 0, params, &res, err,
                   sizeof(err)) != RV_OK) {
        fail_msg("%s: %s", sql, err);
    }
    assert_true(rv_pg_result_rows(res) <= 1);
    snprintf(out, size, "%s",
             rv_pg_result_rows(res) == 0 ? "(none)"
                                         : rv_pg_result_value(res, 0, 0));
    rv_pg_result_free(res);
}

/* Rows of this run's task @p i in the run's record. */
static int64_t task_rows(int i)
{
    char sql[256], v[32];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM %s.visit_tasks WHERE task_id = $1",
             env.schema);
    query_one(sql, env.task_id[i], v, sizeof(v));
    return strtoll(v, NULL, 10);
}

/* The check rows of the run's record: "<count> <value>". */
static void check_rows(char *out, size_t size)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*)::text || ' ' || coalesce(max(check_value), '') "
             "FROM %s.pii_key_check",
             env.schema);
    query_one(sql, NULL, out, size);
}

static pid_t spawn_recorder(const char *log_name, const char *key_file,
                            const char *dsn)
{
    const char *vars[] = {"RV_PII_KEY_FILE", key_file, "RV_PG_DSN", dsn, NULL};
    return it_spawn_worker_env(env.build_dir, log_name, "recorder", vars);
}

/* Waits up to WAIT_S for @p pid to exit by itself; returns its exit
 * status, -1 if it was still running (then it is killed) or did not
 * exit. */
static int wait_exit(pid_t pid)
{
    int status = 0;
    for (int i = 0; i < WAIT_S * 5; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        it_sleep_ms(200);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* The recorder's log <build_dir>/<name>_recorder.log, its first
 * @p size - 1 bytes (the events looked for come at start). */
static void read_log(const char *name, char *out, size_t size)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s_recorder.log", env.build_dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
}

/* A recorder with key A records task @p i (log <build_dir>/@p log_name
 * _recorder.log) and stops; the record's check is A's, @p first: this
 * start wrote it. */
static void record_with_key_a(int i, const char *log_name, bool first)
{
    send_task(i);
    pid_t pid = spawn_recorder(log_name, env.key_a, env.schema_dsn);
    for (int n = 0; n < WAIT_S * 5 && task_rows(i) == 0; n++) {
        it_sleep_ms(200);
    }
    const char *names[] = {"recorder"};
    assert_int_equal(it_stop_workers(&pid, names, 1), 0);
    assert_int_equal(task_rows(i), 1);
    char rows[128], want[128], log[65536];
    check_rows(rows, sizeof(rows));
    snprintf(want, sizeof(want), "1 %s", env.check_a);
    assert_string_equal(rows, want);
    read_log(log_name, log, sizeof(log));
    assert_non_null(strstr(log, "event=pii_key_checked"));
    assert_non_null(strstr(log, first ? "first=true" : "first=false"));
}

static void test_recorder_first_start_writes_check_value(void **state)
{
    (void)state;
    char rows[128];
    check_rows(rows, sizeof(rows));
    assert_string_equal(rows, "0 "); /* a new record: no check yet */
    record_with_key_a(0, TEST "_a1", true);
}

static void test_recorder_second_start_same_key_records(void **state)
{
    (void)state;
    record_with_key_a(1, TEST "_a2", false);
}

static void test_recorder_other_key_exits_78_and_records_nothing(void **state)
{
    (void)state;
    send_task(2);
    pid_t pid = spawn_recorder(TEST "_b", env.key_b, env.schema_dsn);
    assert_int_equal(wait_exit(pid), 78);
    assert_int_equal(task_rows(2), 0);
    char rows[128], want[128], log[65536];
    check_rows(rows, sizeof(rows));
    snprintf(want, sizeof(want), "1 %s", env.check_a);
    assert_string_equal(rows, want);
    read_log(TEST "_b", log, sizeof(log));
    assert_non_null(strstr(log, "event=pii_key_mismatch"));
    char field[256];
    snprintf(field, sizeof(field), "key_file=%s", env.key_b);
    assert_non_null(strstr(log, field));
    /* Neither key, in any case, nor a part of one. */
    assert_null(strstr(log, "a1a2a3a4a5a6"));
    assert_null(strstr(log, "0f1e2d3c4b5a"));
    assert_null(strstr(log, "A1A2A3A4A5A6"));
    assert_null(strstr(log, "0F1E2D3C4B5A"));
}

static void test_reveal_phone_refuses_other_key_file(void **state)
{
    (void)state;
    char out[4096], err[4096];
    const char *args[] = {"reveal-phone", "--task",       env.task_id[0],
                          "--dsn",        env.schema_dsn, NULL};
    setenv("RV_PII_KEY_FILE", env.key_b, 1);
    assert_int_equal(it_run_ctl(env.build_dir, args, out, err, sizeof(out)),
                     78);
    assert_string_equal(out, "");
    char want[256];
    snprintf(want, sizeof(want), "wrong key file for this record: %s",
             env.key_b);
    assert_non_null(strstr(err, want));
    assert_null(strstr(err, env.phone[0]));

    setenv("RV_PII_KEY_FILE", env.key_a, 1);
    assert_int_equal(it_run_ctl(env.build_dir, args, out, err, sizeof(out)), 0);
    char line[32];
    snprintf(line, sizeof(line), "%s\n", env.phone[0]);
    assert_string_equal(out, line);
    unsetenv("RV_PII_KEY_FILE");
}

/* A record from before migration 013: the recorder does not start
 * rather than record without the check. */
static void test_recorder_without_check_table_exits_78(void **state)
{
    (void)state;
    pid_t pid = spawn_recorder(TEST "_old", env.key_a, env.old_schema_dsn);
    assert_int_equal(wait_exit(pid), 78);
    char log[65536];
    read_log(TEST "_old", log, sizeof(log));
    assert_non_null(strstr(log, "event=pii_key_check_failed"));
    assert_non_null(strstr(log, "sqlstate=42P01"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorder_first_start_writes_check_value),
        cmocka_unit_test(test_recorder_second_start_same_key_records),
        cmocka_unit_test(test_recorder_other_key_exits_78_and_records_nothing),
        cmocka_unit_test(test_reveal_phone_refuses_other_key_file),
        cmocka_unit_test(test_recorder_without_check_table_exits_78),
    };
    return cmocka_run_group_tests_name(TEST, tests, setup, teardown);
}
