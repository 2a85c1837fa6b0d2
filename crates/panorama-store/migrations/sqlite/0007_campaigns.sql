-- Campaigns with control groups, offers, members, responses and contact preferences.

CREATE TABLE contact_preference (
    customer_id     INTEGER PRIMARY KEY REFERENCES customer (id),
    opt_out_all     INTEGER NOT NULL DEFAULT 0 CHECK (opt_out_all IN (0, 1)),
    opt_out_sms     INTEGER NOT NULL DEFAULT 0 CHECK (opt_out_sms IN (0, 1)),
    opt_out_email   INTEGER NOT NULL DEFAULT 0 CHECK (opt_out_email IN (0, 1)),
    opt_out_phone   INTEGER NOT NULL DEFAULT 0 CHECK (opt_out_phone IN (0, 1)),
    dnd_rest_days   INTEGER NOT NULL DEFAULT 0 CHECK (dnd_rest_days IN (0, 1)),
    updated_at      TEXT NOT NULL
);

CREATE TABLE campaign (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    objective       TEXT NOT NULL CHECK (objective IN ('acquire', 'cross_sell', 'upsell', 'retain', 'reactivate')),
    status          TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'live', 'finished', 'cancelled')),
    eligibility     TEXT NOT NULL,
    control_share_bp INTEGER NOT NULL DEFAULT 1000,
    seed            INTEGER NOT NULL,
    starts_on       TEXT,
    ends_on         TEXT,
    response_rule   TEXT,
    budget_minor    INTEGER,
    created_by      TEXT NOT NULL,
    approved_by     TEXT,
    created_at      TEXT NOT NULL
);

CREATE TABLE offer (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaign (id),
    arm             TEXT NOT NULL,
    product_code    TEXT REFERENCES product (code),
    terms           TEXT,
    script          TEXT,
    UNIQUE (campaign_id, arm)
);

CREATE TABLE campaign_member (
    campaign_id     INTEGER NOT NULL REFERENCES campaign (id),
    customer_id     INTEGER NOT NULL REFERENCES customer (id),
    arm             TEXT NOT NULL,
    is_control      INTEGER NOT NULL CHECK (is_control IN (0, 1)),
    channel         TEXT,
    owner_user_id   INTEGER REFERENCES app_user (id),
    selected_on     TEXT NOT NULL,
    contacted_at    TEXT,
    PRIMARY KEY (campaign_id, customer_id)
);

CREATE TABLE campaign_response (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaign (id),
    customer_id     INTEGER NOT NULL REFERENCES customer (id),
    responded_on    TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('contact', 'batch')),
    value_minor     INTEGER,
    UNIQUE (campaign_id, customer_id)
);
