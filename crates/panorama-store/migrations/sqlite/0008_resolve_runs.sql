-- ECIF runs (what each resolution did, for incremental runs and the steward's history)
-- and household value.

CREATE TABLE resolve_run (
    id               INTEGER PRIMARY KEY,
    at               TEXT NOT NULL,
    mode             TEXT NOT NULL CHECK (mode IN ('full', 'incremental')),
    max_batch_id     INTEGER NOT NULL,
    records          INTEGER NOT NULL,
    customers        INTEGER NOT NULL,
    new_customers    INTEGER NOT NULL,
    merges           INTEGER NOT NULL,
    review_pairs     INTEGER NOT NULL,
    households       INTEGER NOT NULL,
    relationships    INTEGER NOT NULL,
    report           TEXT
);

ALTER TABLE household ADD COLUMN aum_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE household ADD COLUMN as_of TEXT;
CREATE INDEX match_review_status ON match_review (status);
CREATE INDEX merge_event_surviving ON merge_event (surviving_customer_id);
