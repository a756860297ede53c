/* workers/revisitctl/ctl_time.c: see ctl_time.h. */
#include "ctl_time.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "rv/calendar.h"

#define US_PER_S 1000000LL
#define S_PER_DAY 86400LL

static bool two_digits(const char *s, int max, int *out)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') {
        return false;
    }
    int v = (s[0] - '0') * 10 + (s[1] - '0');
    if (v > max) {
        return false;
    }
    *out = v;
    return true;
}

rv_err ctl_time_parse(const char *s, int64_t *out_us)
{
    if (s == NULL || strlen(s) != CTL_TIME_SIZE - 1 || s[10] != 'T' ||
        s[13] != ':' || s[16] != ':' || s[19] != 'Z') {
        return RV_ERR_INVALID;
    }
    char day_text[RV_DAY_SIZE];
    memcpy(day_text, s, RV_DAY_SIZE - 1);
    day_text[RV_DAY_SIZE - 1] = '\0';
    int64_t day = 0;
    int h = 0, m = 0, sec = 0;
    if (rv_calendar_day_parse(day_text, &day) != RV_OK ||
        !two_digits(s + 11, 23, &h) || !two_digits(s + 14, 59, &m) ||
        !two_digits(s + 17, 59, &sec)) {
        return RV_ERR_INVALID;
    }
    *out_us = (day * S_PER_DAY + h * 3600LL + m * 60LL + sec) * US_PER_S;
    return RV_OK;
}

void ctl_time_format(int64_t us, char out[CTL_TIME_SIZE])
{
    /* Floor division: a time before 1970 belongs to the day before. */
    int64_t s = us / US_PER_S - (us % US_PER_S < 0 ? 1 : 0);
    int64_t day = s / S_PER_DAY - (s % S_PER_DAY < 0 ? 1 : 0);
    int64_t in_day = s - day * S_PER_DAY;
    char day_text[RV_DAY_SIZE];
    rv_calendar_day_str(day, day_text);
    int h = (int)(in_day / 3600);
    int m = (int)(in_day / 60 % 60);
    int sec = (int)(in_day % 60);
    /* Exactly 20 bytes: in_day lies in [0, 86400). The wider buffer only
     * spares the compiler's truncation warning. */
    char text[48];
    snprintf(text, sizeof(text), "%.10sT%02d:%02d:%02dZ", day_text, h, m, sec);
    memcpy(out, text, CTL_TIME_SIZE - 1);
    out[CTL_TIME_SIZE - 1] = '\0';
}
