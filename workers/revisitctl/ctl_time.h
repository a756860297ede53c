/* workers/revisitctl/ctl_time.h: UTC times on revisitctl's command line
 * and in its output, "YYYY-MM-DDTHH:MM:SSZ". Pure arithmetic (no locale,
 * no TZ, no timegm), so a report is the same on every machine. */
#ifndef RV_CTL_TIME_H
#define RV_CTL_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "rv/compiler.h"
#include "rv/err.h"

/** Bytes of "YYYY-MM-DDTHH:MM:SSZ" with its NUL. */
#define CTL_TIME_SIZE 21

/**
 * Parse exactly "YYYY-MM-DDTHH:MM:SSZ" (UTC; year 0001..9999, a real
 * calendar day, hour 00..23, minute and second 00..59; no fraction, no
 * offset other than Z) into µs since the epoch.
 * @param s       NUL-terminated, borrowed; NULL is invalid
 * @param out_us  on RV_OK the time; untouched on error
 * @returns RV_OK, RV_ERR_INVALID
 */
RV_MUSTCHECK rv_err ctl_time_parse(const char *s, int64_t *out_us);

/** Format @p us (µs since the epoch, UTC; sub-second part dropped,
 *  towards the past) as "YYYY-MM-DDTHH:MM:SSZ" into @p out. A time
 *  outside the years 0001..9999 is written with the date
 *  "0000-00-00". */
void ctl_time_format(int64_t us, char out[CTL_TIME_SIZE]);

#endif /* RV_CTL_TIME_H */
