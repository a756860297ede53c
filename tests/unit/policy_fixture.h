/* tests/unit/policy_fixture.h: load the shipped default policy and its
 * calendar for a unit test (RV_SOURCE_DIR is set by ctest). */
#ifndef RV_TEST_POLICY_FIXTURE_H
#define RV_TEST_POLICY_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "rv/calendar.h"
#include "rv/policy.h"

typedef struct fixture {
    rv_policy *policy;
    rv_calendar *cal;
} fixture;

static int fixture_setup(void **state)
{
    static fixture fx;
    char path[1024], err[256] = "";
    const char *src = getenv("RV_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/deploy/policy/default.yaml",
             src != NULL ? src : ".");
    if (rv_policy_load(path, &fx.policy, err, sizeof(err)) != RV_OK) {
        fprintf(stderr, "policy: %s\n", err);
        return -1;
    }
    if (rv_calendar_new(fx.policy, &fx.cal, err, sizeof(err)) != RV_OK) {
        fprintf(stderr, "calendar: %s\n", err);
        rv_policy_free(fx.policy);
        return -1;
    }
    *state = &fx;
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture *fx = *state;
    rv_calendar_free(fx->cal);
    rv_policy_free(fx->policy);
    return 0;
}

/* UTC µs of "YYYY-MM-DD" at hh:mm UTC. */
static int64_t utc_us(const char *day, int hh, int mm)
{
    int64_t d = 0;
    if (rv_calendar_day_parse(day, &d) != RV_OK) {
        return -1;
    }
    return ((d * 86400LL) + hh * 3600LL + mm * 60LL) * 1000000LL;
}

#endif /* RV_TEST_POLICY_FIXTURE_H */
