-- PG events and the relay's outbox. Each change of a payment that a PG reports becomes an
-- event for the client, written in the same transaction as the change; a worker delivers
-- it to the payment's webhook_url and records every attempt.

ALTER TABLE payment_histories ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE payment_webhook_events (
    id CHAR(36) NOT NULL PRIMARY KEY,
    payment_history_id CHAR(36) NOT NULL,
    seq BIGINT NOT NULL,
    webhook_url VARCHAR(1024) NOT NULL,
    body MEDIUMBLOB NOT NULL,
    state VARCHAR(16) NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NULL,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT NULL,
    CONSTRAINT uq_payment_webhook_events_seq UNIQUE (payment_history_id, seq),
    CONSTRAINT fk_payment_webhook_events_history
        FOREIGN KEY (payment_history_id) REFERENCES payment_histories (id) ON DELETE CASCADE
);

CREATE INDEX ix_payment_webhook_events_due ON payment_webhook_events (state, next_attempt_at);

CREATE TABLE payment_webhook_attempts (
    event_id CHAR(36) NOT NULL,
    attempt INTEGER NOT NULL,
    attempted_at BIGINT NOT NULL,
    status INTEGER NULL,
    latency_ms BIGINT NOT NULL,
    excerpt VARCHAR(512) NULL,
    PRIMARY KEY (event_id, attempt),
    CONSTRAINT fk_payment_webhook_attempts_event
        FOREIGN KEY (event_id) REFERENCES payment_webhook_events (id) ON DELETE CASCADE
);

-- PG events for payments no client has stored yet; applied when the payment is stored.
CREATE TABLE payment_pending_events (
    id CHAR(36) NOT NULL PRIMARY KEY,
    vendor_code VARCHAR(32) NOT NULL,
    vendor_uid VARCHAR(255) NOT NULL,
    received_at BIGINT NOT NULL
);

CREATE INDEX ix_payment_pending_events_vendor ON payment_pending_events (vendor_code, vendor_uid);
