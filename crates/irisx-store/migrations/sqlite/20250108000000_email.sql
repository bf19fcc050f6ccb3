-- IRISX email (SQLite): an email is a row of `messages` with channel `email`; this adds what email keeps beside it.
-- Append-only: never edit a released migration, add a new one.

-- What a provider account carries. Accounts made before email existed carry SMS.
ALTER TABLE provider_accounts ADD COLUMN channel TEXT NOT NULL DEFAULT 'sms';

-- An email's addresses, subject, parts, headers and attachments, as one JSON document.
CREATE TABLE email_messages (
    message_id  TEXT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    content     TEXT NOT NULL
);

-- Every tracking event of every recipient, delivery and engagement alike; dedupe_key makes a vendor's retry a no-op.
CREATE TABLE email_tracking (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    message_id   TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    recipient    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    dedupe_key   TEXT NOT NULL,
    url          TEXT,
    reason       TEXT,
    raw          TEXT NOT NULL,
    occurred_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX email_tracking_dedupe_key ON email_tracking (message_id, dedupe_key);
CREATE INDEX email_tracking_tenant_id_occurred_at_idx ON email_tracking (tenant_id, occurred_at);

-- Addresses a tenant's email is no longer sent to.
CREATE TABLE email_suppressions (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    address     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    message_id  TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, address)
);
