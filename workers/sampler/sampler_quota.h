/* workers/sampler/sampler_quota.h: quota sampling per period (issue 3,
 * R1 seed 001 §四). A rule in mode "quota" keeps, per group (store or
 * branch) and period (the branch's local day or week), the sales with the
 * smallest draw u = hash(salt, rule, event_id) in one bucket per amount
 * tier (a tier by its threshold min_cents) and one for the sales below
 * the lowest threshold. When the sales' event-time watermark passes the
 * period's end plus quota.lateness_hours the period closes: each tier
 * takes its quota, a tier short of sales passes its shortfall to the next
 * lower tier, and the last shortfall is filled from below the lowest
 * threshold. The pure half is here; the sample lives in rv/sample_store.h
 * (namespace "quota"). */
#ifndef RV_SAMPLER_QUOTA_H
#define RV_SAMPLER_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/calendar.h"
#include "rv/model.h"
#include "rv/policy.h"
#include "rv/sample_store.h"
#include "sampler_rules.h"

#define SAMPLER_QUOTA_NS "quota"
/** keep of a percent quota: every sale of the period stays until the
 *  close, which takes the percent of the count. */
#define SAMPLER_QUOTA_KEEP_ALL 1000000000LL

/** A sale offered to its group's sample. */
typedef struct sampler_candidate {
    char label[RV_SAMPLE_LABEL_SIZE]; /**< "<rule>@<group>@<period>" */
    int bucket;       /**< tier index; tier_count = below the lowest */
    int64_t keep;     /**< the bucket keeps this many smallest u */
    int64_t close_us; /**< period end + lateness, µs UTC */
    double key;       /**< the sample keeps the smallest: u, or -ln(u)/w */
    rv_task task;     /**< the visit if chosen (sample_u = u) */
} sampler_candidate;

/**
 * The sample key of draw @p u (in [0, 1)) for weight @p w: u when @p w
 * <= 0 (unweighted), else -ln(u)/w, whose smallest values are the largest
 * u^(1/w): weighted sampling without replacement (Efraimidis-Spirakis;
 * R4: gifts by value, issue 3). u = 0 gives 0 (always kept).
 */
double sampler_quota_key(double u, double w);

/** Buckets of a quota rule's groups: one per tier and one below. */
int sampler_quota_buckets(const rv_rule *rule);

/**
 * The candidate of sale @p ev for quota rule @p rule: its group, period,
 * bucket and how many the bucket keeps (the quotas of its tier and every
 * higher one, whose shortfall it may have to fill; below the lowest
 * threshold: all quotas), and the task it becomes if chosen (due window
 * counted from the period's end, so the day's sales are visited from the
 * next working day). @returns false (nothing filled) if the branch is not
 * in the calendar.
 */
bool sampler_quota_candidate(const rv_policy *p, const rv_calendar *cal,
                             const rv_rule *rule, const sampler_event *ev,
                             const char *worker, sampler_candidate *out);

/**
 * How many of each bucket's smallest draws a closing group takes:
 * @p counts[b] members in bucket b (tier_count + 1 buckets); @p take[b]
 * out. Tiers from the highest down take quota + the shortfall carried
 * from above, as far as their members reach; the bucket below the lowest
 * threshold takes what is still short. With quota.percent, each bucket
 * takes that percent of its members, rounded up (R4: 40% of the gift
 * records, seed 001 §五).
 */
void sampler_quota_allocate(const rv_rule *rule, const size_t *counts,
                            size_t *take);

/** The rule id of a group label ("R1@Seattle@2016-03-01" -> "R1"). */
void sampler_quota_rule_of(const char *label, char *out, size_t out_size);

/** The decision about quota task @p t (as offered): @p outcome and
 *  @p reason; u = t->sample_u, rate -1 (a quota has no rate). */
void sampler_quota_decision(const rv_task *t, rv_decision_outcome outcome,
                            const char *reason, const char *worker,
                            rv_decision *out);

#endif /* RV_SAMPLER_QUOTA_H */
