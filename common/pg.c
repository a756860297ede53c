/* common/pg.c: libpq behind rv/pg.h. The only file that includes libpq.
 *
 * Error classes (STYLE §5): a broken connection is reset here and
 * reported as RV_ERR_UNAVAILABLE, serialization failures and deadlocks as
 * RV_ERR_CONFLICT; both mean "retry the whole unit of work". Any other
 * SQL error is RV_ERR_INVALID with the SQLSTATE in errstr.
 *
 * The DSN may hold a password: it is handed to libpq and never copied,
 * logged or put into errstr. libpq's own messages name host and port but
 * never the password. */
#include "rv/pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "rv/log.h"

/* A connect that hangs blocks the worker's loop: bound it unless the DSN
 * says otherwise (libpq reads keywords in order; the DSN comes last and
 * wins). */
#define PG_CONNECT_TIMEOUT_S "10"
#define PG_APPLICATION_NAME "revisit"
/* libpq's PQexecParams takes an int count; the protocol allows 65535. */
#define PG_PARAMS_MAX 65535
#define PG_NOTICE_MAX 512

/* Statements prepared on one connection, and the longest name. */
#define PG_PREPARED_MAX 32
#define PG_NAME_SIZE 64

struct rv_pg {
    PGconn *conn;
    rv_log_ratelimit notice_rl;
    rv_log_ratelimit reconnect_rl;
    char sqlstate[6]; /* of the last failed exec, "" otherwise */
    /* rv_pg_exec_prepared's statements on this session; a reset
     * forgets them (the server did). */
    char prepared[PG_PREPARED_MAX][PG_NAME_SIZE];
    size_t prepared_count;
    /* rv_pg_txn_*: in a pipelined transaction, and for each statement
     * sent in it (BEGIN first) whether its rows are counted. */
    bool in_txn;
    bool *counted;
    size_t sent, counted_cap;
};

struct rv_pg_result {
    PGresult *res;
};

/* Turn a multi-line libpq message into one line, without the trailing
 * newline libpq always appends. */
static void flatten(char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
            s[i] = ' ';
        }
    }
    while (n > 0 && s[n - 1] == ' ') {
        s[--n] = '\0';
    }
}

/* "<what>: <libpq message>" into errstr (may be NULL), on one line. */
static void copy_message(char *errstr, size_t errstr_size, const char *what,
                         const char *msg)
{
    if (errstr == NULL || errstr_size == 0) {
        return;
    }
    rv_errf(errstr, errstr_size, "%s: %s", what,
            msg != NULL && msg[0] != '\0' ? msg : "no message");
    flatten(errstr);
}

/* libpq calls this with "LEVEL:  text\n" for server notices and its own
 * warnings. Runs on the thread that called into libpq. */
static void on_notice(void *arg, const char *message)
{
    rv_pg *pg = arg;
    uint64_t suppressed = 0;
    if (!rv_log_ratelimit_allow(&pg->notice_rl, &suppressed)) {
        return;
    }
    char text[PG_NOTICE_MAX];
    rv_errf(text, sizeof(text), "%s", message != NULL ? message : "");
    flatten(text);
    rv_log_level level = RV_LOG_INFO;
    if (message != NULL && strncmp(message, "WARNING", 7) == 0) {
        level = RV_LOG_WARN;
    } else if (message != NULL && (strncmp(message, "DEBUG", 5) == 0 ||
                                   strncmp(message, "LOG", 3) == 0)) {
        level = RV_LOG_DEBUG;
    }
    RV_LOG(level, "pg_notice", RV_KV_STR("lib", "libpq"),
           RV_KV_STR("message", text), RV_KV_INT("suppressed", suppressed));
}

rv_err rv_pg_open(const char *dsn, rv_pg **out, char *errstr,
                  size_t errstr_size)
{
    rv_err err = RV_ERR_UNAVAILABLE;
    rv_pg *pg = NULL;
    if (dsn == NULL || out == NULL) {
        rv_errf(errstr, errstr_size, "pg: no connection string given");
        err = RV_ERR_INVALID;
        goto out;
    }
    pg = calloc(1, sizeof(*pg));
    if (pg == NULL) {
        err = RV_ERR_NOMEM;
        goto out;
    }
    const char *const keys[] = {"connect_timeout", "fallback_application_name",
                                "dbname", NULL};
    const char *const values[] = {PG_CONNECT_TIMEOUT_S, PG_APPLICATION_NAME,
                                  dsn, NULL};
    pg->conn = PQconnectdbParams(keys, values, 1);
    if (pg->conn == NULL) {
        err = RV_ERR_NOMEM;
        goto out;
    }
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        copy_message(errstr, errstr_size, "pg: connect failed",
                     PQerrorMessage(pg->conn));
        err = RV_ERR_UNAVAILABLE;
        goto out;
    }
    PQsetNoticeProcessor(pg->conn, on_notice, pg);
    *out = pg;
    pg = NULL;
    err = RV_OK;
out:
    rv_pg_close(pg);
    return err;
}

/* Whether libpq reads @p s as a connection string rather than a
 * database name (its rule for expand_dbname in rv_pg_open). */
static bool is_conninfo(const char *s)
{
    return strncmp(s, "postgresql://", 13) == 0 ||
           strncmp(s, "postgres://", 11) == 0 || strchr(s, '=') != NULL;
}

/* Whether @p word (@p len bytes) is one of libpq's connection keywords. */
static bool is_keyword(const PQconninfoOption *defaults, const char *word,
                       size_t len)
{
    for (const PQconninfoOption *o = defaults; o != NULL && o->keyword != NULL;
         o++) {
        if (strlen(o->keyword) == len && strncmp(o->keyword, word, len) == 0) {
            return true;
        }
    }
    return false;
}

/* libpq's parse message @p msg into errstr, each quoted word that is
 * neither "=" nor a keyword shown as "...": it may be a password. */
static void copy_redacted(char *errstr, size_t errstr_size, const char *msg)
{
    PQconninfoOption *defaults = PQconndefaults();
    char text[512];
    size_t used = 0;
    for (const char *p = msg; *p != '\0' && used + 8 < sizeof(text); p++) {
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (end == NULL) {
            text[used++] = *p;
            continue;
        }
        size_t len = (size_t)(end - p - 1);
        bool shown = (len == 1 && p[1] == '=') ||
                     (defaults != NULL && is_keyword(defaults, p + 1, len));
        const char *word = shown ? p + 1 : "...";
        size_t wlen = shown ? len : 3;
        if (used + wlen + 3 >= sizeof(text)) {
            break;
        }
        text[used++] = '"';
        memcpy(text + used, word, wlen);
        used += wlen;
        text[used++] = '"';
        p = end;
    }
    text[used] = '\0';
    PQconninfoFree(defaults);
    copy_message(errstr, errstr_size, "pg: connection string", text);
}

/* Each port of @p ports (a comma-separated list; empty: the default) in
 * 1..65535. */
static bool ports_valid(const char *ports)
{
    const char *p = ports;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len > 0) {
            char *end = NULL;
            errno = 0;
            long v = strtol(p, &end, 10);
            if (errno != 0 || end != p + len || v < 1 || v > 65535) {
                return false;
            }
        }
        if (p[len] == '\0') {
            return true;
        }
        p += len + 1;
    }
}

rv_err rv_pg_dsn_check(const char *dsn, char *errstr, size_t errstr_size)
{
    if (dsn == NULL || dsn[0] == '\0') {
        rv_errf(errstr, errstr_size, "pg: no connection string given");
        return RV_ERR_INVALID;
    }
    if (!is_conninfo(dsn)) {
        return RV_OK; /* a database name */
    }
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &why);
    if (opts == NULL) {
        if (why == NULL) {
            return RV_ERR_NOMEM;
        }
        copy_redacted(errstr, errstr_size, why);
        PQfreemem(why);
        return RV_ERR_INVALID;
    }
    static const char *const sslmodes[] = {
        "disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
    rv_err err = RV_OK;
    for (const PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL) {
            continue;
        }
        if (strcmp(o->keyword, "port") == 0 && !ports_valid(o->val)) {
            rv_errf(errstr, errstr_size,
                    "pg: connection string: port is not a number in "
                    "[1, 65535]");
            err = RV_ERR_INVALID;
            break;
        }
        if (strcmp(o->keyword, "sslmode") == 0) {
            bool known = false;
            for (size_t i = 0; i < sizeof(sslmodes) / sizeof(*sslmodes); i++) {
                known = known || strcmp(o->val, sslmodes[i]) == 0;
            }
            if (!known) {
                rv_errf(errstr, errstr_size,
                        "pg: connection string: sslmode is not one of "
                        "disable, allow, prefer, require, verify-ca, "
                        "verify-full");
                err = RV_ERR_INVALID;
                break;
            }
        }
    }
    PQconninfoFree(opts);
    return err;
}

void rv_pg_close(rv_pg *pg)
{
    if (pg == NULL) {
        return;
    }
    if (pg->conn != NULL) {
        PQfinish(pg->conn);
    }
    free(pg->counted);
    free(pg);
}

/* The connection is gone: reset it now so the caller's retry finds a
 * fresh session. Whatever the transaction held was rolled back by the
 * server, so the caller must redo the whole unit, never just the
 * statement. */
static rv_err reset_broken(rv_pg *pg, char *errstr, size_t errstr_size,
                           const char *why)
{
    copy_message(errstr, errstr_size, why, PQerrorMessage(pg->conn));
    PQreset(pg->conn);
    pg->prepared_count = 0; /* a new session has none */
    uint64_t suppressed = 0;
    if (PQstatus(pg->conn) == CONNECTION_OK) {
        RV_LOG0(RV_LOG_WARN, "pg_reconnected");
        pg->reconnect_rl = (rv_log_ratelimit){0};
    } else if (rv_log_ratelimit_allow(&pg->reconnect_rl, &suppressed)) {
        char reason[256];
        copy_message(reason, sizeof(reason), "reset", PQerrorMessage(pg->conn));
        RV_LOG(RV_LOG_WARN, "pg_reconnect_failed", RV_KV_STR("reason", reason),
               RV_KV_INT("suppressed", suppressed));
    }
    return RV_ERR_UNAVAILABLE;
}

/* SQLSTATE classes that mean "the server, not the statement": retry. */
static bool is_unavailable_state(const char *state)
{
    return strncmp(state, "08", 2) == 0 || /* connection exception */
           strncmp(state, "53", 2) == 0 || /* insufficient resources */
           strcmp(state, "57P01") == 0 ||  /* admin shutdown */
           strcmp(state, "57P02") == 0 ||  /* crash shutdown */
           strcmp(state, "57P03") == 0;    /* cannot connect now */
}

static bool is_conflict_state(const char *state)
{
    return strcmp(state, "40001") == 0 || /* serialization_failure */
           strcmp(state, "40P01") == 0;   /* deadlock_detected */
}

/* Check the arguments every exec shares. */
static rv_err check_args(rv_pg *pg, const char *sql, size_t param_count,
                         const char *const *params, char *errstr,
                         size_t errstr_size)
{
    if (pg == NULL || sql == NULL || (param_count > 0 && params == NULL)) {
        rv_errf(errstr, errstr_size, "pg: exec without connection or SQL");
        return RV_ERR_INVALID;
    }
    if (pg->in_txn) {
        rv_errf(errstr, errstr_size,
                "pg: a pipelined transaction is open on this connection");
        return RV_ERR_INVALID;
    }
    pg->sqlstate[0] = '\0';
    if (param_count > PG_PARAMS_MAX) {
        rv_errf(errstr, errstr_size, "pg: %zu parameters exceed limit %d",
                param_count, PG_PARAMS_MAX);
        return RV_ERR_INVALID;
    }
    if (PQstatus(pg->conn) == CONNECTION_BAD) {
        /* An earlier reset failed: try again, and still report the
         * statement as not run so the caller restarts its unit. */
        return reset_broken(pg, errstr, errstr_size, "pg: connection down");
    }
    return RV_OK;
}

/* What libpq answered (@p res, owned; NULL when it could not allocate
 * one), as rv_pg_exec reports it; on RV_OK @p out (if not NULL) takes
 * the result. */
static rv_err classify(rv_pg *pg, PGresult *res, rv_pg_result **out,
                       char *errstr, size_t errstr_size);

static rv_err finish(rv_pg *pg, PGresult *res, rv_pg_result **out, char *errstr,
                     size_t errstr_size)
{
    if (PQstatus(pg->conn) == CONNECTION_BAD) {
        PQclear(res);
        return reset_broken(pg, errstr, errstr_size, "pg: connection lost");
    }
    return classify(pg, res, out, errstr, errstr_size);
}

/* finish() on a connection that is still up: the result's status as an
 * rv_err, and the SQLSTATE kept for rv_pg_sqlstate. Frees @p res unless
 * @p out takes it. */
static rv_err classify(rv_pg *pg, PGresult *res, rv_pg_result **out,
                       char *errstr, size_t errstr_size)
{
    rv_err err = RV_ERR_INVALID;
    if (res == NULL) {
        /* Connection still fine: libpq could not allocate the result. */
        err = RV_ERR_NOMEM;
        goto out;
    }
    ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        if (out != NULL) {
            rv_pg_result *result = malloc(sizeof(*result));
            if (result == NULL) {
                err = RV_ERR_NOMEM;
                goto out;
            }
            result->res = res;
            res = NULL;
            *out = result;
        }
        err = RV_OK;
        goto out;
    }
    if (status != PGRES_FATAL_ERROR && status != PGRES_NONFATAL_ERROR) {
        rv_errf(errstr, errstr_size, "pg: unexpected result %s",
                PQresStatus(status));
        err = RV_ERR_INVALID;
        goto out;
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (state == NULL) {
        /* Client-side failure (lost sync, send failed): not the SQL. */
        copy_message(errstr, errstr_size, "pg: client error",
                     PQresultErrorMessage(res));
        err = RV_ERR_UNAVAILABLE;
        goto out;
    }
    rv_errf(pg->sqlstate, sizeof(pg->sqlstate), "%s", state);
    char what[32];
    rv_errf(what, sizeof(what), "pg: SQLSTATE %s", state);
    copy_message(errstr, errstr_size, what,
                 primary != NULL ? primary : PQresultErrorMessage(res));
    if (is_conflict_state(state)) {
        err = RV_ERR_CONFLICT;
    } else if (is_unavailable_state(state)) {
        err = RV_ERR_UNAVAILABLE;
    } else {
        err = RV_ERR_INVALID;
    }
out:
    PQclear(res);
    return err;
}

rv_err rv_pg_exec(rv_pg *pg, const char *sql, size_t param_count,
                  const char *const *params, rv_pg_result **out, char *errstr,
                  size_t errstr_size)
{
    rv_err err = check_args(pg, sql, param_count, params, errstr, errstr_size);
    if (err != RV_OK) {
        return err;
    }
    PGresult *res = PQexecParams(pg->conn, sql, (int)param_count, NULL, params,
                                 NULL, NULL, 0);
    return finish(pg, res, out, errstr, errstr_size);
}

static bool is_prepared(const rv_pg *pg, const char *name)
{
    for (size_t i = 0; i < pg->prepared_count; i++) {
        if (strcmp(pg->prepared[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* Prepare @p name unless it is; check_args has run. */
static rv_err prepare_once(rv_pg *pg, const char *name, const char *sql,
                           size_t param_count, char *errstr, size_t errstr_size)
{
    if (name == NULL || name[0] == '\0' || strlen(name) >= PG_NAME_SIZE) {
        rv_errf(errstr, errstr_size, "pg: statement name empty or over %d",
                PG_NAME_SIZE - 1);
        return RV_ERR_INVALID;
    }
    if (is_prepared(pg, name)) {
        return RV_OK;
    }
    if (pg->prepared_count == PG_PREPARED_MAX) {
        rv_errf(errstr, errstr_size, "pg: %s: more than %d prepared statements",
                name, PG_PREPARED_MAX);
        return RV_ERR_INVALID;
    }
    PGresult *res = PQprepare(pg->conn, name, sql, (int)param_count, NULL);
    rv_err err = finish(pg, res, NULL, errstr, errstr_size);
    if (err == RV_OK) {
        snprintf(pg->prepared[pg->prepared_count++], PG_NAME_SIZE, "%s", name);
    }
    return err;
}

rv_err rv_pg_prepare(rv_pg *pg, const char *name, const char *sql,
                     size_t param_count, char *errstr, size_t errstr_size)
{
    rv_err err = check_args(pg, sql, 0, NULL, errstr, errstr_size);
    if (err != RV_OK) {
        return err;
    }
    if (param_count > PG_PARAMS_MAX) {
        rv_errf(errstr, errstr_size, "pg: %zu parameters exceed limit %d",
                param_count, PG_PARAMS_MAX);
        return RV_ERR_INVALID;
    }
    return prepare_once(pg, name, sql, param_count, errstr, errstr_size);
}

rv_err rv_pg_exec_prepared(rv_pg *pg, const char *name, const char *sql,
                           size_t param_count, const char *const *params,
                           rv_pg_result **out, char *errstr, size_t errstr_size)
{
    rv_err err = check_args(pg, sql, param_count, params, errstr, errstr_size);
    if (err == RV_OK) {
        err = prepare_once(pg, name, sql, param_count, errstr, errstr_size);
    }
    if (err != RV_OK) {
        return err;
    }
    PGresult *res =
        PQexecPrepared(pg->conn, name, (int)param_count, params, NULL, NULL, 0);
    return finish(pg, res, out, errstr, errstr_size);
}

const char *rv_pg_sqlstate(const rv_pg *pg)
{
    return pg != NULL ? pg->sqlstate : "";
}

size_t rv_pg_result_rows(const rv_pg_result *res)
{
    if (res == NULL) {
        return 0;
    }
    int n = PQntuples(res->res);
    return n > 0 ? (size_t)n : 0;
}

int64_t rv_pg_result_affected(const rv_pg_result *res)
{
    if (res == NULL) {
        return 0;
    }
    const char *text = PQcmdTuples(res->res);
    if (text == NULL || text[0] == '\0') {
        return 0;
    }
    errno = 0;
    char *end = NULL;
    long long n = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || n < 0) {
        return 0;
    }
    return (int64_t)n;
}

/* Rows and columns beyond the result read as NULL rather than crash:
 * the caller's SQL and its index arithmetic may disagree. */
static bool in_range(const rv_pg_result *res, size_t row, size_t col)
{
    return res != NULL && row < (size_t)PQntuples(res->res) &&
           col < (size_t)PQnfields(res->res);
}

const char *rv_pg_result_value(const rv_pg_result *res, size_t row, size_t col)
{
    if (!in_range(res, row, col)) {
        return "";
    }
    return PQgetvalue(res->res, (int)row, (int)col);
}

bool rv_pg_result_is_null(const rv_pg_result *res, size_t row, size_t col)
{
    if (!in_range(res, row, col)) {
        return true;
    }
    return PQgetisnull(res->res, (int)row, (int)col) != 0;
}

void rv_pg_result_free(rv_pg_result *res)
{
    if (res == NULL) {
        return;
    }
    PQclear(res->res);
    free(res);
}

rv_err rv_pg_exec_script(rv_pg *pg, const char *sql, char *errstr,
                         size_t errstr_size)
{
    if (pg == NULL || sql == NULL || pg->in_txn) {
        rv_errf(errstr, errstr_size,
                "pg: script without connection, or in a "
                "pipelined transaction");
        return RV_ERR_INVALID;
    }
    if (PQstatus(pg->conn) == CONNECTION_BAD) {
        return reset_broken(pg, errstr, errstr_size, "pg: connection down");
    }
    /* PQexec runs several statements; the last result tells. */
    PGresult *res = PQexec(pg->conn, sql);
    if (res == NULL) {
        return PQstatus(pg->conn) == CONNECTION_BAD
                   ? reset_broken(pg, errstr, errstr_size,
                                  "pg: connection lost")
                   : RV_ERR_NOMEM;
    }
    ExecStatusType status = PQresultStatus(res);
    rv_err err = RV_OK;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
        status != PGRES_EMPTY_QUERY) {
        copy_message(errstr, errstr_size, "pg: script failed",
                     PQresultErrorMessage(res));
        err = PQstatus(pg->conn) == CONNECTION_BAD ? RV_ERR_UNAVAILABLE
                                                   : RV_ERR_INVALID;
    }
    PQclear(res);
    return err;
}

/* The pipelined transaction is over, whatever state it left: forget it.
 * A connection that is down, or that libpq would not take out of
 * pipeline mode, is reset (the server rolls back what it held). */
static rv_err txn_end(rv_pg *pg, rv_err err, char *errstr, size_t errstr_size)
{
    pg->in_txn = false;
    pg->sent = 0;
    if (PQstatus(pg->conn) == CONNECTION_BAD) {
        return reset_broken(pg, errstr, errstr_size, "pg: connection lost");
    }
    if (PQpipelineStatus(pg->conn) != PQ_PIPELINE_OFF &&
        PQexitPipelineMode(pg->conn) == 0) {
        char why[256];
        copy_message(why, sizeof(why), "pg: cannot leave pipeline mode",
                     PQerrorMessage(pg->conn));
        RV_LOG(RV_LOG_WARN, "pg_pipeline_reset", RV_KV_STR("reason", why));
        return reset_broken(pg, errstr, errstr_size,
                            "pg: cannot leave pipeline mode");
    }
    if (err != RV_OK && PQtransactionStatus(pg->conn) != PQTRANS_IDLE) {
        /* BEGIN ran and a statement failed: the block is aborted. */
        PGresult *res = PQexec(pg->conn, "ROLLBACK");
        PQclear(res);
        if (PQstatus(pg->conn) == CONNECTION_BAD ||
            PQtransactionStatus(pg->conn) != PQTRANS_IDLE) {
            char ignored[64];
            return reset_broken(pg, ignored, sizeof(ignored),
                                "pg: rollback failed");
        }
    }
    return err;
}

/* Give up the session of a pipelined transaction: reset it. */
static rv_err txn_drop(rv_pg *pg, char *errstr, size_t errstr_size,
                       const char *why)
{
    pg->in_txn = false;
    pg->sent = 0;
    return reset_broken(pg, errstr, errstr_size, why);
}

/* Note one more statement sent, counted or not. */
static rv_err txn_note(rv_pg *pg, bool counted)
{
    if (pg->sent == pg->counted_cap) {
        size_t cap = pg->counted_cap > 0 ? 2 * pg->counted_cap : 32;
        bool *grown = realloc(pg->counted, cap * sizeof(*grown));
        if (grown == NULL) {
            return RV_ERR_NOMEM;
        }
        pg->counted = grown;
        pg->counted_cap = cap;
    }
    pg->counted[pg->sent++] = counted;
    return RV_OK;
}

/* A statement was queued (@p queued: libpq's answer): push it to the
 * server now, so that it runs while the caller builds the next. */
static rv_err txn_sent(rv_pg *pg, int queued, bool counted, char *errstr,
                       size_t errstr_size)
{
    if (queued == 0 || PQflush(pg->conn) != 0) {
        /* Nothing committed: drop the session (PQreset also leaves
         * pipeline mode) rather than guess what the server holds. */
        return txn_drop(pg, errstr, errstr_size, "pg: send failed");
    }
    rv_err err = txn_note(pg, counted);
    if (err != RV_OK) {
        rv_pg_txn_abort(pg);
    }
    return err;
}

rv_err rv_pg_txn_begin(rv_pg *pg, char *errstr, size_t errstr_size)
{
    rv_err err = check_args(pg, "BEGIN", 0, NULL, errstr, errstr_size);
    if (err != RV_OK) {
        return err;
    }
    if (PQenterPipelineMode(pg->conn) == 0) {
        copy_message(errstr, errstr_size, "pg: cannot enter pipeline mode",
                     PQerrorMessage(pg->conn));
        return RV_ERR_INVALID;
    }
    pg->in_txn = true;
    pg->sent = 0;
    int queued =
        PQsendQueryParams(pg->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    return txn_sent(pg, queued, false, errstr, errstr_size);
}

rv_err rv_pg_txn_send(rv_pg *pg, const char *name, size_t param_count,
                      const char *const *params, bool counted, char *errstr,
                      size_t errstr_size)
{
    if (pg == NULL || !pg->in_txn) {
        rv_errf(errstr, errstr_size, "pg: no pipelined transaction open");
        return RV_ERR_INVALID;
    }
    rv_err err = RV_OK;
    if (name == NULL || !is_prepared(pg, name)) {
        rv_errf(errstr, errstr_size, "pg: statement %s is not prepared",
                name != NULL ? name : "(null)");
        err = RV_ERR_INVALID;
    } else if (param_count > PG_PARAMS_MAX ||
               (param_count > 0 && params == NULL)) {
        rv_errf(errstr, errstr_size, "pg: %s: bad parameters", name);
        err = RV_ERR_INVALID;
    }
    if (err != RV_OK) {
        rv_pg_txn_abort(pg);
        return err;
    }
    int queued = PQsendQueryPrepared(pg->conn, name, (int)param_count, params,
                                     NULL, NULL, 0);
    return txn_sent(pg, queued, counted, errstr, errstr_size);
}

/* Read the answers up to the pipeline's sync: RV_OK if all succeeded
 * (@p rows: the counted statements' rows), else the first failure. */
static rv_err txn_read(rv_pg *pg, int64_t *rows, char *errstr,
                       size_t errstr_size)
{
    rv_err err = RV_OK;
    size_t i = 0, ends = 0;
    for (;;) {
        PGresult *res = PQgetResult(pg->conn);
        if (res == NULL) {
            /* One NULL ends each statement's answers; more than one a
             * statement, or a lost connection, means no sync will come. */
            if (PQstatus(pg->conn) == CONNECTION_BAD || ++ends > pg->sent) {
                if (err == RV_OK) {
                    copy_message(errstr, errstr_size, "pg: pipeline broken",
                                 PQerrorMessage(pg->conn));
                }
                return RV_ERR_UNAVAILABLE;
            }
            continue;
        }
        ExecStatusType status = PQresultStatus(res);
        if (status == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            return err;
        }
        bool counted = i < pg->sent && pg->counted[i];
        i++;
        if (status == PGRES_PIPELINE_ABORTED || err != RV_OK) {
            PQclear(res); /* skipped after the first failure */
            continue;
        }
        if (status == PGRES_COMMAND_OK && counted) {
            rv_pg_result r = {res};
            *rows += rv_pg_result_affected(&r);
        }
        err = classify(pg, res, NULL, errstr, errstr_size);
    }
}

rv_err rv_pg_txn_commit(rv_pg *pg, int64_t *affected, char *errstr,
                        size_t errstr_size)
{
    if (pg == NULL || !pg->in_txn) {
        rv_errf(errstr, errstr_size, "pg: no pipelined transaction open");
        return RV_ERR_INVALID;
    }
    pg->sqlstate[0] = '\0';
    int queued =
        PQsendQueryParams(pg->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    rv_err err = txn_sent(pg, queued, false, errstr, errstr_size);
    if (err != RV_OK) {
        return err;
    }
    if (PQpipelineSync(pg->conn) == 0) {
        return txn_drop(pg, errstr, errstr_size, "pg: sync failed");
    }
    int64_t rows = 0;
    err = txn_read(pg, &rows, errstr, errstr_size);
    if (err == RV_OK && PQtransactionStatus(pg->conn) != PQTRANS_IDLE) {
        /* COMMIT answered but the block is still open: cannot be. */
        rv_errf(errstr, errstr_size, "pg: transaction still open after COMMIT");
        err = RV_ERR_UNAVAILABLE;
    }
    err = txn_end(pg, err, errstr, errstr_size);
    if (err == RV_OK && affected != NULL) {
        *affected = rows;
    }
    return err;
}

void rv_pg_txn_abort(rv_pg *pg)
{
    if (pg == NULL || !pg->in_txn) {
        return;
    }
    char ignored[256];
    /* ROLLBACK in the pipeline, then a sync: nothing of it commits. */
    if (PQsendQueryParams(pg->conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0) ==
            0 ||
        txn_note(pg, false) != RV_OK || PQpipelineSync(pg->conn) == 0) {
        txn_drop(pg, ignored, sizeof(ignored), "pg: abort failed");
        return;
    }
    int64_t rows = 0;
    rv_err err = txn_read(pg, &rows, ignored, sizeof(ignored));
    txn_end(pg, err == RV_OK ? RV_ERR_INVALID : err, ignored, sizeof(ignored));
}
