-- IRISX email templates (PostgreSQL): a tenant's subject, HTML and text sources, rendered with minijinja at send time.
-- Append-only: never edit a released migration, add a new one.

CREATE TABLE email_templates (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    html        TEXT,
    text        TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX email_templates_tenant_id_name_key ON email_templates (tenant_id, name);
CREATE INDEX email_templates_tenant_id_idx ON email_templates (tenant_id, id);
