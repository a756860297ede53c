/* common/booking.c: names and labels of the assigner's Redis state. */
#include "rv/booking.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void rv_booking_key(char *out, size_t out_size, const char *pool,
                    const char *task_id, unsigned attempt)
{
    snprintf(out, out_size, "rv:{%s}:booking:%s:%u", pool, task_id, attempt);
}

void rv_booking_counters_key(char *out, size_t out_size, const char *pool,
                             int64_t day)
{
    snprintf(out, out_size, "rv:{%s}:cap:%" PRId64, pool, day);
}

void rv_booking_day_field(char *out, size_t out_size, const char *agent_id)
{
    snprintf(out, out_size, RV_BOOKING_DAY_FIELD_PREFIX "%s", agent_id);
}

void rv_booking_window_field(char *out, size_t out_size, const char *agent_id,
                             int window)
{
    snprintf(out, out_size, "w%d:%s", window, agent_id);
}

void rv_booking_label(char *out, size_t out_size, const rv_booked *b)
{
    snprintf(out, out_size, "%s|%" PRId64 "|%d|%" PRId64 "|%" PRId64,
             b->agent_id, b->day, b->window, b->start_us, b->end_us);
}

rv_err rv_booking_parse(const char *value, rv_booked *out, bool *booked)
{
    if (value == NULL) {
        return RV_ERR_INVALID;
    }
    if (strcmp(value, RV_BOOKING_NONE) == 0) {
        *booked = false;
        return RV_OK;
    }
    rv_booked b = {0};
    const char *bar = strchr(value, '|');
    if (bar == NULL || bar == value ||
        (size_t)(bar - value) >= sizeof(b.agent_id)) {
        return RV_ERR_INVALID;
    }
    memcpy(b.agent_id, value, (size_t)(bar - value));
    b.agent_id[bar - value] = '\0';
    int consumed = 0;
    if (sscanf(bar + 1, "%" SCNd64 "|%d|%" SCNd64 "|%" SCNd64 "%n", &b.day,
               &b.window, &b.start_us, &b.end_us, &consumed) != 4 ||
        bar[1 + consumed] != '\0' || b.end_us <= b.start_us || b.window < 0) {
        return RV_ERR_INVALID;
    }
    *out = b;
    *booked = true;
    return RV_OK;
}
