/* tests/fuzz/fuzz_csv.c: libFuzzer target, body in fuzz_entry.c. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rv_fuzz_csv(data, size);
    return 0;
}
