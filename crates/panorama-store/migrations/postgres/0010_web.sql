-- The web workbench: login sessions, lookups a call-centre agent makes while
-- the phone rings (account or card number), and the default RM of a branch.

CREATE TABLE web_session (
    id          TEXT PRIMARY KEY,
    -- The session's data as a JSON object.
    data        TEXT NOT NULL,
    -- Unix seconds.
    expires_at  BIGINT NOT NULL
);
CREATE INDEX web_session_expiry ON web_session (expires_at);

CREATE INDEX account_no ON account (account_no);
CREATE INDEX assignment_rm_customer ON assignment (rm_user_id, customer_id);
CREATE INDEX contact_user ON contact (user_id, at);
CREATE INDEX opportunity_owner ON opportunity (owner_user_id, stage);
CREATE INDEX app_user_org ON app_user (org_unit_id);
