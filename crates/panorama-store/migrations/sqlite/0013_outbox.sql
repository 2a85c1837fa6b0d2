-- Campaign messages for the SMS, e-mail and app-push gateways: queued at
-- launch (treated members only, after the contact policy), drained by a
-- gateway adapter outside quiet hours; each row sent once.
CREATE TABLE campaign_outbox (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaign (id),
    customer_id     INTEGER NOT NULL REFERENCES customer (id),
    channel         TEXT NOT NULL CHECK (channel IN ('sms', 'email', 'app')),
    address         TEXT NOT NULL,
    message         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    batch           TEXT,
    UNIQUE (campaign_id, customer_id)
);
CREATE INDEX campaign_outbox_queue ON campaign_outbox (status, channel, id);

-- The frequency cap counts customers' recent treated memberships: a range
-- of this index, never the member rows.
CREATE INDEX campaign_member_recent ON campaign_member (selected_on, is_control, customer_id, campaign_id);
