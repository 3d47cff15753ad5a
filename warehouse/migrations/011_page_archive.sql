-- 011: the raw page archive's index (bodies live in WARC files beside the warehouse), and
-- when an article's stored text last changed after it was first stored (page retry, reextract).

CREATE TABLE page_archive (
    article_id    TEXT NOT NULL,                -- the article the page was fetched for
    url           TEXT NOT NULL,                -- the link requested
    final_url     TEXT,                         -- after redirects (WARC-Target-URI)
    status        INTEGER,
    content_type  TEXT,
    bytes         BIGINT,                       -- body size, uncompressed
    fetched_at    TIMESTAMPTZ NOT NULL,
    warc_file     TEXT NOT NULL,                -- relative to the archive folder
    warc_offset   BIGINT NOT NULL,              -- the record's gzip member: offset ...
    warc_length   BIGINT NOT NULL,              -- ... and length in the file
    run_id        TEXT,
    PRIMARY KEY (warc_file, warc_offset)
);

ALTER TABLE articles ADD COLUMN updated_at TIMESTAMPTZ;  -- NULL until the text is replaced
