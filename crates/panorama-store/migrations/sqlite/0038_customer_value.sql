-- Customer value (客户价值) as the nightly chain computed it: each active
-- customer's last-12-month profit contribution, the yearly retention used
-- (the approved churn model's, else the configured rate), the lifetime
-- value (that margin kept for `horizon_years` at that retention and
-- discounted), and its rank among all customers (10,000 = the most
-- valuable). Replaced whole by each run; the run's parameters are kept
-- beside it.
CREATE TABLE customer_value (
    customer_id       INTEGER PRIMARY KEY REFERENCES customer (id),
    profit_12m_minor  INTEGER NOT NULL,
    retention_bp      INTEGER NOT NULL CHECK (retention_bp BETWEEN 0 AND 10000),
    clv_minor         INTEGER NOT NULL,
    rank_bp           INTEGER NOT NULL CHECK (rank_bp BETWEEN 0 AND 10000)
);

CREATE TABLE customer_value_run (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    as_of             TEXT NOT NULL,
    horizon_years     INTEGER NOT NULL,
    discount_bp       INTEGER NOT NULL,
    retention_bp      INTEGER NOT NULL,
    churn_model_id    INTEGER REFERENCES model (id),
    customers         INTEGER NOT NULL,
    total_minor       INTEGER NOT NULL,
    computed_at       TEXT NOT NULL
);
