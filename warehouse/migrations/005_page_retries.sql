-- 005: pages to fetch again. An article whose page failed with a temporary error (timeout,
-- 5xx, 429, connection refused) is stored at once with the feed's own text, so it is scored
-- and can alert within the run; its page is queued here and fetched again on later runs.
-- When the page arrives, the article's text is upgraded and it is scored again.
CREATE TABLE page_retries (
    article_id      TEXT PRIMARY KEY,
    link            TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,    -- retries made so far
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL
);
