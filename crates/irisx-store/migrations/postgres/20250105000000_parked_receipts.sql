-- A receipt can reach IRISX before the send that it answers is recorded (a fast provider, a slow commit).
-- It waits here, keyed by the account and the provider's message id, until the send is recorded.
CREATE TABLE parked_receipts (
    id                   TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL REFERENCES provider_accounts (id) ON DELETE CASCADE,
    provider_message_id  TEXT NOT NULL,
    status               TEXT NOT NULL,
    provider_status      TEXT NOT NULL,
    error_code           TEXT,
    occurred_at          TIMESTAMPTZ,
    raw                  JSONB NOT NULL,
    received_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX parked_receipts_message_idx ON parked_receipts (account_id, provider_message_id);
CREATE INDEX parked_receipts_received_at_idx ON parked_receipts (received_at);
