-- Products, accounts, monthly balances and transactions as the source systems hold them.

CREATE TABLE product (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    name_en       TEXT NOT NULL,
    -- deposit (存款), wealth (理财), fund, insurance, loan (贷款), card, settlement (结算)
    class         TEXT NOT NULL CHECK (class IN ('deposit', 'wealth', 'fund', 'insurance', 'loan', 'card', 'settlement')),
    system        TEXT NOT NULL,
    term_months   INTEGER,
    rate_bp       INTEGER
);

CREATE TABLE account (
    id                  INTEGER PRIMARY KEY,
    system              TEXT NOT NULL REFERENCES source_system (code),
    account_no          TEXT NOT NULL,
    source_record_id    INTEGER NOT NULL REFERENCES source_record (id),
    customer_id         INTEGER REFERENCES customer (id),
    product_code        TEXT NOT NULL,
    branch_code         TEXT,
    currency            TEXT NOT NULL DEFAULT 'CNY',
    opened_on           TEXT NOT NULL,
    matures_on          TEXT,
    closed_on           TEXT,
    status              TEXT NOT NULL CHECK (status IN ('active', 'dormant', 'closed')),
    credit_limit_minor  INTEGER,
    rate_bp             INTEGER,
    row_hash            TEXT NOT NULL,
    batch_id            INTEGER NOT NULL REFERENCES ingest_batch (id),
    UNIQUE (system, account_no)
);
CREATE INDEX account_source_record ON account (source_record_id);
CREATE INDEX account_customer ON account (customer_id);
CREATE INDEX account_matures ON account (matures_on);

-- Month-level balances: the average daily balance and the month-end balance.
CREATE TABLE balance_monthly (
    account_id          INTEGER NOT NULL REFERENCES account (id),
    month               TEXT NOT NULL,
    avg_balance_minor   INTEGER NOT NULL,
    end_balance_minor   INTEGER NOT NULL,
    batch_id            INTEGER NOT NULL REFERENCES ingest_batch (id),
    PRIMARY KEY (account_id, month)
);

CREATE TABLE txn (
    id                   INTEGER PRIMARY KEY,
    system               TEXT NOT NULL REFERENCES source_system (code),
    txn_ref              TEXT NOT NULL,
    account_id           INTEGER NOT NULL REFERENCES account (id),
    booked_at            TEXT NOT NULL,
    amount_minor         INTEGER NOT NULL CHECK (amount_minor >= 0),
    direction            TEXT NOT NULL CHECK (direction IN ('C', 'D')),
    channel              TEXT NOT NULL CHECK (channel IN ('counter', 'atm', 'mobile', 'online', 'pos', 'batch')),
    mcc                  TEXT,
    counterparty_account TEXT,
    counterparty_name    TEXT,
    balance_after_minor  INTEGER,
    batch_id             INTEGER NOT NULL REFERENCES ingest_batch (id),
    UNIQUE (system, txn_ref)
);
CREATE INDEX txn_account_time ON txn (account_id, booked_at);
