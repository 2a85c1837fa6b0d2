-- The profit Pareto sums the top customers by profit: an index walk in
-- profit order, not a sort of the bank (1,000,000 profits fetched and
-- sorted: 2–3 s of the head office's dashboard).
CREATE INDEX customer_features_profit ON customer_features (as_of, profit_minor);
