-- Customer lists join each customer's headline features of the latest date
-- and sort by them; the rows also hold the whole feature vector as JSON, so
-- a covering index keeps lists off the wide rows (an RM's list of 12,000
-- customers at 1M: 275 ms reading the rows).
CREATE INDEX customer_features_list ON customer_features
    (customer_id, as_of, aum_minor, aum_avg_minor, profit_minor, tier);

-- An RM's open assignments, with the customer in the index: their list
-- is an index range, never the assignment rows.
DROP INDEX assignment_rm;
CREATE INDEX assignment_rm ON assignment (rm_user_id, to_date, customer_id);

-- The 360's relationships are looked up from both ends; only the "from" end
-- had an index (the other scanned 700,000 relationships at 1M: 150 ms).
CREATE INDEX party_relationship_to ON party_relationship (to_customer_id);

-- An RM's list is read from their open assignments alone, which holds when
-- every open assignment belongs to an active customer: merges now carry
-- assignments over to the survivor; end those left on merged customers.
UPDATE assignment SET to_date = (
    SELECT substr(c.updated_at, 1, 10) FROM customer c WHERE c.id = assignment.customer_id)
WHERE to_date IS NULL
  AND customer_id IN (SELECT id FROM customer WHERE status <> 'active');
