/* common/textnorm.c: OpenCC t2s, full-width folding, ASCII lower case. */
#include "rv/textnorm.h"

#include <stdlib.h>
#include <string.h>

#include <opencc/opencc.h>
#include <unistr.h>

struct rv_textnorm {
    opencc_t cc;
};

rv_err rv_textnorm_open(rv_textnorm **out, char *errstr, size_t errstr_size)
{
    rv_textnorm *tn = calloc(1, sizeof(*tn));
    if (tn == NULL) {
        return RV_ERR_NOMEM;
    }
    tn->cc = opencc_open(OPENCC_DEFAULT_CONFIG_TRAD_TO_SIMP);
    if (tn->cc == (opencc_t)-1) {
        rv_errf(errstr, errstr_size, "opencc: cannot open %s: %s",
                OPENCC_DEFAULT_CONFIG_TRAD_TO_SIMP, opencc_error());
        free(tn);
        return RV_ERR_UNAVAILABLE;
    }
    *out = tn;
    return RV_OK;
}

void rv_textnorm_close(rv_textnorm *tn)
{
    if (tn == NULL) {
        return;
    }
    opencc_close(tn->cc);
    free(tn);
}

/* Full-width forms and the ideographic space to ASCII; A-Z to a-z. */
static ucs4_t fold(ucs4_t c)
{
    if (c >= 0xFF01 && c <= 0xFF5E) {
        c -= 0xFEE0;
    } else if (c == 0x3000) {
        c = ' ';
    }
    if (c >= 'A' && c <= 'Z') {
        c += 'a' - 'A';
    }
    return c;
}

rv_err rv_textnorm_apply(rv_textnorm *tn, const char *in, char *out,
                         size_t out_size)
{
    if (out_size == 0) {
        return RV_ERR_INVALID;
    }
    size_t in_len = strlen(in);
    if (u8_check((const uint8_t *)in, in_len) != NULL) {
        return RV_ERR_INVALID;
    }
    char *simp = opencc_convert_utf8(tn->cc, in, in_len);
    if (simp == NULL) {
        return RV_ERR_NOMEM;
    }
    const uint8_t *p = (const uint8_t *)simp;
    size_t n = 0;
    while (*p != 0) {
        ucs4_t c = 0;
        int len = u8_strmbtouc(&c, p);
        if (len <= 0) {
            break;
        }
        uint8_t buf[6];
        int w = u8_uctomb(buf, fold(c), (int)sizeof(buf));
        if (w <= 0 || n + (size_t)w + 1 > out_size) {
            break;
        }
        memcpy(out + n, buf, (size_t)w);
        n += (size_t)w;
        p += len;
    }
    out[n] = '\0';
    opencc_convert_utf8_free(simp);
    return RV_OK;
}
