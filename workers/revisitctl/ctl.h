/* workers/revisitctl/ctl.h: the subcommands of revisitctl. Each takes the
 * arguments after its name (argv[0] is the subcommand) and returns the
 * process exit code. */
#ifndef RV_CTL_H
#define RV_CTL_H

/** `revisitctl import --csv PATH [--sha256 HEX] [--limit N]`: the
 *  Superstore orders sample -> one SaleEvent per order on sales.events. */
int rv_ctl_import(int argc, char **argv);

/** `revisitctl report [--summary] [--dsn DSN]`: per branch and month from
 *  PostgreSQL (DESIGN §2 Reports). `report --agents [--month YYYY-MM]`:
 *  visits booked per agent and day against the daily_capacity of the
 *  roster in the policy file ($RV_POLICY_PATH); exit status 1 if a day is
 *  booked over capacity (C5). `report --cases [--now T] [--branch B]`:
 *  cases per kind, open, answered, closed, overdue at T, escalated. */
int rv_ctl_report(int argc, char **argv);

/** `revisitctl wait-drained [--timeout-s N]`: wait until every worker's
 *  consumer group has no lag, twice in a row. */
int rv_ctl_wait_drained(int argc, char **argv);

/** `revisitctl rebuild-state [--dsn DSN] [--redis-url URL] [--policy
 *  PATH]`: restore every booking and capacity counter of the assigner in
 *  Redis from PostgreSQL (DESIGN §4 "Redis is rebuildable"). */
int rv_ctl_rebuild_state(int argc, char **argv);

/** `revisitctl case list|show|answer|close ...` (DESIGN §2 A2, A3, G4):
 *  cases from the record (view case_status), and the branch's answer or
 *  the compliance department's final opinion as one CaseEvent on
 *  compliance.cases, sent only after checking the case in PostgreSQL
 *  ($RV_PG_DSN or --dsn); Kafka from RV_KAFKA_*. Exit status 0 done, 1
 *  refused (no such case; close before an answer) or failed (database,
 *  delivery), 64 bad arguments, 78 configuration missing. */
int rv_ctl_case(int argc, char **argv);

/** `revisitctl sample-population --year Y [--policy PATH] [--rule R2]
 *  [--dsn DSN] [--redis-url URL] [--dry-run]`: R2 (seed 000 第一篇), the
 *  yearly compliance risk-reminder visits to a sample of the customers
 *  who held business at the end of Y - 1 (population.h): one VisitTask
 *  per drawn customer on visits.tasks, one SamplingDecision per customer
 *  on visits.decisions, IDs derived from (customer, rule, Y); then one
 *  summary line. PostgreSQL ($RV_PG_DSN or --dsn) for the population,
 *  Redis ($RV_REDIS_URL or --redis-url) for the opt-out list (C4), Kafka
 *  from RV_KAFKA_*. Exit status 0 done, 1 failed (database, Redis,
 *  delivery), 64 bad arguments, 78 configuration missing or invalid. */
int rv_ctl_sample_population(int argc, char **argv);

/** The database of a command: @p dsn (its --dsn, may be NULL), else
 *  $RV_PG_DSN. NULL, after "revisitctl @p what: no database: ..." on
 *  stderr, if neither is set. Borrowed. */
const char *rv_ctl_dsn(const char *what, const char *dsn);

#endif /* RV_CTL_H */
