/* common/calendar.c: business calendars per branch. Day numbers and
 * strings are pure arithmetic (days-from-civil, no locale, no timegm);
 * only rv_calendar_new touches the tz database, once, through mktime(). */
#include "rv/calendar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "rv/log.h"

#define SECS_PER_DAY 86400
#define US_PER_SEC 1000000
/* No zone has ever been more than 14 h from UTC; 18 h is the POSIX TZ
 * limit, so anything beyond is a broken tz file. */
#define MAX_OFFSET_SECS (18 * 3600)
/* Local minute from which a day's own (noon) offset applies: clocks move
 * at 02:00 (US) or 02:00/03:00 (EU) local, never inside call windows. */
#define DST_SHIFT_MIN 120
/* Longest path we build under the zoneinfo directory. */
#define ZONE_PATH_MAX 512

typedef struct cal_zone {
    char *tz;          /* IANA name, owned */
    int32_t *offset_s; /* UTC offset at local noon, per day of the range */
} cal_zone;

typedef struct cal_def {
    char *id;
    unsigned weekend_mask; /* bit 0 = Monday .. bit 6 = Sunday */
    int64_t *holidays;     /* sorted day numbers */
    size_t holiday_count;
    int64_t *workdays; /* sorted make-up working days */
    size_t workday_count;
} cal_def;

typedef struct cal_branch {
    char *id;
    size_t zone; /* index into zones: branches of one zone share a table */
    size_t def;  /* index into defs */
} cal_branch;

struct rv_calendar {
    int64_t first_day; /* 1990-01-01 */
    int64_t day_count; /* days in [1990-01-01, 2100-01-01) */
    cal_zone *zones;
    size_t zone_count;
    cal_def *defs;
    size_t def_count;
    cal_branch *branches;
    size_t branch_count;
};

static const char *const weekday_names[7] = {"mon", "tue", "wed", "thu",
                                             "fri", "sat", "sun"};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

/* Howard Hinnant's days_from_civil: proleptic Gregorian, day 0 =
 * 1970-01-01. Month 1..12, day 1..31. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2 ? 1 : 0;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned mp = m > 2 ? m - 3 : m + 9;
    unsigned doy = (153 * mp + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

int rv_calendar_weekday(int64_t day)
{
    /* 1970-01-01 was a Thursday (3). */
    int64_t w = (day + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

rv_err rv_calendar_weekday_parse(const char *name, int *out)
{
    if (name == NULL) {
        return RV_ERR_INVALID;
    }
    for (int i = 0; i < 7; i++) {
        if (strcmp(name, weekday_names[i]) == 0) {
            *out = i;
            return RV_OK;
        }
    }
    return RV_ERR_INVALID;
}

static void put_digits(char *out, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void rv_calendar_day_str(int64_t day, char out[RV_DAY_SIZE])
{
    int64_t y;
    unsigned m, d;
    /* Guard the arithmetic itself: beyond +-2^40 days the year overflows
     * nothing, but it is far outside 0001..9999 anyway. */
    if (day < -(INT64_C(1) << 40) || day > (INT64_C(1) << 40)) {
        y = 0;
        m = 0;
        d = 0;
    } else {
        civil_from_days(day, &y, &m, &d);
    }
    if (y < 1 || y > 9999) {
        memcpy(out, "0000-00-00", RV_DAY_SIZE);
        return;
    }
    put_digits(out, (unsigned)y, 4);
    out[4] = '-';
    put_digits(out + 5, m, 2);
    out[7] = '-';
    put_digits(out + 8, d, 2);
    out[10] = '\0';
}

static bool read_digits(const char *s, int width, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < width; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

rv_err rv_calendar_day_parse(const char *s, int64_t *out)
{
    unsigned y, m, d;
    if (s == NULL || strlen(s) != RV_DAY_SIZE - 1 || s[4] != '-' ||
        s[7] != '-' || !read_digits(s, 4, &y) || !read_digits(s + 5, 2, &m) ||
        !read_digits(s + 8, 2, &d)) {
        return RV_ERR_INVALID;
    }
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
        return RV_ERR_INVALID;
    }
    *out = days_from_civil(y, m, d);
    return RV_OK;
}

/* Only a caller bug gets here (an index not from rv_calendar_branch), and
 * a wrong answer would book visits on wrong days: stop loudly instead. */
static const cal_branch *branch_at(const rv_calendar *cal, int branch)
{
    if (cal == NULL || branch < 0 || (size_t)branch >= cal->branch_count) {
        RV_LOG(RV_LOG_ERROR, "assertion_failed", RV_KV_STR("file", __FILE__),
               RV_KV_INT("line", __LINE__), RV_KV_INT("branch", branch));
        abort();
    }
    return &cal->branches[branch];
}

static int32_t offset_at(const rv_calendar *cal, const cal_zone *z, int64_t day)
{
    int64_t i = day - cal->first_day;
    if (i < 0) {
        i = 0;
    } else if (i >= cal->day_count) {
        i = cal->day_count - 1;
    }
    return z->offset_s[i];
}

/* UTC second at which local day @p day begins. The midnight that opens
 * day d is still on day d-1's offset: DST moves at 01:00-03:00. */
static int64_t day_start(const rv_calendar *cal, const cal_zone *z, int64_t day)
{
    return day * SECS_PER_DAY - offset_at(cal, z, day - 1);
}

int64_t rv_calendar_local_day(const rv_calendar *cal, int branch, int64_t t_us)
{
    const cal_branch *br = branch_at(cal, branch);
    const cal_zone *z = &cal->zones[br->zone];
    int64_t t = floor_div(t_us, US_PER_SEC);
    int64_t day = floor_div(t + offset_at(cal, z, floor_div(t, SECS_PER_DAY)),
                            SECS_PER_DAY);
    /* The guess is off by at most one day around midnight on a DST
     * change; a few steps settle it (bounded in case of a strange zone). */
    for (int i = 0; i < 4 && t < day_start(cal, z, day); i++) {
        day--;
    }
    for (int i = 0; i < 4 && t >= day_start(cal, z, day + 1); i++) {
        day++;
    }
    return day;
}

static int cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool has_day(const int64_t *days, size_t count, int64_t day)
{
    return count > 0 &&
           bsearch(&day, days, count, sizeof(day), cmp_day) != NULL;
}

bool rv_calendar_is_working_day(const rv_calendar *cal, int branch, int64_t day)
{
    const cal_def *def = &cal->defs[branch_at(cal, branch)->def];
    if (has_day(def->workdays, def->workday_count, day)) {
        return true;
    }
    if ((def->weekend_mask & (1u << rv_calendar_weekday(day))) != 0) {
        return false;
    }
    return !has_day(def->holidays, def->holiday_count, day);
}

int64_t rv_calendar_add_working_days(const rv_calendar *cal, int branch,
                                     int64_t day, int64_t n)
{
    (void)branch_at(cal, branch);
    /* Terminates: rv_calendar_new refuses 7 weekend days, and holidays
     * are a finite list. */
    while (n > 0) {
        day++;
        if (rv_calendar_is_working_day(cal, branch, day)) {
            n--;
        }
    }
    return day;
}

int64_t rv_calendar_local_to_us(const rv_calendar *cal, int branch, int64_t day,
                                int minute)
{
    const cal_branch *br = branch_at(cal, branch);
    /* Before 02:00 the clocks still show the previous day's offset (US
     * and EU zones move at 02:00-03:00 local), which also makes minute 0
     * the day_start() that rv_calendar_local_day uses. */
    int64_t offset_day = minute < DST_SHIFT_MIN ? day - 1 : day;
    int64_t t = day * SECS_PER_DAY + (int64_t)minute * 60 -
                offset_at(cal, &cal->zones[br->zone], offset_day);
    return t * US_PER_SEC;
}

int rv_calendar_branch(const rv_calendar *cal, const char *branch_id)
{
    if (cal == NULL || branch_id == NULL) {
        return -1;
    }
    for (size_t i = 0; i < cal->branch_count; i++) {
        if (strcmp(cal->branches[i].id, branch_id) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* An IANA name is letters, digits and "_+-/", never absolute and never
 * "..": TZ must not be a way to read an arbitrary file. */
static bool is_zone_name(const char *tz)
{
    if (tz == NULL || tz[0] == '\0' || tz[0] == '/' ||
        strstr(tz, "..") != NULL) {
        return false;
    }
    for (const char *c = tz; *c != '\0'; c++) {
        bool ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '+' ||
                  *c == '-' || *c == '/';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* glibc silently falls back to UTC for a zone it cannot find, so look for
 * the file first. */
static bool has_zone_file(const char *tz)
{
    const char *dir = getenv("TZDIR");
    if (dir == NULL || dir[0] == '\0') {
        dir = "/usr/share/zoneinfo";
    }
    char path[ZONE_PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, tz);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return false;
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Offsets at local noon for every day of the range, with TZ = @p tz.
 * The caller has set TZ and called tzset(). */
static rv_err fill_offsets(const rv_calendar *cal, cal_zone *z, char *errstr,
                           size_t errstr_size)
{
    for (int64_t i = 0; i < cal->day_count; i++) {
        int64_t day = cal->first_day + i;
        int64_t y;
        unsigned m, d;
        civil_from_days(day, &y, &m, &d);
        struct tm tm = {
            .tm_year = (int)(y - 1900),
            .tm_mon = (int)m - 1,
            .tm_mday = (int)d,
            .tm_hour = 12,
            .tm_isdst = -1,
        };
        time_t t = mktime(&tm);
        int64_t offset = day * SECS_PER_DAY + 12 * 3600 - (int64_t)t;
        if (t == (time_t)-1 || offset > MAX_OFFSET_SECS ||
            offset < -MAX_OFFSET_SECS) {
            char s[RV_DAY_SIZE];
            rv_calendar_day_str(day, s);
            rv_errf(errstr, errstr_size,
                    "calendar: zone %s has no usable UTC offset on %s", z->tz,
                    s);
            return RV_ERR_INVALID;
        }
        z->offset_s[i] = (int32_t)offset;
    }
    return RV_OK;
}

/* Compute every zone's table with TZ switched, then put TZ back as it was
 * (unset stays unset). */
static rv_err fill_zones(rv_calendar *cal, char *errstr, size_t errstr_size)
{
    rv_err err = RV_OK;
    char *saved = NULL;
    const char *old = getenv("TZ");
    bool had_tz = old != NULL;
    if (had_tz) {
        saved = strdup(old);
        if (saved == NULL) {
            return RV_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < cal->zone_count && err == RV_OK; i++) {
        cal_zone *z = &cal->zones[i];
        if (setenv("TZ", z->tz, 1) != 0) {
            err = RV_ERR_NOMEM;
            break;
        }
        tzset();
        err = fill_offsets(cal, z, errstr, errstr_size);
    }
    if (had_tz) {
        if (setenv("TZ", saved, 1) != 0 && err == RV_OK) {
            err = RV_ERR_NOMEM;
        }
    } else {
        unsetenv("TZ");
    }
    tzset();
    free(saved);
    return err;
}

static rv_err copy_days(char **src, unsigned count, const char *cal_id,
                        const char *field, int64_t **out, size_t *out_count,
                        char *errstr, size_t errstr_size)
{
    *out = NULL;
    *out_count = 0;
    if (count == 0) {
        return RV_OK;
    }
    int64_t *days = calloc(count, sizeof(*days));
    if (days == NULL) {
        return RV_ERR_NOMEM;
    }
    for (unsigned i = 0; i < count; i++) {
        if (rv_calendar_day_parse(src[i], &days[i]) != RV_OK) {
            rv_errf(errstr, errstr_size,
                    "calendar %s: %s[%u] \"%s\" is not a YYYY-MM-DD date",
                    cal_id, field, i, src[i] != NULL ? src[i] : "");
            free(days);
            return RV_ERR_INVALID;
        }
    }
    qsort(days, count, sizeof(*days), cmp_day);
    *out = days;
    *out_count = count;
    return RV_OK;
}

static rv_err build_def(const rv_calendar_def *src, cal_def *def, char *errstr,
                        size_t errstr_size)
{
    def->id = strdup(src->id != NULL ? src->id : "");
    if (def->id == NULL) {
        return RV_ERR_NOMEM;
    }
    for (unsigned i = 0; i < src->weekend_count; i++) {
        int wd;
        if (rv_calendar_weekday_parse(src->weekend[i], &wd) != RV_OK) {
            rv_errf(errstr, errstr_size,
                    "calendar %s: weekend[%u] \"%s\" is not mon..sun", def->id,
                    i, src->weekend[i] != NULL ? src->weekend[i] : "");
            return RV_ERR_INVALID;
        }
        def->weekend_mask |= 1u << wd;
    }
    if (def->weekend_mask == 0x7fu) {
        rv_errf(errstr, errstr_size,
                "calendar %s: all 7 weekdays are weekend days; at most 6",
                def->id);
        return RV_ERR_INVALID;
    }
    rv_err err =
        copy_days(src->holidays, src->holiday_count, def->id, "holidays",
                  &def->holidays, &def->holiday_count, errstr, errstr_size);
    if (err != RV_OK) {
        return err;
    }
    return copy_days(src->workdays, src->workday_count, def->id, "workdays",
                     &def->workdays, &def->workday_count, errstr, errstr_size);
}

static rv_err add_branch(rv_calendar *cal, const rv_policy *p,
                         const rv_branch *src, cal_branch *br, char *errstr,
                         size_t errstr_size)
{
    br->id = strdup(src->id != NULL ? src->id : "");
    if (br->id == NULL) {
        return RV_ERR_NOMEM;
    }
    size_t def = p->calendar_count;
    for (size_t i = 0; i < p->calendar_count; i++) {
        if (src->calendar != NULL && p->calendars[i].id != NULL &&
            strcmp(p->calendars[i].id, src->calendar) == 0) {
            def = i;
            break;
        }
    }
    if (def == p->calendar_count) {
        rv_errf(errstr, errstr_size,
                "calendar: branch %s uses calendar \"%s\", which is not "
                "defined",
                br->id, src->calendar != NULL ? src->calendar : "");
        return RV_ERR_INVALID;
    }
    br->def = def;
    if (!is_zone_name(src->tz) || !has_zone_file(src->tz)) {
        rv_errf(errstr, errstr_size,
                "calendar: branch %s has time zone \"%s\", which is not in "
                "the tz database",
                br->id, src->tz != NULL ? src->tz : "");
        return RV_ERR_INVALID;
    }
    for (size_t i = 0; i < cal->zone_count; i++) {
        if (strcmp(cal->zones[i].tz, src->tz) == 0) {
            br->zone = i;
            return RV_OK;
        }
    }
    cal_zone *z = &cal->zones[cal->zone_count];
    z->tz = strdup(src->tz);
    z->offset_s = calloc((size_t)cal->day_count, sizeof(*z->offset_s));
    /* Counted now so that rv_calendar_free releases a half-made zone. */
    cal->zone_count++;
    if (z->tz == NULL || z->offset_s == NULL) {
        return RV_ERR_NOMEM;
    }
    br->zone = cal->zone_count - 1;
    return RV_OK;
}

rv_err rv_calendar_new(const rv_policy *p, rv_calendar **out, char *errstr,
                       size_t errstr_size)
{
    if (p == NULL) {
        rv_errf(errstr, errstr_size, "calendar: no policy");
        return RV_ERR_INVALID;
    }
    rv_err err = RV_ERR_NOMEM;
    rv_calendar *cal = calloc(1, sizeof(*cal));
    if (cal == NULL) {
        goto out;
    }
    cal->first_day = days_from_civil(1990, 1, 1);
    cal->day_count = days_from_civil(2100, 1, 1) - cal->first_day;
    size_t n_br = p->branch_count;
    size_t n_def = p->calendar_count;
    cal->defs = calloc(n_def > 0 ? n_def : 1, sizeof(*cal->defs));
    cal->branches = calloc(n_br > 0 ? n_br : 1, sizeof(*cal->branches));
    cal->zones = calloc(n_br > 0 ? n_br : 1, sizeof(*cal->zones));
    if (cal->defs == NULL || cal->branches == NULL || cal->zones == NULL) {
        goto out;
    }
    for (size_t i = 0; i < n_def; i++) {
        cal->def_count++;
        err = build_def(&p->calendars[i], &cal->defs[i], errstr, errstr_size);
        if (err != RV_OK) {
            goto out;
        }
    }
    for (size_t i = 0; i < n_br; i++) {
        cal->branch_count++;
        err = add_branch(cal, p, &p->branches[i], &cal->branches[i], errstr,
                         errstr_size);
        if (err != RV_OK) {
            goto out;
        }
    }
    err = fill_zones(cal, errstr, errstr_size);
    if (err != RV_OK) {
        goto out;
    }
    *out = cal;
    cal = NULL;
out:
    if (err == RV_ERR_NOMEM) {
        rv_errf(errstr, errstr_size, "calendar: out of memory");
    }
    rv_calendar_free(cal);
    return err;
}

void rv_calendar_free(rv_calendar *cal)
{
    if (cal == NULL) {
        return;
    }
    for (size_t i = 0; i < cal->branch_count; i++) {
        free(cal->branches[i].id);
    }
    for (size_t i = 0; i < cal->zone_count; i++) {
        free(cal->zones[i].offset_s);
        free(cal->zones[i].tz);
    }
    for (size_t i = 0; i < cal->def_count; i++) {
        free(cal->defs[i].workdays);
        free(cal->defs[i].holidays);
        free(cal->defs[i].id);
    }
    free(cal->branches);
    free(cal->zones);
    free(cal->defs);
    free(cal);
}

void rv_calendar_due_window(const rv_rule *rule, const rv_calendar *cal,
                            int branch, int64_t t_us, int64_t *start_us,
                            int64_t *end_us)
{
    if (rule->due.within_hours > 0) {
        *start_us = t_us;
        *end_us = t_us + rule->due.within_hours * (3600LL * 1000000LL);
        return;
    }
    int64_t day = rv_calendar_local_day(cal, branch, t_us);
    int64_t first = rv_calendar_add_working_days(cal, branch, day,
                                                 rule->due.delay_working_days);
    if (!rv_calendar_is_working_day(cal, branch, first)) {
        first = rv_calendar_add_working_days(cal, branch, first, 1);
    }
    int64_t length =
        rule->due.length_working_days > 0 ? rule->due.length_working_days : 1;
    int64_t last = rv_calendar_add_working_days(cal, branch, first, length - 1);
    *start_us = rv_calendar_local_to_us(cal, branch, first, 0);
    *end_us = rv_calendar_local_to_us(cal, branch, last + 1, 0);
}
