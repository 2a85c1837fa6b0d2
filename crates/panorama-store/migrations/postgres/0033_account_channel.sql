-- The channels each account has transacted on: what the event feed's
-- "first use of a channel" rule asks of a customer (their accounts' rows, by
-- key) instead of scanning their transactions. Kept by the ingest (each
-- batch's transactions) and by the event feed (each posted transaction).
CREATE TABLE account_channel (
    account_id BIGINT NOT NULL,
    channel    TEXT NOT NULL,
    PRIMARY KEY (account_id, channel)
);
INSERT INTO account_channel (account_id, channel) SELECT DISTINCT account_id, channel FROM txn;
