-- deploy/sql/005_cases.sql: cases (A2, A3, G4, issue 5). Every alert
-- belongs to a case; the same customer and kind inside one merge period
-- is one case whose count is the number of its alerts (A3). A case
-- is answered by the branch (self-check or answer, A2) and closed by the
-- compliance department's final opinion; both are facts on topic
-- compliance.cases, recorded in case_events. A case not answered by its
-- deadline gets one alert of kind "escalation" (routed to the compliance
-- department), whose case_id is the case's.
BEGIN;

ALTER TABLE alerts ADD COLUMN IF NOT EXISTS case_id text;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS notify text;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS attempt integer;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS salesperson_id text;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS store_id text;
CREATE INDEX IF NOT EXISTS alerts_case_idx ON alerts (case_id);

-- One row per case, derived from its alerts (never stored twice): the
-- case opens with its earliest alert (ties: the smaller alert_id), whose
-- store, salesperson, severity, routing, deadline and policy version are
-- the case's. case_id: see ComplianceAlert.case_id in the proto.
CREATE OR REPLACE VIEW cases AS
SELECT DISTINCT ON (a.case_id)
       a.case_id, a.customer_id, a.branch_id, a.store_id, a.salesperson_id,
       a.kind, a.severity, a.route_to, a.notify,
       a.occurred_at AS opened_at, a.deadline, a.policy_version
  FROM alerts a
 WHERE a.case_id IS NOT NULL AND a.kind <> 'escalation'
 ORDER BY a.case_id, a.occurred_at, a.alert_id;

-- compliance.cases: what people did on a case.
-- event_id = derive(case_id, action, actor, text).
CREATE TABLE IF NOT EXISTS case_events (
    event_id        text PRIMARY KEY,
    case_id         text NOT NULL,
    action          text NOT NULL CHECK (action IN ('answer', 'close')),
    actor           text NOT NULL,
    text            text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    causation_id    text,
    producer        text,
    produced_at     timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS case_events_case_idx ON case_events (case_id, occurred_at);

-- A case with its count and state. status: closed (a final opinion),
-- answered (a self-check or answer, no final opinion yet), open.
-- answered_late: answered after the deadline. escalated_at: the
-- escalation alert's time, NULL if none. Overdue "now" is a question of
-- the reader's clock: open AND deadline < the report's time.
CREATE OR REPLACE VIEW case_status AS
SELECT c.*,
       (SELECT count(*) FROM alerts a
         WHERE a.case_id = c.case_id AND a.kind <> 'escalation') AS alert_count,
       ans.answered_at,
       cl.closed_at,
       esc.escalated_at,
       CASE WHEN cl.closed_at IS NOT NULL THEN 'closed'
            WHEN ans.answered_at IS NOT NULL THEN 'answered'
            ELSE 'open' END AS status,
       (c.deadline IS NOT NULL AND ans.answered_at > c.deadline) AS answered_late
  FROM cases c
  LEFT JOIN LATERAL (SELECT min(e.occurred_at) AS answered_at FROM case_events e
                      WHERE e.case_id = c.case_id AND e.action = 'answer') ans ON true
  LEFT JOIN LATERAL (SELECT min(e.occurred_at) AS closed_at FROM case_events e
                      WHERE e.case_id = c.case_id AND e.action = 'close') cl ON true
  LEFT JOIN LATERAL (SELECT min(a.occurred_at) AS escalated_at FROM alerts a
                      WHERE a.case_id = c.case_id AND a.kind = 'escalation') esc ON true;

COMMIT;
