-- Per-record ECIF: each source record's blocking keys (kind = the blocking
-- rule's index) and term-frequency keys (kind = 100 + the field's index), as
-- the last resolution computed them, so a record arriving between nightly
-- runs finds its candidate matches and its name's frequency by index
-- instead of reading the whole bank.
CREATE TABLE ecif_key (
    party_type TEXT NOT NULL,
    kind       INTEGER NOT NULL,
    key_hash   INTEGER NOT NULL,
    record_id  INTEGER NOT NULL
);
CREATE INDEX ecif_key_lookup ON ecif_key (party_type, kind, key_hash);
CREATE INDEX ecif_key_record ON ecif_key (record_id);
