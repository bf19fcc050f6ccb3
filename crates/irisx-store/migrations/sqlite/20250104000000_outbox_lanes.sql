-- Fair relaying: every task travels in a lane, `<subject> <tenant id>` (`<subject> ` for platform tasks). The
-- relay takes due rows round-robin across lanes, so one tenant's burst waits in its own lane while other
-- tenants' tasks keep moving.
ALTER TABLE outbox ADD COLUMN lane TEXT NOT NULL DEFAULT '';
UPDATE outbox SET lane = subject || ' ';
CREATE INDEX outbox_lane_due_idx ON outbox (lane, available_at, id)
    WHERE published_at IS NULL AND completed_at IS NULL AND failed_at IS NULL;
