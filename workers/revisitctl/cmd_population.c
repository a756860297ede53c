/* workers/revisitctl/cmd_population.c: `revisitctl sample-population`,
 * R2 (seed 000 第一篇): once a year, a compliance risk-reminder visit to
 * a sample (the rule's rate, 10% by default) of the customers who held
 * business at the end of the year before.
 *
 * The population is read from the record (table sales): every customer
 * with a sale before local midnight of January 1st of the year in the
 * time zone of the sale's branch, with the branch, store and masked
 * phone of the customer's latest such sale. Sales of branches the policy
 * does not list are left out (no calendar can place them; the sampler
 * refuses their events too) and counted in a warning. Each customer draws
 * once (population.h); a drawn customer on the opt-out list (C4, the
 * sampler's key in Redis) gets a suppressed decision instead of a visit.
 * Every task goes to visits.tasks and every decision, drawn or not, to
 * visits.decisions, keyed by the customer, with IDs derived from
 * (customer, rule, year): a re-run, after a failure or by mistake, sends
 * the same facts and the recorder keeps one copy of each.
 *
 * The C4 cooldown is neither checked nor extended here: its state and
 * script belong to the sampler, which no other worker includes. Whether
 * a yearly compliance reminder should wait for it is open; the opt-out
 * list, a plain key, is honoured.
 *
 * The whole population is one result set in memory (four short strings
 * per customer): fine for hundreds of thousands of customers; a cursor
 * would bound it for more. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_time.h"
#include "population.h"
#include "rv/calendar.h"
#include "rv/cfg.h"
#include "rv/codec.h"
#include "rv/kafka.h"
#include "rv/log.h"
#include "rv/pg.h"
#include "rv/policy.h"
#include "rv/redis.h"

#define EXIT_USAGE 64
#define EXIT_FAILED 1
#define TOPIC_TASKS "visits.tasks"
#define TOPIC_DECISIONS "visits.decisions"
#define FLUSH_TIMEOUT_MS 60000
#define CLOSE_TIMEOUT_MS 5000
#define REDIS_TIMEOUT_MS 5000
#define SUMMARY_SIZE 512

/* $1 the policy's branches, $2 the local start of the year in each (UTC
 * text). A sale counts if it came before the year started in its own
 * branch; the customer's latest such sale gives branch, store and phone
 * (ties: the larger event ID). Customers in byte order. */
static const char population_sql[] =
    "SELECT customer_id, branch_id, store_id, phone_masked FROM ("
    " SELECT DISTINCT ON (s.customer_id) s.customer_id, s.branch_id,"
    " s.store_id, s.phone_masked"
    " FROM sales s"
    " JOIN unnest($1::text[], $2::timestamptz[]) AS c(branch_id, year_start)"
    " ON c.branch_id = s.branch_id"
    " WHERE s.occurred_at < c.year_start"
    " ORDER BY s.customer_id, s.occurred_at DESC, s.event_id COLLATE \"C\" DESC"
    ") latest ORDER BY customer_id COLLATE \"C\"";

/* $1 the policy's branches, $2 the year's start in UTC. */
static const char unknown_sql[] =
    "SELECT count(*), count(DISTINCT customer_id) FROM sales"
    " WHERE branch_id <> ALL($1::text[]) AND occurred_at < $2::timestamptz";

enum { COL_CUSTOMER, COL_BRANCH, COL_STORE, COL_PHONE };

typedef struct pop_opts {
    const char *year;
    const char *policy;
    const char *rule;
    const char *dsn;
    const char *redis_url;
    bool dry_run;
} pop_opts;

/* What one run holds; released by run_fini. */
typedef struct pop_run {
    int year;
    bool dry_run;
    rv_policy *policy;
    const rv_rule *rule; /* borrowed from policy */
    rv_calendar *cal;
    rv_pg *pg;
    rv_pg_result *res;
    rv_redis *rc;
    rv_producer *kp;
    population_summary sum;
    population_plan plan;
} pop_run;

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: revisitctl sample-population --year Y [--policy PATH] "
        "[--rule R2]\n"
        "                                    [--dsn DSN] [--redis-url URL] "
        "[--dry-run]\n"
        "  R2 (seed 000): draws the customers who held business at the end "
        "of\n"
        "  Y - 1 (a sale before Y-01-01 00:00 in their branch's time zone) at "
        "the\n"
        "  rule's rate, u = hash(salt, rule, customer/Y); a drawn customer's "
        "visit\n"
        "  falls in month floor(u / rate * 12) + 1 of Y, due from its first "
        "working\n"
        "  day. One VisitTask per drawn customer (not on the opt-out list) "
        "on\n"
        "  visits.tasks, one SamplingDecision per customer on "
        "visits.decisions;\n"
        "  IDs derived from (customer, rule, Y): a re-run is the same facts.\n"
        "  Prints: sample-population: year=Y population=N selected=K\n"
        "          months=[k1,...,k12] sha256=H opted_out=M\n"
        "  (H: SHA-256 of the drawn customer IDs, sorted, one per line).\n"
        "  --year Y       %d..%d\n"
        "  --policy PATH  default $RV_POLICY_PATH, else "
        "deploy/policy/default.yaml\n"
        "  --rule ID      a rule with trigger population (default R2)\n"
        "  --dsn DSN      libpq connection string (default $RV_PG_DSN)\n"
        "  --redis-url URL  the opt-out list (default $RV_REDIS_URL)\n"
        "  --dry-run      print the summary, send nothing\n"
        "  Kafka from RV_KAFKA_BOOTSTRAP_SERVERS (and any RV_KAFKA_*).\n"
        "  exit status: 0 done, 1 failed (database, Redis, delivery: run it "
        "again),\n"
        "  64 bad arguments, 78 configuration missing or invalid\n",
        POPULATION_YEAR_MIN, POPULATION_YEAR_MAX);
}

/* Returns 0 parsed, 1 --help, -1 after saying what is wrong. */
static int parse_opts(int argc, char **argv, pop_opts *o)
{
    static const struct {
        const char *name;
        size_t offset;
    } defs[] = {
        {"--year", offsetof(pop_opts, year)},
        {"--policy", offsetof(pop_opts, policy)},
        {"--rule", offsetof(pop_opts, rule)},
        {"--dsn", offsetof(pop_opts, dsn)},
        {"--redis-url", offsetof(pop_opts, redis_url)},
    };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            return 1;
        }
        if (strcmp(arg, "--dry-run") == 0) {
            o->dry_run = true;
            continue;
        }
        size_t d = 0;
        while (d < sizeof(defs) / sizeof(defs[0]) &&
               strcmp(defs[d].name, arg) != 0) {
            d++;
        }
        if (d == sizeof(defs) / sizeof(defs[0])) {
            fprintf(stderr,
                    "revisitctl sample-population: unknown argument "
                    "\"%s\"\n",
                    arg);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr,
                    "revisitctl sample-population: \"%s\" needs a value\n",
                    arg);
            return -1;
        }
        *(const char **)((char *)o + defs[d].offset) = argv[++i];
    }
    if (o->year == NULL) {
        fprintf(stderr, "revisitctl sample-population: --year is required\n");
        return -1;
    }
    return 0;
}

static bool parse_year(const char *s, int *out)
{
    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < POPULATION_YEAR_MIN ||
        v > POPULATION_YEAR_MAX) {
        return false;
    }
    *out = (int)v;
    return true;
}

static bool has_bootstrap(const rv_props *kafka)
{
    for (size_t i = 0; i < kafka->count; i++) {
        if (strcmp(kafka->names[i], "bootstrap.servers") == 0 &&
            kafka->values[i][0] != '\0') {
            return true;
        }
    }
    return false;
}

/* Append @p s to the PostgreSQL array literal in @p buf (@p cap bytes,
 * @p *at used) as one quoted element: '"' and '\' escaped, so any
 * branch ID is one element. */
static bool append_element(char *buf, size_t cap, size_t *at, const char *s)
{
    size_t need = 4 + 2 * strlen(s); /* ',' '"' ... '"' NUL */
    if (*at + need > cap) {
        return false;
    }
    if (*at > 1) {
        buf[(*at)++] = ',';
    }
    buf[(*at)++] = '"';
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            buf[(*at)++] = '\\';
        }
        buf[(*at)++] = *p;
    }
    buf[(*at)++] = '"';
    buf[*at] = '\0';
    return true;
}

/* The policy's branches and the local start of the year in each, as
 * two array literals (owned by the caller, free()). */
static rv_err branch_arrays(const pop_run *r, char **branches, char **starts)
{
    const rv_policy *p = r->policy;
    size_t cap_b = 3, cap_s = 3;
    for (unsigned i = 0; i < p->branch_count; i++) {
        cap_b += 4 + 2 * strlen(p->branches[i].id);
        cap_s += 4 + 2 * CTL_TIME_SIZE;
    }
    char *b = malloc(cap_b);
    char *s = malloc(cap_s);
    if (b == NULL || s == NULL) {
        free(b);
        free(s);
        return RV_ERR_NOMEM;
    }
    size_t at_b = 1, at_s = 1;
    b[0] = '{';
    b[1] = '\0';
    s[0] = '{';
    s[1] = '\0';
    for (unsigned i = 0; i < p->branch_count; i++) {
        int branch = rv_calendar_branch(r->cal, p->branches[i].id);
        char start[CTL_TIME_SIZE];
        ctl_time_format(population_month_start(r->cal, branch, r->year, 1),
                        start);
        if (!append_element(b, cap_b, &at_b, p->branches[i].id) ||
            !append_element(s, cap_s, &at_s, start)) {
            free(b);
            free(s);
            return RV_ERR_FATAL; /* the sizes above are wrong: a bug */
        }
    }
    b[at_b++] = '}';
    b[at_b] = '\0';
    s[at_s++] = '}';
    s[at_s] = '\0';
    *branches = b;
    *starts = s;
    return RV_OK;
}

/* Read the population into r->res; warn of sales in branches the policy
 * does not list. */
static int read_population(pop_run *r)
{
    char *branches = NULL, *starts = NULL;
    rv_err err = branch_arrays(r, &branches, &starts);
    if (err != RV_OK) {
        fprintf(stderr, "revisitctl sample-population: %s\n", rv_err_str(err));
        return EXIT_FAILED;
    }
    char errstr[512] = "";
    char utc_start[32];
    snprintf(utc_start, sizeof(utc_start), "%04d-01-01T00:00:00Z", r->year);
    const char *params[] = {branches, starts};
    const char *unknown_params[] = {branches, utc_start};
    rv_pg_result *unknown = NULL;
    int code = EXIT_FAILED;
    if (rv_pg_exec(r->pg, population_sql, 2, params, &r->res, errstr,
                   sizeof(errstr)) != RV_OK ||
        rv_pg_exec(r->pg, unknown_sql, 2, unknown_params, &unknown, errstr,
                   sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "revisitctl sample-population: %s\n", errstr);
        goto out;
    }
    const char *sales = rv_pg_result_value(unknown, 0, 0);
    if (strcmp(sales, "0") != 0) {
        fprintf(stderr,
                "revisitctl sample-population: warning: %s sales of %s "
                "customers before %s are in branches policy %s does not list; "
                "they are not in the population\n",
                sales, rv_pg_result_value(unknown, 0, 1), utc_start,
                r->policy->version);
    }
    code = 0;
out:
    rv_pg_result_free(unknown);
    free(branches);
    free(starts);
    return code;
}

/* True in *out if @p customer_id is on the opt-out list. */
static rv_err is_opted_out(rv_redis *rc, const char *customer_id, bool *out)
{
    char key[POPULATION_OPTOUT_KEY_SIZE];
    population_optout_key(customer_id, key);
    const char *argv[] = {"EXISTS", key};
    rv_redis_reply reply = {0};
    rv_err err = rv_redis_command(rc, 2, argv, &reply);
    if (err == RV_OK && reply.type != RV_REPLY_INT) {
        err = RV_ERR_UNAVAILABLE;
    }
    if (err == RV_OK) {
        *out = reply.integer > 0;
    }
    rv_redis_replies_fini(&reply, 1);
    return err;
}

/* Queue @p len bytes at @p buf; a full local queue is flushed first, and
 * a failed delivery found by that flush fails the send. */
static rv_err send_msg(rv_producer *kp, const char *topic, const char *key,
                       const uint8_t *buf, size_t len)
{
    rv_err err = rv_producer_send(kp, topic, key, buf, len, NULL, 0);
    while (err == RV_ERR_FULL) {
        err = rv_producer_flush(kp, FLUSH_TIMEOUT_MS);
        if (err == RV_OK) {
            err = rv_producer_send(kp, topic, key, buf, len, NULL, 0);
        }
    }
    return err;
}

static rv_err send_plan(rv_producer *kp, const population_plan *plan)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = RV_OK;
    if (plan->selected &&
        plan->decision.outcome != RV_DECISION_SUPPRESSED_OPT_OUT) {
        err = rv_codec_encode_task(&plan->task, &buf, &len);
        if (err == RV_OK) {
            err = send_msg(kp, TOPIC_TASKS, plan->task.customer_id, buf, len);
        }
        free(buf);
        buf = NULL;
    }
    if (err == RV_OK) {
        err = rv_codec_encode_decision(&plan->decision, &buf, &len);
    }
    if (err == RV_OK) {
        err =
            send_msg(kp, TOPIC_DECISIONS, plan->decision.customer_id, buf, len);
    }
    free(buf);
    return err;
}

/* Draw, check the opt-out list, send and count every customer of the
 * population. */
static int draw_all(pop_run *r)
{
    char errstr[512] = "";
    size_t rows = rv_pg_result_rows(r->res);
    for (size_t row = 0; row < rows; row++) {
        const population_customer c = {
            .customer_id = rv_pg_result_value(r->res, row, COL_CUSTOMER),
            .branch_id = rv_pg_result_value(r->res, row, COL_BRANCH),
            .store_id = rv_pg_result_value(r->res, row, COL_STORE),
            .phone_masked = rv_pg_result_value(r->res, row, COL_PHONE),
        };
        rv_err err = population_plan_one(r->policy, r->cal, r->rule, r->year,
                                         &c, &r->plan, errstr, sizeof(errstr));
        if (err != RV_OK) {
            fprintf(stderr, "revisitctl sample-population: %s\n",
                    err == RV_ERR_NOMEM ? "out of memory" : errstr);
            return EXIT_FAILED;
        }
        bool opted_out = false;
        if (r->plan.selected) {
            err = is_opted_out(r->rc, c.customer_id, &opted_out);
            if (err != RV_OK) {
                fprintf(stderr,
                        "revisitctl sample-population: opt-out list: %s\n",
                        rv_err_str(err));
                return EXIT_FAILED;
            }
        }
        if (opted_out) {
            population_suppress_opt_out(&r->plan);
        }
        if (!r->dry_run) {
            err = send_plan(r->kp, &r->plan);
            if (err != RV_OK) {
                fprintf(stderr,
                        "revisitctl sample-population: not delivered: %s (run "
                        "it again: the IDs are derived, a re-run sends the "
                        "same facts)\n",
                        rv_err_str(err));
                return EXIT_FAILED;
            }
        }
        if (population_summary_add(&r->sum, &r->plan) != RV_OK) {
            fprintf(stderr, "revisitctl sample-population: out of memory\n");
            return EXIT_FAILED;
        }
    }
    return 0;
}

/* The policy, its rule and its calendar. Exit code, or -1 to go on. */
static int load_policy(pop_run *r, const pop_opts *o)
{
    const char *path = o->policy;
    if (path == NULL) {
        path = getenv("RV_POLICY_PATH");
    }
    if (path == NULL || path[0] == '\0') {
        path = "deploy/policy/default.yaml";
    }
    char errstr[512] = "";
    if (rv_policy_load(path, &r->policy, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "revisitctl sample-population: %s\n", errstr);
        return RV_CFG_EXIT_CONFIG;
    }
    const char *rule_id = o->rule != NULL ? o->rule : "R2";
    r->rule = rv_policy_rule(r->policy, rule_id);
    if (r->rule == NULL) {
        fprintf(stderr,
                "revisitctl sample-population: policy %s has no rule %s\n",
                r->policy->version, rule_id);
        return RV_CFG_EXIT_CONFIG;
    }
    if (population_check_rule(r->rule, errstr, sizeof(errstr)) != RV_OK ||
        rv_calendar_new(r->policy, &r->cal, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "revisitctl sample-population: %s\n", errstr);
        return RV_CFG_EXIT_CONFIG;
    }
    return -1;
}

/* Connect to PostgreSQL, Redis and (unless a dry run) Kafka. Exit code,
 * or -1 to go on. */
static int connect_all(pop_run *r, const char *dsn, const char *url,
                       const rv_props *kafka)
{
    char errstr[512] = "";
    if (rv_pg_open(dsn, &r->pg, errstr, sizeof(errstr)) != RV_OK ||
        rv_redis_open(url, REDIS_TIMEOUT_MS, &r->rc, errstr, sizeof(errstr)) !=
            RV_OK) {
        fprintf(stderr, "revisitctl sample-population: %s\n", errstr);
        return EXIT_FAILED;
    }
    if (!r->dry_run && rv_producer_open(kafka, "revisitctl", &r->kp, errstr,
                                        sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "revisitctl sample-population: %s\n", errstr);
        return RV_CFG_EXIT_CONFIG;
    }
    return -1;
}

static void run_fini(pop_run *r)
{
    population_summary_fini(&r->sum);
    rv_producer_close(r->kp, CLOSE_TIMEOUT_MS);
    rv_redis_close(r->rc);
    rv_pg_result_free(r->res);
    rv_pg_close(r->pg);
    rv_calendar_free(r->cal);
    rv_policy_free(r->policy);
}

int rv_ctl_sample_population(int argc, char **argv)
{
    pop_opts o = {0};
    int parsed = parse_opts(argc, argv, &o);
    if (parsed != 0) {
        if (parsed > 0) {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "usage: revisitctl sample-population --help\n");
        return EXIT_USAGE;
    }
    pop_run r = {.dry_run = o.dry_run};
    if (!parse_year(o.year, &r.year)) {
        fprintf(stderr,
                "revisitctl sample-population: --year \"%s\" is not a year "
                "in %d..%d\n",
                o.year, POPULATION_YEAR_MIN, POPULATION_YEAR_MAX);
        return EXIT_USAGE;
    }
    const char *dsn = rv_ctl_dsn("sample-population", o.dsn);
    if (dsn == NULL) {
        return RV_CFG_EXIT_CONFIG;
    }
    const char *url =
        o.redis_url != NULL ? o.redis_url : getenv("RV_REDIS_URL");
    if (url == NULL || url[0] == '\0') {
        fprintf(stderr, "revisitctl sample-population: no Redis (the opt-out "
                        "list, C4): set RV_REDIS_URL or pass --redis-url\n");
        return RV_CFG_EXIT_CONFIG;
    }
    static const rv_cfg_key no_keys[] = {{0}};
    rv_cfg_section sec[] = {{no_keys, NULL}};
    rv_props kafka = {0};
    if (rv_cfg_load(sec, 1, NULL, &kafka) != RV_OK) {
        return RV_CFG_EXIT_CONFIG;
    }
    population_summary_init(&r.sum, r.year);
    int code = RV_CFG_EXIT_CONFIG;
    if (!r.dry_run && !has_bootstrap(&kafka)) {
        fprintf(stderr, "revisitctl sample-population: no broker: set "
                        "RV_KAFKA_BOOTSTRAP_SERVERS (or --dry-run)\n");
        goto out;
    }
    rv_log_init("revisitctl", RV_LOG_WARN, RV_LOG_LOGFMT);
    code = load_policy(&r, &o);
    if (code < 0) {
        code = connect_all(&r, dsn, url, &kafka);
    }
    if (code < 0) {
        code = read_population(&r);
    }
    if (code == 0) {
        code = draw_all(&r);
    }
    if (code == 0 && !r.dry_run) {
        rv_err err = rv_producer_flush(r.kp, FLUSH_TIMEOUT_MS);
        if (err != RV_OK) {
            fprintf(stderr,
                    "revisitctl sample-population: not delivered: %s (run it "
                    "again: the IDs are derived, a re-run sends the same "
                    "facts)\n",
                    rv_err_str(err));
            code = EXIT_FAILED;
        }
    }
    if (code == 0) {
        char line[SUMMARY_SIZE];
        if (population_summary_format(&r.sum, line, sizeof(line)) != RV_OK) {
            fprintf(stderr, "revisitctl sample-population: out of memory\n");
            code = EXIT_FAILED;
        } else {
            printf("%s\n", line);
            if (r.dry_run) {
                fprintf(stderr,
                        "revisitctl sample-population: dry run: nothing "
                        "sent\n");
            }
        }
    }
out:
    run_fini(&r);
    rv_cfg_fini(sec, 1, &kafka);
    return code;
}
