-- Targets (经营任务): a configurable set of indicators, each measured from
-- the data by one of the built-in sources (optionally narrowed to a
-- product class); targets set at an org unit and split down the hierarchy
-- (child org units' targets point at their parent; an org unit without
-- children splits among its RMs as allocations); actuals per RM and
-- period, computed from the data and kept for the pages.
CREATE TABLE target_indicator (
    code           TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    name_en        TEXT NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('aum_growth', 'new_customers', 'product_sales', 'campaign_conversions', 'opportunities_won')),
    product_class  TEXT,
    unit           TEXT NOT NULL CHECK (unit IN ('minor', 'count')),
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
INSERT INTO target_indicator (code, name, name_en, source, product_class, unit, created_by, created_at) VALUES
    ('aum_growth', '管户资产净增', 'AUM growth of the book', 'aum_growth', NULL, 'minor', 'migration', '2026-11-25T00:00:00Z'),
    ('new_customers', '新增客户', 'New customers', 'new_customers', NULL, 'count', 'migration', '2026-11-25T00:00:00Z'),
    ('product_sales', '产品销售（户数）', 'Products opened', 'product_sales', NULL, 'count', 'migration', '2026-11-25T00:00:00Z'),
    ('wealth_sales', '理财销售（户数）', 'Wealth products opened', 'product_sales', 'wealth', 'count', 'migration', '2026-11-25T00:00:00Z'),
    ('campaign_conversions', '营销活动转化', 'Campaign conversions', 'campaign_conversions', NULL, 'count', 'migration', '2026-11-25T00:00:00Z'),
    ('opportunities_won', '商机成交金额', 'Opportunities won (amount)', 'opportunities_won', NULL, 'minor', 'migration', '2026-11-25T00:00:00Z');

ALTER TABLE target ADD COLUMN parent_id INTEGER REFERENCES target (id);
ALTER TABLE target ADD COLUMN method TEXT NOT NULL DEFAULT 'set';
CREATE INDEX target_parent ON target (parent_id);
CREATE INDEX target_allocation_target ON target_allocation (target_id);
CREATE INDEX target_allocation_rm ON target_allocation (rm_user_id);

CREATE TABLE target_actual (
    period       TEXT NOT NULL,
    indicator    TEXT NOT NULL,
    rm_user_id   INTEGER NOT NULL REFERENCES app_user (id),
    value        INTEGER NOT NULL,
    computed_at  TEXT NOT NULL,
    PRIMARY KEY (period, indicator, rm_user_id)
);
