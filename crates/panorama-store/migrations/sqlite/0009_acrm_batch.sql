-- ACRM batch: runs, headline feature columns, segment bookkeeping.

CREATE TABLE analytics_run (
    id            INTEGER PRIMARY KEY,
    as_of         TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    status        TEXT NOT NULL CHECK (status IN ('running', 'committed', 'failed')),
    report        TEXT
);

ALTER TABLE customer_features ADD COLUMN tier TEXT;
ALTER TABLE customer_features ADD COLUMN profit_minor INTEGER;
CREATE INDEX customer_features_as_of ON customer_features (as_of);

CREATE INDEX tier_history_as_of ON tier_history (as_of);

ALTER TABLE segment ADD COLUMN description TEXT;
ALTER TABLE segment ADD COLUMN refreshed_on TEXT;
ALTER TABLE segment ADD COLUMN member_count INTEGER;
CREATE INDEX segment_member_open ON segment_member (segment_id, left_on);
