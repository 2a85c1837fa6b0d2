-- The opportunity pipeline: where an opportunity came from (a campaign
-- lead or the RM's own), a note, and every stage it passed through, so
-- conversion between stages and time in stage can be measured.
ALTER TABLE opportunity ADD COLUMN campaign_id INTEGER;
ALTER TABLE opportunity ADD COLUMN notes TEXT;

CREATE TABLE opportunity_stage (
    id              INTEGER PRIMARY KEY,
    opportunity_id  INTEGER NOT NULL REFERENCES opportunity (id),
    stage           TEXT NOT NULL CHECK (stage IN ('lead', 'contacted', 'proposal', 'won', 'lost')),
    at              TEXT NOT NULL,
    by_user         TEXT NOT NULL
);
CREATE INDEX opportunity_stage_of ON opportunity_stage (opportunity_id, at);
