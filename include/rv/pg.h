/* include/rv/pg.h: PostgreSQL client with reconnect; parameterised
 * queries only. The only module that includes libpq is common/pg.c. */
#ifndef RV_PG_H
#define RV_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/err.h"

typedef struct rv_pg rv_pg;
typedef struct rv_pg_result rv_pg_result;

/**
 * Connect with libpq connection string @p dsn (borrowed; never logged).
 * libpq notices go through rv_log.
 * @returns RV_OK, RV_ERR_UNAVAILABLE (errstr says why, without the DSN),
 *          RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_pg_open(const char *dsn, rv_pg **out, char *errstr,
                               size_t errstr_size);

/**
 * Check connection string @p dsn (borrowed) as rv_pg_open would read it,
 * without connecting (--check-config): libpq parses it (PQconninfoParse:
 * keywords, quoting, URI form; a word without '=' is a database name),
 * each port is 1..65535 and sslmode is one libpq knows. errstr never
 * holds a value of @p dsn: a word libpq quotes that is not one of its
 * keywords is shown as "...", since it may be part of a password.
 * @returns RV_OK, RV_ERR_INVALID (errstr says why), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_pg_dsn_check(const char *dsn, char *errstr,
                                    size_t errstr_size);

/** Disconnect and free. NULL is a no-op. */
void rv_pg_close(rv_pg *pg);

/**
 * Run @p sql with @p param_count text parameters ($1..$n; NULL = SQL
 * NULL), all borrowed. If the connection is broken it is reset once and
 * RV_ERR_UNAVAILABLE returned (the statement did not run, or its
 * transaction was rolled back: retry the whole unit).
 * @param out  may be NULL; else on RV_OK the result, freed by the caller
 *             with rv_pg_result_free()
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_CONFLICT (SQLSTATE 40001
 *          serialization or 40P01 deadlock: retry), RV_ERR_INVALID (any
 *          other SQL error; errstr has SQLSTATE and message), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_pg_exec(rv_pg *pg, const char *sql, size_t param_count,
                               const char *const *params, rv_pg_result **out,
                               char *errstr, size_t errstr_size);

/**
 * rv_pg_exec for a statement run many times: @p sql is parsed and
 * planned once a session, as prepared statement @p name (borrowed; under
 * 64 bytes, one name for one @p sql on a connection; 32 names at most),
 * then only executed. A reset connection prepares it again. Same
 * parameters, result and errors as rv_pg_exec, and RV_ERR_INVALID for a
 * bad name or a 33rd statement.
 */
RV_MUSTCHECK rv_err rv_pg_exec_prepared(rv_pg *pg, const char *name,
                                        const char *sql, size_t param_count,
                                        const char *const *params,
                                        rv_pg_result **out, char *errstr,
                                        size_t errstr_size);

/**
 * Prepare @p sql as statement @p name on this session unless it is
 * already (see rv_pg_exec_prepared for names and limits), without running
 * it: what rv_pg_txn_send needs before a pipelined transaction.
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_INVALID (SQL error, bad
 *          name, a 33rd statement, or called inside rv_pg_txn_begin),
 *          RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_pg_prepare(rv_pg *pg, const char *name, const char *sql,
                                  size_t param_count, char *errstr,
                                  size_t errstr_size);

/*
 * A pipelined transaction: BEGIN, statements, COMMIT in one round trip
 * (libpq pipeline mode). Each statement is sent as soon as it is given,
 * so PostgreSQL runs it while the caller builds the next one; the
 * answers are read once, at rv_pg_txn_commit. Between rv_pg_txn_begin
 * and rv_pg_txn_commit or rv_pg_txn_abort no other rv_pg call may run on
 * @p pg. Either every statement commits or none does.
 */

/**
 * Start a pipelined transaction (enter pipeline mode, send BEGIN).
 * @returns RV_OK, RV_ERR_UNAVAILABLE (connection lost and reset),
 *          RV_ERR_INVALID (already in one), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_pg_txn_begin(rv_pg *pg, char *errstr,
                                    size_t errstr_size);

/**
 * Send prepared statement @p name (prepared first with rv_pg_prepare)
 * with @p param_count text parameters, all borrowed only for this call
 * (libpq copies them). When @p counted, its affected rows are added to
 * rv_pg_txn_commit's total. A statement's SQL error shows at commit.
 * On an error the transaction is abandoned (call nothing else for it).
 * @returns RV_OK, RV_ERR_UNAVAILABLE (send failed; connection reset),
 *          RV_ERR_INVALID (not in a transaction, name not prepared,
 *          too many parameters), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_pg_txn_send(rv_pg *pg, const char *name,
                                   size_t param_count,
                                   const char *const *params, bool counted,
                                   char *errstr, size_t errstr_size);

/**
 * Send COMMIT, read every answer and leave pipeline mode. On RV_OK
 * everything committed and @p affected (may be NULL) holds the rows of
 * the counted statements. On any error nothing committed (the
 * transaction was rolled back) and errstr and rv_pg_sqlstate tell the
 * first failing statement, as rv_pg_exec does.
 * @returns RV_OK, RV_ERR_UNAVAILABLE (connection lost and reset: the
 *          commit may or may not have happened, so the unit must be
 *          idempotent), RV_ERR_CONFLICT, RV_ERR_INVALID, RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_pg_txn_commit(rv_pg *pg, int64_t *affected, char *errstr,
                                     size_t errstr_size);

/**
 * Give up a transaction begun with rv_pg_txn_begin: roll back whatever
 * was sent and leave pipeline mode. No-op outside one.
 */
void rv_pg_txn_abort(rv_pg *pg);

/**
 * Run @p sql, which may hold several statements separated by ';' and no
 * parameters (a migration file), in one round trip (PQexec). Statements
 * outside an explicit transaction commit one by one.
 * @returns RV_OK, RV_ERR_UNAVAILABLE (connection lost; reset once),
 *          RV_ERR_INVALID (an SQL error; errstr has the message),
 *          RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_pg_exec_script(rv_pg *pg, const char *sql, char *errstr,
                                      size_t errstr_size);

/**
 * SQLSTATE (5 characters, e.g. "23505") of the server error behind the
 * last rv_pg_exec or rv_pg_exec_prepared that failed, "" if the last
 * call succeeded or failed without a server error. Borrowed from @p pg
 * until its next call. Lets a caller tell a bad row (class 22, 23) from a
 * bad statement or schema.
 */
const char *rv_pg_sqlstate(const rv_pg *pg);

/** Rows returned by a SELECT (or RETURNING). */
size_t rv_pg_result_rows(const rv_pg_result *res);

/** Rows affected by INSERT/UPDATE/DELETE (cmdTuples), 0 otherwise. */
int64_t rv_pg_result_affected(const rv_pg_result *res);

/** Text of (row, col); "" for NULL. Borrowed from @p res. */
const char *rv_pg_result_value(const rv_pg_result *res, size_t row, size_t col);

/** True if (row, col) is SQL NULL. */
bool rv_pg_result_is_null(const rv_pg_result *res, size_t row, size_t col);

/** Free @p res. NULL is a no-op. */
void rv_pg_result_free(rv_pg_result *res);

#endif /* RV_PG_H */
