-- Cross-line referrals (公私联动): an RM refers a customer related to one of
-- theirs (a company's executives and payroll employees to retail, a
-- person's company to corporate) to that customer's RM, who accepts it as
-- an opportunity or declines it; the referral's outcome follows the
-- opportunity and is credited to the referrer in targets.
CREATE TABLE referral (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customer (id),
    via_customer_id INTEGER NOT NULL REFERENCES customer (id),
    from_user_id    INTEGER NOT NULL REFERENCES app_user (id),
    to_user_id      INTEGER NOT NULL REFERENCES app_user (id),
    product_code    TEXT REFERENCES product (code),
    note            TEXT,
    status          TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'declined')),
    opportunity_id  INTEGER REFERENCES opportunity (id),
    created_at      TEXT NOT NULL,
    decided_at      TEXT,
    decision_note   TEXT
);
CREATE INDEX referral_to ON referral (to_user_id, status);
CREATE INDEX referral_from ON referral (from_user_id, status);

-- Targets may count the referrals won (credited to the referrer); SQLite
-- changes a CHECK by rebuilding the table.
CREATE TABLE target_indicator_new (
    code           TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    name_en        TEXT NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('aum_growth', 'new_customers', 'product_sales', 'campaign_conversions', 'opportunities_won', 'referrals_won')),
    product_class  TEXT,
    unit           TEXT NOT NULL CHECK (unit IN ('minor', 'count')),
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
INSERT INTO target_indicator_new SELECT code, name, name_en, source, product_class, unit, created_by, created_at FROM target_indicator;
DROP TABLE target_indicator;
ALTER TABLE target_indicator_new RENAME TO target_indicator;
INSERT INTO target_indicator (code, name, name_en, source, product_class, unit, created_by, created_at) VALUES
    ('referrals_won', '公私联动成交', 'Referrals won', 'referrals_won', NULL, 'count', 'migration', '2026-11-25T00:00:00Z');
