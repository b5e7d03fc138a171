-- SQLite compares text byte by byte already: source ids and PG ids are exact, as on
-- MariaDB after its 0004.

-- A cancel is written down before the PG is asked, and settled from the PG's answer (or,
-- after a crash or a timeout, from the PG's state): so a retry never refunds twice.
-- `open_for` is the payment's id while the intent is open and NULL once it is settled,
-- so a payment has at most one cancel under way.
CREATE TABLE payment_cancel_intents (
    id CHAR(36) NOT NULL PRIMARY KEY,
    payment_history_id CHAR(36) NOT NULL,
    client_key VARCHAR(255) NULL,
    open_for CHAR(36) NULL,
    price DOUBLE NOT NULL,
    refund_before DOUBLE NOT NULL,
    fingerprint VARBINARY(64) NOT NULL,
    state VARCHAR(16) NOT NULL,
    error_code VARCHAR(64) NULL,
    error_message VARCHAR(1024) NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT uq_payment_cancel_intents_key UNIQUE (payment_history_id, client_key),
    CONSTRAINT uq_payment_cancel_intents_open UNIQUE (open_for),
    CONSTRAINT fk_payment_cancel_intents_history
        FOREIGN KEY (payment_history_id) REFERENCES payment_histories (id) ON DELETE CASCADE
);

CREATE INDEX ix_payment_cancel_intents_state ON payment_cancel_intents (state, updated_at);
