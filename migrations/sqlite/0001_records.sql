-- Payments and billing keys, with the PG's data sealed (AES-256-GCM) and the record
-- password kept as a peppered HMAC. Times are milliseconds since the epoch (UTC), the same
-- on MariaDB and SQLite.

CREATE TABLE payment_histories (
    id CHAR(36) NOT NULL PRIMARY KEY,
    vendor_code VARCHAR(32) NOT NULL,
    vendor_store_id VARCHAR(255) NOT NULL,
    vendor_uid VARCHAR(255) NOT NULL,
    source_schema VARCHAR(255) NOT NULL,
    source_table VARCHAR(255) NOT NULL,
    source_id VARCHAR(255) NOT NULL,
    webhook_url VARCHAR(1024) NULL,
    currency VARCHAR(16) NOT NULL,
    price DOUBLE NOT NULL,
    refund DOUBLE NULL,
    paid_at BIGINT NULL,
    cancelled_at BIGINT NULL,
    data MEDIUMBLOB NOT NULL,
    password_hash VARBINARY(64) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT uq_payment_histories_vendor UNIQUE (vendor_code, vendor_uid),
    CONSTRAINT uq_payment_histories_source UNIQUE (source_schema, source_table, source_id)
);

CREATE INDEX ix_payment_histories_created_at ON payment_histories (created_at);

CREATE TABLE payment_history_cancels (
    payment_history_id CHAR(36) NOT NULL,
    seq INTEGER NOT NULL,
    price DOUBLE NOT NULL,
    reason MEDIUMBLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (payment_history_id, seq),
    CONSTRAINT fk_payment_history_cancels_history
        FOREIGN KEY (payment_history_id) REFERENCES payment_histories (id) ON DELETE CASCADE
);

CREATE TABLE payment_reservations (
    id CHAR(36) NOT NULL PRIMARY KEY,
    vendor_code VARCHAR(32) NOT NULL,
    vendor_store_id VARCHAR(255) NOT NULL,
    vendor_uid VARCHAR(255) NOT NULL,
    source_schema VARCHAR(255) NOT NULL,
    source_table VARCHAR(255) NOT NULL,
    source_id VARCHAR(255) NOT NULL,
    title VARCHAR(255) NOT NULL,
    data MEDIUMBLOB NOT NULL,
    password_hash VARBINARY(64) NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT uq_payment_reservations_vendor UNIQUE (vendor_code, vendor_uid),
    CONSTRAINT uq_payment_reservations_source UNIQUE (source_schema, source_table, source_id)
);

CREATE INDEX ix_payment_reservations_created_at ON payment_reservations (created_at);
