-- 008: the analyst's feedback and the web UI's requests, taken in by the monitor.
-- The UI never writes the warehouse (the flow is its only writer). It appends each click to the
-- inbox file next to the warehouse (`<name>.inbox.jsonl`); the next run copies every record it
-- has not taken in yet into these tables, keyed by the record's id, so a record is never lost and
-- never taken in twice. The inbox file itself is kept as it is (an audit trail).

-- One row per article labelled by one click. A click on a story labels each article the story
-- had when the analyst clicked (story_id says which story); a click on an article labels it alone.
CREATE TABLE feedback (
    feedback_id   TEXT PRIMARY KEY,           -- sha256(click id + article id)[:16]
    click_id      TEXT NOT NULL,              -- the inbox record's id
    topic         TEXT NOT NULL,
    article_id    TEXT NOT NULL,
    story_id      TEXT,                       -- the story clicked, NULL for an article click
    label         TEXT NOT NULL,              -- relevant | not_relevant
    given_at      TIMESTAMPTZ NOT NULL,       -- when the analyst clicked
    source        TEXT NOT NULL,              -- 'ui', or another tool that wrote the inbox
    ingested_at   TIMESTAMPTZ NOT NULL,       -- when a run took it in
    run_id        TEXT                        -- that run
);

-- Requests that change state other than labels (today: enable a disabled feed again). Applied by
-- the run that takes them in; applied_at records that it was done, once.
CREATE TABLE ui_requests (
    request_id    TEXT PRIMARY KEY,           -- the inbox record's id
    kind          TEXT NOT NULL,              -- feed_enable
    target        TEXT NOT NULL,              -- the feed id
    requested_at  TIMESTAMPTZ NOT NULL,
    applied_at    TIMESTAMPTZ NOT NULL,
    outcome       TEXT NOT NULL,              -- applied | unknown target
    run_id        TEXT
);

-- The label that counts for each article and topic: the analyst's latest click (on the article,
-- or on a story it was part of); on equal times an article click wins over a story click.
CREATE VIEW latest_feedback AS
SELECT topic, article_id, story_id, label, given_at, feedback_id
FROM feedback
QUALIFY row_number() OVER (PARTITION BY topic, article_id
                           ORDER BY given_at DESC, (story_id IS NULL) DESC, feedback_id DESC) = 1;
