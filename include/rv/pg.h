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
