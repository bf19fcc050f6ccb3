-- A trunk's number rules: how numbers are written to its carrier (`e164` with the `+`, or `digits` without),
-- and whether a call's caller id must be one of the tenant's numbers (`owned`) or may be any (`any`).
-- Append-only: never edit a released migration, add a new one.

ALTER TABLE sip_trunks ADD COLUMN number_format TEXT NOT NULL DEFAULT 'e164';
ALTER TABLE sip_trunks ADD COLUMN caller_id_mode TEXT NOT NULL DEFAULT 'any';
