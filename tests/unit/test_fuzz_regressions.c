/* tests/unit/test_fuzz_regressions.c (issue 6): every input the fuzz
 * targets (tests/fuzz) ever crashed on, kept in tests/fuzz/regressions/
 * <target>/, and their seed corpus, run through the same bodies
 * (tests/fuzz/fuzz_entry.c) under the normal ASan/UBSan build: a crash, a
 * leak or UB fails this test. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fuzz_entry.h"

#define PATH_SIZE 1024
#define INPUT_MAX_BYTES (4 * 1024 * 1024)

/* Run @p entry over every regular file of <source>/@p dir; returns how
 * many ran. A missing directory runs none. */
static size_t run_dir(const char *dir, void (*entry)(const uint8_t *, size_t))
{
    const char *src = getenv("RV_SOURCE_DIR");
    assert_non_null(src);
    char path[PATH_SIZE];
    snprintf(path, sizeof(path), "%s/%s", src, dir);
    DIR *d = opendir(path);
    if (d == NULL) {
        return 0;
    }
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char file[PATH_SIZE + 512]; /* + a d_name (<= 255 bytes) */
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        FILE *f = fopen(file, "rb");
        if (f == NULL) {
            continue;
        }
        uint8_t *buf = malloc(INPUT_MAX_BYTES);
        assert_non_null(buf);
        size_t len = fread(buf, 1, INPUT_MAX_BYTES, f);
        fclose(f);
        print_message("%s (%zu bytes)\n", file, len);
        entry(buf, len);
        free(buf);
        count++;
    }
    closedir(d);
    return count;
}

static void test_fuzz_regressions_decoders(void **state)
{
    (void)state;
    size_t n = run_dir("tests/fuzz/regressions/decoders", rv_fuzz_decoders);
    n += run_dir("tests/fuzz/corpus/decoders", rv_fuzz_decoders);
    assert_true(n > 0);
}

static void test_fuzz_regressions_csv(void **state)
{
    (void)state;
    size_t n = run_dir("tests/fuzz/regressions/csv", rv_fuzz_csv);
    n += run_dir("tests/fuzz/corpus/csv", rv_fuzz_csv);
    assert_true(n > 0);
}

static void test_fuzz_regressions_policy(void **state)
{
    (void)state;
    /* The policy target's seed is the shipped policy itself. */
    size_t n = run_dir("tests/fuzz/regressions/policy", rv_fuzz_policy);
    n += run_dir("deploy/policy", rv_fuzz_policy);
    assert_true(n > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz_regressions_decoders),
        cmocka_unit_test(test_fuzz_regressions_csv),
        cmocka_unit_test(test_fuzz_regressions_policy),
    };
    return cmocka_run_group_tests_name("fuzz_regressions", tests, NULL, NULL);
}
