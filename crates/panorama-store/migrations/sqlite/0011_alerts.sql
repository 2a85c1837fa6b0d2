-- Alerts raised by the batch: the English text beside the Chinese one, and a
-- key that identifies the event (a birthday's date, a maturity's date, the
-- month of a balance swing) so that a rule raises an event once however many
-- batches see it. Tasks find their alert.

ALTER TABLE alert ADD COLUMN message_en TEXT;
ALTER TABLE alert ADD COLUMN event_key TEXT;
CREATE UNIQUE INDEX alert_event ON alert (customer_id, rule, event_key);
CREATE INDEX alert_as_of ON alert (as_of);
CREATE INDEX task_alert ON task (alert_id);
