-- deploy/sql/009_recorder_offsets.sql: the recorder's exactly-once sink
-- (issue 6). Each batch's transaction stores, with its rows, the next
-- offset of every partition it read; on assignment the recorder starts
-- there, whatever Kafka's committed offset says (a crash between the
-- COMMIT and the Kafka commit reads nothing twice).
BEGIN;

CREATE TABLE IF NOT EXISTS recorder_offsets (
    group_id    text NOT NULL,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL CHECK (next_offset >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

COMMIT;
