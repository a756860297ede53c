/* tests/integration/it_pg.c: common/pg.c against a real PostgreSQL
 * (RV_IT_PG_DSN): parameters, error classes, and recovery after the
 * server drops the session. Needs no schema: it only uses temp tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rv/pg.h"

static const char *dsn(void)
{
    const char *d = getenv("RV_IT_PG_DSN");
    if (d == NULL || d[0] == '\0') {
        fail_msg("RV_IT_PG_DSN is not set: start PostgreSQL and set it");
    }
    return d;
}

static rv_pg *open_pg(void)
{
    rv_pg *pg = NULL;
    char errstr[512] = "";
    rv_err err = rv_pg_open(dsn(), &pg, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fail_msg("cannot reach PostgreSQL at RV_IT_PG_DSN: %s", errstr);
    }
    return pg;
}

/* Run @p sql without parameters and return the single value as text
 * (copied into @p out). */
static void query_one(rv_pg *pg, const char *sql, char *out, size_t out_size)
{
    rv_pg_result *res = NULL;
    char errstr[512] = "";
    rv_err err = rv_pg_exec(pg, sql, 0, NULL, &res, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fail_msg("%s: %s", sql, errstr);
    }
    assert_int_equal(rv_pg_result_rows(res), 1);
    snprintf(out, out_size, "%s", rv_pg_result_value(res, 0, 0));
    rv_pg_result_free(res);
}

static void test_pg_exec_with_text_params(void **state)
{
    (void)state;
    rv_pg *pg = open_pg();
    const char *params[] = {"2", "40", NULL, "it's \"quoted\"; DROP TABLE x"};
    rv_pg_result *res = NULL;
    char errstr[256] = "";
    assert_int_equal(rv_pg_exec(pg,
                                "SELECT $1::int + $2::int, $3::text, "
                                "$4::text, $3::text IS NULL",
                                4, params, &res, errstr, sizeof(errstr)),
                     RV_OK);
    assert_int_equal(rv_pg_result_rows(res), 1);
    assert_string_equal(rv_pg_result_value(res, 0, 0), "42");
    assert_true(rv_pg_result_is_null(res, 0, 1));
    assert_string_equal(rv_pg_result_value(res, 0, 1), "");
    assert_string_equal(rv_pg_result_value(res, 0, 2),
                        "it's \"quoted\"; DROP TABLE x");
    assert_string_equal(rv_pg_result_value(res, 0, 3), "t");
    assert_false(rv_pg_result_is_null(res, 0, 0));
    /* Outside the result: NULL and "", never a crash. */
    assert_string_equal(rv_pg_result_value(res, 1, 0), "");
    assert_string_equal(rv_pg_result_value(res, 0, 9), "");
    assert_true(rv_pg_result_is_null(res, 5, 5));
    assert_int_equal(rv_pg_result_affected(res), 1); /* SELECT 1 */
    rv_pg_result_free(res);

    /* Affected rows of an INSERT, and out == NULL. */
    assert_int_equal(rv_pg_exec(pg,
                                "CREATE TEMP TABLE it_pg_t (x int "
                                "PRIMARY KEY)",
                                0, NULL, NULL, errstr, sizeof(errstr)),
                     RV_OK);
    const char *rows[] = {"1", "2", "2"};
    res = NULL;
    assert_int_equal(rv_pg_exec(pg,
                                "INSERT INTO it_pg_t VALUES ($1::int), "
                                "($2::int), ($3::int) ON CONFLICT DO NOTHING",
                                3, rows, &res, errstr, sizeof(errstr)),
                     RV_OK);
    assert_int_equal(rv_pg_result_affected(res), 2);
    assert_int_equal(rv_pg_result_rows(res), 0);
    rv_pg_result_free(res);
    assert_string_equal(rv_pg_sqlstate(pg), "");
    rv_pg_result_free(NULL);
    rv_pg_close(pg);
    rv_pg_close(NULL);
}

static void test_pg_sql_error_is_invalid_with_sqlstate(void **state)
{
    (void)state;
    rv_pg *pg = open_pg();
    char errstr[256] = "";
    rv_pg_result *res = NULL;
    assert_int_equal(rv_pg_exec(pg, "SELECT 1 / $1::int", 1,
                                (const char *[]){"0"}, &res, errstr,
                                sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_null(res);
    assert_non_null(strstr(errstr, "22012"));
    assert_non_null(strstr(errstr, "division by zero"));
    assert_null(strchr(errstr, '\n'));
    assert_string_equal(rv_pg_sqlstate(pg), "22012");

    assert_int_equal(
        rv_pg_exec(pg, "SELEC 1", 0, NULL, NULL, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "42601"));

    /* Serialization failures and deadlocks are retriable conflicts. */
    assert_int_equal(rv_pg_exec(pg,
                                "DO $$BEGIN RAISE EXCEPTION 'it' USING "
                                "ERRCODE = '40001'; END$$",
                                0, NULL, NULL, errstr, sizeof(errstr)),
                     RV_ERR_CONFLICT);
    assert_string_equal(rv_pg_sqlstate(pg), "40001");
    assert_int_equal(rv_pg_exec(pg,
                                "DO $$BEGIN RAISE EXCEPTION 'it' USING "
                                "ERRCODE = '40P01'; END$$",
                                0, NULL, NULL, errstr, sizeof(errstr)),
                     RV_ERR_CONFLICT);

    /* A failed transaction stays failed until rolled back. */
    assert_int_equal(rv_pg_exec(pg, "BEGIN", 0, NULL, NULL, NULL, 0), RV_OK);
    assert_int_equal(rv_pg_exec(pg, "SELECT x", 0, NULL, NULL, NULL, 0),
                     RV_ERR_INVALID);
    assert_int_equal(
        rv_pg_exec(pg, "SELECT 1", 0, NULL, NULL, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "25P02"));
    assert_int_equal(rv_pg_exec(pg, "ROLLBACK", 0, NULL, NULL, NULL, 0), RV_OK);

    /* A notice goes to rv_log and the statement still succeeds. */
    assert_int_equal(rv_pg_exec(pg, "DO $$BEGIN RAISE NOTICE 'it_pg'; END$$", 0,
                                NULL, NULL, NULL, 0),
                     RV_OK);

    /* Beyond the protocol's parameter limit nothing is sent. */
    assert_int_equal(rv_pg_exec(pg, "SELECT 1", 65536, (const char *[]){"1"},
                                NULL, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    rv_pg_close(pg);
}

static void test_pg_terminated_session_reconnects(void **state)
{
    (void)state;
    rv_pg *pg = open_pg();
    rv_pg *admin = open_pg();
    char pid[32], pid2[32], killed[8];
    query_one(pg, "SELECT pg_backend_pid()", pid, sizeof(pid));

    /* Kill pg's backend from the other session, and wait until it is
     * gone (the second argument waits up to 5 s). */
    rv_pg_result *res = NULL;
    char errstr[512] = "";
    assert_int_equal(
        rv_pg_exec(admin, "SELECT pg_terminate_backend($1::int, 5000)", 1,
                   (const char *[]){pid}, &res, errstr, sizeof(errstr)),
        RV_OK);
    snprintf(killed, sizeof(killed), "%s", rv_pg_result_value(res, 0, 0));
    rv_pg_result_free(res);
    assert_string_equal(killed, "t");

    /* The next call finds the session gone: UNAVAILABLE, and the
     * connection was reset on the way. */
    res = NULL;
    assert_int_equal(
        rv_pg_exec(pg, "SELECT 1", 0, NULL, &res, errstr, sizeof(errstr)),
        RV_ERR_UNAVAILABLE);
    assert_null(res);
    assert_true(strlen(errstr) > 0);
    /* The one after that runs, on a new backend. */
    query_one(pg, "SELECT pg_backend_pid()", pid2, sizeof(pid2));
    assert_string_not_equal(pid, pid2);
    rv_pg_close(admin);
    rv_pg_close(pg);
}

/* Adds $1 and $2 as prepared statement "it_add"; the sum as a number. */
static long add_prepared(rv_pg *pg, const char *a, const char *b,
                         rv_err *err_out)
{
    rv_pg_result *res = NULL;
    char errstr[512] = "";
    *err_out = rv_pg_exec_prepared(pg, "it_add", "SELECT $1::int + $2::int", 2,
                                   (const char *[]){a, b}, &res, errstr,
                                   sizeof(errstr));
    long sum = -1;
    if (*err_out == RV_OK) {
        assert_int_equal(rv_pg_result_rows(res), 1);
        sum = strtol(rv_pg_result_value(res, 0, 0), NULL, 10);
    }
    rv_pg_result_free(res);
    return sum;
}

/* How many statements this session has prepared under @p name. */
static long prepared_count(rv_pg *pg, const char *name)
{
    rv_pg_result *res = NULL;
    char errstr[512] = "";
    assert_int_equal(rv_pg_exec(pg,
                                "SELECT count(*) FROM pg_prepared_statements "
                                "WHERE name = $1",
                                1, (const char *[]){name}, &res, errstr,
                                sizeof(errstr)),
                     RV_OK);
    long n = strtol(rv_pg_result_value(res, 0, 0), NULL, 10);
    rv_pg_result_free(res);
    return n;
}

static void test_pg_prepared_statement(void **state)
{
    (void)state;
    rv_pg *pg = open_pg();
    rv_err err = RV_ERR_INVALID;
    assert_int_equal(prepared_count(pg, "it_add"), 0);
    assert_int_equal(add_prepared(pg, "2", "40", &err), 42);
    assert_int_equal(err, RV_OK);
    /* Prepared once; the second call only executes, with its own values. */
    assert_int_equal(add_prepared(pg, "1", "1", &err), 2);
    assert_int_equal(prepared_count(pg, "it_add"), 1);

    /* A rolled-back transaction keeps the session's statement. */
    char errstr[512] = "";
    assert_int_equal(
        rv_pg_exec(pg, "BEGIN", 0, NULL, NULL, errstr, sizeof(errstr)), RV_OK);
    assert_int_equal(add_prepared(pg, "3", "4", &err), 7);
    assert_int_equal(
        rv_pg_exec(pg, "ROLLBACK", 0, NULL, NULL, errstr, sizeof(errstr)),
        RV_OK);
    assert_int_equal(add_prepared(pg, "5", "5", &err), 10);

    /* A bad value is the statement's error, as with rv_pg_exec. */
    assert_int_equal(add_prepared(pg, "x", "1", &err), -1);
    assert_int_equal(err, RV_ERR_INVALID);
    assert_string_equal(rv_pg_sqlstate(pg), "22P02");

    /* A new session (the old one killed) prepares it again. */
    char pid[32];
    query_one(pg, "SELECT pg_backend_pid()", pid, sizeof(pid));
    rv_pg *admin = open_pg();
    assert_int_equal(
        rv_pg_exec(admin, "SELECT pg_terminate_backend($1::int, 5000)", 1,
                   (const char *[]){pid}, NULL, errstr, sizeof(errstr)),
        RV_OK);
    rv_pg_close(admin);
    assert_int_equal(add_prepared(pg, "1", "2", &err), -1);
    assert_int_equal(err, RV_ERR_UNAVAILABLE);
    assert_int_equal(add_prepared(pg, "1", "2", &err), 3);
    assert_int_equal(err, RV_OK);
    assert_int_equal(prepared_count(pg, "it_add"), 1);

    /* Names: empty, too long. */
    char long_name[80];
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(rv_pg_exec_prepared(pg, "", "SELECT 1", 0, NULL, NULL,
                                         errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_int_equal(rv_pg_exec_prepared(pg, long_name, "SELECT 1", 0, NULL,
                                         NULL, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    rv_pg_close(pg);
}

/* rv_pg_txn_*: rows in it_txn (a temp table of this session). */
static long txn_rows(rv_pg *pg, const char *where)
{
    char sql[128], out[32];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM it_txn WHERE %s", where);
    query_one(pg, sql, out, sizeof(out));
    return strtol(out, NULL, 10);
}

static void txn_prepare(rv_pg *pg)
{
    char errstr[512] = "";
    assert_int_equal(rv_pg_exec(pg,
                                "CREATE TEMP TABLE it_txn (id int PRIMARY KEY)",
                                0, NULL, NULL, errstr, sizeof(errstr)),
                     RV_OK);
    assert_int_equal(
        rv_pg_prepare(pg, "it_ins",
                      "INSERT INTO it_txn SELECT unnest($1::int[]) "
                      "ON CONFLICT DO NOTHING",
                      1, errstr, sizeof(errstr)),
        RV_OK);
    assert_int_equal(
        rv_pg_prepare(pg, "it_ins_strict",
                      "INSERT INTO it_txn SELECT unnest($1::int[])", 1, errstr,
                      sizeof(errstr)),
        RV_OK);
}

static rv_err txn_send(rv_pg *pg, const char *name, const char *ids,
                       bool counted)
{
    char errstr[512] = "";
    return rv_pg_txn_send(pg, name, 1, (const char *[]){ids}, counted, errstr,
                          sizeof(errstr));
}

static void test_pg_pipelined_txn(void **state)
{
    (void)state;
    rv_pg *pg = open_pg();
    txn_prepare(pg);
    char errstr[512] = "";
    int64_t affected = -1;

    /* Commit: every statement, counted rows only. */
    assert_int_equal(rv_pg_txn_begin(pg, errstr, sizeof(errstr)), RV_OK);
    assert_int_equal(txn_send(pg, "it_ins", "{1,2,3}", true), RV_OK);
    assert_int_equal(txn_send(pg, "it_ins", "{3,4}", true), RV_OK);
    assert_int_equal(txn_send(pg, "it_ins", "{5}", false), RV_OK);
    /* No other call while it is open. */
    assert_int_equal(
        rv_pg_exec(pg, "SELECT 1", 0, NULL, NULL, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_int_equal(rv_pg_txn_commit(pg, &affected, errstr, sizeof(errstr)),
                     RV_OK);
    assert_int_equal(affected, 4);
    assert_int_equal(txn_rows(pg, "true"), 5);

    /* A bad value in the second statement: none of it commits, the
     * SQLSTATE names it, and the session is usable after. */
    assert_int_equal(rv_pg_txn_begin(pg, errstr, sizeof(errstr)), RV_OK);
    assert_int_equal(txn_send(pg, "it_ins", "{10}", true), RV_OK);
    assert_int_equal(txn_send(pg, "it_ins", "{x}", true), RV_OK);
    assert_int_equal(txn_send(pg, "it_ins", "{11}", true), RV_OK);
    errstr[0] = '\0';
    assert_int_equal(rv_pg_txn_commit(pg, &affected, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_string_equal(rv_pg_sqlstate(pg), "22P02");
    assert_non_null(strstr(errstr, "22P02"));
    assert_int_equal(txn_rows(pg, "id IN (10, 11)"), 0);

    /* A row error (unique violation) likewise. */
    assert_int_equal(rv_pg_txn_begin(pg, errstr, sizeof(errstr)), RV_OK);
    assert_int_equal(txn_send(pg, "it_ins", "{12}", true), RV_OK);
    assert_int_equal(txn_send(pg, "it_ins_strict", "{1}", true), RV_OK);
    assert_int_equal(rv_pg_txn_commit(pg, &affected, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_string_equal(rv_pg_sqlstate(pg), "23505");
    assert_int_equal(txn_rows(pg, "id = 12"), 0);

    /* Abort: what was sent is rolled back. */
    assert_int_equal(rv_pg_txn_begin(pg, errstr, sizeof(errstr)), RV_OK);
    assert_int_equal(txn_send(pg, "it_ins", "{20}", true), RV_OK);
    rv_pg_txn_abort(pg);
    rv_pg_txn_abort(pg); /* a no-op now */
    assert_int_equal(txn_rows(pg, "id = 20"), 0);

    /* A statement never prepared ends the transaction unsent. */
    assert_int_equal(rv_pg_txn_begin(pg, errstr, sizeof(errstr)), RV_OK);
    assert_int_equal(txn_send(pg, "it_ins", "{21}", true), RV_OK);
    assert_int_equal(txn_send(pg, "it_nope", "{22}", true), RV_ERR_INVALID);
    assert_int_equal(rv_pg_txn_commit(pg, &affected, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_int_equal(txn_rows(pg, "id = 21"), 0);

    /* Outside a transaction, and twice begun. */
    assert_int_equal(txn_send(pg, "it_ins", "{23}", true), RV_ERR_INVALID);
    assert_int_equal(rv_pg_txn_begin(pg, errstr, sizeof(errstr)), RV_OK);
    assert_int_equal(rv_pg_txn_begin(pg, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_int_equal(
        rv_pg_prepare(pg, "it_other", "SELECT 1", 0, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_int_equal(rv_pg_txn_commit(pg, &affected, errstr, sizeof(errstr)),
                     RV_OK);
    assert_int_equal(affected, 0);
    assert_int_equal(txn_rows(pg, "true"), 5);
    rv_pg_close(pg);
}

/* The session dies between the sends and the commit: UNAVAILABLE, and
 * the next call runs on a new session out of pipeline mode. */
static void test_pg_pipelined_txn_session_lost(void **state)
{
    (void)state;
    rv_pg *pg = open_pg();
    txn_prepare(pg);
    char pid[32], pid2[32], errstr[512] = "";
    query_one(pg, "SELECT pg_backend_pid()", pid, sizeof(pid));
    assert_int_equal(rv_pg_txn_begin(pg, errstr, sizeof(errstr)), RV_OK);
    assert_int_equal(txn_send(pg, "it_ins", "{1}", true), RV_OK);
    rv_pg *admin = open_pg();
    assert_int_equal(
        rv_pg_exec(admin, "SELECT pg_terminate_backend($1::int, 5000)", 1,
                   (const char *[]){pid}, NULL, errstr, sizeof(errstr)),
        RV_OK);
    rv_pg_close(admin);
    int64_t affected = -1;
    assert_int_equal(rv_pg_txn_commit(pg, &affected, errstr, sizeof(errstr)),
                     RV_ERR_UNAVAILABLE);
    assert_int_equal(affected, -1);
    query_one(pg, "SELECT pg_backend_pid()", pid2, sizeof(pid2));
    assert_string_not_equal(pid, pid2);
    /* A new session: statements must be prepared again. */
    txn_prepare(pg);
    assert_int_equal(rv_pg_txn_begin(pg, errstr, sizeof(errstr)), RV_OK);
    assert_int_equal(txn_send(pg, "it_ins", "{7}", true), RV_OK);
    assert_int_equal(rv_pg_txn_commit(pg, &affected, errstr, sizeof(errstr)),
                     RV_OK);
    assert_int_equal(affected, 1);
    rv_pg_close(pg);
}

static void test_pg_open_failure_hides_password(void **state)
{
    (void)state;
    rv_pg *pg = NULL;
    char errstr[512] = "";
    assert_int_equal(rv_pg_open("host=127.0.0.1 port=1 user=nobody "
                                "password=s3cret-pw connect_timeout=2",
                                &pg, errstr, sizeof(errstr)),
                     RV_ERR_UNAVAILABLE);
    assert_null(pg);
    assert_true(strlen(errstr) > 0);
    assert_null(strstr(errstr, "s3cret-pw"));
    assert_null(strchr(errstr, '\n'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pg_exec_with_text_params),
        cmocka_unit_test(test_pg_sql_error_is_invalid_with_sqlstate),
        cmocka_unit_test(test_pg_terminated_session_reconnects),
        cmocka_unit_test(test_pg_prepared_statement),
        cmocka_unit_test(test_pg_pipelined_txn),
        cmocka_unit_test(test_pg_pipelined_txn_session_lost),
        cmocka_unit_test(test_pg_open_failure_hides_password),
    };
    return cmocka_run_group_tests_name("it_pg", tests, NULL, NULL);
}
