-- deploy/sql/014_reporting_reads.sql: what an auditor (revisit_reporting,
-- 011_access.sql) needs for the reports README gives it, found missing by
-- a tester: `revisitctl report --summary` counts dead_letters and
-- `revisitctl replay report` names the last migration applied, and both
-- stopped with "permission denied".
--
-- dead_letters: every column but key and payload, the raw bytes that
-- failed to decode (they may hold a clear phone number, 011's reason for
-- withholding the table). Which message was refused, where it sits in
-- Kafka and why stay readable, and count(*) needs no more (PostgreSQL
-- asks for SELECT on one column of the table).
--
-- schema_migrations is the local stack's migration log (stack.sh);
-- another deployment, or `replay rebuild`'s own schema, may have none.
BEGIN;

GRANT SELECT (source_topic, source_partition, source_offset, dlq_topic,
              dlq_partition, dlq_offset, reason, kafka_timestamp,
              recorded_at)
    ON dead_letters TO revisit_reporting;

DO $$
BEGIN
    IF to_regclass('schema_migrations') IS NOT NULL THEN
        GRANT SELECT ON schema_migrations TO revisit_reporting;
    END IF;
END
$$;

COMMIT;
