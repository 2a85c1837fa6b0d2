-- OCRM: assignment of customers to RMs, contacts, tasks, alerts, opportunities,
-- complaints, targets and their allocation down the hierarchy.

CREATE TABLE assignment (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customer (id),
    rm_user_id    INTEGER NOT NULL REFERENCES app_user (id),
    role          TEXT NOT NULL DEFAULT 'primary' CHECK (role IN ('primary', 'secondary')),
    from_date     TEXT NOT NULL,
    to_date       TEXT,
    reason        TEXT NOT NULL,
    assigned_by   TEXT NOT NULL
);
CREATE INDEX assignment_rm ON assignment (rm_user_id, to_date);
CREATE INDEX assignment_customer ON assignment (customer_id, to_date);

CREATE TABLE contact (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customer (id),
    user_id       INTEGER REFERENCES app_user (id),
    at            TEXT NOT NULL,
    channel       TEXT NOT NULL CHECK (channel IN ('phone', 'visit', 'branch', 'sms', 'email', 'wechat', 'app')),
    outcome       TEXT NOT NULL,
    notes         TEXT,
    campaign_id   INTEGER,
    follow_up_on  TEXT
);
CREATE INDEX contact_customer ON contact (customer_id, at);

CREATE TABLE alert (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customer (id),
    rule          TEXT NOT NULL,
    as_of         TEXT NOT NULL,
    due_on        TEXT,
    severity      TEXT NOT NULL DEFAULT 'info' CHECK (severity IN ('info', 'warning', 'critical')),
    message       TEXT NOT NULL,
    detail        TEXT,
    UNIQUE (customer_id, rule, as_of)
);

CREATE TABLE task (
    id            INTEGER PRIMARY KEY,
    owner_user_id INTEGER NOT NULL REFERENCES app_user (id),
    customer_id   INTEGER REFERENCES customer (id),
    alert_id      INTEGER REFERENCES alert (id),
    campaign_id   INTEGER,
    title         TEXT NOT NULL,
    due_on        TEXT,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    created_at    TEXT NOT NULL,
    done_at       TEXT
);
CREATE INDEX task_owner ON task (owner_user_id, status, due_on);

CREATE TABLE opportunity (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customer (id),
    owner_user_id   INTEGER NOT NULL REFERENCES app_user (id),
    product_code    TEXT REFERENCES product (code),
    stage           TEXT NOT NULL CHECK (stage IN ('lead', 'contacted', 'proposal', 'won', 'lost')),
    amount_minor    INTEGER,
    expected_close  TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE complaint (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customer (id),
    category        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'escalated', 'resolved', 'closed')),
    description     TEXT NOT NULL,
    owner_user_id   INTEGER REFERENCES app_user (id),
    opened_at       TEXT NOT NULL,
    sla_due_at      TEXT NOT NULL,
    resolved_at     TEXT,
    satisfaction    INTEGER CHECK (satisfaction BETWEEN 0 AND 10)
);

CREATE TABLE target (
    id            INTEGER PRIMARY KEY,
    period        TEXT NOT NULL,
    indicator     TEXT NOT NULL,
    org_unit_id   INTEGER NOT NULL REFERENCES org_unit (id),
    value_minor   INTEGER NOT NULL,
    set_by        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (period, indicator, org_unit_id)
);

CREATE TABLE target_allocation (
    id              INTEGER PRIMARY KEY,
    target_id       INTEGER NOT NULL REFERENCES target (id),
    org_unit_id     INTEGER REFERENCES org_unit (id),
    rm_user_id      INTEGER REFERENCES app_user (id),
    value_minor     INTEGER NOT NULL,
    method          TEXT NOT NULL CHECK (method IN ('manual', 'proportional')),
    allocated_by    TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
