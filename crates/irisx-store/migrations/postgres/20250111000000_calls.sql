-- IRISX voice control plane (postgres): SIP trunks (a NULL tenant_id is the platform's), agents (SIP users),
-- the calls ledger, recordings, and the voice URL of phone numbers.
-- Append-only: never edit a released migration, add a new one.

CREATE TABLE sip_trunks (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    host                TEXT NOT NULL,
    port                INTEGER NOT NULL,
    transport           TEXT NOT NULL,
    sealed_credentials  TEXT,
    caller_id           TEXT,
    codecs              JSONB NOT NULL,
    max_calls           INTEGER NOT NULL,
    rates               JSONB NOT NULL,
    currency            TEXT NOT NULL,
    enabled             BOOLEAN NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX sip_trunks_tenant_id_idx ON sip_trunks (tenant_id, id);

-- User names are unique across the platform: the engine's registrar knows users by name alone.
CREATE TABLE agents (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    username         TEXT NOT NULL,
    name             TEXT NOT NULL,
    sealed_password  TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX agents_username_key ON agents (username);
CREATE INDEX agents_tenant_id_idx ON agents (tenant_id, id);

-- trunk_id has no foreign key: a call keeps naming the trunk that carried it after the trunk is gone.
CREATE TABLE calls (
    id                      TEXT PRIMARY KEY,
    tenant_id               TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    direction               TEXT NOT NULL,
    from_addr               TEXT NOT NULL,
    to_addr                 TEXT NOT NULL,
    status                  TEXT NOT NULL,
    url                     TEXT,
    document                TEXT,
    status_callback         TEXT,
    record                  BOOLEAN NOT NULL,
    timeout_secs            INTEGER NOT NULL,
    trunk_id                TEXT,
    rate_micros_per_minute  BIGINT,
    currency                TEXT,
    error_code              TEXT,
    error_message           TEXT,
    sip_code                INTEGER,
    answered_at             TIMESTAMPTZ,
    ended_at                TIMESTAMPTZ,
    duration_secs           BIGINT,
    billable_secs           BIGINT,
    cost_micros             BIGINT,
    price_micros            BIGINT,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX calls_tenant_id_idx ON calls (tenant_id, id);

CREATE TABLE recordings (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id      TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    object_id    TEXT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX recordings_call_id_idx ON recordings (tenant_id, call_id, id);

ALTER TABLE phone_numbers ADD COLUMN voice_url TEXT;
