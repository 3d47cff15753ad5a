-- 003: read-side views over the tables of 001, for `seedwatch sql` and other tools.
-- Views are stored as SQL text and bound when queried, so they work in the snapshot and in the
-- DuckDB CLI too. Days are UTC calendar days, whatever the session's TimeZone setting.
-- An article's outlet is its feed's name up to ' - ' ('Peninsula Wire - North Korea' -> 'Peninsula
-- Wire'), else the feed URL: the same rule as 002's article_outlets, restated so as not to depend on it.

-- The latest verdict of each article on each topic (a re-score by a newer detector wins).
CREATE VIEW latest_scores AS
SELECT * FROM scores
QUALIFY row_number() OVER (PARTITION BY article_id, topic
                           ORDER BY scored_at DESC, detector_version DESC) = 1;

-- Articles whose latest verdict is a match, with why, newest first.
CREATE VIEW recent_matches AS
SELECT coalesce(a.published, a.first_seen)           AS published,
       a.first_seen,
       s.topic,
       round(s.score, 4)                              AS score,
       TRY_CAST(s.explanation ->> 'threshold' AS DOUBLE) AS threshold,
       coalesce(nullif(trim(split_part(f.name, ' - ', 1)), ''), f.url) AS outlet,
       a.title,
       a.language,
       s.explanation ->> 'summary'                    AS why,
       s.explanation ->> 'passage'                    AS passage,
       a.canonical_url,
       a.article_id,
       a.feed_id,
       a.run_id,
       s.detector_version,
       s.scored_at,
       s.explanation
FROM latest_scores s
JOIN articles a USING (article_id)
LEFT JOIN feeds f ON f.feed_id = a.feed_id
WHERE s.decision
ORDER BY coalesce(a.published, a.first_seen) DESC, s.score DESC, a.article_id;

-- Articles and matches per outlet per UTC day of publication (first seen when undated).
CREATE VIEW coverage_by_outlet_day AS
WITH matched AS (
    SELECT article_id, count(*) AS topics FROM latest_scores WHERE decision GROUP BY article_id
)
SELECT CAST(timezone('UTC', coalesce(a.published, a.first_seen)) AS DATE) AS day,
       coalesce(nullif(trim(split_part(f.name, ' - ', 1)), ''), f.url, '(unknown feed)') AS outlet,
       count(*)                                        AS articles,
       count(m.article_id)                             AS matches,
       count(*) FILTER (WHERE a.text_source = 'page')  AS full_text
FROM articles a
LEFT JOIN feeds f ON f.feed_id = a.feed_id
LEFT JOIN matched m ON m.article_id = a.article_id
GROUP BY ALL
ORDER BY day DESC, articles DESC, outlet;

-- One row per feed: is it healthy, failing, or disabled, and when is it fetched next.
CREATE VIEW feed_health AS
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
       s.last_article_at
FROM feeds f
LEFT JOIN stored s ON s.feed_id = f.feed_id
ORDER BY f.disabled DESC, f.consecutive_failures DESC, f.failure_score DESC, f.name, f.url;

-- Delivery status of each alert on its channel, with its attempts and the last answer.
CREATE VIEW alert_status AS
WITH tries AS (
    SELECT alert_id, count(*) AS attempts_logged, max(attempted_at) AS last_attempt_at,
           count(*) FILTER (WHERE NOT ok) AS failed_attempts
    FROM alert_attempts GROUP BY alert_id
)
SELECT a.alert_id,
       a.channel,
       a.topic,
       a.subject_kind,
       a.subject_id,
       a.title,
       a.status,
       a.attempts,
       coalesce(t.failed_attempts, 0) AS failed_attempts,
       a.created_at,
       t.last_attempt_at,
       a.delivered_at,
       a.next_attempt_at,
       a.last_response
FROM alerts a
LEFT JOIN tries t ON t.alert_id = a.alert_id
ORDER BY a.created_at DESC, a.alert_id;

-- One row per monitoring run, newest first, with the counts of its summary.
CREATE VIEW run_history AS
SELECT run_id,
       started_at,
       finished_at,
       CASE WHEN finished_at IS NULL THEN 'running or crashed'
            WHEN TRY_CAST(summary ->> 'interrupted' AS BOOLEAN) THEN 'interrupted'
            ELSE 'finished' END                              AS status,
       round(epoch(finished_at - started_at), 1)             AS seconds,
       TRY_CAST(summary ->> 'new_entries'   AS INTEGER)      AS new_entries,
       TRY_CAST(summary ->> 'new_articles'  AS INTEGER)      AS new_articles,
       TRY_CAST(summary ->> 'new_matches'   AS INTEGER)      AS new_matches,
       TRY_CAST(summary ->> 'pages_fetched' AS INTEGER)      AS pages_fetched,
       TRY_CAST(summary ->> 'pages_failed'  AS INTEGER)      AS pages_failed,
       TRY_CAST(summary ->> 'alerts_sent'   AS INTEGER)      AS alerts_sent,
       TRY_CAST(summary ->> 'alerts_failed' AS INTEGER)      AS alerts_failed,
       summary -> 'feeds'                                    AS feed_outcomes
FROM runs
ORDER BY started_at DESC;
