/* common/hash.c: SHA-256 (OpenSSL) based IDs and draws. */
#include "rv/hash.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

/* SHA-256 fetched from OpenSSL's default provider once a process:
 * EVP_sha256() in EVP_DigestInit_ex fetches it again on every call (a
 * provider lookup under a lock), 0.87 -> 0.27 us a derived ID (issue 8;
 * every message derives several). Kept for the process's life. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* SHA-256, fetched once; the implicit fetch if that failed. */
static const EVP_MD *sha256(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md != NULL ? sha256_md : EVP_sha256();
}

static void digest_parts(size_t part_count, const char *const *parts,
                         unsigned char md[32])
{
    const EVP_MD *type = sha256();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int md_len = 0;
    static const unsigned char sep = 0x1f;
    if (ctx == NULL || EVP_DigestInit_ex(ctx, type, NULL) != 1) {
        /* Out of memory inside OpenSSL: no sane ID can be made. */
        memset(md, 0, 32);
        EVP_MD_CTX_free(ctx);
        return;
    }
    for (size_t i = 0; i < part_count; i++) {
        const char *p = parts[i] != NULL ? parts[i] : "";
        EVP_DigestUpdate(ctx, p, strlen(p));
        EVP_DigestUpdate(ctx, &sep, 1);
    }
    EVP_DigestFinal_ex(ctx, md, &md_len);
    EVP_MD_CTX_free(ctx);
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 0xf];
    }
    out[2 * n] = '\0';
}

void rv_id_derive(char out[RV_ID_SIZE], size_t part_count,
                  const char *const *parts)
{
    unsigned char md[32];
    digest_parts(part_count, parts, md);
    to_hex(md, 16, out);
}

uint64_t rv_hash_u64(size_t part_count, const char *const *parts)
{
    unsigned char md[32];
    digest_parts(part_count, parts, md);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | md[i];
    }
    return v;
}

double rv_hash_unit(const char *salt, const char *rule_id, const char *key)
{
    const char *parts[] = {salt, rule_id, key};
    uint64_t v = rv_hash_u64(3, parts) >> 11; /* 53 bits */
    return (double)v / 9007199254740992.0;    /* 2^53 */
}

void rv_sha256_hex(const void *buf, size_t len, char out[RV_SHA256_HEX_SIZE])
{
    unsigned char md[32];
    unsigned int md_len = 0;
    EVP_Digest(buf, len, md, &md_len, sha256(), NULL);
    to_hex(md, 32, out);
}

void rv_hex_encode(const void *buf, size_t len, char *out)
{
    to_hex(buf, len, out);
    out[2 * len] = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

long rv_hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex);
    if (n % 2 != 0 || n / 2 > cap) {
        return -1;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(hex[2 * i]);
        int lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (uint8_t)(hi * 16 + lo);
    }
    return (long)(n / 2);
}
