-- Every table in utf8mb4 (Korean source ids on a server whose default is latin1) with an
-- exact collation: `utf8mb4_nopad_bin` compares bytes, so `CI-x-A` and `ci-x-a`, or `a`
-- and `a `, are different keys, as on SQLite. A foreign key's columns cannot change their
-- character set under it, so the foreign keys step aside while the tables convert.
ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE payment_history_cancels DROP FOREIGN KEY fk_payment_history_cancels_history;
ALTER TABLE payment_webhook_events DROP FOREIGN KEY fk_payment_webhook_events_history;
ALTER TABLE payment_webhook_attempts DROP FOREIGN KEY fk_payment_webhook_attempts_event;
ALTER TABLE payment_histories CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE payment_history_cancels CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE payment_reservations CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE payment_webhook_events CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE payment_webhook_attempts CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE payment_pending_events CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE payment_history_cancels ADD CONSTRAINT fk_payment_history_cancels_history
    FOREIGN KEY (payment_history_id) REFERENCES payment_histories (id) ON DELETE CASCADE;
ALTER TABLE payment_webhook_events ADD CONSTRAINT fk_payment_webhook_events_history
    FOREIGN KEY (payment_history_id) REFERENCES payment_histories (id) ON DELETE CASCADE;
ALTER TABLE payment_webhook_attempts ADD CONSTRAINT fk_payment_webhook_attempts_event
    FOREIGN KEY (event_id) REFERENCES payment_webhook_events (id) ON DELETE CASCADE;

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
) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;

CREATE INDEX ix_payment_cancel_intents_state ON payment_cancel_intents (state, updated_at);
