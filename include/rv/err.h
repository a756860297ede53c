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

/** Most bytes of a value rv_errquote() shows: any ID or key of
 *  rv/model.h (at most 63 bytes) in full. */
#define RV_ERRQUOTE_MAX_BYTES 64
/** Bytes of a buffer that holds any rv_errquote() result in full: up to
 *  RV_ERRQUOTE_MAX_BYTES value bytes, each escaped to at most 4, the two
 *  quotes, the "..." of a longer value and the NUL. */
#define RV_ERRQUOTE_SIZE (RV_ERRQUOTE_MAX_BYTES * 4 + 6)

/**
 * Quote a value from outside (a message field, a Kafka key) for an error
 * sentence, so that whatever it holds cannot break the sentence, a log
 * line or a header: "value" in double quotes, '"' and '\' escaped with
 * a backslash, every other byte outside printable ASCII (0x20..0x7e:
 * control bytes, DEL, bytes of multi-byte UTF-8) as \xHH. At most
 * RV_ERRQUOTE_MAX_BYTES bytes of the value are shown, fewer if @p out is
 * too small for their escapes; a value cut short ends in "..." after
 * the closing quote. Pure function.
 * @param out       @p out_size bytes, always NUL-terminated when
 *                  @p out_size >= 1; RV_ERRQUOTE_SIZE holds any result,
 *                  and below 6 bytes (too small for "...") the empty
 *                  string
 * @param value     @p len bytes (borrowed; may hold NUL bytes); NULL is
 *                  quoted as the empty value ""
 * @returns @p out, for use as an argument of rv_errf()
 */
const char *rv_errquote(char *out, size_t out_size, const void *value,
                        size_t len);

#endif /* RV_ERR_H */
