-- 002: duplicate groups (exact text and MinHash near-duplicates), stories of matched articles,
-- alert-to-story links, and a delivery lease on the alert outbox.

-- Every article gets one row once grouped. dup_group_id is the article_id of the group's
-- first article (an article alone in its group points to itself, method 'unique').
-- Same canonical URL / feed GUID is the key of articles and entries: see duplicate_entries.
CREATE TABLE article_groups (
    article_id    TEXT PRIMARY KEY,
    dup_group_id  TEXT NOT NULL,
    method        TEXT NOT NULL,              -- unique | exact (content_hash) | minhash
    similarity    DOUBLE NOT NULL,            -- estimated Jaccard of word 3-shingles (1 for exact)
    matched_id    TEXT,                       -- the stored article it was matched with
    grouped_at    TIMESTAMPTZ NOT NULL
);

-- MinHash signatures and LSH band keys of articles long enough to compare. New articles find
-- candidates by joining their band keys with this table (recent rows only).
CREATE TABLE article_sketches (
    article_id    TEXT PRIMARY KEY,
    signature     BIGINT[] NOT NULL,
    seen_at       TIMESTAMPTZ NOT NULL
);
CREATE TABLE neardup_bands (
    band_key      BIGINT NOT NULL,
    article_id    TEXT NOT NULL,
    seen_at       TIMESTAMPTZ NOT NULL
);

-- A story: one event, the matched articles and updates that report it (per topic).
CREATE TABLE stories (
    story_id      TEXT PRIMARY KEY,           -- sha256(topic + first article id)[:16]
    topic         TEXT NOT NULL,
    first_seen    TIMESTAMPTZ NOT NULL,       -- earliest article time (published, else first seen)
    last_updated  TIMESTAMPTZ NOT NULL,       -- latest article time
    headline      TEXT,                       -- title of the best-scoring article
    headline_article_id TEXT,
    outlets       TEXT[],
    article_count INTEGER NOT NULL,
    max_score     DOUBLE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE TABLE story_members (
    article_id    TEXT NOT NULL,
    topic         TEXT NOT NULL,
    story_id      TEXT NOT NULL,
    joined_by     TEXT NOT NULL,              -- new | dup_group | similar
    similarity    DOUBLE,
    article_at    TIMESTAMPTZ NOT NULL,
    language      TEXT,
    features      JSON,                       -- lead concepts and words used to match later articles
    joined_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (article_id, topic)
);

-- Which stories an alert covers (one for an immediate alert, several for a digest).
CREATE TABLE alert_stories (
    alert_id      TEXT NOT NULL,
    story_id      TEXT NOT NULL,
    PRIMARY KEY (alert_id, story_id)
);

-- A delivery claims an alert (status 'sending') until lease_until; a claim left by a process
-- that died is retried once the lease has run out.
ALTER TABLE alerts ADD COLUMN lease_until TIMESTAMPTZ;

CREATE VIEW article_outlets AS
SELECT a.article_id, coalesce(nullif(trim(split_part(f.name, ' - ', 1)), ''), a.site, f.url) AS outlet
FROM articles a LEFT JOIN feeds f ON f.feed_id = a.feed_id;

CREATE VIEW duplicate_entries AS
SELECT e.entry_id, e.feed_id, e.guid, e.link, a.article_id, a.canonical_url
FROM entries e JOIN articles a
  ON a.canonical_url = coalesce(e.canonical_url, 'urn:seedwatch:entry:' || e.entry_id);

CREATE VIEW story_articles AS
SELECT s.story_id, s.topic, s.headline, s.first_seen, s.last_updated, s.article_count,
       m.article_id, m.joined_by, m.similarity, m.article_at, o.outlet, a.title, a.language,
       a.canonical_url, g.dup_group_id, g.method AS dup_method,
       (SELECT max(sc.score) FROM scores sc WHERE sc.article_id = m.article_id AND sc.topic = m.topic) AS score
FROM stories s
JOIN story_members m ON m.story_id = s.story_id
JOIN articles a ON a.article_id = m.article_id
LEFT JOIN article_outlets o ON o.article_id = m.article_id
LEFT JOIN article_groups g ON g.article_id = m.article_id;

CREATE VIEW story_first_outlet AS
SELECT story_id, topic, headline, outlet AS first_outlet, article_id, title, article_at AS first_at
FROM (SELECT *, row_number() OVER (PARTITION BY story_id ORDER BY article_at, article_id) AS rn
      FROM story_articles)
WHERE rn = 1;
