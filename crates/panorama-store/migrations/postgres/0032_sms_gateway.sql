-- The SMS gateway connector: what the gateway said of each message handed
-- to it (its message id, or why it refused it), the delivery receipt that
-- came back (delivered, undelivered, expired, rejected) and when; and how
-- far the receipts and the replies have been read from each gateway.
ALTER TABLE campaign_outbox ADD COLUMN gateway_msg_id TEXT;
ALTER TABLE campaign_outbox ADD COLUMN delivery_status TEXT;
ALTER TABLE campaign_outbox ADD COLUMN delivered_at TEXT;
ALTER TABLE campaign_outbox ADD COLUMN gateway_detail TEXT;
CREATE INDEX campaign_outbox_gateway ON campaign_outbox (gateway_msg_id);

CREATE TABLE gateway_cursor (
    gateway    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    position   TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (gateway, kind)
);
