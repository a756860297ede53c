/* tests/integration/it_cases.c: the alerter's state in Redis (A2, A3, A5)
 * against a real Redis: a case's escalation comes once, at its deadline
 * in the branch's working-day calendar and not before; alerts of one
 * customer and kind merge into one case; an answer stops the clock; the
 * watermark is the slowest partition's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alerter_cases.h"
#include "alerter_rules.h"
#include "grader_spot.h"
#include "rv/calendar.h"
#include "rv/hash.h"
#include "rv/policy.h"
#include "rv/watermark.h"

static rv_redis *rc;
static rv_policy *policy;
static rv_calendar *cal;
static char nonce[16];

#define HOUR_US (3600LL * 1000000LL)
#define TTL_S 864000

static int setup(void **state)
{
    (void)state;
    const char *url = getenv("RV_IT_REDIS_URL");
    const char *src = getenv("RV_SOURCE_DIR");
    if (url == NULL || src == NULL) {
        fprintf(stderr, "it_cases: RV_IT_REDIS_URL or RV_SOURCE_DIR is not "
                        "set: run through deploy/local/test.sh\n");
        return -1;
    }
    char err[256] = "", path[1024];
    snprintf(path, sizeof(path), "%s/tests/integration/policy_it.yaml", src);
    if (rv_policy_load(path, &policy, err, sizeof(err)) != RV_OK ||
        rv_calendar_new(policy, &cal, err, sizeof(err)) != RV_OK ||
        rv_redis_open(url, 5000, &rc, err, sizeof(err)) != RV_OK) {
        fprintf(stderr, "it_cases: %s\n", err);
        return -1;
    }
    snprintf(nonce, sizeof(nonce), "%x%x", (unsigned)time(NULL) & 0xffffffu,
             (unsigned)getpid() & 0xfffffu);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rv_redis_close(rc);
    rv_calendar_free(cal);
    rv_policy_free(policy);
    return 0;
}

/* UTC µs of "YYYY-MM-DD" hh:mm UTC. */
static int64_t utc_us(const char *day, int hh, int mm)
{
    int64_t d = 0;
    assert_int_equal(rv_calendar_day_parse(day, &d), RV_OK);
    return ((d * 86400LL) + hh * 3600LL + mm * 60LL) * 1000000LL;
}

/* A grade of customer @p customer (made unique per run) in @p branch at
 * @p t_us answering a compliance question "yes" (A1). */
static rv_grade compliance_grade(const char *customer, const char *grade_id,
                                 const char *branch, int64_t t_us)
{
    rv_grade g;
    memset(&g, 0, sizeof(g));
    snprintf(g.customer_id, sizeof(g.customer_id), "%s-%s", customer, nonce);
    snprintf(g.grade_id, sizeof(g.grade_id), "%s-%s", grade_id, nonce);
    rv_copy_str(g.env.event_id, sizeof(g.env.event_id), g.grade_id);
    g.env.occurred_at_us = t_us;
    rv_copy_str(g.task_id, sizeof(g.task_id), "task-1");
    rv_copy_str(g.branch_id, sizeof(g.branch_id), branch);
    rv_copy_str(g.agent_id, sizeof(g.agent_id), "w01");
    rv_copy_str(g.policy_version, sizeof(g.policy_version), "it");
    g.verdict = RV_VERDICT_SUCCESS;
    g.channel = RV_CHANNEL_PHONE;
    g.disposition = RV_DISP_ANSWERED;
    g.evidence_ok = true;
    g.talk_time_s = 120;
    rv_copy_str(g.compliance[0].question_id, RV_KEY_SIZE, "a1.password_known");
    rv_copy_str(g.compliance[0].value, RV_KEY_SIZE, "yes");
    g.compliance_count = 1;
    return g;
}

/* The one alert of @p g, its case on the clock. */
static rv_alert raise_alert(const rv_grade *g)
{
    rv_alert a[8];
    assert_int_equal(alerter_findings(policy, cal, g, NULL, NULL, 0, a, 8), 1);
    assert_int_equal(alerter_cases_track(rc, a, 1, TTL_S), RV_OK);
    assert_int_equal(strlen(a[0].case_id), 32);
    return a[0];
}

/* Cases due at @p now_us that are @p case_id: 0 or 1. */
static size_t due_count(int64_t now_us, const char *case_id, rv_alert *first)
{
    static rv_alert due[256];
    size_t n = 0, hits = 0;
    assert_int_equal(alerter_cases_due(rc, now_us, due, 256, &n), RV_OK);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(due[i].case_id, case_id) == 0) {
            hits++;
            if (first != NULL) {
                *first = due[i];
            }
        }
    }
    return hits;
}

/* Issue 5's example: raised Friday 2025-09-26 in Shanghai, a compliance
 * self-check is due in 3 working days (A2). Sun 09-28 is a make-up
 * working day (调休), so the deadline is the end of Tue 09-30, local
 * time (16:00 UTC), before the National Day holiday. The escalation comes
 * at that moment, not a microsecond before, and only once. */
static void test_cases_escalate_once_at_deadline_across_holiday(void **state)
{
    (void)state;
    rv_grade g = compliance_grade("cust-esc", "grade-esc", "Shanghai",
                                  utc_us("2025-09-26", 2, 0)); /* 10:00 */
    rv_alert a = raise_alert(&g);
    int64_t deadline = utc_us("2025-09-30", 16, 0);
    assert_int_equal(a.deadline_us, deadline);

    /* Saturday, the make-up Sunday, Monday, and the last µs: not due. */
    assert_int_equal(due_count(utc_us("2025-09-27", 12, 0), a.case_id, NULL),
                     0);
    assert_int_equal(due_count(utc_us("2025-09-28", 12, 0), a.case_id, NULL),
                     0);
    assert_int_equal(due_count(utc_us("2025-09-29", 12, 0), a.case_id, NULL),
                     0);
    assert_int_equal(due_count(deadline - 1, a.case_id, NULL), 0);

    /* At the deadline: due, and the escalation names the case. */
    rv_alert first;
    assert_int_equal(due_count(deadline, a.case_id, &first), 1);
    /* Not taken off the clock until the escalation is durable: asking
     * again (a crash before the produce) finds it again. */
    assert_int_equal(due_count(deadline, a.case_id, NULL), 1);
    rv_alert esc;
    alerter_escalation(&first, rv_policy_escalate_to(policy),
                       rv_policy_notify(policy, RV_SEVERITY_MAJOR), &esc);
    char want_id[RV_ID_SIZE];
    const char *parts[] = {a.case_id, "escalation"};
    rv_id_derive(want_id, 2, parts);
    assert_string_equal(esc.alert_id, want_id);
    assert_string_equal(esc.kind, RV_ALERT_KIND_ESCALATION);
    assert_string_equal(esc.case_id, a.case_id);
    assert_string_equal(esc.route_to, "compliance_department");
    assert_string_equal(esc.notify, "manager");
    assert_string_equal(esc.customer_id, g.customer_id);
    assert_int_equal(esc.env.occurred_at_us, deadline);
    assert_int_equal(alerter_cases_escalated(rc, &first, 1, TTL_S), RV_OK);

    /* Once: never again, however late the clock. */
    assert_int_equal(due_count(deadline, a.case_id, NULL), 0);
    assert_int_equal(due_count(utc_us("2026-01-01", 0, 0), a.case_id, NULL), 0);
    /* A re-delivered grade does not put the case back on the clock. */
    rv_alert again = raise_alert(&g);
    assert_string_equal(again.case_id, a.case_id);
    assert_int_equal(due_count(utc_us("2026-01-01", 0, 0), a.case_id, NULL), 0);
}

/* A3 (seed 002 nos. 7, 8): one customer's alerts of one kind in one
 * merge period (policy: 720 h from the epoch; 2016-02-29 .. 03-29 UTC
 * here) are one case; the next period, a new case; another kind, its own
 * case. The case is a function of the alert, so arrival order does not
 * matter, and its clock runs from its earliest alert even when that one
 * arrives last. */
static void test_cases_merge_within_period(void **state)
{
    (void)state;
    int64_t t0 = utc_us("2016-03-01", 18, 0);
    rv_grade g1 = compliance_grade("cust-merge", "g-m1", "West", t0);
    rv_grade g2 =
        compliance_grade("cust-merge", "g-m2", "West", t0 + 10 * 24 * HOUR_US);
    rv_grade g3 = compliance_grade("cust-merge", "g-m3", "West",
                                   utc_us("2016-03-30", 0, 0)); /* next */
    rv_alert a2 = raise_alert(&g2); /* the later alert arrives first */
    rv_alert a1 = raise_alert(&g1);
    assert_string_equal(a2.case_id, a1.case_id);
    char want[RV_ID_SIZE];
    const char *parts[] = {g1.customer_id, "A1.password_known", "case", "562"};
    rv_id_derive(want, 4, parts);
    assert_string_equal(a1.case_id, want);
    /* Due at the earliest alert's deadline, not the first to arrive. */
    assert_true(a2.deadline_us > a1.deadline_us);
    rv_alert first;
    assert_int_equal(due_count(a1.deadline_us, a1.case_id, &first), 1);
    assert_string_equal(first.alert_id, a1.alert_id);
    assert_int_equal(due_count(a1.deadline_us - 1, a1.case_id, NULL), 0);

    rv_alert a3 = raise_alert(&g3);
    assert_string_not_equal(a3.case_id, a1.case_id);
    /* Re-delivered: same case, clock unchanged. */
    assert_string_equal(raise_alert(&g2).case_id, a1.case_id);
    assert_int_equal(due_count(a1.deadline_us, a1.case_id, NULL), 1);

    /* Another kind for the same customer: its own case. */
    rv_grade g4 = g2;
    snprintf(g4.grade_id, sizeof(g4.grade_id), "g-m4-%s", nonce);
    rv_copy_str(g4.compliance[0].question_id, RV_KEY_SIZE, "a1.profit_sharing");
    rv_alert a4 = raise_alert(&g4);
    assert_string_not_equal(a4.case_id, a1.case_id);
    assert_string_not_equal(a4.case_id, a3.case_id);
    rv_alert done[] = {a1, a3, a4};
    int64_t late = 0;
    for (size_t i = 0; i < 3; i++) {
        late = done[i].deadline_us > late ? done[i].deadline_us : late;
    }
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(due_count(late, done[i].case_id, NULL), 1);
    }
    assert_int_equal(alerter_cases_escalated(rc, done, 3, TTL_S), RV_OK);
    /* All three off the clock in the one call, for good. */
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(due_count(late, done[i].case_id, NULL), 0);
    }
    assert_string_equal(raise_alert(&g4).case_id, a4.case_id);
    assert_int_equal(due_count(late, a4.case_id, NULL), 0);
}

/* A2: the branch's answer stops the clock for good: neither a later nor
 * an earlier alert of the case, nor the close, puts it back. */
static void test_cases_answer_stops_clock(void **state)
{
    (void)state;
    int64_t t0 = utc_us("2016-05-02", 18, 0);
    rv_grade g1 = compliance_grade("cust-ans", "g-a1", "West", t0);
    rv_alert a1 = raise_alert(&g1);
    assert_int_equal(due_count(a1.deadline_us, a1.case_id, NULL), 1);
    rv_case_event e;
    memset(&e, 0, sizeof(e));
    rv_copy_str(e.case_id, sizeof(e.case_id), a1.case_id);
    e.action = RV_CASE_ANSWER;
    assert_int_equal(alerter_cases_act(rc, &e, TTL_S), RV_OK);
    assert_int_equal(alerter_cases_act(rc, &e, TTL_S), RV_OK); /* again */
    assert_int_equal(due_count(utc_us("2030-01-01", 0, 0), a1.case_id, NULL),
                     0);
    rv_grade g2 = compliance_grade("cust-ans", "g-a2", "West", t0 + HOUR_US);
    rv_grade g0 = compliance_grade("cust-ans", "g-a0", "West", t0 - HOUR_US);
    assert_string_equal(raise_alert(&g2).case_id, a1.case_id);
    assert_string_equal(raise_alert(&g0).case_id, a1.case_id);
    e.action = RV_CASE_CLOSE;
    assert_int_equal(alerter_cases_act(rc, &e, TTL_S), RV_OK);
    assert_int_equal(due_count(utc_us("2030-01-01", 0, 0), a1.case_id, NULL),
                     0);
}

/* One event of @p partition at @p t_us, sent as a batch of one at wall
 * time @p wall_s (seconds). */
static rv_err advance(const char *key, int32_t partition, int64_t t_us,
                      int64_t wall_s)
{
    rv_watermark_batch b = {0};
    assert_true(rv_watermark_note(&b, partition, t_us));
    return rv_watermark_advance(rc, key, &b, wall_s * 1000000);
}

/* The watermark of @p key for @p partitions partitions at wall time
 * @p wall_s, idle after 10 s. */
static int64_t watermark(const char *key, int partitions, int64_t wall_s)
{
    const rv_watermark_opts o = {partitions, 10 * 1000000LL, wall_s * 1000000,
                                 false};
    int64_t wm = -1;
    assert_int_equal(rv_watermark_get(rc, key, &o, &wm), RV_OK);
    return wm;
}

static void del_key(const char *key)
{
    const char *argv[] = {"DEL", key};
    rv_redis_reply r = {0};
    assert_int_equal(rv_redis_command(rc, 2, argv, &r), RV_OK);
    rv_redis_replies_fini(&r, 1);
}

/* The event-time clock of a replay: the slowest partition's highest
 * event time; a late (lower) event never moves it back. */
static void test_cases_watermark_is_slowest_partition(void **state)
{
    (void)state;
    const char *key = ALERTER_WATERMARK_KEY;
    del_key(key);
    assert_int_equal(watermark(key, 2, 100), 0);
    assert_int_equal(advance(key, 0, 5000, 100), RV_OK);
    /* Partition 1 not heard from yet: no watermark. */
    assert_int_equal(watermark(key, 2, 101), 0);
    assert_int_equal(advance(key, 1, 3000, 101), RV_OK);
    assert_int_equal(advance(key, 0, 4000, 102), RV_OK);
    assert_int_equal(watermark(key, 2, 103), 3000);
    assert_int_equal(advance(key, 1, 9000, 104), RV_OK);
    assert_int_equal(watermark(key, 2, 105), 5000);
}

/* A partition silent for the idle time (10 s here) no longer holds the
 * watermark back while another moves; one never heard from holds it back
 * for the idle time after the first message, then not. */
static void test_cases_watermark_skips_idle_partitions(void **state)
{
    (void)state;
    char key[64];
    snprintf(key, sizeof(key), "rv:it:watermark:%s", nonce);
    del_key(key);
    assert_int_equal(advance(key, 0, 5000, 100), RV_OK);
    assert_int_equal(advance(key, 1, 3000, 100), RV_OK);
    /* Partition 2 of 3 never heard from: wait... */
    assert_int_equal(watermark(key, 3, 109), 0);
    /* ...until the idle time has passed since the first message. */
    assert_int_equal(watermark(key, 3, 110), 3000);
    /* Partition 1 falls silent while 0 moves on: after 10 s it is idle. */
    assert_int_equal(advance(key, 0, 8000, 105), RV_OK);
    assert_int_equal(watermark(key, 2, 109), 3000);
    assert_int_equal(advance(key, 0, 9000, 112), RV_OK);
    assert_int_equal(watermark(key, 2, 112), 9000);
    /* Everything silent: the slowest of all, nothing skipped. */
    assert_int_equal(watermark(key, 2, 200), 3000);
    /* Partition 1 speaks again: it counts again at once. */
    assert_int_equal(advance(key, 1, 4000, 201), RV_OK);
    assert_int_equal(watermark(key, 2, 201), 4000);
    /* hold_silent (a replay): partition 1, silent for 99 s while 0 moves
     * on, still holds the watermark back... */
    assert_int_equal(advance(key, 0, 12000, 300), RV_OK);
    rv_watermark_opts held = {2, 10 * 1000000LL, 300 * 1000000LL, true};
    int64_t wm = -1;
    assert_int_equal(rv_watermark_get(rc, key, &held, &wm), RV_OK);
    assert_int_equal(wm, 4000);
    assert_int_equal(watermark(key, 2, 300), 12000); /* (not held: idle) */
    /* ...while a partition never heard from is still released after the
     * idle time. */
    held.partitions = 3;
    assert_int_equal(rv_watermark_get(rc, key, &held, &wm), RV_OK);
    assert_int_equal(wm, 4000);
    del_key(key);
}

/* A5 (seed 000 第五篇): successful visits per agent and hour count each
 * grade once; past the policy's 12 one finding per agent-hour. */
static void test_cases_agent_hour_rate(void **state)
{
    (void)state;
    rv_grade g = compliance_grade("cust-rate", "g-r", "West",
                                  utc_us("2016-06-01", 17, 0));
    g.compliance_count = 0;
    snprintf(g.agent_id, sizeof(g.agent_id), "rate-%s", nonce);
    g.started_at_us = utc_us("2016-06-01", 17, 5);
    g.talk_time_s = 120;
    int64_t count = 0;
    rv_alert a, b;
    for (int i = 1; i <= 13; i++) {
        snprintf(g.grade_id, sizeof(g.grade_id), "g-r%d-%s", i, nonce);
        assert_int_equal(alerter_agent_hour_count(rc, &g, &count), RV_OK);
        assert_int_equal(alerter_agent_hour_count(rc, &g, &count), RV_OK);
        assert_int_equal(count, i); /* a re-delivery counts once */
        bool hit = alerter_rate_finding(policy, cal, &g, count, &a);
        assert_int_equal(hit, i == 13);
    }
    assert_string_equal(a.kind, "quality.call_rate");
    assert_int_equal(a.env.occurred_at_us, utc_us("2016-06-01", 18, 0));
    char agent_customer[RV_KEY_SIZE];
    snprintf(agent_customer, sizeof(agent_customer), "agent:%.56s", g.agent_id);
    assert_string_equal(a.customer_id, agent_customer);
    /* The 14th grade raises the same fact again, never a second one. */
    snprintf(g.grade_id, sizeof(g.grade_id), "g-r14-%s", nonce);
    assert_true(alerter_rate_finding(policy, cal, &g, 14, &b));
    assert_string_equal(b.alert_id, a.alert_id);
}

/* R10 (seed 000 第五篇): of one agent's successful visits of a month the
 * 3 with the smallest draw are re-visited, whatever the arrival order and
 * however often one is re-delivered; nothing before the month (plus the
 * policy's lateness) has closed; after closing, a late visit is ignored. */
static void test_cases_spot_checks_bottom_three_per_agent_month(void **state)
{
    (void)state;
    char path[1024], err[256] = "";
    snprintf(path, sizeof(path), "%s/deploy/policy/default.yaml",
             getenv("RV_SOURCE_DIR"));
    rv_policy *dp = NULL;
    rv_calendar *dcal = NULL;
    assert_int_equal(rv_policy_load(path, &dp, err, sizeof(err)), RV_OK);
    assert_int_equal(rv_calendar_new(dp, &dcal, err, sizeof(err)), RV_OK);
    grader_spot spots[8];
    rv_grade g;
    memset(&g, 0, sizeof(g));
    g.verdict = RV_VERDICT_SUCCESS;
    for (int i = 0; i < 8; i++) {
        rv_outcome o;
        memset(&o, 0, sizeof(o));
        snprintf(o.outcome_id, sizeof(o.outcome_id), "o%d-%s", i, nonce);
        rv_copy_str(o.env.event_id, sizeof(o.env.event_id), o.outcome_id);
        snprintf(o.agent_id, sizeof(o.agent_id), "spot-%s", nonce);
        snprintf(o.task_id, sizeof(o.task_id), "t%d", i);
        rv_copy_str(o.customer_id, sizeof(o.customer_id), "C-spot");
        rv_copy_str(o.branch_id, sizeof(o.branch_id), "West");
        rv_copy_str(o.rule_id, sizeof(o.rule_id), "R1");
        o.channel = RV_CHANNEL_PHONE;
        /* March 2016, Los Angeles time (the last one 03-31 23:00 PDT). */
        o.started_at_us = i < 7 ? utc_us("2016-03-10", 18, 0) + i * HOUR_US
                                : utc_us("2016-04-01", 6, 0);
        o.env.occurred_at_us = o.started_at_us;
        assert_true(grader_spot_candidate(dp, dcal, &o, &g, &spots[i]));
        /* A spot check is never itself sampled again. */
        rv_copy_str(o.rule_id, sizeof(o.rule_id), "R10");
        grader_spot again;
        assert_false(grader_spot_candidate(dp, dcal, &o, &g, &again));
    }
    char label[96];
    snprintf(label, sizeof(label), "spot-%s@2016-03", nonce);
    assert_string_equal(spots[7].label, label);
    /* Closes two weeks after the end of March, Los Angeles midnight. */
    int64_t close = utc_us("2016-04-01", 7, 0) + 336 * HOUR_US;
    assert_int_equal(spots[0].close_us, close);
    assert_string_equal(spots[0].task.rule_id, "R10");
    char agent[RV_KEY_SIZE];
    snprintf(agent, sizeof(agent), "spot-%s", nonce);
    /* The agent being checked never re-visits (R3-style independence). */
    assert_string_equal(spots[0].task.salesperson_id, agent);
    /* Offered in reverse order, each twice. */
    for (int i = 7; i >= 0; i--) {
        bool late = true;
        assert_int_equal(grader_spot_offer(rc, dp, &spots[i], &late), RV_OK);
        assert_false(late);
        assert_int_equal(grader_spot_offer(rc, dp, &spots[i], &late), RV_OK);
    }
    /* The expected sample: the 3 smallest u. */
    int order[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    for (int a = 0; a < 8; a++) {
        for (int b = a + 1; b < 8; b++) {
            if (spots[order[b]].u < spots[order[a]].u) {
                int t = order[a];
                order[a] = order[b];
                order[b] = t;
            }
        }
    }
    static rv_task tasks[256];
    char labels[16][RV_SAMPLE_LABEL_SIZE];
    size_t n = 0, months = 0;
    assert_int_equal(
        grader_spot_due(rc, close - 1, tasks, 256, &n, labels, &months), RV_OK);
    for (size_t m = 0; m < months; m++) {
        assert_string_not_equal(labels[m], label); /* not yet */
    }
    assert_int_equal(
        grader_spot_due(rc, close, tasks, 256, &n, labels, &months), RV_OK);
    size_t mine = 0, at = months;
    for (size_t m = 0; m < months; m++) {
        if (strcmp(labels[m], label) == 0) {
            at = m;
        }
    }
    assert_true(at < months);
    for (size_t t = 0; t < n; t++) {
        for (int k = 0; k < 3; k++) {
            if (strcmp(tasks[t].task_id, spots[order[k]].task.task_id) == 0) {
                mine++;
                assert_string_equal(tasks[t].questions[0],
                                    "r10.visit_confirmed");
                assert_string_equal(tasks[t].salesperson_id,
                                    spots[0].task.salesperson_id);
            }
        }
    }
    assert_int_equal(mine, 3);
    assert_int_equal(grader_spot_close(rc, &labels[at], 1), RV_OK);
    /* Closed: not due again, and a late visit of March is ignored. */
    assert_int_equal(grader_spot_due(rc, close + 1000 * HOUR_US, tasks, 256, &n,
                                     labels, &months),
                     RV_OK);
    for (size_t m = 0; m < months; m++) {
        assert_string_not_equal(labels[m], label);
    }
    bool late = false;
    assert_int_equal(grader_spot_offer(rc, dp, &spots[3], &late), RV_OK);
    assert_true(late);
    rv_calendar_free(dcal);
    rv_policy_free(dp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_escalate_once_at_deadline_across_holiday),
        cmocka_unit_test(test_cases_merge_within_period),
        cmocka_unit_test(test_cases_answer_stops_clock),
        cmocka_unit_test(test_cases_watermark_is_slowest_partition),
        cmocka_unit_test(test_cases_watermark_skips_idle_partitions),
        cmocka_unit_test(test_cases_agent_hour_rate),
        cmocka_unit_test(test_cases_spot_checks_bottom_three_per_agent_month),
    };
    return cmocka_run_group_tests_name("it_cases", tests, setup, teardown);
}
