-- ECIF: golden customers, cross-references with evidence, merge history,
-- the steward's review queue, households and party relationships.

CREATE TABLE customer (
    id            INTEGER PRIMARY KEY,
    customer_no   TEXT NOT NULL UNIQUE,
    party_type    TEXT NOT NULL CHECK (party_type IN ('person', 'organisation')),
    name          TEXT NOT NULL,
    gender        TEXT,
    birth_date    TEXT,
    id_no         TEXT,
    credit_code   TEXT,
    mobile        TEXT,
    email         TEXT,
    address       TEXT,
    industry      TEXT,
    home_org_unit_id INTEGER REFERENCES org_unit (id),
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'merged', 'retired')),
    merged_into   INTEGER REFERENCES customer (id),
    -- JSON object: attribute -> {source_record_id, system, rule}.
    provenance    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX customer_id_no ON customer (id_no);
CREATE INDEX customer_mobile ON customer (mobile);
CREATE INDEX customer_name ON customer (name);

CREATE TABLE customer_xref (
    source_record_id INTEGER PRIMARY KEY REFERENCES source_record (id),
    customer_id      INTEGER NOT NULL REFERENCES customer (id),
    match_score      REAL,
    rule             TEXT NOT NULL,
    evidence         TEXT,
    linked_at        TEXT NOT NULL
);
CREATE INDEX customer_xref_customer ON customer_xref (customer_id);

CREATE TABLE merge_event (
    id                    INTEGER PRIMARY KEY,
    at                    TEXT NOT NULL,
    kind                  TEXT NOT NULL CHECK (kind IN ('merge', 'unmerge')),
    surviving_customer_id INTEGER NOT NULL REFERENCES customer (id),
    absorbed_customer_id  INTEGER NOT NULL REFERENCES customer (id),
    actor                 TEXT NOT NULL,
    evidence              TEXT,
    undone_by             INTEGER REFERENCES merge_event (id)
);

CREATE TABLE match_review (
    id               INTEGER PRIMARY KEY,
    left_record_id   INTEGER NOT NULL REFERENCES source_record (id),
    right_record_id  INTEGER NOT NULL REFERENCES source_record (id),
    match_probability REAL NOT NULL,
    evidence         TEXT,
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
    decided_by       TEXT,
    decided_at       TEXT,
    UNIQUE (left_record_id, right_record_id)
);

CREATE TABLE household (
    id                INTEGER PRIMARY KEY,
    household_no      TEXT NOT NULL UNIQUE,
    head_customer_id  INTEGER REFERENCES customer (id),
    address           TEXT,
    created_at        TEXT NOT NULL
);

CREATE TABLE household_member (
    household_id  INTEGER NOT NULL REFERENCES household (id),
    customer_id   INTEGER NOT NULL UNIQUE REFERENCES customer (id),
    role          TEXT NOT NULL,
    PRIMARY KEY (household_id, customer_id)
);

CREATE TABLE party_relationship (
    id                INTEGER PRIMARY KEY,
    from_customer_id  INTEGER NOT NULL REFERENCES customer (id),
    to_customer_id    INTEGER NOT NULL REFERENCES customer (id),
    kind              TEXT NOT NULL,
    source            TEXT NOT NULL CHECK (source IN ('declared', 'payroll', 'payment_flow', 'steward')),
    since             TEXT,
    evidence          TEXT,
    UNIQUE (from_customer_id, to_customer_id, kind)
);
