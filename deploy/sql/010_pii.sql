-- deploy/sql/010_pii.sql: phone numbers encrypted at rest (issue 6,
-- DESIGN §8). Every table that keeps a masked number (phone_masked, for
-- display) also keeps the number sealed in phone_enc: "v1:" + base64 of
-- AES-256-SIV under the recorder's key file (pii.key.file,
-- RV_PII_KEY_FILE; common/pii.c). The key never reaches the database, so
-- neither a dump nor a reader of these tables learns a number; only a
-- holder of the key can open it (`revisitctl reveal-phone`, which also
-- asks PostgreSQL whether the user is a member of revisit_reveal).
-- SIV is deterministic on purpose: the same number under the same key
-- is the same text, so `replay rebuild` compares rows equal.
--
-- NULL: no number was given, or the row was recorded before this
-- migration (only the masked number exists for it).
BEGIN;

ALTER TABLE sales ADD COLUMN IF NOT EXISTS phone_enc text;
ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS phone_enc text;
ALTER TABLE visit_tasks ADD COLUMN IF NOT EXISTS phone_enc text;

COMMENT ON COLUMN sales.phone_enc IS
    'phone number sealed with AES-256-SIV (v1:<base64>), see 010_pii.sql';
COMMENT ON COLUMN work_orders.phone_enc IS
    'phone number sealed with AES-256-SIV (v1:<base64>), see 010_pii.sql';
COMMENT ON COLUMN visit_tasks.phone_enc IS
    'phone number sealed with AES-256-SIV (v1:<base64>), see 010_pii.sql';

COMMIT;
