/* workers/revisitctl/population.h: R2 (seed 000 第一篇), the pure half of
 * `revisitctl sample-population --year Y`: each customer who held business
 * at the end of the year before Y draws once a year; the selected ones
 * (u < rate, 10% in the default policy) get one compliance risk-reminder
 * visit in a month of Y spread by the draw. I/O-free, so the draw, the
 * month and the records are unit-tested without PostgreSQL or a broker;
 * cmd_population.c reads the population and sends what this plans.
 *
 * Phones: the record keeps only masked numbers (DESIGN §8), so a task
 * carries the masked form of the customer's latest sale
 * ("138****1234"); the call centre resolves the number to dial by
 * customer ID. */
#ifndef RV_POPULATION_H
#define RV_POPULATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/calendar.h"
#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/model.h"
#include "rv/policy.h"

/** The trigger kind of a population rule in the policy. */
#define POPULATION_TRIGGER "population"
/** Producer name in the envelope of every task and decision. */
#define POPULATION_PRODUCER "revisitctl"
/** Years the business calendar covers whole (rv/calendar.h: local days
 *  in [1990-01-01, 2100-01-01)), with the year before and the due
 *  windows after. */
#define POPULATION_YEAR_MIN 1991
#define POPULATION_YEAR_MAX 2098
#define POPULATION_MONTHS 12
/** Bytes of the opt-out key "rv:{<customer>}:optout" with its NUL. */
#define POPULATION_OPTOUT_KEY_SIZE 96

/** One customer of the population: the latest sale before the year.
 *  Every field NUL-terminated and borrowed; store and phone may be "". */
typedef struct population_customer {
    const char *customer_id;
    const char *branch_id;
    const char *store_id;
    const char *phone_masked;
} population_customer;

/** What one customer's draw gives. A value: owns no memory. */
typedef struct population_plan {
    bool selected;        /**< u < rate */
    int month;            /**< 1..12 when selected, else 0 */
    double u;             /**< the draw, [0, 1) */
    rv_task task;         /**< the visit, when selected */
    rv_decision decision; /**< always: selected or not selected */
} population_plan;

/**
 * The draw u = rv_hash_unit(@p salt, @p rule_id, "<customer_id>/<year>")
 * in [0, 1), the sampler's draw (DESIGN §4) with the year in the key: a
 * customer draws afresh each year. Pure. Strings borrowed.
 */
double population_draw(const char *salt, const char *rule_id,
                       const char *customer_id, int year);

/**
 * The month (1..12) of Y in which a selected customer is visited:
 * floor(u / rate * 12) + 1, uniform over the months for the selected
 * draws (u < rate is uniform on [0, rate)). 0 when not selected (u >=
 * rate, or rate <= 0).
 */
int population_month(double u, double rate);

/**
 * The ID of the draw itself, the source event of the task and the
 * decision: rv_id_derive(customer_id, rule_id, year as decimal). The
 * task is derive(source, rule_id) and the decision derive(source,
 * rule_id, "decision"), as the sampler derives them from a sale: a
 * re-run sends the same IDs and the record keeps one copy.
 * @param out  RV_ID_SIZE bytes
 */
void population_source_id(char out[RV_ID_SIZE], const char *customer_id,
                          const char *rule_id, int year);

/**
 * Check that @p rule can sample a population: it has the trigger
 * "population", no amount tiers (a population has no amount), the
 * Bernoulli mode (no quota, inactivity or schedule) and no when
 * conditions (they describe a sale).
 * @returns RV_OK, RV_ERR_INVALID (errstr names the rule and what is
 *          wrong; may be NULL)
 */
RV_MUSTCHECK rv_err population_check_rule(const rv_rule *rule, char *errstr,
                                          size_t errstr_size);

/**
 * UTC µs of local midnight of the first day of @p month (1..12) of
 * @p year in @p branch (rv_calendar_branch). Month 1 is the year's start:
 * the population is every customer with a sale before it.
 */
int64_t population_month_start(const rv_calendar *cal, int branch, int year,
                               int month);

/**
 * Plan customer @p c under @p rule (checked by population_check_rule) of
 * policy @p p for @p year. The decision is always filled: selected (with
 * the task's ID) or not selected, u and the rule's rate, reason "u ... <
 * rate ...: month M" or "u ... >= rate ...". When selected the task is
 * filled as the sampler fills one: the rule's reason, questions (C3),
 * priority and channel (phone if none), attempt 1, the draw and the rate,
 * the customer's branch, store and masked phone; event time the year's
 * start in the branch; the due window the rule's, counted from local
 * midnight of the first day of the month drawn, so it opens on the
 * month's first working day (rv_calendar_due_window). Both envelopes:
 * producer POPULATION_PRODUCER, causation the draw's ID.
 * @param out  on RV_OK the plan; untouched on error
 * @returns RV_OK, RV_ERR_INVALID (year outside POPULATION_YEAR_MIN..MAX,
 *          or the branch is not in the policy; errstr)
 */
RV_MUSTCHECK rv_err population_plan_one(const rv_policy *p,
                                        const rv_calendar *cal,
                                        const rv_rule *rule, int year,
                                        const population_customer *c,
                                        population_plan *out, char *errstr,
                                        size_t errstr_size);

/** C4 (seed 002 no. 13): the selected customer of @p plan is on the
 *  opt-out list: the decision becomes suppressed_opt_out (it keeps the
 *  task's ID, as the sampler's do) and no task is sent. */
void population_suppress_opt_out(population_plan *plan);

/** The customer's opt-out flag in Redis, "rv:{<customer>}:optout": the
 *  key the sampler's C4 script reads (workers/sampler/sampler_cooldown.c;
 *  a worker includes no other worker's files, so the form is repeated
 *  here and the integration test checks that both agree). */
void population_optout_key(const char *customer_id,
                           char out[POPULATION_OPTOUT_KEY_SIZE]);

/** The run's figures for its summary line. Init with
 *  population_summary_init, release with population_summary_fini. */
typedef struct population_summary {
    int year;
    size_t population; /**< customers evaluated */
    size_t selected;   /**< drawn (u < rate), opted out or not */
    size_t opted_out;  /**< drawn, but on the opt-out list (C4) */
    size_t months[POPULATION_MONTHS]; /**< the drawn, by month */
    char **ids;                       /**< owned copies of the drawn IDs */
    size_t id_count;
    size_t id_cap;
} population_summary;

/** An empty summary of @p year into caller storage @p s. */
void population_summary_init(population_summary *s, int year);

/** Count @p plan (borrowed; its customer is its decision's).
 *  @returns RV_OK, RV_ERR_NOMEM (@p s unchanged) */
RV_MUSTCHECK rv_err population_summary_add(population_summary *s,
                                           const population_plan *plan);

/**
 * The summary line, without a newline: "sample-population: year=Y
 * population=N selected=K months=[k1,...,k12] sha256=H opted_out=M",
 * H the SHA-256 (hex) of the drawn customer IDs sorted in byte order,
 * each followed by "\n" (of "" when none is drawn). Sorts s->ids.
 * @param out  @p out_size bytes; 512 are always enough
 * @returns RV_OK, RV_ERR_NOMEM, RV_ERR_FULL (@p out too small)
 */
RV_MUSTCHECK rv_err population_summary_format(population_summary *s, char *out,
                                              size_t out_size);

/** Free the copies of @p s. NULL is a no-op. */
void population_summary_fini(population_summary *s);

#endif /* RV_POPULATION_H */
