/* include/rv/textnorm.h: text normalised for keyword matching: traditional
 * Chinese to simplified (OpenCC t2s), full-width forms to half-width, and
 * ASCII case folding, so "他知道我的密碼" and "他知道我的密码" match the
 * same keyword (A1, issue 5). The only module that includes OpenCC is
 * common/textnorm.c. */
#ifndef RV_TEXTNORM_H
#define RV_TEXTNORM_H

#include <stddef.h>

#include "rv/err.h"

typedef struct rv_textnorm rv_textnorm;

/**
 * Open OpenCC's traditional-to-simplified converter (t2s.json from the
 * opencc data package).
 * @returns RV_OK, RV_ERR_UNAVAILABLE (OpenCC data missing; errstr),
 *          RV_ERR_NOMEM
 * Threads: one converter per thread.
 */
RV_MUSTCHECK rv_err rv_textnorm_open(rv_textnorm **out, char *errstr,
                                     size_t errstr_size);

/** Free. NULL is a no-op. */
void rv_textnorm_close(rv_textnorm *tn);

/**
 * Normalise NUL-terminated UTF-8 @p in into @p out (@p out_size bytes,
 * always NUL-terminated, truncated on a character boundary if short):
 * traditional → simplified, U+FF01..U+FF5E → ASCII, U+3000 → space, A-Z
 * → a-z.
 * @returns RV_OK, RV_ERR_INVALID (not UTF-8), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_textnorm_apply(rv_textnorm *tn, const char *in,
                                      char *out, size_t out_size);

#endif /* RV_TEXTNORM_H */
