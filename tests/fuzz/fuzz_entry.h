/* tests/fuzz/fuzz_entry.h: the bodies of the libFuzzer targets (issue 6),
 * shared by tests/fuzz/fuzz_*.c (clang, RV_FUZZ) and by the regression
 * test tests/unit/test_fuzz_regressions.c (any compiler). Each takes any
 * bytes, borrowed for the call; whatever they are, it must return without
 * a crash, a leak or undefined behaviour. */
#ifndef RV_FUZZ_ENTRY_H
#define RV_FUZZ_ENTRY_H

#include <stddef.h>
#include <stdint.h>

/** The first byte picks one decoder of rv/codec.h (modulo their count);
 *  the rest is its input (for the hex decoder, as text). */
void rv_fuzz_decoders(const uint8_t *data, size_t len);

/** Write the bytes to a temporary file, read it with
 *  import_superstore_read and turn every order into a sale
 *  (import_order_to_sale) and a work order. */
void rv_fuzz_csv(const uint8_t *data, size_t len);

/** Write the bytes to a temporary file, load it with rv_policy_load and,
 *  if it loads, build its calendar with rv_calendar_new. */
void rv_fuzz_policy(const uint8_t *data, size_t len);

#endif /* RV_FUZZ_ENTRY_H */
