-- 004: the queue of entries whose article is not stored yet.
-- The pipeline used to find them with an anti-join of all entries against all articles, once per
-- batch: a cost that grew with the warehouse. Now an entry is queued (in the transaction that
-- stores it) only when its article is new, and leaves the queue in the transaction that stores
-- its article, so reading the next batch touches the queue alone. Rows carry what the pipeline
-- needs of the entry, so no join with `entries` is needed either.
CREATE TABLE pending (
    entry_id       TEXT PRIMARY KEY,
    article_url    TEXT NOT NULL,               -- canonical_url, or urn:seedwatch:entry:<entry_id>
    feed_id        TEXT NOT NULL,
    guid           TEXT,
    link           TEXT,
    canonical_url  TEXT,
    title          TEXT,
    summary        TEXT,
    content        TEXT,
    language       TEXT,
    published      TIMESTAMPTZ,
    first_seen     TIMESTAMPTZ NOT NULL,
    run_id         TEXT
);

INSERT INTO pending
SELECT e.entry_id, coalesce(e.canonical_url, 'urn:seedwatch:entry:' || e.entry_id), e.feed_id, e.guid,
       e.link, e.canonical_url, e.title, e.summary, e.content, e.language, e.published, e.first_seen,
       e.run_id
FROM entries e
WHERE NOT EXISTS (SELECT 1 FROM articles a
                  WHERE a.canonical_url = coalesce(e.canonical_url, 'urn:seedwatch:entry:' || e.entry_id));
