-- A model's scorings by date, in row order: the newest date, and a date's
-- scores to replace or to expire, on a range of this index. It replaces
-- the index in score order (0016), whose upkeep in an order unrelated to
-- the rows' made a million scores take 8 s to delete and 3.5 s to insert
-- on SQLite (0.7 s and 1.0 s now); a list of the whole bank in score order
-- sorts the model's latest scores instead (0.45 s at 1M customers, a
-- branch's or an RM's book a fraction of that).
DROP INDEX customer_score_model;
CREATE INDEX customer_score_date ON customer_score (model_id, as_of);
