-- Source systems, ingest batches and the raw source records behind every golden record.

CREATE TABLE source_system (
    code   TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    -- Survivorship trust, 0..100: higher wins when attributes disagree.
    trust  INTEGER NOT NULL DEFAULT 50
);

CREATE TABLE ingest_batch (
    id             INTEGER PRIMARY KEY,
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    folder         TEXT NOT NULL,
    extract_date   TEXT,
    status         TEXT NOT NULL CHECK (status IN ('running', 'committed', 'failed')),
    rows_read      INTEGER NOT NULL DEFAULT 0,
    rows_landed    INTEGER NOT NULL DEFAULT 0,
    rows_rejected  INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    report         TEXT
);

CREATE TABLE ingest_file (
    id           INTEGER PRIMARY KEY,
    batch_id     INTEGER NOT NULL REFERENCES ingest_batch (id),
    system       TEXT NOT NULL,
    file         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    rows_read    INTEGER NOT NULL,
    rows_landed  INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL,
    rows_changed INTEGER NOT NULL,
    reject_file  TEXT
);
CREATE INDEX ingest_file_hash ON ingest_file (system, content_hash);

-- One row per customer record per source system. Never deleted: the raw truth
-- behind every golden record. A changed extract row updates the record in place
-- (batch_id moves on, first_batch_id stays).
CREATE TABLE source_record (
    id                  INTEGER PRIMARY KEY,
    system              TEXT NOT NULL REFERENCES source_system (code),
    source_key          TEXT NOT NULL,
    party_type          TEXT NOT NULL CHECK (party_type IN ('person', 'organisation')),
    name                TEXT NOT NULL,
    gender              TEXT,
    birth_date          TEXT,
    id_type             TEXT,
    id_no               TEXT,
    id_no_std           TEXT,
    id_status           TEXT NOT NULL CHECK (id_status IN ('valid', 'upgraded', 'invalid', 'missing', 'other_type')),
    credit_code         TEXT,
    credit_code_std     TEXT,
    credit_code_status  TEXT NOT NULL CHECK (credit_code_status IN ('valid', 'checksum_failed', 'invalid', 'missing')),
    mobile              TEXT,
    mobile_std          TEXT,
    phone               TEXT,
    email               TEXT,
    address             TEXT,
    postcode            TEXT,
    industry            TEXT,
    occupation          TEXT,
    branch_code         TEXT,
    opened_on           TEXT,
    row_hash            TEXT NOT NULL,
    first_batch_id      INTEGER NOT NULL REFERENCES ingest_batch (id),
    batch_id            INTEGER NOT NULL REFERENCES ingest_batch (id),
    UNIQUE (system, source_key)
);
CREATE INDEX source_record_id_no ON source_record (id_no_std);
CREATE INDEX source_record_credit_code ON source_record (credit_code_std);
CREATE INDEX source_record_mobile ON source_record (mobile_std);

-- Relationships declared in a source system between two of its own records:
-- family (spouse, parent, child, sibling) and person-company (executive,
-- shareholder, finance_contact, guarantor, payroll_employee).
CREATE TABLE source_relationship (
    id          INTEGER PRIMARY KEY,
    system      TEXT NOT NULL REFERENCES source_system (code),
    from_key    TEXT NOT NULL,
    to_key      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    since       TEXT,
    batch_id    INTEGER NOT NULL REFERENCES ingest_batch (id),
    UNIQUE (system, from_key, to_key, kind)
);
