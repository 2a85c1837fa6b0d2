-- Each arm's size kept at launch (the dashboards read it instead of
-- counting millions of memberships), the launch and finish dates, and a
-- finished campaign's results, frozen so campaigns can be compared later.
CREATE TABLE campaign_arm (
    campaign_id     BIGINT NOT NULL REFERENCES campaign (id),
    arm             TEXT NOT NULL,
    is_control      BIGINT NOT NULL CHECK (is_control IN (0, 1)),
    members         BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, arm)
);

INSERT INTO campaign_arm (campaign_id, arm, is_control, members)
SELECT campaign_id, arm, MAX(is_control), COUNT(*) FROM campaign_member GROUP BY campaign_id, arm;

ALTER TABLE campaign ADD COLUMN launched_on TEXT;
ALTER TABLE campaign ADD COLUMN finished_on TEXT;
ALTER TABLE campaign ADD COLUMN results TEXT;

UPDATE campaign SET launched_on = (SELECT MIN(m.selected_on) FROM campaign_member m WHERE m.campaign_id = campaign.id)
WHERE status IN ('live', 'finished');
