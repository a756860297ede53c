/* include/rv/hash.h: derived IDs and sampling draws (DESIGN §4). */
#ifndef RV_HASH_H
#define RV_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "rv/err.h"

/** Bytes of a derived ID in text form: 32 lowercase hex digits + NUL. */
#define RV_ID_SIZE 33

/** Bytes of a SHA-256 digest in text form: 64 hex digits + NUL. */
#define RV_SHA256_HEX_SIZE 65

/**
 * Derive an ID from @p part_count NUL-terminated parts (borrowed): the
 * first 128 bits of SHA-256 over the parts, each followed by a 0x1f unit
 * separator, as 32 hex digits. Same parts, same ID, on every machine:
 * task_id = rv_id_derive(source event_id, rule_id) and likewise for the
 * other records (DESIGN §4 "IDs are derived, not random").
 * @param out  RV_ID_SIZE bytes
 */
void rv_id_derive(char out[RV_ID_SIZE], size_t part_count,
                  const char *const *parts);

/**
 * The sampling draw u = hash(salt, rule_id, key) in [0, 1), from the first
 * 53 bits of SHA-256 (DESIGN §4 "Reproducible sampling"). Pure function.
 */
double rv_hash_unit(const char *salt, const char *rule_id, const char *key);

/** First 64 bits of SHA-256 over the parts (as rv_id_derive), for seeds. */
uint64_t rv_hash_u64(size_t part_count, const char *const *parts);

/** SHA-256 of @p len bytes at @p buf as 64 hex digits into @p out. */
void rv_sha256_hex(const void *buf, size_t len, char out[RV_SHA256_HEX_SIZE]);

/** Lowercase hex of @p len bytes into @p out (2 * len + 1 bytes,
 *  NUL-terminated): for binary values in text stores such as Redis. */
void rv_hex_encode(const void *buf, size_t len, char *out);

/** Bytes of lowercase hex @p hex into @p out (room for @p cap).
 *  @returns the number of bytes, or -1 if @p hex is not even-length
 *  lowercase hex or does not fit. */
long rv_hex_decode(const char *hex, uint8_t *out, size_t cap);

#endif /* RV_HASH_H */
