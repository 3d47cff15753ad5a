"""Feed health: weighted failure score, backoff, automatic disabling visible in SQL, and
`seedwatch feeds enable URL` bringing a feed back."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb

from extractors import health
from extractors.http import FetchResult
from extractors.polling import poll_feeds
from seedwatch import pipeline
from seedwatch.feedcmd import feeds_command
from tests.conftest import make_config
from tests.faultsrv import FaultServer

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _fail(cls: str, retry_after: float | None = None) -> FetchResult:
    return FetchResult("u", "u", "failed", status=500, error_class=cls, error=f"{cls} error",
                       retry_after=retry_after)


def _replay(results: list[FetchResult]) -> dict:
    state: dict = {"feed_id": "f"}
    for i, res in enumerate(results):
        state = health.next_state(state, res, T0 + timedelta(hours=7 * i))
    return state


def test_hard_errors_weigh_more_than_temporary_ones():
    hard, soft = _replay([_fail("permanent")] * 8), _replay([_fail("temporary")] * 8)
    assert hard["failure_score"] == 3 * soft["failure_score"] == 24
    assert hard["disabled"] and "8 failures in a row" in hard["disabled_reason"]
    assert not soft["disabled"]  # timeouts and 5xx for a day are not enough to give up


def test_backoff_grows_is_capped_and_honours_retry_after():
    waits = []
    state: dict = {"feed_id": "f"}
    for i in range(8):
        state = health.next_state(state, _fail("temporary"), T0)
        waits.append(state["next_fetch_after"] - T0)
    assert waits[0] == timedelta(minutes=5) and waits[1] == timedelta(minutes=10)
    assert max(waits) == health.BACKOFF_MAX
    later = health.next_state({"feed_id": "f"}, _fail("temporary", retry_after=7200), T0)
    assert later["next_fetch_after"] - T0 == timedelta(hours=2)
    ok = health.next_state(state, FetchResult("u", "u", "ok", status=200), T0)
    assert ok["consecutive_failures"] == 0 and ok["next_fetch_after"] is None
    assert ok["failure_score"] == state["failure_score"] * health.DECAY_ON_SUCCESS


def _cycle(wh, cfg, now: datetime) -> list:
    run_id = pipeline.new_run_id()
    states = pipeline.register_feeds(wh, cfg, run_id)
    lines = pipeline.store_polls(wh, poll_feeds(cfg.fetch, states, now=now), run_id)
    return lines


def test_sustained_failure_disables_and_enable_brings_back(tmp_path, capsys):
    with FaultServer() as srv:
        gone, good = f"{srv.base}/feeds/410", f"{srv.base}/feeds/wire.xml"
        cfg = make_config(tmp_path, [gone, good])
        wh = pipeline.warehouse_for(cfg)
        for i in range(10):  # ten runs, each after the longest backoff has passed
            _cycle(wh, cfg, datetime.now(timezone.utc) + timedelta(hours=7 * i))
        assert srv.hits["/feeds/410"] == health.DISABLE_MIN_FAILURES  # not fetched once disabled
        con = duckdb.connect(cfg.warehouse.path, read_only=True)
        row = con.execute("SELECT disabled, disabled_reason, consecutive_failures, failure_score "
                          "FROM feeds WHERE url = ?", [gone]).fetchone()
        good_row = con.execute("SELECT disabled, failure_score FROM feeds WHERE url = ?", [good]).fetchone()
        con.close()
        assert row[0] is True and "HTTP 410 Gone" in row[1] and row[2] == 8 and row[3] == 24
        assert good_row == (False, 0)

        assert feeds_command(cfg, "list", None) == 0
        listed = capsys.readouterr().out
        assert "disabled" in listed and "2 feeds, 1 disabled" in listed

        assert feeds_command(cfg, "enable", gone) == 0
        con = duckdb.connect(cfg.warehouse.path, read_only=True)
        row = con.execute("SELECT disabled, consecutive_failures, failure_score, next_fetch_after "
                          "FROM feeds WHERE url = ?", [gone]).fetchone()
        con.close()
        assert row == (False, 0, 0, None)
        lines = _cycle(wh, cfg, datetime.now(timezone.utc))
        assert srv.hits["/feeds/410"] == health.DISABLE_MIN_FAILURES + 1  # fetched again
        assert lines[0].outcome == "failed"


def test_feeds_command_errors(tmp_path, capsys):
    cfg = make_config(tmp_path, ["http://127.0.0.1:9/feed.xml"])
    assert feeds_command(cfg, "enable", "http://nowhere.example/rss") == 2
    assert feeds_command(cfg, "disable", None) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no feed 'http://nowhere.example/rss'" in err[0]
    assert feeds_command(cfg, "disable", "http://127.0.0.1:9/feed.xml") == 0
    assert feeds_command(cfg, "list", None) == 0
    assert "disabled by hand" in capsys.readouterr().out


def test_a_fetch_result_repr_leaves_out_the_body():
    """asyncio formats the repr of a finished run's result list on its way out (and a log line
    may too): a page body must not be in it."""
    res = FetchResult("http://a.example/p", "http://a.example/p", "ok", 200, b"<html>" + b"x" * 1_000_000)
    text = repr(res)
    assert len(text) < 500 and "xxxx" not in text and "status=200" in text
    assert res.nbytes == 1_000_006
