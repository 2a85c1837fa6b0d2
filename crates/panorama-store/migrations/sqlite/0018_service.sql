-- Complaints with their channel, severity, who opened them, the resolution
-- and every step (the SLA clock runs from opened_at to sla_due_at; a
-- complaint still open after it is escalated), and satisfaction surveys
-- after a complaint or a contact is closed.
ALTER TABLE complaint ADD COLUMN channel TEXT;
ALTER TABLE complaint ADD COLUMN severity TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE complaint ADD COLUMN opened_by TEXT;
ALTER TABLE complaint ADD COLUMN escalated_at TEXT;
ALTER TABLE complaint ADD COLUMN resolution TEXT;
ALTER TABLE complaint ADD COLUMN closed_at TEXT;
CREATE INDEX complaint_due ON complaint (status, sla_due_at);
CREATE INDEX complaint_customer ON complaint (customer_id, opened_at);
CREATE INDEX complaint_owner ON complaint (owner_user_id, status);

CREATE TABLE complaint_event (
    id            INTEGER PRIMARY KEY,
    complaint_id  INTEGER NOT NULL REFERENCES complaint (id),
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,
    status        TEXT NOT NULL,
    note          TEXT
);
CREATE INDEX complaint_event_of ON complaint_event (complaint_id, id);

CREATE TABLE survey (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('complaint', 'contact')),
    object_id     INTEGER NOT NULL,
    customer_id   INTEGER NOT NULL REFERENCES customer (id),
    -- The RM (or complaint owner) the answer rates, and their org unit.
    user_id       INTEGER REFERENCES app_user (id),
    org_unit_id   INTEGER REFERENCES org_unit (id),
    csat          INTEGER CHECK (csat BETWEEN 1 AND 5),
    nps           INTEGER CHECK (nps BETWEEN 0 AND 10),
    comment       TEXT,
    at            TEXT NOT NULL,
    UNIQUE (kind, object_id)
);
CREATE INDEX survey_at ON survey (at);
