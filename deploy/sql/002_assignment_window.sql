-- deploy/sql/002_assignment_window.sql: what the assigner needs to rebuild
-- its Redis state from the record (issue 4): the booked call window's index
-- in the policy, and the salesperson behind the customer (R3 audits).
ALTER TABLE assignments ADD COLUMN IF NOT EXISTS window_index integer;
ALTER TABLE assignments ADD COLUMN IF NOT EXISTS salesperson_id text;
