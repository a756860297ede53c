-- deploy/sql/011_access.sql: who may read and write the record (issue 6,
-- "PII and access"). Three NOLOGIN group roles; people and services log
-- in as their own users and are granted one of them:
--
--   revisit_writer     the recorder: INSERT, SELECT, UPDATE on every table
--                      it writes (the facts, dead_letters, message_index,
--                      recorder_offsets); sees every row.
--   revisit_reporting  reports and audits: SELECT on every table and view
--                      but dead_letters (raw payloads that failed to
--                      decode, which may hold a clear phone number); sees
--                      every row; writes nothing.
--   revisit_branch     a branch's own users: SELECT on the tables with a
--                      branch_id, case_events and the report views, and
--                      row-level security shows them only the rows of the
--                      branches that branch_access gives one of their
--                      roles. A member in no branch_access row sees none.
--
-- revisit_reveal (008_roles.sql) is apart from these: it lets a user see
-- numbers unmasked (`replay export --reveal`, `revisitctl reveal-phone`)
-- in the rows the user may read anyway.
--
-- A branch user (README "Access"):
--   CREATE ROLE branch_west NOLOGIN IN ROLE revisit_branch;
--   INSERT INTO branch_access VALUES ('branch_west', 'West');
--   CREATE ROLE alice LOGIN PASSWORD '...' IN ROLE branch_west;
--
-- Row-level security binds only roles that are neither superusers nor the
-- tables' owner (no FORCE): the development stack and the migrations run
-- as postgres and see everything, as before. The report views are
-- security_invoker (PostgreSQL 15), so they filter by the reader's rows,
-- not their owner's; CREATE OR REPLACE VIEW resets a view's options, so a
-- later migration that replaces one of them sets security_invoker again.
-- A later migration that adds a table grants it to these roles too and,
-- if it has a branch_id, gives it the two policies below.
--
-- Everything is unqualified: `replay rebuild` applies this file with
-- search_path set to its own schema. Roles are cluster-wide (see 008),
-- hence the checks; policies are dropped and made again, so a second
-- application is harmless.
BEGIN;

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['revisit_writer', 'revisit_reporting',
                             'revisit_branch']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;

COMMENT ON ROLE revisit_writer IS
    'the recorder: writes the record (deploy/sql/011_access.sql)';
COMMENT ON ROLE revisit_reporting IS
    'reads the whole record, writes nothing (deploy/sql/011_access.sql)';
COMMENT ON ROLE revisit_branch IS
    'reads its branches'' rows only, per branch_access (011_access.sql)';

-- Which branches a role's members may read. role_name is a role (any
-- role the user is a member of, directly or not); a name that is no role
-- grants nothing.
CREATE TABLE IF NOT EXISTS branch_access (
    role_name name NOT NULL,
    branch_id text NOT NULL,
    PRIMARY KEY (role_name, branch_id)
);

DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO revisit_writer, '
                   'revisit_reporting, revisit_branch', current_schema());
END
$$;

GRANT SELECT, INSERT, UPDATE ON
    sales, work_orders, visit_tasks, task_retries, assignments, outcomes,
    grades, alerts, decisions, case_events, dead_letters, message_index,
    recorder_offsets
    TO revisit_writer;

GRANT SELECT ON
    sales, work_orders, visit_tasks, task_retries, assignments, outcomes,
    grades, alerts, decisions, case_events, message_index, recorder_offsets,
    branch_access, report_task_status, report_branch_month, cases,
    case_status
    TO revisit_reporting;

GRANT SELECT ON
    sales, work_orders, visit_tasks, task_retries, assignments, outcomes,
    grades, alerts, decisions, case_events, branch_access,
    report_task_status, report_branch_month, cases, case_status
    TO revisit_branch;

-- The policies' subquery reads branch_access as the querying user.
GRANT SELECT ON branch_access TO revisit_writer;

ALTER VIEW report_task_status SET (security_invoker = true);
ALTER VIEW report_branch_month SET (security_invoker = true);
ALTER VIEW cases SET (security_invoker = true);
ALTER VIEW case_status SET (security_invoker = true);

-- Every table with a branch_id: writer and reporting see (and the writer
-- writes) every row; revisit_branch members read the rows of their
-- branches. Permissive policies add up; with none that applies, a
-- non-owner sees nothing.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sales', 'work_orders', 'visit_tasks',
                             'task_retries', 'assignments', 'outcomes',
                             'grades', 'alerts', 'decisions']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('DROP POLICY IF EXISTS revisit_all_rows ON %I', t);
        EXECUTE format('CREATE POLICY revisit_all_rows ON %I '
                       'TO revisit_writer, revisit_reporting '
                       'USING (true) WITH CHECK (true)', t);
        EXECUTE format('DROP POLICY IF EXISTS revisit_own_branch ON %I', t);
        EXECUTE format(
            'CREATE POLICY revisit_own_branch ON %I FOR SELECT '
            'TO revisit_branch USING (branch_id IN ('
            'SELECT a.branch_id FROM branch_access a '
            'JOIN pg_roles r ON r.rolname = a.role_name '
            'WHERE pg_has_role(current_user, r.oid, ''member'')))', t);
    END LOOP;
END
$$;

-- case_events has no branch: a branch reads the events of the cases it
-- can see an alert of (the alerts' own policy applies inside).
ALTER TABLE case_events ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS revisit_all_rows ON case_events;
CREATE POLICY revisit_all_rows ON case_events
    TO revisit_writer, revisit_reporting USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS revisit_own_branch ON case_events;
CREATE POLICY revisit_own_branch ON case_events FOR SELECT
    TO revisit_branch
    USING (EXISTS (SELECT 1 FROM alerts a
                    WHERE a.case_id = case_events.case_id));

COMMIT;
