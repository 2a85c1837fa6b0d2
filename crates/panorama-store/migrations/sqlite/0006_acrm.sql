-- ACRM: features and scores per as-of date, tiers, segments, models.

CREATE TABLE customer_features (
    customer_id     INTEGER NOT NULL REFERENCES customer (id),
    as_of           TEXT NOT NULL,
    aum_minor       INTEGER NOT NULL,
    aum_avg_minor   INTEGER NOT NULL,
    loan_minor      INTEGER NOT NULL,
    -- The full feature vector as a JSON object (the columnar copy lives in Parquet).
    features        TEXT NOT NULL,
    PRIMARY KEY (customer_id, as_of)
);

CREATE TABLE tier_history (
    customer_id     INTEGER NOT NULL REFERENCES customer (id),
    as_of           TEXT NOT NULL,
    tier            TEXT NOT NULL,
    previous_tier   TEXT,
    reason          TEXT,
    PRIMARY KEY (customer_id, as_of)
);

CREATE TABLE model (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    version         INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('trained', 'approved', 'retired')),
    features        TEXT NOT NULL,
    train_from      TEXT,
    train_to        TEXT,
    metrics         TEXT,
    artefact        TEXT,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    approved_by     TEXT,
    approved_at     TEXT,
    UNIQUE (name, version)
);

CREATE TABLE customer_score (
    customer_id     INTEGER NOT NULL REFERENCES customer (id),
    model_id        INTEGER NOT NULL REFERENCES model (id),
    as_of           TEXT NOT NULL,
    score           REAL NOT NULL,
    reasons         TEXT,
    PRIMARY KEY (customer_id, model_id, as_of)
);

CREATE TABLE segment (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    definition      TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('rule', 'cluster')),
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE segment_member (
    segment_id      INTEGER NOT NULL REFERENCES segment (id),
    customer_id     INTEGER NOT NULL REFERENCES customer (id),
    entered_on      TEXT NOT NULL,
    left_on         TEXT,
    PRIMARY KEY (segment_id, customer_id, entered_on)
);
