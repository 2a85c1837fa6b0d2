-- The analytics snapshot exports balances and transactions one ingest batch
-- at a time and compares each batch's row count with the last export. Without
-- an index on batch_id both the counts (GROUP BY batch_id) and each batch's
-- read scan and sort the whole table: at 1M customers SQLite held every
-- transaction's batch id in memory to count them.
CREATE INDEX txn_batch ON txn (batch_id);
CREATE INDEX balance_monthly_batch ON balance_monthly (batch_id);
