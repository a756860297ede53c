-- deploy/sql/006_decisions.sql: visits.decisions (issue 3: decisions are
-- records). One row per (business event, rule) the sampler evaluated:
-- selected, merged into another rule's visit (C3), not selected, or
-- suppressed by the cooldown or the opt-out list (C4), with the draw u,
-- the rate, the policy version and why.
-- decision_id = derive(source event_id, rule_id, "decision").
BEGIN;

CREATE TABLE IF NOT EXISTS decisions (
    decision_id     text PRIMARY KEY,
    event_id        text NOT NULL,
    source_event_id text NOT NULL,
    customer_id     text NOT NULL,
    branch_id       text NOT NULL,
    store_id        text,
    rule_id         text NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('selected', 'merged',
                        'not_selected', 'suppressed_cooldown',
                        'suppressed_opt_out')),
    u               double precision NOT NULL CHECK (u >= 0 AND u < 1),
    -- -1: no tier of the rule covers the amount.
    rate            double precision NOT NULL,
    policy_version  text NOT NULL,
    reason          text NOT NULL,
    task_id         text,
    occurred_at     timestamptz NOT NULL,
    causation_id    text,
    producer        text,
    produced_at     timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS decisions_source_idx ON decisions (source_event_id);
CREATE INDEX IF NOT EXISTS decisions_rule_occurred_idx
    ON decisions (rule_id, occurred_at);

COMMIT;
