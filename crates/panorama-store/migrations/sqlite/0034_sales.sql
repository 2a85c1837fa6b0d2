-- Sales registration (业绩登记): every product opened or sold, credited to
-- the people who made it happen by configurable split rules, with approval
-- of hand-entered sales, disputes and adjustments kept as credit versions.
--
-- Tellers (柜员) join the roles, and users carry the staff number (员工号)
-- source systems record as an account's seller. SQLite changes a CHECK by
-- rebuilding the table, and app_user is referenced by many tables: the
-- rebuild needs foreign keys off, which SQLite allows only outside a
-- transaction (and sqlx runs each migration in one). So the migration's
-- transaction is committed (nothing written yet), the rebuild runs in its
-- own with foreign keys off, and a new transaction takes the rest and
-- sqlx's record of the migration. The rebuild can run twice unharmed: a
-- crash after it and before the record reruns it on the rebuilt table.
COMMIT;
PRAGMA foreign_keys = OFF;
BEGIN;
DROP TABLE IF EXISTS app_user_new;
CREATE TABLE app_user_new (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'branch_manager', 'rm', 'steward', 'auditor', 'executive', 'agent', 'teller')),
    org_unit_id   INTEGER NOT NULL REFERENCES org_unit (id),
    password_hash TEXT,
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at    TEXT NOT NULL,
    portfolio     TEXT NOT NULL DEFAULT 'general',
    staff_no      TEXT UNIQUE
);
INSERT INTO app_user_new (id, username, display_name, role, org_unit_id, password_hash, active, created_at, portfolio)
    SELECT id, username, display_name, role, org_unit_id, password_hash, active, created_at, portfolio FROM app_user;
DROP TABLE app_user;
ALTER TABLE app_user_new RENAME TO app_user;
CREATE INDEX app_user_org ON app_user (org_unit_id);
COMMIT;
PRAGMA foreign_keys = ON;
BEGIN;

-- The staff number a source system recorded as the account's seller (营销人员).
ALTER TABLE account ADD COLUMN sold_by TEXT;

-- How a sale's credit is split, by the channel it was made in ('rm',
-- 'counter', 'call_centre', 'self_service'; '*' for any channel without
-- rules of its own) and the part a person played: `seller` (who closed
-- it), `rm` (the customer's RM when it was sold), `referrer` (who referred
-- the customer). A channel's shares add up to 10,000 basis points; the
-- share of a part nobody played goes to the others in proportion.
CREATE TABLE credit_rule (
    channel     TEXT NOT NULL,
    part        TEXT NOT NULL CHECK (part IN ('seller', 'rm', 'referrer')),
    share_bp    INTEGER NOT NULL CHECK (share_bp BETWEEN 0 AND 10000),
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (channel, part)
);
INSERT INTO credit_rule (channel, part, share_bp, updated_by, updated_at) VALUES
    ('*', 'seller', 7000, 'migration', '2026-12-07T00:00:00Z'),
    ('*', 'rm', 0, 'migration', '2026-12-07T00:00:00Z'),
    ('*', 'referrer', 3000, 'migration', '2026-12-07T00:00:00Z'),
    ('counter', 'seller', 5000, 'migration', '2026-12-07T00:00:00Z'),
    ('counter', 'rm', 3000, 'migration', '2026-12-07T00:00:00Z'),
    ('counter', 'referrer', 2000, 'migration', '2026-12-07T00:00:00Z'),
    ('call_centre', 'seller', 5000, 'migration', '2026-12-07T00:00:00Z'),
    ('call_centre', 'rm', 3000, 'migration', '2026-12-07T00:00:00Z'),
    ('call_centre', 'referrer', 2000, 'migration', '2026-12-07T00:00:00Z');

-- A sale: from an account the extracts or the event feed brought (approved
-- as the system of record says), or entered by staff (pending until a
-- branch manager of the sale's org unit approves it). `org_unit_id` is the
-- unit it counts to (the seller's, else the RM's); `credit_version` the
-- current version of its credits.
CREATE TABLE sale (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customer (id),
    product_code    TEXT NOT NULL REFERENCES product (code),
    account_id      INTEGER REFERENCES account (id),
    account_no      TEXT,
    amount_minor    INTEGER NOT NULL CHECK (amount_minor >= 0),
    sold_on         TEXT NOT NULL,
    channel         TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('extract', 'feed', 'manual')),
    seller_user_id  INTEGER REFERENCES app_user (id),
    seller_code     TEXT,
    referral_id     INTEGER REFERENCES referral (id),
    campaign_id     INTEGER REFERENCES campaign (id),
    org_unit_id     INTEGER REFERENCES org_unit (id),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    credit_version  INTEGER NOT NULL DEFAULT 1,
    entered_by      TEXT NOT NULL,
    decided_by      TEXT,
    decided_at      TEXT,
    decision_note   TEXT,
    note            TEXT,
    created_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX sale_account ON sale (account_id);
CREATE INDEX sale_account_no ON sale (account_no);
CREATE INDEX sale_customer ON sale (customer_id);
CREATE INDEX sale_status ON sale (status, sold_on);

-- Who a sale is credited to, every version kept: version 1 by the rules,
-- later ones by a branch manager's adjustment (part `adjusted`).
CREATE TABLE sale_credit (
    sale_id       INTEGER NOT NULL REFERENCES sale (id),
    version       INTEGER NOT NULL,
    user_id       INTEGER NOT NULL REFERENCES app_user (id),
    part          TEXT NOT NULL CHECK (part IN ('seller', 'rm', 'referrer', 'adjusted')),
    share_bp      INTEGER NOT NULL CHECK (share_bp BETWEEN 0 AND 10000),
    amount_minor  INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    made_by       TEXT NOT NULL,
    made_at       TEXT NOT NULL,
    PRIMARY KEY (sale_id, version, user_id, part)
);
CREATE INDEX sale_credit_user ON sale_credit (user_id);

-- A credit disputed by someone who was (or thinks they should have been)
-- credited; a branch manager upholds it (with a new split) or rejects it.
CREATE TABLE sale_dispute (
    id           INTEGER PRIMARY KEY,
    sale_id      INTEGER NOT NULL REFERENCES sale (id),
    raised_by    INTEGER NOT NULL REFERENCES app_user (id),
    reason       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'upheld', 'rejected')),
    resolved_by  TEXT,
    resolution   TEXT,
    created_at   TEXT NOT NULL,
    resolved_at  TEXT
);
CREATE INDEX sale_dispute_sale ON sale_dispute (sale_id, status);
