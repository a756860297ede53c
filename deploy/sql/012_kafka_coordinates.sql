-- deploy/sql/012_kafka_coordinates.sql: every fact row names the Kafka
-- message it was recorded from (issue 8). Until this migration the
-- recorder wrote a second row per message into message_index (topic,
-- partition, offset, event_id); at 4.25 messages a sale that was 4.25 of
-- the record's 11.4 rows a sale, each with two B-tree entries, and
-- PostgreSQL was the largest share of the pipeline's CPU. The message's
-- coordinates now ride on the rows themselves: the topic is the table's
-- own (sales <- sales.events, work_orders <- service.events, visit_tasks
-- <- visits.tasks, task_retries <- visits.retries, assignments <-
-- visits.assignments, outcomes <- visits.outcomes, grades <-
-- visits.grades, alerts <- compliance.alerts, case_events <-
-- compliance.cases, decisions <- visits.decisions, several rows to one
-- message there). A message that did not decode has no fact row: its
-- dead_letters row holds its coordinates (source_*).
--
-- A row keeps the coordinates of the message that first recorded it: a
-- second copy of the same event (a producer's retry, a worker's
-- re-delivery) is dropped by the table's key (ON CONFLICT DO NOTHING).
--
-- NULL: the row was recorded before this migration; message_index, no
-- longer written, still holds where those messages were, and
-- recorded_start_offsets below reads both.
--
-- No index: "which rows came from this message" is an audit question
-- asked of a range, answered by a scan; an index would give back part of
-- the saving on every insert.
BEGIN;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sales', 'work_orders', 'visit_tasks',
                             'task_retries', 'assignments', 'outcomes',
                             'grades', 'alerts', 'case_events', 'decisions']
    LOOP
        EXECUTE format('ALTER TABLE %I '
                       'ADD COLUMN IF NOT EXISTS kafka_partition integer, '
                       'ADD COLUMN IF NOT EXISTS kafka_offset bigint', t);
    END LOOP;
END
$$;

-- Where an event-time range starts in a topic, by what the recorder
-- recorded (`replay verify` and `replay export` on a broker that cannot
-- answer offsets by time, such as the development broker;
-- workers/revisitctl/replay_offsets.c): per partition, the first offset
-- recorded with an event at or after p_from; a partition with nothing
-- there starts after its last recorded message. SECURITY DEFINER: the
-- answer must not depend on the caller's row-level security (a branch
-- user would otherwise start past other branches' messages of the range),
-- and it reveals offsets, not rows.
CREATE OR REPLACE FUNCTION recorded_start_offsets(p_topic text,
                                                  p_from timestamptz)
RETURNS TABLE (partition_id integer, start_offset bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT
AS $$
DECLARE
    tab text := CASE p_topic
        WHEN 'sales.events' THEN 'sales'
        WHEN 'service.events' THEN 'work_orders'
        WHEN 'visits.tasks' THEN 'visit_tasks'
        WHEN 'visits.retries' THEN 'task_retries'
        WHEN 'visits.assignments' THEN 'assignments'
        WHEN 'visits.outcomes' THEN 'outcomes'
        WHEN 'visits.grades' THEN 'grades'
        WHEN 'compliance.alerts' THEN 'alerts'
        WHEN 'compliance.cases' THEN 'case_events'
        WHEN 'visits.decisions' THEN 'decisions'
    END;
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT p, coalesce(min(o) FILTER (WHERE t >= $2), max(o) + 1) '
        'FROM (SELECT partition AS p, "offset" AS o, occurred_at AS t '
        'FROM message_index WHERE topic = $1 %s) AS m GROUP BY p',
        CASE WHEN tab IS NULL THEN '' ELSE format(
            'UNION ALL SELECT kafka_partition, kafka_offset, occurred_at '
            'FROM %I WHERE kafka_offset IS NOT NULL', tab) END)
    USING p_topic, p_from;
END
$$;

REVOKE ALL ON FUNCTION recorded_start_offsets(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION recorded_start_offsets(text, timestamptz)
    TO revisit_writer, revisit_reporting, revisit_branch;

COMMENT ON TABLE message_index IS
    'where each consumed message sat in Kafka, written until migration '
    '012; since then each fact row holds kafka_partition, kafka_offset';

COMMIT;
