-- Customer webhooks. An endpoint receives the events its filters match; every event bound for a URL (an
-- endpoint, or a message's status callback) becomes a delivery, written in the event's own transaction with
-- its outbox task; every HTTP attempt is logged.
CREATE TABLE webhook_endpoints (
    id                      TEXT PRIMARY KEY,
    tenant_id               TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url                     TEXT NOT NULL,
    description             TEXT,
    event_types             JSONB NOT NULL,
    enabled                 BOOLEAN NOT NULL,
    sealed_headers          TEXT,
    rate_limit_per_second   INTEGER,
    sealed_secret           TEXT NOT NULL,
    previous_sealed_secret  TEXT,
    previous_secret_until   TIMESTAMPTZ,
    disabled_reason         TEXT,
    failing_since           TIMESTAMPTZ,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, id);

-- One row per pattern: `pattern` is the whole type, or what a matching type starts with (`is_prefix`).
CREATE TABLE webhook_endpoint_filters (
    endpoint_id  TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    tenant_id    TEXT NOT NULL,
    pattern      TEXT NOT NULL,
    is_prefix    BOOLEAN NOT NULL,
    PRIMARY KEY (endpoint_id, pattern, is_prefix)
);

CREATE TABLE webhook_deliveries (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    endpoint_id  TEXT REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    url          TEXT,
    event_id     TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, state, created_at);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    endpoint_id      TEXT REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    url              TEXT NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    status_code      INTEGER,
    latency_ms       BIGINT NOT NULL,
    result           TEXT NOT NULL,
    request_headers  JSONB NOT NULL,
    response_body    TEXT,
    error            TEXT
);
CREATE INDEX webhook_attempts_endpoint_idx ON webhook_attempts (endpoint_id, id);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

-- The secret that signs status-callback deliveries, one per tenant, made on first use.
CREATE TABLE webhook_callback_secrets (
    tenant_id      TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    sealed_secret  TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);

CREATE INDEX events_occurred_at_idx ON events (occurred_at);
