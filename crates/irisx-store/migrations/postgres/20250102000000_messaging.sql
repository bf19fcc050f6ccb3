-- IRISX messaging (PostgreSQL): provider accounts, routes, numbers, messages and what happens to them.
-- Append-only: never edit a released migration, add a new one.
-- A NULL tenant_id on accounts, routes and numbers is the platform's; the foreign key lets it be NULL.

CREATE TABLE provider_accounts (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    kind                TEXT NOT NULL,
    name                TEXT NOT NULL,
    sealed_credentials  TEXT NOT NULL,
    base_url            TEXT,
    enabled             BOOLEAN NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX provider_accounts_tenant_id_idx ON provider_accounts (tenant_id, id);

CREATE TABLE routes (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    prefix       TEXT NOT NULL,
    account_id   TEXT NOT NULL REFERENCES provider_accounts (id) ON DELETE CASCADE,
    cost_micros  BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    priority     INTEGER NOT NULL,
    enabled      BOOLEAN NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX routes_prefix_idx ON routes (prefix);
CREATE INDEX routes_tenant_id_idx ON routes (tenant_id, id);
CREATE INDEX routes_account_id_idx ON routes (account_id);

-- account_id is SET NULL so a purge cascading through accounts never trips over a number of another owner;
-- delete_provider_account refuses while numbers reference the account.
CREATE TABLE phone_numbers (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    number        TEXT NOT NULL,
    account_id    TEXT REFERENCES provider_accounts (id) ON DELETE SET NULL,
    sender_type   TEXT NOT NULL,
    capabilities  JSONB NOT NULL,
    help_text     TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX phone_numbers_number_key ON phone_numbers (number);
CREATE INDEX phone_numbers_tenant_id_idx ON phone_numbers (tenant_id, id);
CREATE INDEX phone_numbers_account_id_idx ON phone_numbers (account_id);

-- account_id has no foreign key: a message keeps naming the account that sent it after the account is gone.
-- tags_search is the tags as `\x1f`-delimited text (`\x1fa\x1fb\x1f`), for a tag filter both dialects share.
CREATE TABLE messages (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    channel              TEXT NOT NULL,
    direction            TEXT NOT NULL,
    from_addr            TEXT NOT NULL,
    to_addr              TEXT NOT NULL,
    body                 TEXT NOT NULL,
    media_urls           JSONB NOT NULL,
    segments             BIGINT NOT NULL,
    encoding             TEXT,
    status               TEXT NOT NULL,
    status_callback      TEXT,
    validity_period      BIGINT,
    send_at              TIMESTAMPTZ,
    tags                 JSONB NOT NULL,
    tags_search          TEXT NOT NULL,
    metadata             JSONB NOT NULL,
    account_id           TEXT,
    provider_message_id  TEXT,
    error_code           TEXT,
    error_message        TEXT,
    price_micros         BIGINT,
    currency             TEXT,
    task_id              TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_tenant_id_idx ON messages (tenant_id, id);
CREATE UNIQUE INDEX messages_provider_message_id_key ON messages (account_id, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE INDEX messages_status_idx ON messages (status);

CREATE TABLE message_attempts (
    id          TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL,
    provider    TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    latency_ms  BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    code        TEXT,
    detail      TEXT
);
CREATE INDEX message_attempts_message_id_idx ON message_attempts (message_id, id);

CREATE TABLE message_status_history (
    id               TEXT PRIMARY KEY,
    message_id       TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    status           TEXT NOT NULL,
    provider_status  TEXT,
    error_code       TEXT,
    applied          BOOLEAN NOT NULL,
    raw              JSONB NOT NULL,
    occurred_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX message_status_history_message_id_idx ON message_status_history (message_id, id);

CREATE TABLE opt_outs (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number      TEXT NOT NULL,
    source      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, number)
);

CREATE TABLE usage_records (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    channel       TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    quantity      BIGINT NOT NULL,
    unit          TEXT NOT NULL,
    cost_micros   BIGINT NOT NULL,
    price_micros  BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX usage_records_tenant_id_created_at_idx ON usage_records (tenant_id, created_at);

CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_type   TEXT NOT NULL,
    resource_id  TEXT NOT NULL,
    data         JSONB NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX events_tenant_id_idx ON events (tenant_id, id);
CREATE INDEX events_tenant_id_event_type_idx ON events (tenant_id, event_type);
CREATE INDEX events_tenant_id_resource_id_idx ON events (tenant_id, resource_id);
