-- What clients choose and may carry personal data or credentials is sealed at rest, like
-- the PG's data: a billing key's title, a payment's webhook URL (which can hold
-- `user:pass@`), and the URL each event is delivered to. New rows leave the plain columns
-- empty (NULL or ''); rows written before keep their plain value, which is still read.
-- The excerpts of clients' answers stay in their column, sealed there as text.

ALTER TABLE payment_histories ADD COLUMN webhook_url_sealed BLOB NULL;
ALTER TABLE payment_reservations ADD COLUMN title_sealed BLOB NULL;
ALTER TABLE payment_webhook_events ADD COLUMN webhook_url_sealed BLOB NULL;

-- At most one kept notification per payment: a forged or repeated notification for a
-- payment no client stored yet adds nothing when one is kept already.
DELETE FROM payment_pending_events WHERE EXISTS (
    SELECT 1 FROM payment_pending_events p
    WHERE p.vendor_code = payment_pending_events.vendor_code
      AND p.vendor_uid = payment_pending_events.vendor_uid
      AND p.id < payment_pending_events.id
);
CREATE UNIQUE INDEX uq_payment_pending_events_vendor ON payment_pending_events (vendor_code, vendor_uid);
