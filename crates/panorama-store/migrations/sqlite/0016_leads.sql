-- An RM's campaign leads are their open call tasks of each live campaign:
-- counted and listed on an index range per campaign (an RM with 44,000
-- open campaign tasks at 1M customers).
CREATE INDEX task_campaign ON task (owner_user_id, campaign_id, status, id);

-- A model's latest scoring date, and its scores in order, without reading
-- the 3 scorings kept of every customer.
CREATE INDEX customer_score_model ON customer_score (model_id, as_of, score);
