-- What kind of customers an RM serves: `wealth` (the top tiers), `general`
-- or `corporate`. When a customer's tier crosses into or out of the wealth
-- tiers, the branch manager is offered a move to an RM of the right kind.
ALTER TABLE app_user ADD COLUMN portfolio TEXT NOT NULL DEFAULT 'general';
