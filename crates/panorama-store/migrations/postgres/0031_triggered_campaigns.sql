-- Triggered ("always-on") campaigns: the event whose arrival enters a
-- customer (a large inflow, a first salary, maturity proceeds leaving, …);
-- NULL for a campaign that selects its members once, at launch.
ALTER TABLE campaign ADD COLUMN trigger_event TEXT;
