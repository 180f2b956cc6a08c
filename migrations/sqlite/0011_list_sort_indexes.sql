-- Sorted lists (issue 20) page by a keyset on the sort key and id: the
-- toxicities newest first (sort=-onset_on) walk this index, at any depth,
-- instead of sorting every match for each page.
CREATE INDEX toxicities_by_onset ON toxicities (onset_on, id);
