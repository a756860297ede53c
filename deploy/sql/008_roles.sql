-- deploy/sql/008_roles.sql: who may see personal data in an audit export
-- (issue 7). `revisitctl replay export --reveal` shows phone numbers and
-- free text (agents' notes, customers' words) unmasked only to a
-- PostgreSQL user that is a member of revisit_reveal (pg_has_role ...
-- 'member'; a superuser always is). The role cannot log in: grant it to
-- the auditors' own users, e.g. GRANT revisit_reveal TO alice.
--
-- Roles belong to the cluster, not the database: a second database of
-- the same cluster finds the role there, hence the check.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'revisit_reveal')
    THEN
        CREATE ROLE revisit_reveal NOLOGIN;
    END IF;
END
$$;

COMMENT ON ROLE revisit_reveal IS
    'may export personal data unmasked (revisitctl replay export --reveal)';
