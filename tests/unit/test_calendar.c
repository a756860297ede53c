/* tests/unit/test_calendar.c: common/calendar.c (day numbers, working
 * days, local days and local times in the branches' zones) and the call
 * windows of common/policy.c that the calendar's times are checked
 * against. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Branches the tests add to the default policy: the 2025 China calendar
 * in Asia/Shanghai, and the US calendar on both coasts. Their IDs are the
 * tests' own, so they never collide with the shipped branches. */
static const char test_branches[] =
    "\nbranches:\n"
    "  - {id: t-shanghai, tz: Asia/Shanghai, calendar: cn-mainland}\n"
    "  - {id: t-new-york, tz: America/New_York, calendar: us-federal}\n"
    "  - {id: t-los-angeles, tz: America/Los_Angeles, calendar: us-federal}\n";

/* Load deploy/policy/default.yaml with the first @p from replaced by
 * @p to, through a temporary file that is removed again. Derived from the
 * shipped file, so these tests follow its schema as it grows. The path is
 * written to @p path_out (for errstr checks). */
static rv_err load_default_with(const char *from, const char *to,
                                rv_policy **out, char *path_out,
                                size_t path_size, char *errstr,
                                size_t errstr_size)
{
    const char *src = getenv("RV_SOURCE_DIR");
    if (src == NULL) {
        snprintf(errstr, errstr_size, "RV_SOURCE_DIR is not set");
        return RV_ERR_INVALID;
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/deploy/policy/default.yaml", src);
    rv_err err = RV_ERR_INVALID;
    char *text = NULL;
    FILE *in = fopen(path, "rb");
    long len = -1;
    if (in != NULL && fseek(in, 0, SEEK_END) == 0) {
        len = ftell(in);
    }
    if (len > 0) {
        text = malloc((size_t)len + 1);
    }
    if (text == NULL || fseek(in, 0, SEEK_SET) != 0 ||
        fread(text, 1, (size_t)len, in) != (size_t)len) {
        snprintf(errstr, errstr_size, "cannot read %s", path);
        goto out;
    }
    text[len] = '\0';
    char *at = strstr(text, from);
    if (at == NULL) {
        snprintf(errstr, errstr_size, "\"%s\" is not in %s", from, path);
        goto out;
    }
    char tmp[] = "/tmp/rv_calendar_XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(errstr, errstr_size, "mkstemp failed");
        goto out;
    }
    size_t head = (size_t)(at - text);
    size_t tail = (size_t)len - head - strlen(from);
    FILE *f = fdopen(fd, "wb");
    bool written = f != NULL && fwrite(text, 1, head, f) == head &&
                   fwrite(to, 1, strlen(to), f) == strlen(to) &&
                   fwrite(at + strlen(from), 1, tail, f) == tail;
    if (f != NULL ? fclose(f) != 0 : close(fd) != 0) {
        written = false;
    }
    if (!written) {
        snprintf(errstr, errstr_size, "cannot write %s", tmp);
    } else {
        err = rv_policy_load(tmp, out, errstr, errstr_size);
    }
    if (path_out != NULL) {
        snprintf(path_out, path_size, "%s", tmp);
    }
    unlink(tmp);
out:
    free(text);
    if (in != NULL) {
        fclose(in);
    }
    return err;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char errstr[512] = "";
    if (f == NULL ||
        load_default_with("\nbranches:\n", test_branches, &f->p, NULL, 0,
                          errstr, sizeof(errstr)) != RV_OK) {
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

/* Issue 4 "Done when": the business calendar against the 2025 China
 * calendar (deploy/policy/default.yaml, calendar cn-mainland, copied from
 * /work/shared/calendars/cn-mainland-2025-2026.csv: State Council General
 * Office notice on the 2025 holidays, issued 2024-11-12) and the US
 * federal one, in the branches' own zones. */

static int branch_of(const fixture *f, const char *id)
{
    int br = rv_calendar_branch(f->cal, id);
    if (br < 0) {
        fail_msg("branch %s is not in the test policy", id);
    }
    return br;
}

/* The example: Fri 2025-09-26 + 3 working days is Tue 09-30,
 * because Sun 09-28 is a make-up working day (调休上班). */
static void
test_calendar_cn_three_working_days_over_make_up_sunday(void **state)
{
    fixture *f = *state;
    int sh = branch_of(f, "t-shanghai");
    int64_t fri = day_of("2025-09-26");
    assert_int_equal(rv_calendar_weekday(fri), 4);
    assert_false(rv_calendar_is_working_day(f->cal, sh, day_of("2025-09-27")));
    assert_int_equal(rv_calendar_weekday(day_of("2025-09-28")), 6);
    assert_true(rv_calendar_is_working_day(f->cal, sh, day_of("2025-09-28")));
    assert_int_equal(rv_calendar_add_working_days(f->cal, sh, fri, 1),
                     day_of("2025-09-28"));
    assert_int_equal(rv_calendar_add_working_days(f->cal, sh, fri, 2),
                     day_of("2025-09-29"));
    assert_int_equal(rv_calendar_add_working_days(f->cal, sh, fri, 3),
                     day_of("2025-09-30"));
    /* Without the make-up day (the US calendar) it would be Wed 10-01. */
    int ny = branch_of(f, "t-new-york");
    assert_int_equal(rv_calendar_add_working_days(f->cal, ny, fri, 3),
                     day_of("2025-10-01"));
}

/* National Day and Mid-Autumn 2025: 10-01..10-08 off, Sat 10-11 worked.
 * From Tue 09-30: Thu 10-09 (1), Fri 10-10 (2), Sat 10-11 (3), Sun 10-12
 * off, Mon 10-13 (4), Tue 10-14 (5). */
static void test_calendar_cn_five_working_days_over_national_day(void **state)
{
    fixture *f = *state;
    int sh = branch_of(f, "t-shanghai");
    int64_t from = day_of("2025-09-30");
    for (int64_t d = day_of("2025-10-01"); d <= day_of("2025-10-08"); d++) {
        assert_false(rv_calendar_is_working_day(f->cal, sh, d));
    }
    assert_true(rv_calendar_is_working_day(f->cal, sh, day_of("2025-10-11")));
    assert_false(rv_calendar_is_working_day(f->cal, sh, day_of("2025-10-12")));
    const char *expect[] = {"2025-10-09", "2025-10-10", "2025-10-11",
                            "2025-10-13", "2025-10-14"};
    for (int n = 1; n <= 5; n++) {
        assert_int_equal(rv_calendar_add_working_days(f->cal, sh, from, n),
                         day_of(expect[n - 1]));
    }
    assert_int_equal(rv_calendar_weekday(day_of("2025-10-14")), 1);
}

/* Working days per month of 2025 and 2026, counted independently from
 * cn-mainland-2025-2026.csv (weekdays minus holidays plus make-up days):
 * a check that default.yaml carries the notices' data without a slip. */
static void test_calendar_cn_working_days_per_month(void **state)
{
    fixture *f = *state;
    int sh = branch_of(f, "t-shanghai");
    static const int expect[2][12] = {
        {19, 19, 21, 22, 19, 20, 23, 21, 23, 18, 20, 23},
        {21, 16, 22, 21, 19, 21, 23, 21, 22, 18, 21, 23},
    };
    for (int y = 0; y < 2; y++) {
        int total = 0;
        for (int m = 0; m < 12; m++) {
            char first[RV_DAY_SIZE], next[RV_DAY_SIZE];
            snprintf(first, sizeof(first), "%04d-%02d-01", 2025 + y, m + 1);
            snprintf(next, sizeof(next), "%04d-%02d-01",
                     m == 11 ? 2026 + y : 2025 + y, m == 11 ? 1 : m + 2);
            int count = 0;
            for (int64_t d = day_of(first); d < day_of(next); d++) {
                count += rv_calendar_is_working_day(f->cal, sh, d) ? 1 : 0;
            }
            if (count != expect[y][m]) {
                fail_msg("%s: %d working days, want %d", first, count,
                         expect[y][m]);
            }
            total += count;
        }
        assert_int_equal(total, 248);
    }
}

/* A sale at 16:30 UTC is 00:30 the next day in Asia/Shanghai (UTC+8) and
 * belongs to that local day: its due date counts from there, and its
 * month is the local one. */
static void test_calendar_shanghai_local_day_after_utc_midnight(void **state)
{
    fixture *f = *state;
    int sh = branch_of(f, "t-shanghai");
    /* Thu 16:30Z = Fri 2025-09-26 00:30 local: + 3 working days is
     * 09-30 (the example); from the UTC day it would be 09-29. */
    int64_t sale = utc_us("2025-09-25", 16, 30, 0);
    int64_t local = rv_calendar_local_day(f->cal, sh, sale);
    assert_int_equal(local, day_of("2025-09-26"));
    assert_int_equal(rv_calendar_add_working_days(f->cal, sh, local, 3),
                     day_of("2025-09-30"));
    assert_int_equal(
        rv_calendar_add_working_days(f->cal, sh, day_of("2025-09-25"), 3),
        day_of("2025-09-29"));
    /* 2025-09-30 16:30Z is 00:30 on National Day: October, a holiday. */
    char s[RV_DAY_SIZE];
    local = rv_calendar_local_day(f->cal, sh, utc_us("2025-09-30", 16, 30, 0));
    rv_calendar_day_str(local, s);
    assert_string_equal(s, "2025-10-01");
    assert_false(rv_calendar_is_working_day(f->cal, sh, local));
    assert_int_equal(rv_calendar_add_working_days(f->cal, sh, local, 1),
                     day_of("2025-10-09"));
    /* Local midnight is 16:00Z the day before, to the microsecond. */
    int64_t midnight = utc_us("2025-09-30", 16, 0, 0);
    assert_int_equal(rv_calendar_local_to_us(f->cal, sh, local, 0), midnight);
    assert_int_equal(
        rv_calendar_local_to_us(f->cal, sh, day_of("2025-09-30"), 1440),
        midnight);
    assert_int_equal(rv_calendar_local_day(f->cal, sh, midnight), local);
    assert_int_equal(rv_calendar_local_day(f->cal, sh, midnight - 1),
                     day_of("2025-09-30"));
    assert_int_equal(rv_calendar_local_to_us(f->cal, sh, local, 1439),
                     utc_us("2025-10-01", 15, 59, 0));
    assert_int_equal(
        rv_calendar_local_day(f->cal, sh, utc_us("2025-10-01", 16, 0, 0) - 1),
        local);
    /* 10:00 local is 02:00Z (no DST in China since 1991). */
    assert_int_equal(rv_calendar_local_to_us(f->cal, sh, local, 600),
                     utc_us("2025-10-01", 2, 0, 0));
    /* Every day from 1990 (China kept DST in 1986-1991, changing at
     * 02:00) to 2026: midnight, a window time and the last minute map
     * back to their day, and one day's end is the next day's start. */
    for (int64_t d = day_of("1990-01-01"); d < day_of("2027-01-01"); d++) {
        const int minutes[] = {0, 600, 990, 1439};
        for (size_t m = 0; m < 4; m++) {
            int64_t t = rv_calendar_local_to_us(f->cal, sh, d, minutes[m]);
            assert_int_equal(rv_calendar_local_day(f->cal, sh, t), d);
            assert_int_equal(rv_calendar_local_day(f->cal, sh, t - 1),
                             minutes[m] == 0 ? d - 1 : d);
        }
        assert_int_equal(rv_calendar_local_to_us(f->cal, sh, d, 1440),
                         rv_calendar_local_to_us(f->cal, sh, d + 1, 0));
    }
    /* Summer 1991 was UTC+9: 10:00 local on 1991-07-01 is 01:00Z. */
    assert_int_equal(
        rv_calendar_local_to_us(f->cal, sh, day_of("1991-07-01"), 600),
        utc_us("1991-07-01", 1, 0, 0));
}

/* A booking at 10:00 local in a US branch around the change to DST on
 * Sun 2016-03-13 (02:00 local): before it New York is UTC-5 and Los
 * Angeles UTC-8, from that day on UTC-4 and UTC-7, until Sun 2016-11-06
 * (02:00 local) turns them back. */
static void test_calendar_us_10am_across_2016_dst(void **state)
{
    fixture *f = *state;
    const struct {
        const char *branch;
        int std_h; /* hours behind UTC outside DST */
    } zones[] = {{"t-new-york", 5}, {"t-los-angeles", 8}};
    const char *days[] = {"2016-03-10", "2016-03-11", "2016-03-12",
                          "2016-03-13", "2016-03-14", "2016-03-15",
                          "2016-11-05", "2016-11-06", "2016-11-07"};
    const size_t day_count = sizeof(days) / sizeof(days[0]);
    for (size_t z = 0; z < 2; z++) {
        int br = branch_of(f, zones[z].branch);
        for (size_t i = 0; i < day_count; i++) {
            int64_t d = day_of(days[i]);
            bool dst = d >= day_of("2016-03-13") && d < day_of("2016-11-06");
            int64_t want =
                utc_us(days[i], 10 + zones[z].std_h - (dst ? 1 : 0), 0, 0);
            int64_t t = rv_calendar_local_to_us(f->cal, br, d, 600);
            if (t != want) {
                fail_msg("%s %s 10:00: %lld µs, want %lld", zones[z].branch,
                         days[i], (long long)t, (long long)want);
            }
            assert_int_equal(rv_calendar_local_day(f->cal, br, t), d);
        }
        /* Sat 10:00 to Sun 10:00 is 23 hours; Sun to Mon is 24. */
        int64_t sat =
            rv_calendar_local_to_us(f->cal, br, day_of("2016-03-12"), 600);
        int64_t sun =
            rv_calendar_local_to_us(f->cal, br, day_of("2016-03-13"), 600);
        int64_t mon =
            rv_calendar_local_to_us(f->cal, br, day_of("2016-03-14"), 600);
        assert_int_equal(sun - sat, 23 * 3600 * US);
        assert_int_equal(mon - sun, 24 * 3600 * US);
    }
}

/* C1 (seed 001 §六): a call window lies within one local day, start before
 * end. A window that would cross midnight (23:00-01:00, or 23:00-00:00)
 * is refused when the policy loads, naming the window; one that ends
 * exactly at midnight is written 24:00 and ends at the next local day's
 * start. */
static void test_calendar_window_across_midnight_is_rejected(void **state)
{
    fixture *f = *state;
    static const char second[] = "start: \"14:00\"\n    end: \"16:30\"";
    const struct {
        const char *to;
        const char *expect;
    } bad[] = {
        {"start: \"23:00\"\n    end: \"01:00\"",
         "call_windows[1] starts at 23:00, not before its end 01:00"},
        {"start: \"23:00\"\n    end: \"00:00\"",
         "call_windows[1] starts at 23:00, not before its end 00:00"},
        {"start: \"23:00\"\n    end: \"25:00\"",
         "call_windows[1].end \"25:00\" is not HH:MM"},
        {"start: \"24:00\"\n    end: \"24:00\"",
         "call_windows[1].start \"24:00\" is not HH:MM"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rv_policy *p = NULL;
        char path[64] = "", errstr[512] = "";
        assert_int_equal(load_default_with(second, bad[i].to, &p, path,
                                           sizeof(path), errstr,
                                           sizeof(errstr)),
                         RV_ERR_INVALID);
        assert_null(p);
        if (strstr(errstr, bad[i].expect) == NULL) {
            fail_msg("errstr \"%s\" lacks \"%s\"", errstr, bad[i].expect);
        }
        assert_non_null(strstr(errstr, path)); /* names the file */
    }
    rv_policy *p = NULL;
    char errstr[512] = "";
    assert_int_equal(load_default_with(second,
                                       "start: \"23:00\"\n    end: \"24:00\"",
                                       &p, NULL, 0, errstr, sizeof(errstr)),
                     RV_OK);
    assert_int_equal(p->windows[1].start_min, 23 * 60);
    assert_int_equal(p->windows[1].end_min, 1440);
    int sh = branch_of(f, "t-shanghai");
    int64_t d = day_of("2025-09-30");
    int64_t end = rv_calendar_local_to_us(f->cal, sh, d, p->windows[1].end_min);
    assert_int_equal(end, rv_calendar_local_to_us(f->cal, sh, d + 1, 0));
    assert_int_equal(rv_calendar_local_day(f->cal, sh, end - 1), d);
    rv_policy_free(p);
}

/* The window opening at the given minute, or fail. */
static const rv_window *window_at(const rv_policy *p, int start_min)
{
    for (unsigned i = 0; i < p->window_count; i++) {
        if (p->windows[i].start_min == start_min) {
            return &p->windows[i];
        }
    }
    fail_msg("no call window starts at minute %d", start_min);
    return NULL;
}

/* C1 (seed 001 §六): calls 10:00-11:30 except on Monday morning, and
 * 14:00-16:30 every working day. skip_mask uses rv_calendar_weekday's
 * numbering, so a day's bit is 1 << weekday. A make-up Sunday (调休) is
 * worked with its morning window: only Monday loses it. */
static void test_calendar_monday_morning_window_skipped(void **state)
{
    fixture *f = *state;
    const rv_window *morning = window_at(f->p, 10 * 60);
    assert_int_equal(morning->end_min, 11 * 60 + 30);
    assert_int_equal(morning->skip_mask, 1u << 0);
    const rv_window *afternoon = window_at(f->p, 14 * 60);
    assert_int_equal(afternoon->end_min, 16 * 60 + 30);
    assert_int_equal(afternoon->skip_mask, 0);
    int sh = branch_of(f, "t-shanghai");
    /* Sun 09-28 (make-up) .. Tue 09-30 in Shanghai. */
    const struct {
        const char *day;
        bool morning_open;
    } days[] = {
        {"2025-09-28", true},  /* Sunday, worked: not Monday */
        {"2025-09-29", false}, /* Monday */
        {"2025-09-30", true},  /* Tuesday */
        {"2025-10-13", false}, /* Monday after National Day */
    };
    for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
        int64_t d = day_of(days[i].day);
        assert_true(rv_calendar_is_working_day(f->cal, sh, d));
        unsigned bit = 1u << rv_calendar_weekday(d);
        assert_int_equal((morning->skip_mask & bit) == 0, days[i].morning_open);
        assert_int_equal(afternoon->skip_mask & bit, 0);
    }
    /* More days parse into the mask; a name not in mon..sun is refused. */
    static const char skip[] = "skip_weekdays: [mon]";
    rv_policy *p = NULL;
    char errstr[512] = "";
    assert_int_equal(load_default_with(skip, "skip_weekdays: [mon, fri]", &p,
                                       NULL, 0, errstr, sizeof(errstr)),
                     RV_OK);
    assert_int_equal(window_at(p, 10 * 60)->skip_mask, (1u << 0) | (1u << 4));
    rv_policy_free(p);
    p = NULL;
    assert_int_equal(load_default_with(skip, "skip_weekdays: [Mon]", &p, NULL,
                                       0, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_null(p);
    assert_non_null(strstr(errstr, "skip_weekdays[0] \"Mon\" is not mon..sun"));
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
        cmocka_unit_test(
            test_calendar_cn_three_working_days_over_make_up_sunday),
        cmocka_unit_test(test_calendar_cn_five_working_days_over_national_day),
        cmocka_unit_test(test_calendar_cn_working_days_per_month),
        cmocka_unit_test(test_calendar_shanghai_local_day_after_utc_midnight),
        cmocka_unit_test(test_calendar_us_10am_across_2016_dst),
        cmocka_unit_test(test_calendar_window_across_midnight_is_rejected),
        cmocka_unit_test(test_calendar_monday_morning_window_skipped),
    };
    return cmocka_run_group_tests_name("calendar", tests, setup, teardown);
}
