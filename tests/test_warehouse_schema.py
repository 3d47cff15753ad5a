"""The warehouse schema as a product: documented, upgradable in place, and its views correct."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from warehouse import db
from warehouse.db import Warehouse, migrate, migrations, schema_version

DOCS = Path(__file__).resolve().parent.parent / "docs" / "warehouse.md"
VIEWS = {"recent_matches", "coverage_by_outlet_day", "feed_health", "alert_status", "run_history"}


def live_schema(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """{table or view: [columns]} of the main schema, read from the database itself."""
    rows = con.execute("""SELECT table_name, column_name FROM information_schema.columns
                          WHERE table_schema = 'main' ORDER BY table_name, ordinal_position""").fetchall()
    schema: dict[str, list[str]] = {}
    for table, column in rows:
        schema.setdefault(table, []).append(column)
    return schema


def doc_sections(text: str) -> dict[str, str]:
    """The text under each heading that names one relation: ### `name`."""
    parts = re.split(r"^(#{2,4}) `([a-z0-9_]+)`.*$", text, flags=re.M)
    # A section ends at the next heading of any level.
    return {parts[i + 1]: re.split(r"^#", parts[i + 2], flags=re.M)[0]
            for i in range(1, len(parts) - 2, 3)}


@pytest.fixture
def fresh():
    con = duckdb.connect()
    migrate(con)
    yield con
    con.close()


def test_every_table_view_and_column_is_documented(fresh):
    sections = doc_sections(DOCS.read_text(encoding="utf-8"))
    schema = live_schema(fresh)
    assert VIEWS <= set(schema)
    missing = []
    for relation, columns in schema.items():
        if relation not in sections:
            missing.append(f"section ### `{relation}`")
            continue
        missing += [f"{relation}.{c}" for c in columns if f"`{c}`" not in sections[relation]]
    assert not missing, f"docs/warehouse.md does not document: {', '.join(missing)}"
    stale = set(sections) - set(schema)
    assert not stale, f"docs/warehouse.md documents relations that do not exist: {sorted(stale)}"


def test_latest_migration_is_recorded_once(fresh):
    versions = [v for v, _, _ in migrations()]
    assert schema_version(fresh) == max(versions)
    assert migrate(fresh) == []  # idempotent
    assert fresh.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(versions)


def _seed_v1(con: duckdb.DuckDBPyConnection) -> None:
    """Rows as a version-1 warehouse would hold them."""
    t = datetime(2026, 11, 17, 9, 0, tzinfo=timezone.utc)
    con.execute("INSERT INTO feeds (feed_id, url, name, last_fetched_at, last_success_at, last_outcome) "
                "VALUES ('f1', 'http://a/feed.xml', 'Wire', ?, ?, 'ok')", [t, t])
    con.execute("""INSERT INTO feeds (feed_id, url, name, last_fetched_at, last_outcome, last_error,
                   consecutive_failures, failure_score, next_fetch_after)
                   VALUES ('f2', 'http://b/feed.xml', 'Daily', ?, 'failed', 'HTTP 503', 3, 2.5, ?)""",
                [t, t + timedelta(hours=1)])
    for i, (title, published) in enumerate([("Talks offer", t), ("Stocks", t - timedelta(days=1))]):
        con.execute("""INSERT INTO articles (article_id, canonical_url, feed_id, title, text, text_source,
                       content_hash, published, first_seen, run_id)
                       VALUES (?, ?, 'f1', ?, 'text', 'page', 'h', ?, ?, 'r1')""",
                    [f"a{i}", f"http://a/{i}", title, published, t])
    explanation = json.dumps({"summary": "talks + both Koreas", "passage": "p", "threshold": 0.65})
    con.execute("INSERT INTO scores VALUES ('a0', 'korea', 0.9, TRUE, ?, 'v1', ?), "
                "('a1', 'korea', 0.1, FALSE, NULL, 'v1', ?)", [explanation, t, t])
    con.execute("""INSERT INTO alerts (alert_id, channel, topic, subject_kind, subject_id, title, status,
                   attempts, created_at, last_response) VALUES
                   ('al1', 'hook#1', 'korea', 'article', 'a0', 'Talks offer', 'failed', 2, ?, 'HTTP 500')""", [t])
    con.execute("INSERT INTO alert_attempts VALUES ('al1', 1, ?, FALSE, 'HTTP 500'), "
                "('al1', 2, ?, FALSE, 'HTTP 500')", [t, t + timedelta(minutes=1)])
    con.execute("INSERT INTO runs VALUES ('r1', ?, ?, ?)",
                [t, t + timedelta(seconds=3), json.dumps({"new_articles": 2, "new_matches": 1})])


def test_old_warehouse_is_upgraded_in_place_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    con = db.open_connection(path)
    try:
        assert migrate(con, target=1) == [1]
        _seed_v1(con)
        before = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("feeds", "articles", "scores", "alerts", "alert_attempts", "runs")}
    finally:
        con.close()

    with Warehouse(path).connect() as con:  # the flow's first connection migrates
        assert schema_version(con) == max(v for v, _, _ in migrations())
        for table, n in before.items():
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == n
        # The new views work on the old rows.
        assert con.execute("SELECT title, why FROM recent_matches").fetchall() == \
            [("Talks offer", "talks + both Koreas")]
        assert con.execute("SELECT outlet, health FROM feed_health").fetchall() == \
            [("Daily", "failing"), ("Wire", "ok")]


def test_views_compute_health_delivery_coverage_and_runs(tmp_path):
    con = duckdb.connect()
    migrate(con)
    _seed_v1(con)
    # A newer detector version changes its mind: the latest verdict counts.
    con.execute("INSERT INTO scores VALUES ('a1', 'korea', 0.8, TRUE, NULL, 'v2', ?)",
                [datetime(2026, 11, 18, tzinfo=timezone.utc)])
    assert {r[0] for r in con.execute("SELECT title FROM recent_matches").fetchall()} == \
        {"Talks offer", "Stocks"}
    assert con.execute("SELECT title FROM recent_matches LIMIT 1").fetchone()[0] == "Talks offer"
    assert con.execute("SELECT consecutive_failures, failure_score, last_error, next_fetch_after IS NOT NULL "
                       "FROM feed_health WHERE health = 'failing'").fetchone() == (3, 2.5, "HTTP 503", True)
    assert con.execute("SELECT status, attempts, failed_attempts, last_response FROM alert_status"
                       ).fetchone() == ("failed", 2, 2, "HTTP 500")
    assert con.execute("SELECT CAST(day AS TEXT), articles, matches FROM coverage_by_outlet_day ORDER BY day"
                       ).fetchall() == [("2026-11-16", 1, 1), ("2026-11-17", 1, 1)]
    assert con.execute("SELECT status, seconds, new_articles, new_matches FROM run_history").fetchone() == \
        ("finished", 3.0, 2, 1)


def test_a_migration_merged_below_the_latest_version_is_still_applied(monkeypatch):
    """Migrations are pending when unrecorded, not when above the highest recorded version."""
    con = duckdb.connect()
    one = (1, "a", "CREATE TABLE a (x INTEGER);")
    two = (2, "b", "CREATE TABLE b (x INTEGER);")
    three = (3, "c", "CREATE VIEW c AS SELECT * FROM a;")
    monkeypatch.setattr(db, "migrations", lambda: [one, three])
    assert migrate(con) == [1, 3]
    monkeypatch.setattr(db, "migrations", lambda: [one, two, three])
    assert migrate(con) == [2]
    assert con.execute("SELECT count(*) FROM b").fetchone()[0] == 0
