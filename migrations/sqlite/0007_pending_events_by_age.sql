-- Notifications never claimed within a week are pruned by age: with this index the pruning
-- finds the expired rows without reading every row of the table.
CREATE INDEX ix_payment_pending_events_received_at ON payment_pending_events (received_at);
