-- The dashboards read a branch's customers from their home branch, and the
-- whole bank's stock figures and campaign memberships from covering
-- indexes, never the wide features rows (at 1,000,000 customers the head
-- office's dashboard took 40 s reading them).
CREATE INDEX customer_home ON customer (home_org_unit_id, status);
CREATE INDEX customer_features_dash ON customer_features (as_of, tier, aum_minor, profit_minor);
CREATE INDEX campaign_member_customer ON campaign_member (customer_id, campaign_id, is_control);
