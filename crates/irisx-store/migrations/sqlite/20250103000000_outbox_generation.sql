-- A rescheduled task is a new generation: it is published under a new de-duplication id
-- (`<task id>:<generation>`), so the queue does not drop it as a repeat of its previous delivery.
ALTER TABLE outbox ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
