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
 * (tzdata) for local days in [1990-01-01, 2100-01-01).
 * @returns RV_OK, RV_ERR_INVALID (unknown time zone; errstr),
 *          RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_calendar_new(const rv_policy *p, rv_calendar **out,
                                    char *errstr, size_t errstr_size);

/** Free. NULL is a no-op. */
void rv_calendar_free(rv_calendar *cal);

/** Index of branch @p branch_id, or -1 if the policy has no such branch. */
int rv_calendar_branch(const rv_calendar *cal, const char *branch_id);

/** Local day (days since 1970-01-01 in the branch's zone) of @p t_us. */
int64_t rv_calendar_local_day(const rv_calendar *cal, int branch,
                              int64_t t_us);

/** Weekday of a day number: 0 = Monday .. 6 = Sunday. */
int rv_calendar_weekday(int64_t day);

/** True if @p day is a working day for @p branch: not a weekend day and
 *  not a holiday, or listed as a make-up working day. */
bool rv_calendar_is_working_day(const rv_calendar *cal, int branch,
                                int64_t day);

/** The @p n-th working day strictly after @p day (n >= 1); @p day itself
 *  if n == 0. */
int64_t rv_calendar_add_working_days(const rv_calendar *cal, int branch,
                                     int64_t day, int64_t n);

/** UTC µs of local time @p minute (0..1439) on local @p day. */
int64_t rv_calendar_local_to_us(const rv_calendar *cal, int branch,
                                int64_t day, int minute);

/** Format day number @p day as "YYYY-MM-DD" into @p out. */
void rv_calendar_day_str(int64_t day, char out[RV_DAY_SIZE]);

/** Parse "YYYY-MM-DD" into a day number.
 *  @returns RV_OK or RV_ERR_INVALID (*out untouched) */
RV_MUSTCHECK rv_err rv_calendar_day_parse(const char *s, int64_t *out);

#endif /* RV_CALENDAR_H */
