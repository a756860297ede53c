/* common/err.c: names and classes of rv_err. */
#include "rv/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *rv_err_str(rv_err err)
{
    switch (err) {
    case RV_OK:
        return "ok";
    case RV_ERR_INVALID:
        return "invalid";
    case RV_ERR_NOMEM:
        return "nomem";
    case RV_ERR_FULL:
        return "full";
    case RV_ERR_TIMEOUT:
        return "timeout";
    case RV_ERR_UNAVAILABLE:
        return "unavailable";
    case RV_ERR_CONFLICT:
        return "conflict";
    case RV_ERR_FATAL:
        return "fatal";
    }
    return "unknown";
}

bool rv_err_is_retriable(rv_err err)
{
    return err == RV_ERR_TIMEOUT || err == RV_ERR_UNAVAILABLE ||
           err == RV_ERR_CONFLICT;
}

void rv_errf(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    if (errstr == NULL || errstr_size == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}
