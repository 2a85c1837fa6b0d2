-- Priority between overlapping campaigns: a customer who is a member of a
-- live campaign of higher priority is not selected by another.
ALTER TABLE campaign ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
