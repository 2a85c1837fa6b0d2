-- Surveys are answered by the customer (through an invitation's link) or
-- entered by a member of staff other than the one rated; each answer says
-- which, and who entered it.
ALTER TABLE survey ADD COLUMN source TEXT NOT NULL DEFAULT 'staff' CHECK (source IN ('customer', 'staff'));
ALTER TABLE survey ADD COLUMN entered_by INTEGER REFERENCES app_user (id);

-- An invitation to rate a closed complaint or a recorded contact, queued
-- when it happens and sent to the customer's mobile by the SMS gateway.
-- Only a hash of its token is kept; the token itself leaves in the
-- gateway's file.
CREATE TABLE survey_invite (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('complaint', 'contact')),
    object_id     INTEGER NOT NULL,
    customer_id   INTEGER NOT NULL REFERENCES customer (id),
    status        TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'no_mobile', 'opted_out', 'answered')),
    token_hash    TEXT UNIQUE,
    created_at    TEXT NOT NULL,
    sent_at       TEXT,
    expires_at    TEXT,
    batch         TEXT,
    UNIQUE (kind, object_id)
);
CREATE INDEX survey_invite_queue ON survey_invite (status, id);
