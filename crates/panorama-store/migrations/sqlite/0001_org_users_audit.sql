-- Organisation hierarchy, users and the audit trail.
-- Flags are 0/1 integers. Dates and timestamps are ISO-8601 text ('YYYY-MM-DD', 'YYYY-MM-DDTHH:MM:SSZ') on
-- both stores so that one query string serves SQLite and PostgreSQL.

CREATE TABLE org_unit (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    name_en     TEXT,
    level       TEXT NOT NULL CHECK (level IN ('head_office', 'branch', 'sub_branch')),
    parent_id   INTEGER REFERENCES org_unit (id),
    -- Materialised path '/1/4/17/': a subtree is `path LIKE '/1/4/%'`.
    path        TEXT NOT NULL
);
CREATE INDEX org_unit_path ON org_unit (path);

CREATE TABLE app_user (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'branch_manager', 'rm', 'steward', 'auditor', 'executive', 'agent')),
    org_unit_id   INTEGER NOT NULL REFERENCES org_unit (id),
    password_hash TEXT,
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at    TEXT NOT NULL
);

CREATE TABLE audit_event (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    user_id      INTEGER REFERENCES app_user (id),
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    customer_id  INTEGER,
    object_type  TEXT,
    object_id    TEXT,
    reason       TEXT,
    source_ip    TEXT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    detail       TEXT
);
CREATE INDEX audit_event_customer ON audit_event (customer_id, at);
CREATE INDEX audit_event_actor ON audit_event (actor, at);
