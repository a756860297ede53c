-- deploy/sql/007_sale_attributes.sql: what the sampler's rule conditions
-- read from a sale (issue 3), kept in the record so an audit can
-- re-evaluate them: the salesperson who developed the customer (R3), a
-- reported gift (R4), a first purchase (R8), the customer class (R9) and
-- the order's product categories. Tasks keep the class that set their
-- cooldown and priority (R9).
BEGIN;

ALTER TABLE sales
    ADD COLUMN IF NOT EXISTS salesperson_id text,
    ADD COLUMN IF NOT EXISTS gift_cents bigint NOT NULL DEFAULT 0
        CHECK (gift_cents >= 0),
    ADD COLUMN IF NOT EXISTS customer_class text NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS new_customer boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS categories text[] NOT NULL DEFAULT '{}';

ALTER TABLE visit_tasks
    ADD COLUMN IF NOT EXISTS customer_class text NOT NULL DEFAULT '';

COMMIT;
