-- 010: adaptive polling. Each feed's publishing rate (exponentially weighted new entries over
-- hours watched), the interval it gives within the [schedule] bounds, and the next poll.
-- feed_health shows them (next_poll_at, interval_minutes).

ALTER TABLE feeds ADD COLUMN next_poll_at TIMESTAMPTZ;              -- not polled before this (schedule)
ALTER TABLE feeds ADD COLUMN poll_interval_minutes DOUBLE;          -- current interval
ALTER TABLE feeds ADD COLUMN rate_entries DOUBLE;                   -- weighted new entries ...
ALTER TABLE feeds ADD COLUMN rate_hours DOUBLE;                     -- ... over weighted hours watched
ALTER TABLE feeds ADD COLUMN declared_interval_minutes DOUBLE;      -- the feed's ttl / sy:updatePeriod

CREATE OR REPLACE VIEW feed_health AS
WITH stored AS (
    SELECT feed_id, count(*) AS articles, max(first_seen) AS last_article_at
    FROM articles GROUP BY feed_id
)
SELECT f.feed_id,
       coalesce(nullif(trim(split_part(f.name, ' - ', 1)), ''), f.url) AS outlet,
       f.name                   AS feed,
       f.url,
       CASE WHEN f.disabled THEN 'disabled'
            WHEN f.last_fetched_at IS NULL THEN 'never fetched'
            WHEN f.consecutive_failures > 0 THEN 'failing'
            ELSE 'ok' END       AS health,
       f.last_outcome,
       f.last_status,
       f.last_fetched_at,
       f.last_success_at,
       f.consecutive_failures,
       round(f.failure_score, 3) AS failure_score,
       f.disabled,
       f.disabled_reason,
       f.last_error,
       f.next_fetch_after,
       coalesce(s.articles, 0)  AS articles,
       s.last_article_at,
       CASE WHEN f.disabled THEN NULL
            ELSE greatest(f.next_poll_at, f.next_fetch_after) END AS next_poll_at,
       f.poll_interval_minutes  AS interval_minutes,
       round(24 * f.rate_entries / nullif(f.rate_hours, 0), 2) AS entries_per_day,
       f.declared_interval_minutes
FROM feeds f
LEFT JOIN stored s ON s.feed_id = f.feed_id
ORDER BY f.disabled DESC, f.consecutive_failures DESC, f.failure_score DESC, f.name, f.url;
