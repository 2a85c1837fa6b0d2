-- Events as they happen (a Kafka topic): the consumer's position per
-- partition, the ids of events applied (idempotent by event id), and the
-- events that could not be applied, with their reason. The position is
-- written in the same transaction as the events' effects, so a restart
-- resumes exactly after the last durable effect.
CREATE TABLE event_offset (
    topic        TEXT NOT NULL,
    kafka_partition INTEGER NOT NULL,
    next_offset  INTEGER NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (topic, kafka_partition)
);

CREATE TABLE event_applied (
    event_id     TEXT PRIMARY KEY,
    event_type   TEXT NOT NULL,
    topic        TEXT NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset INTEGER NOT NULL,
    occurred_at  TEXT,
    applied_at   TEXT NOT NULL
);

CREATE TABLE event_dead_letter (
    id           INTEGER PRIMARY KEY,
    topic        TEXT NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset INTEGER NOT NULL,
    event_id     TEXT,
    payload      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    at           TEXT NOT NULL,
    UNIQUE (topic, kafka_partition, kafka_offset)
);

-- The bank of a transaction's counterparty (its clearing code), when the
-- source says: a transfer to another bank is money leaving.
ALTER TABLE txn ADD COLUMN counterparty_bank TEXT;
