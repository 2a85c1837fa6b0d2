-- A resolution the guard checks refused is recorded too (mode 'refused', its
-- report saying why), so stewards see why the customers did not change.
-- SQLite cannot change a CHECK constraint: the table is rebuilt.

CREATE TABLE resolve_run_new (
    id               INTEGER PRIMARY KEY,
    at               TEXT NOT NULL,
    mode             TEXT NOT NULL CHECK (mode IN ('full', 'incremental', 'refused')),
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
INSERT INTO resolve_run_new SELECT * FROM resolve_run;
DROP TABLE resolve_run;
ALTER TABLE resolve_run_new RENAME TO resolve_run;
