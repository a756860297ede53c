-- deploy/sql/013_pii_key_check.sql: which key the record's phone_enc
-- values are sealed with (010_pii.sql). Nothing stopped a recorder
-- replica, or a restart, from running with another pii.key.file than the
-- one the record was written with: its rows then held numbers no one
-- could open with the first key, and the record was mixed for good.
--
-- One row: the key check value, HMAC-SHA256 keyed with the key over the
-- fixed text "revisit pii key check v1" as 64 lowercase hex digits
-- (rv_pii_key_check_value, common/pii.c); it tells keys apart and
-- reveals nothing of the key. The first recorder to start writes its
-- key's value (INSERT ... ON CONFLICT DO NOTHING, so two replicas
-- starting at once agree on one); every recorder then compares and
-- refuses to start on a mismatch (event pii_key_mismatch, exit 78), and
-- `revisitctl reveal-phone` refuses a key file whose value differs
-- ("wrong key file for this record"). No row: nothing recorded since
-- this migration; reveal-phone opens as before.
--
-- The row is never changed: the writer may INSERT and SELECT, the
-- readers SELECT, nobody UPDATE or DELETE. Replacing the key means
-- re-sealing every phone_enc, which no tool does yet; only then would
-- the table's owner delete the row.
--
-- Unqualified like 011: `replay rebuild` applies this file in a schema of
-- its own, whose recorder writes its own row there.
BEGIN;

CREATE TABLE IF NOT EXISTS pii_key_check (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    check_value text NOT NULL CHECK (check_value ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE pii_key_check IS
    'check value (HMAC-SHA256 over "revisit pii key check v1", hex) of '
    'the pii.key.file every phone_enc is sealed with; one row, written by '
    'the first recorder, never changed (013_pii_key_check.sql)';

REVOKE ALL ON pii_key_check FROM PUBLIC;
GRANT SELECT, INSERT ON pii_key_check TO revisit_writer;
GRANT SELECT ON pii_key_check TO revisit_reporting, revisit_branch;

COMMIT;
