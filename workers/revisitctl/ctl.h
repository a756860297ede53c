/* workers/revisitctl/ctl.h: the subcommands of revisitctl. Each takes the
 * arguments after its name (argv[0] is the subcommand) and returns the
 * process exit code. */
#ifndef RV_CTL_H
#define RV_CTL_H

#include "rv/pg.h"

/** Exit status of a command PostgreSQL's roles refuse (sysexits
 *  EX_NOPERM). */
#define RV_CTL_EX_NOPERM 77

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
 *  refused (case_event_check: no such case; close before an answer; an
 *  action dated before the case opened; a new action on a closed case)
 *  or failed (database, delivery), 64 bad arguments, 78 configuration
 *  missing. */
int rv_ctl_case(int argc, char **argv);

/** `revisitctl generate --count N [--seed S] [--rate PER_S] [--start
 *  DATE] [--per-day K] [--customers C] [--topic T]`: N synthetic sales
 *  (generate.h) as SaleEvents on sales.events, paced at PER_S or as fast
 *  as the broker takes them; prints one "generate: ..." line. Exit
 *  status 0, 64 bad arguments, 69 Kafka failed, 78 configuration. */
int rv_ctl_generate(int argc, char **argv);

/** `revisitctl bench-kafka [--topic T] [--batch N] [--timeout-s S]
 *  [--round-trips R]`: one plain consumer in a fresh group reads every
 *  message of T (default sales.events); prints its rate from the first
 *  message to the last; then R (default 100, 0 = none) one-message
 *  produce+flush and poll+commit round trips on topic
 *  revisit.bench.probe, what a worker pays per batch (p50, p99 ms).
 *  `revisitctl bench-pg [--rows N] [--batch B] [--dsn DSN]`: N rows into
 *  a scratch copy of visit_tasks with the recorder's multi-row INSERT
 *  ... ON CONFLICT DO NOTHING, B rows per transaction; prints rows/s.
 *  Exit status 0, 1 timed out, 64 bad arguments, 69 service failed, 78
 *  configuration. */
int rv_ctl_bench_kafka(int argc, char **argv);
int rv_ctl_bench_pg(int argc, char **argv);

/** `revisitctl bench-retention`: per topic (and dead-letter twin), the
 *  messages written and those still held; exit status 1 if the broker
 *  dropped any (a low watermark above 0), 69 broker failed, 78
 *  configuration. */
int rv_ctl_bench_retention(int argc, char **argv);

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

/** `revisitctl replay verify --from T --to T ...` (issue 7): recompute the
 *  decisions, tasks, grades and alerts of an event-time range with the
 *  workers' own code and compare them with PostgreSQL. @returns the exit
 *  status: 0 all matched, 1 differences, 64 usage, 69 unavailable, 78
 *  configuration. */
int rv_ctl_replay(int argc, char **argv);

/** `revisitctl replay export --topic T --from T1 --to T2 --format
 *  ndjson|csv [--reveal] [--dsn DSN]` (issue 7): every message of one
 *  topic whose event time is in [T1, T2), read from Kafka without moving
 *  any consumer group, in (occurred_at, event_id) order on stdout: one
 *  JSON object per line, or RFC 4180 CSV with a header; phone numbers
 *  and free text masked unless --reveal, which PostgreSQL must allow
 *  (the user is a member of role revisit_reveal). argv[0] is "export".
 *  @returns the exit status: 0 written, 64 usage, 69 Kafka or
 *  PostgreSQL failed, 70 out of memory, 74 writing stdout failed, 77
 *  --reveal refused, 78 no database configured. */
int rv_ctl_replay_export(int argc, char **argv);

/** `revisitctl replay report --from T1 --to T2 [--verify FILE] [--dsn
 *  DSN]` (issue 7): a Markdown audit report of the range on stdout from
 *  the record: its inputs and the policy versions seen, counts per table,
 *  the text of a replay verify output FILE, and the lineage of every
 *  alert back to its business event. No wall-clock time: the same record
 *  gives the same bytes. argv[0] is "report".
 *  @returns the exit status: 0 written, 64 usage, 66 FILE unreadable,
 *  69 PostgreSQL failed, 70 out of memory, 74 writing stdout failed, 78
 *  no database configured. */
int rv_ctl_replay_report(int argc, char **argv);

/** `revisitctl reveal-phone --task TASK_ID [--dsn DSN]` (issue 6): the
 *  phone number of a visit task, opened from visit_tasks.phone_enc with
 *  the key of $RV_PII_KEY_FILE (rv/pii.h), printed on stdout, only for a
 *  PostgreSQL user that is a member of role revisit_reveal and may read
 *  the task's row (row-level security, 011_access.sql).
 *  @returns the exit status: 0 printed, 1 no such task visible, no
 *  sealed number, or it does not open with this key, 64 usage, 69
 *  PostgreSQL failed, 70 OpenSSL failed, 74 writing stdout failed, 77
 *  refused (not a member of revisit_reveal, or no privilege on
 *  visit_tasks or pii_key_check), 78 no database, no key file, or "wrong
 *  key file for this record" (its check value is not the one in
 *  pii_key_check, 013_pii_key_check.sql). */
int rv_ctl_reveal_phone(int argc, char **argv);

/** 0 if the PostgreSQL user of @p pg (borrowed) is a member of role
 *  revisit_reveal (deploy/sql/008_roles.sql; a superuser always is; a
 *  missing role refuses like a non-member). Otherwise the exit status,
 *  after one line on stderr that starts with @p what: RV_CTL_EX_NOPERM
 *  ("<what> refused: PostgreSQL user ... is not a member of role
 *  revisit_reveal ..."), or 69 (the query failed). */
int rv_ctl_check_reveal(rv_pg *pg, const char *what);

/** The database of a command: @p dsn (its --dsn, may be NULL), else
 *  $RV_PG_DSN. NULL, after "revisitctl @p what: no database: ..." on
 *  stderr, if neither is set. Borrowed. */
const char *rv_ctl_dsn(const char *what, const char *dsn);

#endif /* RV_CTL_H */
