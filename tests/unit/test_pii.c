/* tests/unit/test_pii.c: personal data sealed at rest (common/pii.c):
 * AES-256-SIV round trip, determinism, wrong key, changed text, the key
 * file's checks, and the key check value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rv/pii.h"

/* Two keys of 128 hex digits. */
#define KEY_A                                                                  \
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"         \
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
#define KEY_B                                                                  \
    "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF00112233445566778899AABBCCDDEEFF"         \
    "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"

static rv_pii_key *key_of(const char *hex)
{
    rv_pii_key *key = NULL;
    char errstr[256] = "";
    assert_int_equal(rv_pii_key_parse(hex, &key, errstr, sizeof(errstr)),
                     RV_OK);
    assert_non_null(key);
    return key;
}

static void test_pii_seal_open_round_trip(void **state)
{
    (void)state;
    rv_pii_key *key = key_of(KEY_A);
    char sealed[RV_PII_SEALED_SIZE], plain[RV_PII_PLAIN_MAX + 1];
    char errstr[256] = "";
    assert_int_equal(rv_pii_seal(key, "13812345678", sealed, sizeof(sealed),
                                 errstr, sizeof(errstr)),
                     RV_OK);
    assert_memory_equal(sealed, "v1:", 3);
    assert_null(strstr(sealed, "13812345678"));
    assert_null(strstr(sealed, "5678"));
    assert_int_equal(
        rv_pii_open(key, sealed, plain, sizeof(plain), errstr, sizeof(errstr)),
        RV_OK);
    assert_string_equal(plain, "13812345678");
    rv_pii_key_free(key);
}

/* The longest plaintext fits RV_PII_SEALED_SIZE exactly; one more byte
 * is refused. */
static void test_pii_seal_longest_fits_and_longer_is_refused(void **state)
{
    (void)state;
    rv_pii_key *key = key_of(KEY_A);
    char longest[RV_PII_PLAIN_MAX + 2];
    memset(longest, '7', RV_PII_PLAIN_MAX);
    longest[RV_PII_PLAIN_MAX] = '\0';
    char sealed[RV_PII_SEALED_SIZE], plain[RV_PII_PLAIN_MAX + 1];
    char errstr[256] = "";
    assert_int_equal(rv_pii_seal(key, longest, sealed, sizeof(sealed), errstr,
                                 sizeof(errstr)),
                     RV_OK);
    assert_int_equal(strlen(sealed), RV_PII_SEALED_SIZE - 1);
    assert_int_equal(
        rv_pii_open(key, sealed, plain, sizeof(plain), errstr, sizeof(errstr)),
        RV_OK);
    assert_string_equal(plain, longest);
    longest[RV_PII_PLAIN_MAX] = '7';
    longest[RV_PII_PLAIN_MAX + 1] = '\0';
    assert_int_equal(rv_pii_seal(key, longest, sealed, sizeof(sealed), errstr,
                                 sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "exceeds limit 255"));
    assert_int_equal(
        rv_pii_seal(key, "", sealed, sizeof(sealed), errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    /* An output buffer too small is refused, not overrun. */
    char small[8];
    assert_int_equal(rv_pii_seal(key, "13812345678", small, sizeof(small),
                                 errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    rv_pii_key_free(key);
}

/* Deterministic on purpose: a rebuilt record compares equal. Different
 * numbers or keys give different text. */
static void test_pii_seal_is_deterministic(void **state)
{
    (void)state;
    rv_pii_key *a = key_of(KEY_A);
    rv_pii_key *a2 = key_of(KEY_A);
    rv_pii_key *b = key_of(KEY_B);
    char s1[RV_PII_SEALED_SIZE], s2[RV_PII_SEALED_SIZE];
    char s3[RV_PII_SEALED_SIZE], s4[RV_PII_SEALED_SIZE];
    assert_int_equal(rv_pii_seal(a, "13812345678", s1, sizeof(s1), NULL, 0),
                     RV_OK);
    assert_int_equal(rv_pii_seal(a2, "13812345678", s2, sizeof(s2), NULL, 0),
                     RV_OK);
    assert_string_equal(s1, s2);
    /* The format is pinned: a record sealed today opens, and compares
     * equal, after any upgrade. */
    assert_string_equal(s1, "v1:MOjhXBteugEY3WBChYhB+tbX795aE/YmcuC2");
    assert_int_equal(rv_pii_seal(a, "13812345679", s3, sizeof(s3), NULL, 0),
                     RV_OK);
    assert_string_not_equal(s1, s3);
    assert_int_equal(rv_pii_seal(b, "13812345678", s4, sizeof(s4), NULL, 0),
                     RV_OK);
    assert_string_not_equal(s1, s4);
    rv_pii_key_free(a);
    rv_pii_key_free(a2);
    rv_pii_key_free(b);
}

static void test_pii_open_with_wrong_key_fails(void **state)
{
    (void)state;
    rv_pii_key *a = key_of(KEY_A);
    rv_pii_key *b = key_of(KEY_B);
    char sealed[RV_PII_SEALED_SIZE], plain[RV_PII_PLAIN_MAX + 1] = "";
    char errstr[256] = "";
    assert_int_equal(
        rv_pii_seal(a, "13812345678", sealed, sizeof(sealed), NULL, 0), RV_OK);
    assert_int_equal(
        rv_pii_open(b, sealed, plain, sizeof(plain), errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "authentication failed"));
    assert_string_equal(plain, ""); /* untouched */
    rv_pii_key_free(a);
    rv_pii_key_free(b);
}

static void test_pii_open_refuses_changed_text(void **state)
{
    (void)state;
    rv_pii_key *key = key_of(KEY_A);
    char sealed[RV_PII_SEALED_SIZE], plain[RV_PII_PLAIN_MAX + 1];
    char errstr[256] = "";
    assert_int_equal(
        rv_pii_seal(key, "13812345678", sealed, sizeof(sealed), NULL, 0),
        RV_OK);
    size_t len = strlen(sealed);
    /* Every base64 character changed in turn (a flipped bit of the tag
     * or of the ciphertext) fails authentication. */
    for (size_t i = 3; i < len && sealed[i] != '='; i++) {
        char changed[RV_PII_SEALED_SIZE];
        memcpy(changed, sealed, len + 1);
        changed[i] = changed[i] == 'A' ? 'B' : 'A';
        assert_int_equal(rv_pii_open(key, changed, plain, sizeof(plain), errstr,
                                     sizeof(errstr)),
                         RV_ERR_INVALID);
    }
    /* Cut short, wrong prefix, not base64, blanks, empty. */
    static const char *const bad[] = {
        "v1:",
        "v2:AAAAAAAAAAAAAAAAAAAAAA==",
        "13812345678",
        "v1:@@@@",
        "v1:AAAA AAAAAAAAAAAAAAAAAAAA",
        "v1:AAA=AAAAAAAAAAAAAAAAAAAA",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(rv_pii_open(key, bad[i], plain, sizeof(plain), errstr,
                                     sizeof(errstr)),
                         RV_ERR_INVALID);
    }
    char truncated[RV_PII_SEALED_SIZE];
    memcpy(truncated, sealed, 3 + 20);
    truncated[3 + 20] = '\0';
    assert_int_equal(rv_pii_open(key, truncated, plain, sizeof(plain), errstr,
                                 sizeof(errstr)),
                     RV_ERR_INVALID);
    /* Too small an output buffer is refused. */
    char small[4];
    assert_int_equal(
        rv_pii_open(key, sealed, small, sizeof(small), errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    rv_pii_key_free(key);
}

static void test_pii_key_parse_checks_length_and_hex(void **state)
{
    (void)state;
    rv_pii_key *key = NULL;
    char errstr[256] = "";
    assert_int_equal(rv_pii_key_parse("abcd", &key, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "4 characters, need 128"));
    char text[RV_PII_KEY_HEX_LEN + 3];
    snprintf(text, sizeof(text), "%s", KEY_A);
    text[10] = 'g';
    assert_int_equal(rv_pii_key_parse(text, &key, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "character 11 is not a hex digit"));
    assert_null(key);
    /* A line end is allowed, "\r\n" too. */
    snprintf(text, sizeof(text), "%s\r\n", KEY_A);
    assert_int_equal(rv_pii_key_parse(text, &key, errstr, sizeof(errstr)),
                     RV_OK);
    rv_pii_key_free(key);
    rv_pii_key_free(NULL);
}

/* Writes @p text to a fresh file of mode @p mode; the path goes to
 * @p path (PATH_MAX-ish buffer). */
static void write_key_file(char *path, size_t size, const char *text,
                           mode_t mode)
{
    snprintf(path, size, "/tmp/rv-test-pii-%ld-XXXXXX", (long)getpid());
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_pii_key_load_accepts_0600_and_0400(void **state)
{
    (void)state;
    char path[128], errstr[256] = "";
    rv_pii_key *key = NULL;
    write_key_file(path, sizeof(path), KEY_A "\n", 0600);
    assert_int_equal(rv_pii_key_load(path, &key, errstr, sizeof(errstr)),
                     RV_OK);
    rv_pii_key *same = key_of(KEY_A);
    char s1[RV_PII_SEALED_SIZE], s2[RV_PII_SEALED_SIZE];
    assert_int_equal(rv_pii_seal(key, "555", s1, sizeof(s1), NULL, 0), RV_OK);
    assert_int_equal(rv_pii_seal(same, "555", s2, sizeof(s2), NULL, 0), RV_OK);
    assert_string_equal(s1, s2);
    rv_pii_key_free(key);
    rv_pii_key_free(same);
    key = NULL;
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(rv_pii_key_load(path, &key, errstr, sizeof(errstr)),
                     RV_OK);
    rv_pii_key_free(key);
    unlink(path);
}

static void test_pii_key_load_refuses_bad_files(void **state)
{
    (void)state;
    char path[128], errstr[256] = "";
    rv_pii_key *key = NULL;

    write_key_file(path, sizeof(path), KEY_A "\n", 0644);
    assert_int_equal(rv_pii_key_load(path, &key, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "mode 0644 lets group or others in"));
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(rv_pii_key_load(path, &key, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(rv_pii_key_load(path, &key, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    unlink(path);

    /* Short: 32 bytes of hex (an AES-256 key, not a SIV key). */
    write_key_file(path, sizeof(path),
                   "000102030405060708090a0b0c0d0e0f"
                   "101112131415161718191a1b1c1d1e1f\n",
                   0600);
    assert_int_equal(rv_pii_key_load(path, &key, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "64 characters, need 128"));
    assert_non_null(strstr(errstr, path));
    unlink(path);

    /* Right length, not hex: the message never quotes the key. */
    char text[RV_PII_KEY_HEX_LEN + 2];
    snprintf(text, sizeof(text), "%s", KEY_A);
    text[0] = 'z';
    write_key_file(path, sizeof(path), text, 0600);
    assert_int_equal(rv_pii_key_load(path, &key, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "not a hex digit"));
    assert_null(strstr(errstr, "0102030405"));
    unlink(path);

    /* Too long, two keys, empty. */
    write_key_file(path, sizeof(path), KEY_A KEY_B "\n", 0600);
    assert_int_equal(rv_pii_key_load(path, &key, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    unlink(path);
    write_key_file(path, sizeof(path), "", 0600);
    assert_int_equal(rv_pii_key_load(path, &key, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    unlink(path);

    /* Missing; a directory. */
    assert_int_equal(
        rv_pii_key_load("/nonexistent/pii.key", &key, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "No such file"));
    assert_int_equal(rv_pii_key_load("/tmp", &key, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_null(key);
}

/* Pinned once with `printf 'revisit pii key check v1' | openssl dgst
 * -sha256 -mac HMAC -macopt hexkey:KEY`: a change of the text or the MAC
 * would make every recorded pii_key_check row a mismatch. */
#define KEY_A_CHECK                                                            \
    "0b3828c3dfec172182060baf89de9f8df8ad19ca45724db3d9a07cd4bf03c0b7"
#define KEY_B_CHECK                                                            \
    "97386138e029a44486249a6f2a7c29029e920279b36465b3caeab46f1557d97e"

static void test_pii_key_check_value_is_pinned_hmac(void **state)
{
    (void)state;
    rv_pii_key *a = key_of(KEY_A);
    rv_pii_key *a2 = key_of(KEY_A "\n");
    rv_pii_key *b = key_of(KEY_B); /* upper-case hex: the same bytes */
    char va[RV_PII_CHECK_SIZE], va2[RV_PII_CHECK_SIZE], vb[RV_PII_CHECK_SIZE];
    assert_int_equal(rv_pii_key_check_value(a, va, sizeof(va)), RV_OK);
    assert_string_equal(va, KEY_A_CHECK);
    assert_int_equal(rv_pii_key_check_value(a2, va2, sizeof(va2)), RV_OK);
    assert_string_equal(va2, va);
    assert_int_equal(rv_pii_key_check_value(b, vb, sizeof(vb)), RV_OK);
    assert_string_equal(vb, KEY_B_CHECK);
    assert_string_not_equal(va, vb);
    assert_int_equal(strlen(va), RV_PII_CHECK_SIZE - 1);
    rv_pii_key_free(a);
    rv_pii_key_free(a2);
    rv_pii_key_free(b);
}

static void test_pii_key_check_value_refuses_small_buffer(void **state)
{
    (void)state;
    rv_pii_key *a = key_of(KEY_A);
    char out[RV_PII_CHECK_SIZE + 1];
    memset(out, 'x', sizeof(out));
    assert_int_equal(rv_pii_key_check_value(a, out, RV_PII_CHECK_SIZE - 1),
                     RV_ERR_INVALID);
    assert_int_equal(out[0], 'x'); /* untouched on error */
    assert_int_equal(rv_pii_key_check_value(a, out, 0), RV_ERR_INVALID);
    assert_int_equal(rv_pii_key_check_value(a, out, sizeof(out)), RV_OK);
    assert_string_equal(out, KEY_A_CHECK);
    rv_pii_key_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pii_seal_open_round_trip),
        cmocka_unit_test(test_pii_seal_longest_fits_and_longer_is_refused),
        cmocka_unit_test(test_pii_seal_is_deterministic),
        cmocka_unit_test(test_pii_open_with_wrong_key_fails),
        cmocka_unit_test(test_pii_open_refuses_changed_text),
        cmocka_unit_test(test_pii_key_parse_checks_length_and_hex),
        cmocka_unit_test(test_pii_key_load_accepts_0600_and_0400),
        cmocka_unit_test(test_pii_key_load_refuses_bad_files),
        cmocka_unit_test(test_pii_key_check_value_is_pinned_hmac),
        cmocka_unit_test(test_pii_key_check_value_refuses_small_buffer),
    };
    return cmocka_run_group_tests_name("pii", tests, NULL, NULL);
}
