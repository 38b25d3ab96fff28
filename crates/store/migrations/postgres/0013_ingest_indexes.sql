-- Fewer index entries per episode at ingest (issue 19). Every index of `episodes` is
-- written for every episode, and those keyed by person land on a random page: one
-- page more in the write-ahead log per episode, copied again by the checkpoint.
-- * A person's episodes are few and lie together under the primary key
--   (person_id, id): the book's reads by time range and order take that range and sort
--   it, so (person_id, start_at) is not needed.
-- * No query looks an episode up by (person_id, visible_at).
-- * Only referred episodes are looked up by referral: the index keeps only those.
DROP INDEX IF EXISTS episodes_person_time;
DROP INDEX IF EXISTS episodes_person_visible;
DROP INDEX IF EXISTS episodes_referral;
CREATE INDEX episodes_referral ON episodes(referral_to, referral_number) WHERE referral_to IS NOT NULL;
