-- 001: feeds and their fetch state, the fetch log, entries, articles, scores, alerts, runs.

CREATE TABLE feeds (
    feed_id              TEXT PRIMARY KEY,      -- sha256(url)[:16]
    url                  TEXT NOT NULL UNIQUE,
    name                 TEXT,
    language             TEXT,
    etag                 TEXT,                  -- for conditional GET
    last_modified        TEXT,
    last_fetched_at      TIMESTAMPTZ,
    last_status          INTEGER,
    last_outcome         TEXT,                  -- ok | not_modified | failed | skipped
    last_success_at      TIMESTAMPTZ,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failure_score        DOUBLE  NOT NULL DEFAULT 0,
    next_fetch_after     TIMESTAMPTZ,           -- backoff after failures / Retry-After
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_reason      TEXT,
    added_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE fetch_log (
    run_id       TEXT NOT NULL,
    kind         TEXT NOT NULL,                 -- feed | page
    url          TEXT NOT NULL,
    feed_id      TEXT,
    status       INTEGER,                       -- HTTP status, NULL when no response
    outcome      TEXT NOT NULL,                 -- ok | not_modified | failed | skipped
    error_class  TEXT,                          -- temporary | permanent | skip
    error        TEXT,
    bytes        BIGINT,
    duration_ms  DOUBLE,
    fetched_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE entries (
    entry_id       TEXT PRIMARY KEY,            -- sha256(feed_id + guid or link)[:16]
    feed_id        TEXT NOT NULL,
    guid           TEXT,
    link           TEXT,
    canonical_url  TEXT,
    title          TEXT,
    summary        TEXT,
    content        TEXT,                        -- full text when the feed carries it
    language       TEXT,
    published      TIMESTAMPTZ,
    first_seen     TIMESTAMPTZ NOT NULL,
    run_id         TEXT
);

CREATE TABLE articles (
    article_id     TEXT PRIMARY KEY,            -- sha256(canonical_url)[:16]
    canonical_url  TEXT NOT NULL UNIQUE,
    url            TEXT,                        -- the URL as fetched (after redirects)
    feed_id        TEXT,                        -- first feed it was seen in
    title          TEXT,
    text           TEXT,
    text_source    TEXT NOT NULL,               -- page | feed_content | feed_summary | title
    extractor      TEXT,
    author         TEXT,
    site           TEXT,
    published      TIMESTAMPTZ,
    language       TEXT,
    content_hash   TEXT NOT NULL,               -- sha256 of normalised text
    first_seen     TIMESTAMPTZ NOT NULL,
    run_id         TEXT
);

CREATE TABLE scores (
    article_id        TEXT NOT NULL,
    topic             TEXT NOT NULL,
    score             DOUBLE NOT NULL,
    decision          BOOLEAN NOT NULL,
    explanation       JSON,
    detector_version  TEXT NOT NULL,
    scored_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (article_id, topic, detector_version)
);

CREATE TABLE alerts (
    alert_id      TEXT PRIMARY KEY,             -- sha256(channel + topic + subject)[:16]
    channel       TEXT NOT NULL,                -- redacted channel id, never the secret URL
    topic         TEXT NOT NULL,
    subject_kind  TEXT NOT NULL,                -- article | story | digest | test
    subject_id    TEXT NOT NULL,
    title         TEXT,
    body          TEXT,
    status        TEXT NOT NULL,                -- pending | delivered | failed
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ,
    delivered_at  TIMESTAMPTZ,
    last_response TEXT
);

CREATE TABLE alert_attempts (
    alert_id     TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    attempted_at TIMESTAMPTZ NOT NULL,
    ok           BOOLEAN NOT NULL,
    response     TEXT,
    PRIMARY KEY (alert_id, attempt)
);

CREATE TABLE runs (
    run_id       TEXT PRIMARY KEY,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    summary      JSON
);
