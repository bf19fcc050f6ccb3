-- Voice nodes' heartbeats, and which node supervises each live call: a call whose node stopped beating is
-- ended by another node (or by the same node once restarted) instead of staying live for ever.
-- Append-only: never edit a released migration, add a new one.

CREATE TABLE voice_nodes (
    id          TEXT PRIMARY KEY,
    started_at  TEXT NOT NULL,
    seen_at     TEXT NOT NULL
);

ALTER TABLE calls ADD COLUMN node_id TEXT;
CREATE INDEX calls_live_node_idx ON calls (node_id) WHERE status IN ('initiated', 'ringing', 'in-progress');
