/* common/pii.c: AES-256-SIV sealing of personal data (rv/pii.h) with
 * OpenSSL 3's EVP interface. No key byte and no plaintext ever reaches an
 * error string or a log line. */
#include "rv/pii.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SIV_TAG_BYTES 16
#define SEALED_PREFIX "v1:"
#define SEALED_PREFIX_LEN 3
/* A key file is the hex, a line end, and nothing else. */
#define KEY_FILE_MAX_BYTES (RV_PII_KEY_HEX_LEN + 2)
/* The text a key check value authenticates (rv_pii_key_check_value).
 * Never change it: every recorded value would stop matching its key. */
#define KEY_CHECK_TEXT "revisit pii key check v1"
#define KEY_CHECK_MAC_BYTES 32 /* SHA-256 */

static_assert(RV_PII_CHECK_SIZE == 2 * KEY_CHECK_MAC_BYTES + 1,
              "RV_PII_CHECK_SIZE holds the MAC's hex and a NUL");
static_assert(RV_PII_SEALED_SIZE ==
                  SEALED_PREFIX_LEN +
                      4 * ((SIV_TAG_BYTES + RV_PII_PLAIN_MAX + 2) / 3) + 1,
              "RV_PII_SEALED_SIZE fits the longest plaintext");

struct rv_pii_key {
    unsigned char bytes[RV_PII_KEY_BYTES];
    EVP_CIPHER *cipher; /* AES-256-SIV from the default provider */
};

void rv_pii_key_free(rv_pii_key *key)
{
    if (key == NULL) {
        return;
    }
    EVP_CIPHER_free(key->cipher);
    OPENSSL_cleanse(key->bytes, sizeof(key->bytes));
    free(key);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

rv_err rv_pii_key_parse(const char *text, rv_pii_key **out, char *errstr,
                        size_t errstr_size)
{
    size_t len = strlen(text);
    if (len > 0 && text[len - 1] == '\n') {
        len--;
        if (len > 0 && text[len - 1] == '\r') {
            len--;
        }
    }
    if (len != RV_PII_KEY_HEX_LEN) {
        rv_errf(errstr, errstr_size,
                "pii key: %zu characters, need %d hex digits (%d bytes)", len,
                RV_PII_KEY_HEX_LEN, RV_PII_KEY_BYTES);
        return RV_ERR_INVALID;
    }
    rv_pii_key *key = calloc(1, sizeof(*key));
    if (key == NULL) {
        return RV_ERR_NOMEM;
    }
    for (size_t i = 0; i < RV_PII_KEY_BYTES; i++) {
        int hi = hex_value(text[2 * i]);
        int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            rv_errf(errstr, errstr_size,
                    "pii key: character %zu is not a hex digit",
                    hi < 0 ? 2 * i + 1 : 2 * i + 2);
            rv_pii_key_free(key);
            return RV_ERR_INVALID;
        }
        key->bytes[i] = (unsigned char)(hi << 4 | lo);
    }
    key->cipher = EVP_CIPHER_fetch(NULL, "AES-256-SIV", NULL);
    if (key->cipher == NULL) {
        rv_errf(errstr, errstr_size,
                "pii key: OpenSSL offers no AES-256-SIV (needs OpenSSL 3)");
        rv_pii_key_free(key);
        return RV_ERR_FATAL;
    }
    *out = key;
    return RV_OK;
}

rv_err rv_pii_key_load(const char *path, rv_pii_key **out, char *errstr,
                       size_t errstr_size)
{
    char text[KEY_FILE_MAX_BYTES + 2]; /* one byte more shows "too long" */
    size_t len = 0;
    rv_err err = RV_ERR_INVALID;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int saved = errno;
        rv_errf(errstr, errstr_size, "pii key file %s: %s", path,
                strerror(saved));
        return RV_ERR_INVALID;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        rv_errf(errstr, errstr_size, "pii key file %s: %s", path,
                strerror(saved));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rv_errf(errstr, errstr_size, "pii key file %s: not a regular file",
                path);
        goto out;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        rv_errf(errstr, errstr_size,
                "pii key file %s: mode %04o lets group or others in; "
                "chmod 600 it",
                path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    while (len < sizeof(text) - 1) {
        ssize_t n = read(fd, text + len, sizeof(text) - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int saved = errno;
            rv_errf(errstr, errstr_size, "pii key file %s: %s", path,
                    strerror(saved));
            goto out;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    text[len] = '\0';
    if (len > KEY_FILE_MAX_BYTES || memchr(text, '\0', len) != NULL) {
        rv_errf(errstr, errstr_size,
                "pii key file %s: need %d hex digits and a line end, "
                "nothing else",
                path, RV_PII_KEY_HEX_LEN);
        goto out;
    }
    char why[200] = "";
    err = rv_pii_key_parse(text, out, why, sizeof(why));
    if (err != RV_OK) {
        rv_errf(errstr, errstr_size, "pii key file %s: %s", path, why);
    }
out:
    OPENSSL_cleanse(text, sizeof(text));
    close(fd);
    return err;
}

/* One SIV operation: encrypt @p in (@p len bytes) into tag || ciphertext
 * at @p out, or (decrypt) check and decrypt tag || ciphertext. */
static rv_err siv_run(const rv_pii_key *key, bool encrypt,
                      const unsigned char *in, size_t len, unsigned char *out,
                      size_t *out_len)
{
    rv_err err = RV_ERR_FATAL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return RV_ERR_NOMEM;
    }
    int n = 0, fin = 0;
    if (encrypt) {
        if (EVP_EncryptInit_ex2(ctx, key->cipher, key->bytes, NULL, NULL) !=
                1 ||
            EVP_EncryptUpdate(ctx, out + SIV_TAG_BYTES, &n, in, (int)len) !=
                1 ||
            EVP_EncryptFinal_ex(ctx, out + SIV_TAG_BYTES + n, &fin) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SIV_TAG_BYTES,
                                out) != 1) {
            goto out;
        }
        *out_len = SIV_TAG_BYTES + (size_t)n + (size_t)fin;
    } else {
        /* SET_TAG takes a non-const pointer but only copies from it. */
        unsigned char tag[SIV_TAG_BYTES];
        memcpy(tag, in, SIV_TAG_BYTES);
        if (EVP_DecryptInit_ex2(ctx, key->cipher, key->bytes, NULL, NULL) !=
                1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SIV_TAG_BYTES,
                                tag) != 1) {
            goto out;
        }
        /* A tag mismatch fails the update (or, with no data, the final). */
        if (EVP_DecryptUpdate(ctx, out, &n, in + SIV_TAG_BYTES,
                              (int)(len - SIV_TAG_BYTES)) != 1 ||
            EVP_DecryptFinal_ex(ctx, out + n, &fin) != 1) {
            err = RV_ERR_INVALID;
            goto out;
        }
        *out_len = (size_t)n + (size_t)fin;
    }
    err = RV_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    return err;
}

rv_err rv_pii_seal(const rv_pii_key *key, const char *plain, char *out,
                   size_t out_size, char *errstr, size_t errstr_size)
{
    size_t len = strlen(plain);
    if (len == 0) {
        /* OpenSSL's SIV has no empty message; "no number" is the
         * caller's NULL, not a sealed empty string. */
        rv_errf(errstr, errstr_size, "pii seal: nothing to seal (empty)");
        return RV_ERR_INVALID;
    }
    if (len > RV_PII_PLAIN_MAX) {
        rv_errf(errstr, errstr_size, "pii seal: %zu bytes exceeds limit %d",
                len, RV_PII_PLAIN_MAX);
        return RV_ERR_INVALID;
    }
    unsigned char raw[SIV_TAG_BYTES + RV_PII_PLAIN_MAX];
    size_t raw_len = 0;
    rv_err err =
        siv_run(key, true, (const unsigned char *)plain, len, raw, &raw_len);
    if (err != RV_OK) {
        rv_errf(errstr, errstr_size, "pii seal: OpenSSL AES-256-SIV failed");
        goto out;
    }
    size_t need = SEALED_PREFIX_LEN + 4 * ((raw_len + 2) / 3) + 1;
    if (need > out_size) {
        rv_errf(errstr, errstr_size,
                "pii seal: %zu bytes of output needed, %zu given", need,
                out_size);
        err = RV_ERR_INVALID;
        goto out;
    }
    memcpy(out, SEALED_PREFIX, SEALED_PREFIX_LEN);
    EVP_EncodeBlock((unsigned char *)out + SEALED_PREFIX_LEN, raw,
                    (int)raw_len);
out:
    OPENSSL_cleanse(raw, sizeof(raw));
    return err;
}

static bool is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Strict standard base64: a multiple of 4 characters, '=' only as the
 * last one or two. EVP_DecodeBlock alone would skip blanks and count
 * padding as zero bytes. Returns the decoded length, or -1. */
static long b64_decoded_len(const char *s, size_t len)
{
    if (len == 0 || len % 4 != 0) {
        return -1;
    }
    size_t pad = 0;
    if (s[len - 1] == '=') {
        pad = s[len - 2] == '=' ? 2 : 1;
    }
    for (size_t i = 0; i < len - pad; i++) {
        if (!is_b64(s[i])) {
            return -1;
        }
    }
    return (long)(len / 4 * 3 - pad);
}

rv_err rv_pii_open(const rv_pii_key *key, const char *sealed, char *out,
                   size_t out_size, char *errstr, size_t errstr_size)
{
    if (strncmp(sealed, SEALED_PREFIX, SEALED_PREFIX_LEN) != 0) {
        rv_errf(errstr, errstr_size,
                "pii open: text does not start with \"" SEALED_PREFIX "\"");
        return RV_ERR_INVALID;
    }
    const char *b64 = sealed + SEALED_PREFIX_LEN;
    size_t b64_len = strlen(b64);
    if (b64_len > RV_PII_SEALED_SIZE - SEALED_PREFIX_LEN - 1) {
        rv_errf(errstr, errstr_size,
                "pii open: %zu characters of base64 exceeds limit %d", b64_len,
                RV_PII_SEALED_SIZE - SEALED_PREFIX_LEN - 1);
        return RV_ERR_INVALID;
    }
    long raw_len = b64_decoded_len(b64, b64_len);
    if (raw_len < SIV_TAG_BYTES) {
        rv_errf(errstr, errstr_size,
                "pii open: not base64 of at least %d bytes", SIV_TAG_BYTES);
        return RV_ERR_INVALID;
    }
    /* 3 bytes per 4 characters, padding included, before trimming. */
    unsigned char raw[(RV_PII_SEALED_SIZE - SEALED_PREFIX_LEN) / 4 * 3];
    unsigned char plain[sizeof(raw)];
    size_t plain_len = 0;
    rv_err err = RV_ERR_INVALID;
    if (EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)b64_len) < 0) {
        rv_errf(errstr, errstr_size, "pii open: not base64");
        goto out;
    }
    err = siv_run(key, false, raw, (size_t)raw_len, plain, &plain_len);
    if (err == RV_ERR_INVALID) {
        rv_errf(errstr, errstr_size,
                "pii open: authentication failed (another key, or the text "
                "was changed)");
        goto out;
    }
    if (err != RV_OK) {
        rv_errf(errstr, errstr_size, "pii open: OpenSSL AES-256-SIV failed");
        goto out;
    }
    if (memchr(plain, '\0', plain_len) != NULL) {
        rv_errf(errstr, errstr_size, "pii open: plaintext holds a NUL byte");
        err = RV_ERR_INVALID;
        goto out;
    }
    if (plain_len + 1 > out_size) {
        rv_errf(errstr, errstr_size,
                "pii open: %zu bytes of output needed, %zu given",
                plain_len + 1, out_size);
        err = RV_ERR_INVALID;
        goto out;
    }
    memcpy(out, plain, plain_len);
    out[plain_len] = '\0';
out:
    OPENSSL_cleanse(plain, sizeof(plain));
    return err;
}

rv_err rv_pii_key_check_value(const rv_pii_key *key, char *out, size_t out_size)
{
    if (out_size < RV_PII_CHECK_SIZE) {
        return RV_ERR_INVALID;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), key->bytes, (int)sizeof(key->bytes),
             (const unsigned char *)KEY_CHECK_TEXT, strlen(KEY_CHECK_TEXT), mac,
             &mac_len) == NULL ||
        mac_len != KEY_CHECK_MAC_BYTES) {
        return RV_ERR_FATAL;
    }
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < mac_len; i++) {
        out[2 * i] = digits[mac[i] >> 4];
        out[2 * i + 1] = digits[mac[i] & 0x0f];
    }
    out[2 * mac_len] = '\0';
    return RV_OK;
}
