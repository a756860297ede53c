-- deploy/sql/001_init.sql: the record (DESIGN §5), written only by the
-- recorder (workers/recorder) and read by revisitctl report and audits.
--
-- Every fact arrives from Kafka at least once, so every table has a
-- primary key on the derived ID of the fact (DESIGN §4) and the recorder
-- inserts with ON CONFLICT DO NOTHING: the first copy wins, duplicates
-- collapse. Rows are never updated.
--
-- Conventions:
--   * Times are timestamptz (UTC on the wire, microsecond precision).
--     occurred_at is event time; produced_at is the producer's wall time
--     (audit only); recorded_at is when the row reached PostgreSQL.
--   * causation_id, producer, produced_at come from the envelope and are
--     NULL where the envelope left them empty (source events).
--   * Enumerations are stored by name ("phone", "answered", "success",
--     "satisfied", "major", "assigned") as rv/model.h names them.
--   * Phone numbers are stored masked ("138****1234") and, since
--     010_pii.sql, sealed (phone_enc); never clear (DESIGN §8).
--
-- Not partitioned yet (a later issue): the time-based tables (sales, visit_tasks,
-- assignments, outcomes, grades, alerts, message_index) are to be
-- partitioned by month of occurred_at (DESIGN §5). A partitioned table
-- needs the partition key in its primary key, which changes the conflict
-- target of the recorder's inserts; that is a later migration.
--
-- Applied once, in order, by deploy/local/stack.sh (psql ON_ERROR_STOP).
-- The IF NOT EXISTS clauses make a second application harmless.

BEGIN;

-- Business events -------------------------------------------------------

-- sales.events: one row per sale (order).
CREATE TABLE IF NOT EXISTS sales (
    event_id        text PRIMARY KEY,
    order_id        text NOT NULL,
    customer_id     text NOT NULL,
    branch_id       text NOT NULL,
    store_id        text NOT NULL,
    amount_cents    bigint NOT NULL CHECK (amount_cents >= 0),
    currency        text NOT NULL,
    segment         text NOT NULL,
    phone_masked    text NOT NULL,
    phone_synthetic boolean NOT NULL,
    line_count      integer NOT NULL,
    occurred_at     timestamptz NOT NULL,
    causation_id    text,
    producer        text,
    produced_at     timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS sales_branch_occurred_idx
    ON sales (branch_id, occurred_at);
CREATE INDEX IF NOT EXISTS sales_customer_idx ON sales (customer_id);

-- service.events: closed complaints and finished repairs (rule R5).
CREATE TABLE IF NOT EXISTS work_orders (
    event_id        text PRIMARY KEY,
    work_order_id   text NOT NULL,
    kind            text NOT NULL,
    customer_id     text NOT NULL,
    branch_id       text NOT NULL,
    store_id        text NOT NULL,
    phone_masked    text NOT NULL,
    phone_synthetic boolean NOT NULL,
    occurred_at     timestamptz NOT NULL,
    causation_id    text,
    producer        text,
    produced_at     timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS work_orders_branch_occurred_idx
    ON work_orders (branch_id, occurred_at);

-- Visits ----------------------------------------------------------------

-- visits.tasks: one row per task (attempt 1); task_id =
-- derive(source_event_id, rule_id). occurred_at is inherited from the
-- business event, so the report's month is the sale's month.
CREATE TABLE IF NOT EXISTS visit_tasks (
    task_id         text PRIMARY KEY,
    event_id        text NOT NULL,
    rule_id         text NOT NULL,
    reasons         text[] NOT NULL,
    source_event_id text NOT NULL,
    customer_id     text NOT NULL,
    branch_id       text NOT NULL,
    store_id        text NOT NULL,
    due_start       timestamptz,
    due_end         timestamptz,
    priority        integer NOT NULL,
    channel         text NOT NULL,
    questions       text[] NOT NULL,
    policy_version  text NOT NULL,
    attempt         integer NOT NULL,
    not_before      timestamptz,
    phone_masked    text NOT NULL,
    sample_u        double precision NOT NULL,
    sample_rate     double precision NOT NULL,
    occurred_at     timestamptz NOT NULL,
    causation_id    text,
    producer        text,
    produced_at     timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS visit_tasks_branch_occurred_idx
    ON visit_tasks (branch_id, occurred_at);
CREATE INDEX IF NOT EXISTS visit_tasks_customer_idx
    ON visit_tasks (customer_id);
CREATE INDEX IF NOT EXISTS visit_tasks_source_idx
    ON visit_tasks (source_event_id);

-- visits.retries: the second phone attempt of a task (C2); event_id =
-- derive(task_id, attempt).
CREATE TABLE IF NOT EXISTS task_retries (
    event_id        text PRIMARY KEY,
    task_id         text NOT NULL,
    attempt         integer NOT NULL,
    not_before      timestamptz,
    customer_id     text NOT NULL,
    branch_id       text NOT NULL,
    due_start       timestamptz,
    due_end         timestamptz,
    policy_version  text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    causation_id    text,
    producer        text,
    produced_at     timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS task_retries_task_idx ON task_retries (task_id);

-- visits.assignments: one booking per task attempt; assignment_id =
-- derive(task_id, attempt). status "unassigned" rows have no agent, day
-- or window and say why in reason.
CREATE TABLE IF NOT EXISTS assignments (
    assignment_id   text PRIMARY KEY,
    event_id        text NOT NULL,
    task_id         text NOT NULL,
    attempt         integer NOT NULL,
    status          text NOT NULL,
    customer_id     text NOT NULL,
    branch_id       text NOT NULL,
    agent_id        text,
    day             date,
    window_start    timestamptz,
    window_end      timestamptz,
    reason          text,
    policy_version  text NOT NULL,
    channel         text NOT NULL,
    questions       text[] NOT NULL,
    due_end         timestamptz,
    occurred_at     timestamptz NOT NULL,
    causation_id    text,
    producer        text,
    produced_at     timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS assignments_task_idx ON assignments (task_id);
CREATE INDEX IF NOT EXISTS assignments_agent_day_idx
    ON assignments (agent_id, day);

-- visits.outcomes: what the agent reported for one attempt. answers is a
-- JSON array of {"question_id": ..., "value": ...} in the order given.
CREATE TABLE IF NOT EXISTS outcomes (
    outcome_id      text PRIMARY KEY,
    event_id        text NOT NULL,
    assignment_id   text NOT NULL,
    task_id         text NOT NULL,
    attempt         integer NOT NULL,
    customer_id     text NOT NULL,
    branch_id       text NOT NULL,
    agent_id        text,
    disposition     text NOT NULL,
    channel         text NOT NULL,
    started_at      timestamptz,
    talk_time_s     integer NOT NULL,
    answers         jsonb NOT NULL,
    satisfaction    smallint CHECK (satisfaction BETWEEN 0 AND 5),
    recording_ref   text,
    notes           text,
    questions       text[] NOT NULL,
    occurred_at     timestamptz NOT NULL,
    causation_id    text,
    producer        text,
    produced_at     timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS outcomes_task_idx ON outcomes (task_id);
CREATE INDEX IF NOT EXISTS outcomes_agent_occurred_idx
    ON outcomes (agent_id, occurred_at);

-- visits.grades: the verdict on one outcome. A task's final grade is the
-- one with verdict "success" or "failed"; "retry" grades are
-- intermediate (C2). compliance is a JSON array like outcomes.answers.
CREATE TABLE IF NOT EXISTS grades (
    grade_id        text PRIMARY KEY,
    event_id        text NOT NULL,
    outcome_id      text NOT NULL,
    task_id         text NOT NULL,
    attempt         integer NOT NULL,
    customer_id     text NOT NULL,
    branch_id       text NOT NULL,
    agent_id        text,
    verdict         text NOT NULL,
    disposition     text NOT NULL,
    satisfaction    smallint CHECK (satisfaction BETWEEN 0 AND 5),
    band            text NOT NULL,
    evidence_ok     boolean NOT NULL,
    reason          text NOT NULL,
    compliance      jsonb NOT NULL,
    in_due_window   boolean NOT NULL,
    policy_version  text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    causation_id    text,
    producer        text,
    produced_at     timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS grades_task_idx ON grades (task_id);
CREATE INDEX IF NOT EXISTS grades_agent_occurred_idx
    ON grades (agent_id, occurred_at);

-- compliance.alerts: alert_id = derive(grade_id, kind).
CREATE TABLE IF NOT EXISTS alerts (
    alert_id        text PRIMARY KEY,
    event_id        text NOT NULL,
    grade_id        text NOT NULL,
    task_id         text NOT NULL,
    customer_id     text NOT NULL,
    branch_id       text NOT NULL,
    agent_id        text,
    kind            text NOT NULL,
    severity        text NOT NULL,
    route_to        text NOT NULL,
    evidence        text NOT NULL,
    policy_version  text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    causation_id    text,
    producer        text,
    produced_at     timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS alerts_task_idx ON alerts (task_id);
CREATE INDEX IF NOT EXISTS alerts_branch_occurred_idx
    ON alerts (branch_id, occurred_at);

-- Transport -------------------------------------------------------------

-- Every message of every "<topic>.dlq", raw. The key is where the message
-- first failed (from the rv.source.* headers); a message dead-lettered
-- twice is one row. Without those headers the DLQ coordinates stand in.
-- key and payload are bytes as received: they failed to decode, so they
-- may not even be UTF-8.
CREATE TABLE IF NOT EXISTS dead_letters (
    source_topic     text NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    dlq_topic        text NOT NULL,
    dlq_partition    integer NOT NULL,
    dlq_offset       bigint NOT NULL,
    reason           text NOT NULL,
    key              bytea,
    payload          bytea,
    kafka_timestamp  timestamptz,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_topic, source_partition, source_offset)
);

-- Where every consumed message sits in Kafka, for replay and audit
-- (DESIGN §3 "replay / audit"): diff a re-read range against this index.
-- event_id and occurred_at are NULL for messages that did not decode and
-- for dead letters. Note: "offset" is a reserved word; quote it.
CREATE TABLE IF NOT EXISTS message_index (
    topic           text NOT NULL,
    partition       integer NOT NULL,
    "offset"        bigint NOT NULL,
    event_id        text,
    occurred_at     timestamptz,
    kafka_timestamp timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, "offset")
);
CREATE INDEX IF NOT EXISTS message_index_event_idx
    ON message_index (event_id);

-- Reports (DESIGN §2 "Reports", seed 004 §六) ---------------------------

-- One row per task with its month and what became of it. A task is
-- "done" once it has a final grade (success or failed); satisfaction and
-- timeliness count only successful visits. Month is the UTC month of the
-- task's event time (inherited from the sale). Every task is due: the
-- record holds only tasks the policy asked for.
CREATE OR REPLACE VIEW report_task_status AS
SELECT t.task_id,
       t.branch_id,
       date_trunc('month', t.occurred_at AT TIME ZONE 'UTC')::date AS month,
       coalesce(g.is_done, false)      AS is_done,
       coalesce(g.is_success, false)   AS is_success,
       coalesce(g.is_scored, false)    AS is_scored,
       coalesce(g.is_satisfied, false) AS is_satisfied,
       coalesce(g.is_timely, false)    AS is_timely,
       coalesce(a.alerts, 0)           AS alerts
FROM visit_tasks t
LEFT JOIN (
    SELECT task_id,
           bool_or(verdict IN ('success', 'failed')) AS is_done,
           bool_or(verdict = 'success') AS is_success,
           bool_or(verdict = 'success' AND satisfaction IS NOT NULL)
               AS is_scored,
           bool_or(verdict = 'success' AND band = 'satisfied')
               AS is_satisfied,
           bool_or(verdict = 'success' AND in_due_window) AS is_timely
    FROM grades
    GROUP BY task_id
) g ON g.task_id = t.task_id
LEFT JOIN (
    SELECT task_id, count(*) AS alerts FROM alerts GROUP BY task_id
) a ON a.task_id = t.task_id;

-- Counts per branch and month; revisitctl report adds the rates and the
-- TOTAL line:
--   success rate      = successful / tasks
--   satisfaction rate = satisfied / scored (successful visits with a score)
--   timeliness rate   = timely / tasks (successful inside the due window)
-- Orders are counted in the month of the sale, tasks in the month of
-- their event time; a branch and month with sales but no tasks (or the
-- reverse) still has a row.
CREATE OR REPLACE VIEW report_branch_month AS
WITH o AS (
    SELECT branch_id,
           date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month,
           count(DISTINCT order_id) AS orders
    FROM sales
    GROUP BY 1, 2
), t AS (
    SELECT branch_id, month,
           count(*) AS tasks,
           count(*) FILTER (WHERE is_done) AS done,
           count(*) FILTER (WHERE is_success) AS successful,
           count(*) FILTER (WHERE is_scored) AS scored,
           count(*) FILTER (WHERE is_satisfied) AS satisfied,
           count(*) FILTER (WHERE is_timely) AS timely,
           sum(alerts) AS alerts
    FROM report_task_status
    GROUP BY 1, 2
)
SELECT coalesce(o.branch_id, t.branch_id) AS branch_id,
       coalesce(o.month, t.month) AS month,
       coalesce(o.orders, 0)::bigint AS orders,
       coalesce(t.tasks, 0)::bigint AS tasks,
       coalesce(t.done, 0)::bigint AS done,
       coalesce(t.successful, 0)::bigint AS successful,
       coalesce(t.scored, 0)::bigint AS scored,
       coalesce(t.satisfied, 0)::bigint AS satisfied,
       coalesce(t.timely, 0)::bigint AS timely,
       coalesce(t.alerts, 0)::bigint AS alerts
FROM o
FULL JOIN t ON t.branch_id = o.branch_id AND t.month = o.month;

COMMIT;
