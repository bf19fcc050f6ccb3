-- IRISX stored objects (PostgreSQL): one row per file kept in the object store (email attachments, inbound email
-- parts, recordings). The bytes live under `key` in the object store; this row says whose they are and how
-- they are downloaded. Append-only: never edit a released migration, add a new one.

CREATE TABLE objects (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    purpose       TEXT NOT NULL,
    key           TEXT NOT NULL,
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX objects_tenant_id_idx ON objects (tenant_id, id);
