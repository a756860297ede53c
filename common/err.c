/* common/err.c: names and classes of rv_err, and error sentences. */
#include "rv/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

/* Bytes the escape of @p c takes in rv_errquote's output. */
static size_t quoted_bytes(unsigned char c)
{
    if (c == '"' || c == '\\') {
        return 2;
    }
    return c >= 0x20 && c <= 0x7e ? 1 : 4;
}

const char *rv_errquote(char *out, size_t out_size, const void *value,
                        size_t len)
{
    static const char hex[] = "0123456789abcdef";
    static const char cut[] = "\"...";
    if (out == NULL || out_size == 0) {
        return out;
    }
    if (out_size < sizeof(cut) + 1) { /* not even "..." fits */
        out[0] = '\0';
        return out;
    }
    const unsigned char *v = value;
    if (v == NULL) {
        len = 0;
    }
    /* Room for the value's escapes: the buffer less the opening quote
     * and, as the value may be cut, the closing quote, "..." and NUL. */
    size_t room = out_size - sizeof(cut) - 1;
    size_t shown = len < RV_ERRQUOTE_MAX_BYTES ? len : RV_ERRQUOTE_MAX_BYTES;
    size_t used = 0;
    size_t n = 0;
    while (n < shown && used + quoted_bytes(v[n]) <= room) {
        used += quoted_bytes(v[n]);
        n++;
    }
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = v[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c >= 0x20 && c <= 0x7e) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 0x0f];
        }
    }
    if (n < len) {
        memcpy(out + o, cut, sizeof(cut)); /* closing quote, "...", NUL */
    } else {
        out[o++] = '"';
        out[o] = '\0';
    }
    return out;
}
