-- 009: robots.txt per origin (cached with its expiry, shared by runs), and why an article's text
-- is not its page's (refused by robots.txt, the page failed, or its text was too short).

CREATE TABLE robots_txt (
    origin      TEXT PRIMARY KEY,            -- scheme://host[:port]
    rule        TEXT NOT NULL,               -- rules | allow_all (no file) | disallow_all (unreachable)
    status      INTEGER,                     -- HTTP status of the robots.txt fetch
    body        TEXT,                        -- the file (first 500 KiB) when rule = 'rules'
    error       TEXT,
    fetched_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL         -- fetched again after this
);

ALTER TABLE articles ADD COLUMN fallback_reason TEXT;  -- NULL when text_source = 'page'
