-- The relay's claim walks lanes through outbox_lane_due_idx (lane, available_at, id). The older index on
-- available_at alone, over the same rows, only tempted the planner away from it (a scan of every unpublished
-- row per claim while a fresh table had no statistics) and cost a write on every outbox change.
DROP INDEX IF EXISTS outbox_unpublished_idx;
