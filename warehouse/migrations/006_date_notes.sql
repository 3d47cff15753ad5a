-- 006: dates out of range. A feed or page date before 1990 or more than a day after the article
-- was first seen (Go's zero time 0001-01-01 from Hugo feeds, years like 9999) is treated as
-- unknown: `published` is NULL, so the first-seen time stands in, and `published_note` says what
-- the source gave and that it was replaced. Rows stored before this version are repaired here.
ALTER TABLE entries ADD COLUMN published_note TEXT;
ALTER TABLE pending ADD COLUMN published_note TEXT;
ALTER TABLE articles ADD COLUMN published_note TEXT;

UPDATE entries SET published_note = 'date ' || strftime(published AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S')
        || ' out of range; first-seen time used', published = NULL
WHERE published < TIMESTAMPTZ '1990-01-01 00:00:00+00' OR published > first_seen + INTERVAL 1 DAY;
UPDATE pending SET published_note = 'date ' || strftime(published AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S')
        || ' out of range; first-seen time used', published = NULL
WHERE published < TIMESTAMPTZ '1990-01-01 00:00:00+00' OR published > first_seen + INTERVAL 1 DAY;
UPDATE articles SET published_note = 'date ' || strftime(published AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S')
        || ' out of range; first-seen time used', published = NULL
WHERE published < TIMESTAMPTZ '1990-01-01 00:00:00+00' OR published > first_seen + INTERVAL 1 DAY;
