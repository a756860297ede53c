#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rv/calendar.h"
#include "rv/policy.h"

#define US 1000000LL

/* Loaded once for the group: building the tables costs a few mktime()
 * calls per day of 1990..2099. */
typedef struct fixture {
    rv_policy *p;
    rv_calendar *cal;
} fixture;

static int64_t day_of(const char *s)
{
    int64_t d = 0;
    assert_int_equal(rv_calendar_day_parse(s, &d), RV_OK);
    return d;
}

/* UTC "YYYY-MM-DDTHH:MM:SSZ" as µs, through the day arithmetic. */
static int64_t utc_us(const char *day, int h, int m, int s)
{
    return (day_of(day) * 86400 + h * 3600 + m * 60 + s) * US;
}

static int setup(void **state)
{
    const char *src = getenv("RV_SOURCE_DIR");
    if (src == NULL) {
        fprintf(stderr, "RV_SOURCE_DIR is not set\n");
        return -1;
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/deploy/policy/default.yaml", src);
    fixture *f = calloc(1, sizeof(*f));
    char errstr[512] = "";
    if (f == NULL ||
        rv_policy_load(path, &f->p, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "policy: %s\n", errstr);
        free(f);
        return -1;
    }
    if (rv_calendar_new(f->p, &f->cal, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "calendar: %s\n", errstr);
        rv_policy_free(f->p);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rv_calendar_free(f->cal);
    rv_policy_free(f->p);
    free(f);
    return 0;
}

static void test_calendar_day_strings_round_trip(void **state)
{
    (void)state;
    char s[RV_DAY_SIZE];
    assert_int_equal(day_of("1970-01-01"), 0);
    assert_int_equal(day_of("1969-12-31"), -1);
    assert_int_equal(day_of("2000-03-01"), 11017);
    const char *days[] = {"1970-01-01", "1969-12-31", "2000-02-29",
                          "2016-07-04", "2100-12-31", "0001-01-01",
                          "9999-12-31", "2024-02-29"};
    for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
        rv_calendar_day_str(day_of(days[i]), s);
        assert_string_equal(s, days[i]);
    }
    /* Every day of four centuries, through leap rules of 1900 and 2000. */
    int64_t d0 = day_of("1900-01-01");
    for (int64_t d = d0; d < d0 + 146097 * 1; d++) {
        int64_t back = 0;
        rv_calendar_day_str(d, s);
        assert_int_equal(rv_calendar_day_parse(s, &back), RV_OK);
        assert_int_equal(back, d);
    }
    rv_calendar_day_str(INT64_MAX, s);
    assert_string_equal(s, "0000-00-00");
}

static void test_calendar_day_parse_rejects_bad_dates(void **state)
{
    (void)state;
    const char *bad[] = {"",           "2016-7-04",   "2016-07-4",
                         "2016/07/04", "2016-13-01",  "2016-00-10",
                         "2015-02-29", "1900-02-29",  "2016-04-31",
                         "0000-01-01", "2016-07-04x", "20a6-07-04",
                         " 2016-07-04"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t d = 42;
        assert_int_equal(rv_calendar_day_parse(bad[i], &d), RV_ERR_INVALID);
        assert_int_equal(d, 42);
    }
    int64_t d = 42;
    assert_int_equal(rv_calendar_day_parse(NULL, &d), RV_ERR_INVALID);
}

static void test_calendar_weekday(void **state)
{
    (void)state;
    assert_int_equal(rv_calendar_weekday(0), 3); /* 1970-01-01 Thu */
    assert_int_equal(rv_calendar_weekday(-1), 2);
    assert_int_equal(rv_calendar_weekday(day_of("2016-07-04")), 0);
    assert_int_equal(rv_calendar_weekday(day_of("2025-01-26")), 6);
    int wd = -1;
    assert_int_equal(rv_calendar_weekday_parse("sat", &wd), RV_OK);
    assert_int_equal(wd, 5);
    assert_int_equal(rv_calendar_weekday_parse("Sat", &wd), RV_ERR_INVALID);
    assert_int_equal(wd, 5);
}

static void test_calendar_us_federal_working_days(void **state)
{
    fixture *f = *state;
    int west = rv_calendar_branch(f->cal, "West");
    assert_true(west >= 0);
    assert_int_equal(rv_calendar_branch(f->cal, "Atlantis"), -1);
    assert_false(
        rv_calendar_is_working_day(f->cal, west, day_of("2016-07-04")));
    assert_false(
        rv_calendar_is_working_day(f->cal, west, day_of("2016-07-02")));
    assert_false(
        rv_calendar_is_working_day(f->cal, west, day_of("2016-07-03")));
    assert_true(rv_calendar_is_working_day(f->cal, west, day_of("2016-07-01")));
    assert_int_equal(
        rv_calendar_add_working_days(f->cal, west, day_of("2016-07-01"), 1),
        day_of("2016-07-05"));
    assert_int_equal(
        rv_calendar_add_working_days(f->cal, west, day_of("2016-07-01"), 0),
        day_of("2016-07-01"));
    /* Thanksgiving Thursday: Wed -> Fri -> Mon. */
    assert_int_equal(
        rv_calendar_add_working_days(f->cal, west, day_of("2016-11-23"), 2),
        day_of("2016-11-28"));
}

/* A fake policy with one cn-mainland branch, sharing the loaded calendar
 * definitions (borrowed: rv_calendar_new copies what it needs). */
static void test_calendar_cn_mainland_make_up_days(void **state)
{
    fixture *f = *state;
    char id[] = "Shanghai", tz[] = "Asia/Shanghai", cal_id[] = "cn-mainland";
    rv_branch br = {.id = id, .tz = tz, .calendar = cal_id};
    rv_policy p = *f->p;
    p.branches = &br;
    p.branch_count = 1;
    rv_calendar *cal = NULL;
    char errstr[256] = "";
    assert_int_equal(rv_calendar_new(&p, &cal, errstr, sizeof(errstr)), RV_OK);
    int sh = rv_calendar_branch(cal, "Shanghai");
    assert_int_equal(sh, 0);
    int64_t sun = day_of("2025-01-26");
    assert_int_equal(rv_calendar_weekday(sun), 6);
    assert_true(rv_calendar_is_working_day(cal, sh, sun));
    assert_false(rv_calendar_is_working_day(cal, sh, day_of("2025-01-28")));
    assert_false(rv_calendar_is_working_day(cal, sh, day_of("2025-01-25")));
    /* Mon 27 works, 28 Jan .. 4 Feb off, Wed 5 Feb back. */
    assert_int_equal(rv_calendar_add_working_days(cal, sh, sun, 1),
                     day_of("2025-01-27"));
    assert_int_equal(rv_calendar_add_working_days(cal, sh, sun, 2),
                     day_of("2025-02-05"));
    /* No DST in China: 10:00 local is 02:00 UTC all year. */
    assert_int_equal(rv_calendar_local_to_us(cal, sh, sun, 600),
                     utc_us("2025-01-26", 2, 0, 0));
    rv_calendar_free(cal);
}

static void test_calendar_local_to_utc_across_dst(void **state)
{
    fixture *f = *state;
    int east = rv_calendar_branch(f->cal, "East");
    assert_true(east >= 0);
    /* DST began Sun 2016-03-13 in New York. */
    assert_int_equal(
        rv_calendar_local_to_us(f->cal, east, day_of("2016-03-14"), 600),
        utc_us("2016-03-14", 14, 0, 0));
    assert_int_equal(
        rv_calendar_local_to_us(f->cal, east, day_of("2016-03-11"), 600),
        utc_us("2016-03-11", 15, 0, 0));
    /* Midnight of the day clocks spring forward is still on EST, and so
     * is the end (1440) of the day before; both agree with local_day. */
    int64_t start =
        rv_calendar_local_to_us(f->cal, east, day_of("2016-03-13"), 0);
    assert_int_equal(start, utc_us("2016-03-13", 5, 0, 0));
    assert_int_equal(
        rv_calendar_local_to_us(f->cal, east, day_of("2016-03-12"), 1440),
        start);
    assert_int_equal(rv_calendar_local_day(f->cal, east, start),
                     day_of("2016-03-13"));
    assert_int_equal(rv_calendar_local_day(f->cal, east, start - 1),
                     day_of("2016-03-12"));
    /* 03:00 EDT that day, and midnight after the fall-back day (EST). */
    assert_int_equal(
        rv_calendar_local_to_us(f->cal, east, day_of("2016-03-13"), 180),
        utc_us("2016-03-13", 7, 0, 0));
    assert_int_equal(
        rv_calendar_local_to_us(f->cal, east, day_of("2016-11-06"), 1440),
        utc_us("2016-11-07", 5, 0, 0));
    assert_int_equal(
        rv_calendar_local_to_us(f->cal, east, day_of("2016-11-06"), 0),
        utc_us("2016-11-06", 4, 0, 0));
    /* The end of the day (1440) is the next local midnight. */
    assert_int_equal(
        rv_calendar_local_to_us(f->cal, east, day_of("2016-07-04"), 1440),
        utc_us("2016-07-05", 4, 0, 0));
}

static void test_calendar_local_day_around_midnight_and_dst(void **state)
{
    fixture *f = *state;
    int west = rv_calendar_branch(f->cal, "West");
    /* PST since 2016-11-06: local midnight of 11-08 is 08:00Z. */
    assert_int_equal(
        rv_calendar_local_day(f->cal, west, utc_us("2016-11-08", 7, 59, 59)),
        day_of("2016-11-07"));
    assert_int_equal(
        rv_calendar_local_day(f->cal, west, utc_us("2016-11-08", 8, 0, 0)),
        day_of("2016-11-08"));
    /* One µs before midnight. */
    assert_int_equal(
        rv_calendar_local_day(f->cal, west, utc_us("2016-11-08", 8, 0, 0) - 1),
        day_of("2016-11-07"));
    /* Spring forward 2016-03-13 02:00 PST: 07:30Z is 23:30 on the 12th,
     * 08:00Z is midnight of the 13th (still PST), 10:30Z is 03:30 PDT. */
    assert_int_equal(
        rv_calendar_local_day(f->cal, west, utc_us("2016-03-13", 7, 30, 0)),
        day_of("2016-03-12"));
    assert_int_equal(
        rv_calendar_local_day(f->cal, west, utc_us("2016-03-13", 8, 0, 0)),
        day_of("2016-03-13"));
    assert_int_equal(
        rv_calendar_local_day(f->cal, west, utc_us("2016-03-14", 6, 59, 59)),
        day_of("2016-03-13"));
    assert_int_equal(
        rv_calendar_local_day(f->cal, west, utc_us("2016-03-14", 7, 0, 0)),
        day_of("2016-03-14"));
    /* Fall back 2016-11-06 02:00 PDT: the day runs 07:00Z .. 08:00Z+1. */
    assert_int_equal(
        rv_calendar_local_day(f->cal, west, utc_us("2016-11-06", 6, 59, 59)),
        day_of("2016-11-05"));
    assert_int_equal(
        rv_calendar_local_day(f->cal, west, utc_us("2016-11-06", 7, 0, 0)),
        day_of("2016-11-06"));
    assert_int_equal(
        rv_calendar_local_day(f->cal, west, utc_us("2016-11-07", 7, 59, 59)),
        day_of("2016-11-06"));
    /* Before 1970 (negative µs), and outside the table's range, where
     * the nearest day's offset holds: 2099-12-31 is PST (-8 h). */
    assert_int_equal(
        rv_calendar_local_day(f->cal, west, utc_us("1969-12-31", 12, 0, 0)),
        day_of("1969-12-31"));
    assert_int_equal(
        rv_calendar_local_day(f->cal, west, utc_us("2150-06-01", 7, 59, 0)),
        day_of("2150-05-31"));
    assert_int_equal(
        rv_calendar_local_day(f->cal, west, utc_us("2150-06-01", 8, 0, 0)),
        day_of("2150-06-01"));
}

/* Every day of the Superstore years in every branch: midnight, a window
 * time and the last minute map back to their day, and one day's end is
 * the next day's start. */
static void test_calendar_local_day_inverts_local_to_us(void **state)
{
    fixture *f = *state;
    const char *branches[] = {"West", "Central", "East"};
    for (size_t b = 0; b < 3; b++) {
        int br = rv_calendar_branch(f->cal, branches[b]);
        for (int64_t d = day_of("2014-01-01"); d < day_of("2018-01-01"); d++) {
            const int minutes[] = {0, 600, 990, 1439};
            for (size_t m = 0; m < 4; m++) {
                int64_t t = rv_calendar_local_to_us(f->cal, br, d, minutes[m]);
                assert_int_equal(rv_calendar_local_day(f->cal, br, t), d);
            }
            assert_int_equal(rv_calendar_local_to_us(f->cal, br, d, 1440),
                             rv_calendar_local_to_us(f->cal, br, d + 1, 0));
        }
    }
}

static void test_calendar_unknown_zone_is_invalid(void **state)
{
    fixture *f = *state;
    const char *zones[] = {"Mars/Olympus_Mons", "../../etc/passwd",
                           "/etc/passwd", ""};
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        char id[] = "X", cal_id[] = "us-federal", tz[64];
        snprintf(tz, sizeof(tz), "%s", zones[i]);
        rv_branch br = {.id = id, .tz = tz, .calendar = cal_id};
        rv_policy p = *f->p;
        p.branches = &br;
        p.branch_count = 1;
        rv_calendar *cal = NULL;
        char errstr[256] = "";
        assert_int_equal(rv_calendar_new(&p, &cal, errstr, sizeof(errstr)),
                         RV_ERR_INVALID);
        assert_null(cal);
        assert_non_null(strstr(errstr, "time zone"));
    }
}

static void test_calendar_restores_tz(void **state)
{
    fixture *f = *state;
    assert_int_equal(setenv("TZ", "Europe/Paris", 1), 0);
    rv_calendar *cal = NULL;
    assert_int_equal(rv_calendar_new(f->p, &cal, NULL, 0), RV_OK);
    assert_string_equal(getenv("TZ"), "Europe/Paris");
    rv_calendar_free(cal);
    assert_int_equal(unsetenv("TZ"), 0);
    assert_int_equal(rv_calendar_new(f->p, &cal, NULL, 0), RV_OK);
    assert_null(getenv("TZ"));
    rv_calendar_free(cal);
    rv_calendar_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendar_day_strings_round_trip),
        cmocka_unit_test(test_calendar_day_parse_rejects_bad_dates),
        cmocka_unit_test(test_calendar_weekday),
        cmocka_unit_test(test_calendar_us_federal_working_days),
        cmocka_unit_test(test_calendar_cn_mainland_make_up_days),
        cmocka_unit_test(test_calendar_local_to_utc_across_dst),
        cmocka_unit_test(test_calendar_local_day_around_midnight_and_dst),
        cmocka_unit_test(test_calendar_local_day_inverts_local_to_us),
        cmocka_unit_test(test_calendar_unknown_zone_is_invalid),
        cmocka_unit_test(test_calendar_restores_tz),
    };
    return cmocka_run_group_tests_name("calendar", tests, setup, teardown);
}
