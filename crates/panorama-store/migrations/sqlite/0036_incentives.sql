-- Incentives (绩效奖金): per role, a pool per head per month shared among
-- the people of an org unit by their appraisal scores (only those at or
-- above the threshold score), and commission rates on the sales amounts
-- credited to them by product class; each period's incentives with the
-- lines that explain them.
CREATE TABLE incentive_rule (
    role           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('pool', 'threshold', 'rate')),
    product_class  TEXT NOT NULL DEFAULT '',
    value          INTEGER NOT NULL CHECK (value >= 0),
    updated_by     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (role, kind, product_class)
);
-- Pools in fen per head per month, thresholds in hundredths of a point,
-- rates in basis points of the credited amount.
INSERT INTO incentive_rule (role, kind, product_class, value, updated_by, updated_at) VALUES
    ('rm', 'pool', '', 500000, 'migration', '2026-12-07T00:00:00Z'),
    ('rm', 'threshold', '', 6000, 'migration', '2026-12-07T00:00:00Z'),
    ('rm', 'rate', 'wealth', 20, 'migration', '2026-12-07T00:00:00Z'),
    ('rm', 'rate', 'fund', 30, 'migration', '2026-12-07T00:00:00Z'),
    ('rm', 'rate', 'insurance', 50, 'migration', '2026-12-07T00:00:00Z'),
    ('rm', 'rate', 'deposit', 5, 'migration', '2026-12-07T00:00:00Z'),
    ('teller', 'pool', '', 200000, 'migration', '2026-12-07T00:00:00Z'),
    ('teller', 'threshold', '', 6000, 'migration', '2026-12-07T00:00:00Z'),
    ('teller', 'rate', 'wealth', 10, 'migration', '2026-12-07T00:00:00Z'),
    ('teller', 'rate', 'fund', 10, 'migration', '2026-12-07T00:00:00Z'),
    ('teller', 'rate', 'insurance', 30, 'migration', '2026-12-07T00:00:00Z'),
    ('agent', 'pool', '', 200000, 'migration', '2026-12-07T00:00:00Z'),
    ('agent', 'threshold', '', 6000, 'migration', '2026-12-07T00:00:00Z');

CREATE TABLE incentive (
    id             INTEGER PRIMARY KEY,
    period         TEXT NOT NULL,
    user_id        INTEGER NOT NULL REFERENCES app_user (id),
    role           TEXT NOT NULL,
    org_unit_id    INTEGER NOT NULL REFERENCES org_unit (id),
    score_centi    INTEGER NOT NULL,
    amount_minor   INTEGER NOT NULL,
    computed_by    TEXT NOT NULL,
    computed_at    TEXT NOT NULL,
    UNIQUE (period, user_id)
);

-- A line: `commission` (base: the credited amount of `label`'s class, at
-- `rate_bp`), `pool` (base: the org unit's pool, shared by score:
-- `score_centi` of `scores_centi`), or `below_threshold` (no pool share).
CREATE TABLE incentive_line (
    incentive_id   INTEGER NOT NULL REFERENCES incentive (id),
    seq            INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('commission', 'pool', 'below_threshold')),
    label          TEXT NOT NULL,
    base_minor     INTEGER NOT NULL,
    rate_bp        INTEGER,
    score_centi    INTEGER,
    scores_centi   INTEGER,
    amount_minor   INTEGER NOT NULL,
    PRIMARY KEY (incentive_id, seq)
);
