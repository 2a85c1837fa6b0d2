-- Appraisal (绩效考核): each role's scorecard, set by head office without
-- code — weighted indicators scored against the person's target
-- (`basis` 'target': a target indicator's code) or a standard (`basis`
-- 'standard': a measure, optionally narrowed to a product class), higher
-- or lower better, within a floor and a cap — and each period's computed
-- appraisals with their lines, ranked among the role's peers, confirmed by
-- the branch manager.
CREATE TABLE scorecard_item (
    role           TEXT NOT NULL,
    indicator      TEXT NOT NULL,
    product_class  TEXT NOT NULL DEFAULT '',
    weight         INTEGER NOT NULL CHECK (weight >= 0),
    basis          TEXT NOT NULL CHECK (basis IN ('target', 'standard')),
    standard       INTEGER,
    better         TEXT NOT NULL CHECK (better IN ('higher', 'lower')),
    floor_pct      INTEGER NOT NULL DEFAULT 0,
    cap_pct        INTEGER NOT NULL DEFAULT 120,
    updated_by     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (role, indicator, product_class)
);
-- The default cards. Units: money in fen, sales in basis points of a sale
-- (10,000 = one whole sale), CSAT as 100 × the 1–5 average, counts as counts.
INSERT INTO scorecard_item (role, indicator, product_class, weight, basis, standard, better, floor_pct, cap_pct, updated_by, updated_at) VALUES
    ('rm', 'aum_growth', '', 30, 'target', NULL, 'higher', 0, 120, 'migration', '2026-12-07T00:00:00Z'),
    ('rm', 'product_sales', '', 20, 'target', NULL, 'higher', 0, 120, 'migration', '2026-12-07T00:00:00Z'),
    ('rm', 'sales_amount', '', 15, 'standard', 100000000, 'higher', 0, 120, 'migration', '2026-12-07T00:00:00Z'),
    ('rm', 'new_customers', '', 10, 'standard', 5, 'higher', 0, 120, 'migration', '2026-12-07T00:00:00Z'),
    ('rm', 'campaign_conversions', '', 10, 'standard', 10, 'higher', 0, 120, 'migration', '2026-12-07T00:00:00Z'),
    ('rm', 'csat', '', 10, 'standard', 450, 'higher', 0, 110, 'migration', '2026-12-07T00:00:00Z'),
    ('rm', 'sla_breaches', '', 5, 'standard', 2, 'lower', 0, 100, 'migration', '2026-12-07T00:00:00Z'),
    ('teller', 'sales_count', '', 50, 'standard', 100000, 'higher', 0, 120, 'migration', '2026-12-07T00:00:00Z'),
    ('teller', 'sales_amount', '', 30, 'standard', 50000000, 'higher', 0, 120, 'migration', '2026-12-07T00:00:00Z'),
    ('teller', 'csat', '', 20, 'standard', 450, 'higher', 0, 110, 'migration', '2026-12-07T00:00:00Z'),
    ('agent', 'sales_count', '', 30, 'standard', 50000, 'higher', 0, 120, 'migration', '2026-12-07T00:00:00Z'),
    ('agent', 'csat', '', 40, 'standard', 450, 'higher', 0, 110, 'migration', '2026-12-07T00:00:00Z'),
    ('agent', 'sla_breaches', '', 30, 'standard', 2, 'lower', 0, 100, 'migration', '2026-12-07T00:00:00Z');

CREATE TABLE appraisal (
    id             INTEGER PRIMARY KEY,
    period         TEXT NOT NULL,
    user_id        INTEGER NOT NULL REFERENCES app_user (id),
    role           TEXT NOT NULL,
    org_unit_id    INTEGER NOT NULL REFERENCES org_unit (id),
    score_centi    INTEGER NOT NULL,
    peer_rank      INTEGER NOT NULL,
    peers          INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('computed', 'confirmed')),
    computed_at    TEXT NOT NULL,
    confirmed_by   TEXT,
    confirmed_at   TEXT,
    UNIQUE (period, user_id)
);
CREATE INDEX appraisal_org ON appraisal (period, org_unit_id);

CREATE TABLE appraisal_line (
    appraisal_id   INTEGER NOT NULL REFERENCES appraisal (id),
    indicator      TEXT NOT NULL,
    product_class  TEXT NOT NULL,
    basis          TEXT NOT NULL,
    better         TEXT NOT NULL,
    unit           TEXT NOT NULL,
    actual         INTEGER NOT NULL,
    reference      INTEGER,
    ratio_bp       INTEGER,
    weight         INTEGER NOT NULL,
    points_centi   INTEGER NOT NULL,
    PRIMARY KEY (appraisal_id, indicator, product_class)
);
