/* include/rv/pii.h: personal data encrypted at rest (issue 6, DESIGN §8).
 *
 * A phone number goes into the record sealed with AES-256-SIV (RFC 5297)
 * under a 64-byte key from a key file. SIV is deterministic on purpose:
 * the same number under the same key always gives the same text, so a
 * replay or a `replay rebuild` of the record compares equal row by row
 * and audits stay reproducible; it still authenticates, so a wrong key
 * or a changed byte is refused, never decrypted to garbage. The price of
 * determinism is that equal numbers are visibly equal in the record,
 * which the record already shows through customer IDs.
 *
 * Text form: "v1:" + standard base64 (with padding) of the 16-byte
 * synthetic IV followed by the ciphertext, e.g. "v1:3q2+7w...==". */
#ifndef RV_PII_H
#define RV_PII_H

#include <stddef.h>

#include "rv/compiler.h"
#include "rv/err.h"

/** Longest plaintext that can be sealed, in bytes (NUL excluded). */
#define RV_PII_PLAIN_MAX 255

/** Bytes of sealed text at most, NUL included: "v1:" + base64 of
 *  16 + RV_PII_PLAIN_MAX bytes + NUL. */
#define RV_PII_SEALED_SIZE 368

/** Bytes of a key, and of hex text in a key file. */
#define RV_PII_KEY_BYTES 64
#define RV_PII_KEY_HEX_LEN (2 * RV_PII_KEY_BYTES)

/** A loaded key; opaque, its bytes are wiped by rv_pii_key_free(). */
typedef struct rv_pii_key rv_pii_key;

/**
 * Parse a key from its text: exactly RV_PII_KEY_HEX_LEN hex digits (either
 * case), optionally followed by one "\n" or "\r\n".
 * @param text  NUL-terminated, borrowed
 * @param out   on RV_OK the new key, freed with rv_pii_key_free()
 * @returns RV_OK, RV_ERR_INVALID (wrong length, not hex; errstr says which,
 *          never quoting the text), RV_ERR_NOMEM, RV_ERR_FATAL (OpenSSL has
 *          no AES-256-SIV)
 * Threads: any.
 */
RV_MUSTCHECK rv_err rv_pii_key_parse(const char *text, rv_pii_key **out,
                                     char *errstr, size_t errstr_size);

/**
 * Load a key file (config key pii.key.file): a regular file, not
 * readable, writable or executable by group or others (mode 0600 or
 * 0400, as ssh and libpq's .pgpass demand), holding the key as
 * rv_pii_key_parse() reads it. Make one with
 * `(umask 077; openssl rand -hex 64 > FILE)`.
 * @param path  NUL-terminated, borrowed
 * @param out   on RV_OK the new key, freed with rv_pii_key_free()
 * @returns RV_OK, RV_ERR_INVALID (cannot open or read, not a regular
 *          file, group/other permissions, bad contents; errstr names the
 *          path and the problem), RV_ERR_NOMEM, RV_ERR_FATAL
 * Threads: any.
 */
RV_MUSTCHECK rv_err rv_pii_key_load(const char *path, rv_pii_key **out,
                                    char *errstr, size_t errstr_size);

/** Wipe and free @p key. NULL is a no-op. */
void rv_pii_key_free(rv_pii_key *key);

/**
 * Seal @p plain (NUL-terminated, borrowed, 1..RV_PII_PLAIN_MAX bytes)
 * into text "v1:<base64>". Deterministic: the same @p plain and key give
 * the same text. Empty text is refused: store "no number" as NULL.
 * @param out  @p out_size bytes; RV_PII_SEALED_SIZE always suffice;
 *             written only on RV_OK
 * @returns RV_OK, RV_ERR_INVALID (@p plain empty or too long, or @p out
 *          too small), RV_ERR_NOMEM, RV_ERR_FATAL (OpenSSL failed)
 * Threads: a key may be used by several threads at once.
 */
RV_MUSTCHECK rv_err rv_pii_seal(const rv_pii_key *key, const char *plain,
                                char *out, size_t out_size, char *errstr,
                                size_t errstr_size);

/**
 * Open text made by rv_pii_seal() with the same key.
 * @param sealed  NUL-terminated, borrowed
 * @param out     @p out_size bytes; RV_PII_PLAIN_MAX + 1 always suffice;
 *                written only on RV_OK, NUL-terminated
 * @returns RV_OK; RV_ERR_INVALID (not "v1:" + base64, too short or long,
 *          @p out too small, or authentication failed: another key or
 *          changed text; errstr says which, never showing plaintext);
 *          RV_ERR_NOMEM; RV_ERR_FATAL (OpenSSL failed)
 * Threads: as rv_pii_seal().
 */
RV_MUSTCHECK rv_err rv_pii_open(const rv_pii_key *key, const char *sealed,
                                char *out, size_t out_size, char *errstr,
                                size_t errstr_size);

/** Bytes of a key check value's text, NUL included: 64 lowercase hex
 *  digits of an HMAC-SHA256. */
#define RV_PII_CHECK_SIZE 65

/**
 * The key's check value: HMAC-SHA256 keyed with the key's bytes over the
 * fixed text "revisit pii key check v1", as lowercase hex. The record
 * keeps the value of the key it was written with (table pii_key_check,
 * deploy/sql/013_pii_key_check.sql), so a recorder or `reveal-phone` can
 * tell a wrong key file before it writes or opens anything; the value
 * reveals nothing of the key. Stable across versions: changing the text
 * or the MAC makes every recorded value a mismatch.
 * @param key       borrowed
 * @param out       @p out_size bytes; RV_PII_CHECK_SIZE suffice; written
 *                  only on RV_OK, NUL-terminated
 * @returns RV_OK, RV_ERR_INVALID (@p out_size below RV_PII_CHECK_SIZE),
 *          RV_ERR_FATAL (OpenSSL has no HMAC-SHA256 or it failed)
 * Threads: as rv_pii_seal().
 */
RV_MUSTCHECK rv_err rv_pii_key_check_value(const rv_pii_key *key, char *out,
                                           size_t out_size);

#endif /* RV_PII_H */
