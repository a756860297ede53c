/* include/rv/err.h: the error codes every rv_ function returns. */
#ifndef RV_ERR_H
#define RV_ERR_H

#include <stdbool.h>
#include <stddef.h>

#include "rv/compiler.h"

/** Result of every fallible rv_ call. RV_OK is 0. */
typedef enum rv_err {
    RV_OK = 0,
    RV_ERR_INVALID,     /**< bad input: argument, message, config value */
    RV_ERR_NOMEM,       /**< allocation failed */
    RV_ERR_FULL,        /**< a bounded container or quota is full */
    RV_ERR_TIMEOUT,     /**< a bounded wait expired */
    RV_ERR_UNAVAILABLE, /**< a server is unreachable or answered an error */
    RV_ERR_CONFLICT,    /**< the state changed under us; retry */
    RV_ERR_FATAL,       /**< cannot go on: auth failure, fenced, broken */
} rv_err;

/** Name of @p err ("ok", "invalid", ...). Static storage, never NULL. */
const char *rv_err_str(rv_err err);

/** True for errors worth a back-off and retry: TIMEOUT, UNAVAILABLE,
 *  CONFLICT. */
bool rv_err_is_retriable(rv_err err);

/**
 * Write one formatted sentence into @p errstr (@p errstr_size bytes,
 * always NUL-terminated). @p errstr may be NULL: then nothing happens.
 */
void rv_errf(char *errstr, size_t errstr_size, const char *fmt, ...)
    RV_PRINTF(3, 4);

#endif /* RV_ERR_H */
