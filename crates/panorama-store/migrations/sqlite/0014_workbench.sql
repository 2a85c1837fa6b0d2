-- The workbench's alerts are found from the RM's tasks: with the owner and
-- the alert in one index, the tasks raised by alerts are an index range
-- rather than every open task (an RM with 44,000 campaign call tasks at 1M
-- customers: 72 ms joining them all to their alerts).
CREATE INDEX task_owner_alert ON task (owner_user_id, alert_id);

-- The richest customers of a large portfolio are found by walking the
-- bank's features by AUM and keeping the portfolio's (an RM holding 12,000
-- of 1,000,000 customers: 4 ms against 17 ms ranking all 12,000).
CREATE INDEX customer_features_rank ON customer_features (as_of, aum_minor, customer_id);

-- Search by pinyin: each customer's name spelled out (zhanghuaqiang) and
-- by initials (zhq), for every reading of the surname; `source_name` is
-- the name the keys were made from, so a renamed customer is re-keyed.
CREATE TABLE customer_name_key (
    name_key     TEXT NOT NULL,
    customer_id  BIGINT NOT NULL REFERENCES customer (id),
    source_name  TEXT NOT NULL,
    PRIMARY KEY (name_key, customer_id)
) WITHOUT ROWID;
CREATE INDEX customer_name_key_customer ON customer_name_key (customer_id);

-- Per-user preferences (the workbench's sections and their order), JSON.
CREATE TABLE user_pref (
    user_id  BIGINT NOT NULL REFERENCES app_user (id),
    name     TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);

-- Opportunities are read per customer on the 360.
CREATE INDEX opportunity_customer ON opportunity (customer_id, stage);
