-- The relay prunes delivered events some days after their delivery (failed ones after
-- their last attempt, found through ix_payment_webhook_events_due); this index lets it find
-- the delivered ones without reading the whole table.

CREATE INDEX ix_payment_webhook_events_delivered ON payment_webhook_events (state, delivered_at);
