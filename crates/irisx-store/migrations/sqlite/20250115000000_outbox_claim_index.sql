-- The relay's claim walks lanes through outbox_lane_due_idx (lane, available_at, id). The older index on
-- available_at alone, over the same rows, cost a write on every outbox change; PostgreSQL drops it because it
-- drew the planner away from the lane index, and the two schemas stay alike.
DROP INDEX IF EXISTS outbox_unpublished_idx;
