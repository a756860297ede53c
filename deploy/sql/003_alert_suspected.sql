-- deploy/sql/003_alert_suspected.sql: an alert found only in the agent's
-- notes is a suspected violation for review, not a confirmed one (A1,
-- issue 5).
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS suspected boolean NOT NULL DEFAULT false;
