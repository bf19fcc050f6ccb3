-- Sender pools: a tenant groups numbers under a name and sends with `sender_pool` instead of `from`.
ALTER TABLE phone_numbers ADD COLUMN pool TEXT;
CREATE INDEX phone_numbers_pool_idx ON phone_numbers (tenant_id, pool, id) WHERE pool IS NOT NULL;
