-- deploy/sql/004_alert_deadline.sql: A2 (seed 000): the case an alert
-- opens is due by the end of the N-th working day in the branch's
-- calendar (policy `cases`); NULL for a branch the calendar lacks.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS deadline timestamptz;
