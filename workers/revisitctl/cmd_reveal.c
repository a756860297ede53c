/* workers/revisitctl/cmd_reveal.c: `revisitctl reveal-phone` (issue 6),
 * the number of one visit task for an agent's screen or an auditor.
 *
 * Two keys must both turn: PostgreSQL decides who may (a member of
 * revisit_reveal, and row-level security decides which tasks the user
 * can read at all), and only a holder of the recorder's key file can
 * open phone_enc. The number goes to stdout and nowhere else: never to
 * stderr, never to a log line. A key file other than the one the record
 * was written with (pii_key_check, deploy/sql/013_pii_key_check.sql) is
 * refused before anything is opened. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_args.h"
#include "rv/log.h"
#include "rv/pg.h"
#include "rv/pii.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: revisitctl reveal-phone --task TASK_ID [--dsn DSN]\n"
            "  Prints the phone number of visit task TASK_ID, opened from\n"
            "  visit_tasks.phone_enc with the key file of "
            "$RV_PII_KEY_FILE,\n"
            "  if the PostgreSQL user ($RV_PG_DSN or --dsn) is a member of\n"
            "  role revisit_reveal (else exit 77) and may read the task.\n"
            "  Exit status: 0 printed, 1 no such task visible or no number,\n"
            "  64 usage, 69 PostgreSQL failed, 77 refused, 78 no database,\n"
            "  no key file, or a key file other than the record's "
            "(pii_key_check).\n");
}

/* The record's key check (deploy/sql/013_pii_key_check.sql) against
 * @p key, so that a wrong key file is named as such rather than as a
 * number that fails to authenticate. Returns 0 (the same key, or no
 * check recorded: a record from before migration 013 or with nothing in
 * it yet), 78 another key's record, 77 no right to read the check, 69
 * PostgreSQL failed. */
static int check_key(rv_pg *pg, const rv_pii_key *key, const char *key_file)
{
    char value[RV_PII_CHECK_SIZE];
    if (rv_pii_key_check_value(key, value, sizeof(value)) != RV_OK) {
        fprintf(stderr, "reveal-phone: OpenSSL HMAC-SHA256 failed\n");
        return 70;
    }
    rv_pg_result *res = NULL;
    char errstr[512] = "";
    if (rv_pg_exec(pg, "SELECT check_value FROM pii_key_check", 0, NULL, &res,
                   errstr, sizeof(errstr)) != RV_OK) {
        const char *state = rv_pg_sqlstate(pg);
        if (strcmp(state, "42P01") == 0) {
            return 0; /* undefined_table: before migration 013 */
        }
        fprintf(stderr, "reveal-phone: pii_key_check: %s\n", errstr);
        return strcmp(state, "42501") == 0 ? RV_CTL_EX_NOPERM : 69;
    }
    int code = 0;
    if (rv_pg_result_rows(res) > 0 &&
        strcmp(rv_pg_result_value(res, 0, 0), value) != 0) {
        fprintf(stderr,
                "reveal-phone: wrong key file for this record: %s (its "
                "check value %s, the record's %s)\n",
                key_file, value, rv_pg_result_value(res, 0, 0));
        code = 78;
    }
    rv_pg_result_free(res);
    return code;
}

/* Prints the number of @p task_id; returns the exit status. */
static int reveal(rv_pg *pg, const rv_pii_key *key, const char *key_file,
                  const char *task_id)
{
    int code = rv_ctl_check_reveal(pg, "reveal-phone");
    if (code == 0) {
        code = check_key(pg, key, key_file);
    }
    if (code != 0) {
        return code;
    }
    const char *params[] = {task_id};
    rv_pg_result *res = NULL;
    char errstr[512] = "";
    if (rv_pg_exec(pg, "SELECT phone_enc FROM visit_tasks WHERE task_id = $1",
                   1, params, &res, errstr, sizeof(errstr)) != RV_OK) {
        /* 42501 insufficient_privilege: a reveal member who may read no
         * task (neither revisit_reporting nor revisit_branch). */
        bool denied = strcmp(rv_pg_sqlstate(pg), "42501") == 0;
        fprintf(stderr, "reveal-phone: %s\n", errstr);
        return denied ? RV_CTL_EX_NOPERM : 69;
    }
    char plain[RV_PII_PLAIN_MAX + 1];
    if (rv_pg_result_rows(res) != 1) {
        fprintf(stderr,
                "reveal-phone: no task %s (or not one this user may read)\n",
                task_id);
        code = 1;
    } else if (rv_pg_result_is_null(res, 0, 0)) {
        fprintf(stderr,
                "reveal-phone: task %s has no sealed number (recorded "
                "before deploy/sql/010_pii.sql, or without a number)\n",
                task_id);
        code = 1;
    } else if (rv_pii_open(key, rv_pg_result_value(res, 0, 0), plain,
                           sizeof(plain), errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "reveal-phone: task %s: %s\n", task_id, errstr);
        code = 1;
    } else {
        printf("%s\n", plain);
        if (fflush(stdout) != 0) {
            code = 74;
        }
    }
    memset(plain, 0, sizeof(plain));
    rv_pg_result_free(res);
    return code;
}

int rv_ctl_reveal_phone(int argc, char **argv)
{
    const char *task_id = NULL, *dsn = NULL;
    for (int i = 1; i < argc; i++) {
        char errstr[256] = "";
        rv_err err = RV_OK;
        if (ctl_arg_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--task") == 0) {
            err =
                ctl_arg_value(argc, argv, &i, &task_id, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--dsn") == 0) {
            err = ctl_arg_value(argc, argv, &i, &dsn, errstr, sizeof(errstr));
        } else {
            rv_errf(errstr, sizeof(errstr), "unknown argument \"%s\"", argv[i]);
            err = RV_ERR_INVALID;
        }
        if (err != RV_OK) {
            fprintf(stderr, "reveal-phone: %s\n", errstr);
            usage(stderr);
            return CTL_EX_USAGE;
        }
    }
    if (task_id == NULL || task_id[0] == '\0') {
        fprintf(stderr, "reveal-phone: --task TASK_ID is required\n");
        usage(stderr);
        return 64;
    }
    dsn = rv_ctl_dsn("reveal-phone", dsn);
    if (dsn == NULL) {
        return 78;
    }
    const char *key_file = getenv("RV_PII_KEY_FILE");
    if (key_file == NULL || key_file[0] == '\0') {
        fprintf(stderr, "reveal-phone: no key: set RV_PII_KEY_FILE to the "
                        "recorder's pii.key.file\n");
        return 78;
    }
    rv_pii_key *key = NULL;
    char errstr[512] = "";
    if (rv_pii_key_load(key_file, &key, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "reveal-phone: %s\n", errstr);
        return 78;
    }
    rv_log_init("revisitctl", RV_LOG_WARN, RV_LOG_LOGFMT);
    rv_pg *pg = NULL;
    int code = 0;
    if (rv_pg_open(dsn, &pg, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "reveal-phone: %s\n", errstr);
        code = 69;
    } else {
        code = reveal(pg, key, key_file, task_id);
    }
    rv_pg_close(pg);
    rv_pii_key_free(key);
    return code;
}
