-- The id of the request whose change wrote the event (the client's or the PG's
-- `x-request-id`, or the one the server gave it), so that the relay's attempts log it:
-- one id follows a change from the request to every delivery of its event. Events written
-- outside a request (sweeps, older rows) have none.
ALTER TABLE payment_webhook_events ADD COLUMN request_id VARCHAR(64) NULL;
