/* include/rv/calendar.h: business calendar per branch: local days in the
 * branch's IANA zone, working days (weekends, holidays, make-up days),
 * local wall-clock times to UTC. Built from the policy (DESIGN §6). */
#ifndef RV_CALENDAR_H
#define RV_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/err.h"
#include "rv/policy.h"

typedef struct rv_calendar rv_calendar;

/** Size of a "YYYY-MM-DD" string with its NUL. */
#define RV_DAY_SIZE 11

/**
 * Build the calendar of every branch of @p p (borrowed; the calendar
 * copies what it needs). UTC offsets come from the system tz database
 * (tzdata) for local days in [1990-01-01, 2100-01-01): one offset per
 * local day, the one in force at local noon, computed once here with
 * mktime(). Days outside the range use the offset of the nearest day in
 * it. A zone is known if a file of that name exists under $TZDIR or
 * /usr/share/zoneinfo.
 * @returns RV_OK, RV_ERR_INVALID (unknown time zone, unknown calendar,
 *          bad date, a calendar with 7 weekend days; errstr),
 *          RV_ERR_NOMEM
 * Threads: sets and restores the TZ environment variable, so call it at
 * start-up before other threads exist (setenv/tzset are not thread-safe).
 * The built calendar is read-only: every query below may run on any
 * thread.
 */
RV_MUSTCHECK rv_err rv_calendar_new(const rv_policy *p, rv_calendar **out,
                                    char *errstr, size_t errstr_size);

/** Free. NULL is a no-op. */
void rv_calendar_free(rv_calendar *cal);

/** Index of branch @p branch_id, or -1 if the policy has no such branch. */
int rv_calendar_branch(const rv_calendar *cal, const char *branch_id);

/** Local day (days since 1970-01-01 in the branch's zone) of @p t_us
 *  (UTC µs). Right around local midnight and across DST changes: day d
 *  starts at local midnight with the offset of day d - 1, because clocks
 *  move at 01:00-03:00, after midnight. @p branch comes from
 *  rv_calendar_branch(); an index out of range aborts (a caller bug). */
int64_t rv_calendar_local_day(const rv_calendar *cal, int branch, int64_t t_us);

/** Weekday of a day number: 0 = Monday .. 6 = Sunday. */
int rv_calendar_weekday(int64_t day);

/** True if @p day is a working day for @p branch: not a weekend day and
 *  not a holiday, or listed as a make-up working day. */
bool rv_calendar_is_working_day(const rv_calendar *cal, int branch,
                                int64_t day);

/** The @p n-th working day strictly after @p day (n >= 1); @p day itself
 *  if n <= 0. Ends: the policy has fewer than 7 weekend days. */
int64_t rv_calendar_add_working_days(const rv_calendar *cal, int branch,
                                     int64_t day, int64_t n);

/** UTC µs of local time @p minute (0..1440; 1440 = the end of the day)
 *  on local @p day. From 02:00 on, the day's noon offset applies: exact
 *  for every time after the day's DST change, which happens at 01:00-03:00
 *  local, and call windows (C1) never sit that early. Before 02:00 the
 *  previous day's offset applies, so minute 0 is exactly the start of the
 *  local day as rv_calendar_local_day() sees it, and 1440 the start of the
 *  next. Times that a DST change skips or repeats map to one of the two
 *  readings. */
int64_t rv_calendar_local_to_us(const rv_calendar *cal, int branch, int64_t day,
                                int minute);

/** Format day number @p day as "YYYY-MM-DD" into @p out. Days outside
 *  the years 0001..9999 are written "0000-00-00" (which does not parse). */
void rv_calendar_day_str(int64_t day, char out[RV_DAY_SIZE]);

/** Parse "YYYY-MM-DD" into a day number.
 *  @returns RV_OK or RV_ERR_INVALID (*out untouched) */
RV_MUSTCHECK rv_err rv_calendar_day_parse(const char *s, int64_t *out);

/** Parse a weekday name "mon".."sun" (lower case) into 0 = Monday ..
 *  6 = Sunday, as rv_calendar_weekday().
 *  @returns RV_OK or RV_ERR_INVALID (*out untouched) */
RV_MUSTCHECK rv_err rv_calendar_weekday_parse(const char *name, int *out);

/**
 * The due window of @p rule for an event at @p t_us in @p branch:
 * within_hours > 0 gives [t, t + h); otherwise the window opens at local
 * midnight of the delay_working_days-th working day after the event's
 * local day and closes at the end of the length_working_days-th working
 * day of the window (both µs UTC). @p branch from rv_calendar_branch.
 */
void rv_calendar_due_window(const rv_rule *rule, const rv_calendar *cal,
                            int branch, int64_t t_us, int64_t *start_us,
                            int64_t *end_us);

#endif /* RV_CALENDAR_H */
