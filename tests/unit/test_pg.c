/* tests/unit/test_pg.c: the connection string check of --check-config
 * (rv_pg_dsn_check, common/pg.c; tester finding 9), which needs no
 * server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rv/pg.h"

static rv_err check(const char *dsn, char *errstr, size_t errstr_size)
{
    errstr[0] = '\0';
    return rv_pg_dsn_check(dsn, errstr, errstr_size);
}

/* What rv_pg_open accepts passes: key=value strings, quoted values,
 * URIs, port lists, a bare database name. */
static void test_pg_dsn_check_good(void **state)
{
    (void)state;
    char errstr[256];
    const char *good[] = {
        "host=/var/run/postgresql dbname=revisit",
        "host=127.0.0.1 port=5432 user=rv password='a b\\'c' "
        "sslmode=verify-full connect_timeout=5",
        "host=a,b port=5432,5433 dbname=revisit",
        "host=a,b port=,5433",
        "postgresql://rv:secret@127.0.0.1:5433/revisit?sslmode=require",
        "postgres://localhost/revisit",
        "revisit",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
        if (check(good[i], errstr, sizeof(errstr)) != RV_OK) {
            fail_msg("refused %s: %s", good[i], errstr);
        }
    }
}

/* Every bad string is refused with a sentence, and no value of it (a
 * password above all) is in the sentence. */
static void test_pg_dsn_check_bad(void **state)
{
    (void)state;
    char errstr[256];
    assert_int_equal(check("", errstr, sizeof(errstr)), RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "no connection string"));
    assert_int_equal(check(NULL, errstr, sizeof(errstr)), RV_ERR_INVALID);

    /* An unknown keyword (a typo of a password line). */
    assert_int_equal(check("host=a passwrd=s3cret-pw", errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "pg: connection string: "));
    assert_null(strstr(errstr, "s3cret-pw"));
    assert_null(strstr(errstr, "passwrd"));
    assert_null(strchr(errstr, '\n'));

    /* A value without its keyword: the word libpq quotes is hidden, a
     * keyword it quotes is shown. */
    assert_int_equal(check("user=rv s3cret-pw", errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_null(strstr(errstr, "s3cret-pw"));
    assert_non_null(strstr(errstr, "\"...\""));
    assert_int_equal(check("host=a password", errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "\"password\""));

    /* An unterminated quote. */
    assert_int_equal(
        check("host=a password='s3cret-pw", errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_null(strstr(errstr, "s3cret-pw"));

    /* Ports and sslmode, which libpq only checks at connect. */
    const char *bad_port[] = {"host=a port=0", "host=a port=65536",
                              "host=a port=54x", "host=a,b port=5432,-1",
                              "postgresql://a:99999/db"};
    for (size_t i = 0; i < sizeof(bad_port) / sizeof(*bad_port); i++) {
        if (check(bad_port[i], errstr, sizeof(errstr)) != RV_ERR_INVALID ||
            strstr(errstr, "port is not a number in [1, 65535]") == NULL) {
            fail_msg("port of %s: %s", bad_port[i], errstr);
        }
    }
    assert_int_equal(check("host=a sslmode=on", errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "sslmode is not one of"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pg_dsn_check_good),
        cmocka_unit_test(test_pg_dsn_check_bad),
    };
    return cmocka_run_group_tests_name("test_pg", tests, NULL, NULL);
}
