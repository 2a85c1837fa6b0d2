-- Customer value (客户价值): PostgreSQL twin of migrations/sqlite/0038.
CREATE TABLE customer_value (
    customer_id       BIGINT PRIMARY KEY REFERENCES customer (id),
    profit_12m_minor  BIGINT NOT NULL,
    retention_bp      BIGINT NOT NULL CHECK (retention_bp BETWEEN 0 AND 10000),
    clv_minor         BIGINT NOT NULL,
    rank_bp           BIGINT NOT NULL CHECK (rank_bp BETWEEN 0 AND 10000)
);

CREATE TABLE customer_value_run (
    id                BIGINT PRIMARY KEY CHECK (id = 1),
    as_of             TEXT NOT NULL,
    horizon_years     BIGINT NOT NULL,
    discount_bp       BIGINT NOT NULL,
    retention_bp      BIGINT NOT NULL,
    churn_model_id    BIGINT REFERENCES model (id),
    customers         BIGINT NOT NULL,
    total_minor       BIGINT NOT NULL,
    computed_at       TEXT NOT NULL
);
