"""Per-story alerts through the outbox, against a real webhook receiver and a real SMTP server:
one alert per story, nothing twice on reruns, retries after failures, and SIGKILL between
writing and delivering loses nothing."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller

from alerts import outbox as alert_outbox
from alerts.testsend import send_test
from seedwatch import pipeline
from tests.conftest import REPO, write_config
from tests.test_pipeline import query, run_once


def _posts(httpserver) -> list[dict]:
    return [{"key": req.headers.get("Idempotency-Key"), **json.loads(req.get_data())}
            for req, _resp in httpserver.log if req.method == "POST"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _later(minutes: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)


def _store_articles(cfg) -> None:
    """Feeds → articles → scores, without alerts (what a run does before its alert stage)."""
    wh = pipeline.warehouse_for(cfg)
    run_id = pipeline.new_run_id()
    states = pipeline.register_feeds(wh, cfg, run_id)
    pipeline.store_polls(wh, pipeline.poll(cfg, states), run_id)
    while pending := pipeline.next_pending(wh, 10):
        pipeline.process_batch(wh, cfg, pipeline.load_detectors(cfg), pending, run_id)


@pytest.fixture
def hook(httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return httpserver


def test_one_webhook_alert_per_story_and_reruns_send_nothing(site, config_for, hook):
    cfg = config_for([f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"],
                     alerts=[{"url": f"json://127.0.0.1:{hook.port}/hook"}])
    _, _, report = run_once(cfg)
    stories = query(cfg, "SELECT story_id, article_count FROM stories")
    matched = query(cfg, "SELECT count(DISTINCT article_id) FROM scores WHERE decision")[0][0]
    assert sum(n for _, n in stories) == matched > len(stories) >= 1  # updates share a story
    posts = _posts(hook)
    assert report.sent == len(posts) == len(stories)
    ids = {r[0] for r in query(cfg, "SELECT alert_id FROM alerts WHERE status = 'delivered'")}
    assert {p["key"] for p in posts} == {p["alert_id"] for p in posts} == ids
    urls = [r[0] for r in query(cfg, "SELECT canonical_url FROM story_articles")]
    body = "\n".join(p["message"] for p in posts)
    assert all(u in body for u in urls) and "Why:" in body and "score" in body

    _, _, report2 = run_once(cfg)  # nothing new: nothing sent
    assert report2.sent == 0 and len(_posts(hook)) == len(posts)


def test_email_alert_through_a_real_smtp_server(site, config_for):
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.content.decode("utf-8", "replace"))
            return "250 OK"

    port = _free_port()
    smtp = Controller(Handler(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        cfg = config_for([f"{site.base}/feeds/wire.xml"], alerts=[
            {"url": f"mailto://127.0.0.1:{port}?from=seedwatch@example.org&to=desk@example.org"}])
        _, _, report = run_once(cfg)
        run_once(cfg)
    finally:
        smtp.stop()
    stories = query(cfg, "SELECT count(*) FROM stories")[0][0]
    assert report.sent == len(received) == stories >= 1
    assert all("X-Seedwatch-Alert-Id:" in m and "Subject: [inter-korean-diplomacy]" in m for m in received)


def test_failed_receiver_gets_the_alert_once_it_recovers(site, config_for, httpserver):
    httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("boom", status=500)
    cfg = config_for([f"{site.base}/feeds/daily.xml"],
                     alerts=[{"url": f"json://127.0.0.1:{httpserver.port}/hook"}])
    _, _, report = run_once(cfg)
    n = query(cfg, "SELECT count(*) FROM stories")[0][0]
    assert report.failed == n >= 1 and report.sent == 0
    assert query(cfg, "SELECT DISTINCT status, attempts FROM alerts") == [("failed", 1)]
    wh, channels = pipeline.warehouse_for(cfg), pipeline.channels_of(cfg)
    assert alert_outbox.deliver_due(wh, channels).sent == 0  # backoff: not due yet

    httpserver.stop()  # connection refused
    r2 = alert_outbox.deliver_due(wh, channels, now=_later(2))
    assert r2.failed == n and query(cfg, "SELECT DISTINCT attempts FROM alerts") == [(2,)]

    httpserver.clear()
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    httpserver.start()
    r3 = alert_outbox.deliver_due(wh, channels, now=_later(10))
    assert r3.sent == n and len(_posts(httpserver)) == n
    assert query(cfg, "SELECT DISTINCT status FROM alerts") == [("delivered",)]
    assert query(cfg, "SELECT count(*) FROM alert_attempts")[0][0] == 3 * n
    assert alert_outbox.deliver_due(wh, channels, now=_later(60)).sent == 0


KILLER = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from alerts import outbox
    from alerts.channels import send
    from seedwatch import pipeline
    from seedwatch.config import load_config
    cfg = load_config(sys.argv[1])
    wh = pipeline.warehouse_for(cfg)
    pipeline.queue_alerts(wh, cfg)              # the outbox rows are written (pending)
    if sys.argv[2] == "after_enqueue":
        os.kill(os.getpid(), signal.SIGKILL)
    def sender(channel, title, body, alert_id=None):
        if sys.argv[2] == "after_send":         # delivered, but not yet recorded
            send(channel, title, body, alert_id=alert_id)
        os.kill(os.getpid(), signal.SIGKILL)    # before_send: claimed, nothing sent
    outbox.deliver_due(wh, pipeline.channels_of(cfg), sender)
""")


@pytest.mark.slow
@pytest.mark.parametrize("when", ["after_enqueue", "before_send", "after_send"])
def test_sigkill_between_outbox_write_and_delivery(site, config_for, hook, tmp_path, when):
    cfg = config_for([f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"],
                     alerts=[{"url": f"json://127.0.0.1:{hook.port}/hook"}])
    _store_articles(cfg)
    script = tmp_path / "killer.py"
    script.write_text(KILLER.format(repo=str(REPO)), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), str(write_config(tmp_path / "c.toml", cfg)), when],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    stories = query(cfg, "SELECT count(*) FROM stories")[0][0]
    assert query(cfg, "SELECT count(*) FROM alerts")[0][0] == stories >= 1  # nothing lost

    wh, channels = pipeline.warehouse_for(cfg), pipeline.channels_of(cfg)
    pipeline.queue_alerts(wh, cfg)  # the next run queues nothing twice...
    assert query(cfg, "SELECT count(*) FROM alerts")[0][0] == stories
    alert_outbox.deliver_due(wh, channels, now=_later(alert_outbox.LEASE.total_seconds() / 60 + 1))
    assert query(cfg, "SELECT DISTINCT status FROM alerts") == [("delivered",)]
    posts = _posts(hook)
    keys = [p["key"] for p in posts]
    assert set(keys) == {r[0] for r in query(cfg, "SELECT alert_id FROM alerts")}
    # ...and sends nothing twice, except the one alert sent just before the kill, which is sent
    # again with the same idempotency key (at-least-once; the receiver drops the repeat).
    assert len(keys) == stories + (1 if when == "after_send" else 0)
    alert_outbox.deliver_due(wh, channels, now=_later(60))
    assert len(_posts(hook)) == len(keys)


def test_hourly_digest_lists_new_stories_once(site, config_for, hook):
    cfg = config_for([f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"],
                     alerts=[{"url": f"json://127.0.0.1:{hook.port}/hook", "mode": "hourly"}])
    _, _, report = run_once(cfg)
    run_once(cfg)
    posts = _posts(hook)
    assert report.sent == len(posts) == 1 and "digest" in posts[0]["title"]
    for headline, in query(cfg, "SELECT headline FROM stories"):
        assert headline in posts[0]["message"]
    assert query(cfg, "SELECT subject_kind, count(*) FROM alerts GROUP BY ALL") == [("digest", 1)]
    n = query(cfg, "SELECT count(*) FROM stories")[0][0]
    assert query(cfg, "SELECT count(*) FROM alert_stories")[0][0] == n
    # The next period, with no new story, sends no digest.
    wh, channels = pipeline.warehouse_for(cfg), pipeline.channels_of(cfg)
    assert alert_outbox.queue_story_alerts(wh, channels, ["inter-korean-diplomacy"], _later(61)) == 0


def test_alerts_test_command_sends_and_records(config_for, hook, tmp_path):
    dead = f"json://127.0.0.1:{_free_port()}/hook"
    cfg = config_for([], alerts=[{"url": f"json://127.0.0.1:{hook.port}/hook"}, {"url": dead}])
    results = send_test(cfg)
    assert [ok for _, ok, _ in results] == [True, False]
    assert len(_posts(hook)) == 1 and _posts(hook)[0]["key"]
    rows = query(cfg, "SELECT subject_kind, status FROM alerts ORDER BY status")
    assert rows == [("test", "delivered"), ("test", "failed")]


def test_a_send_keeps_apprise_lines_off_the_console_and_in_the_answer(tmp_path):
    """apprise's INFO lines of a send are captured for the recorded answer; they used to reach
    the root logger's handlers too (two console lines an alert, at any configured level)."""
    import logging

    from alerts.channels import Channel, send

    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    root, handler = logging.getLogger(), Keep(level=logging.DEBUG)
    root.addHandler(handler)
    try:
        out = tmp_path / "alerts.jsonl"
        ok, answer = send(Channel(f"jsonfile://{out}", "immediate", None), "title", "body", alert_id="a1")
        bad_ok, bad_answer = send(Channel(f"jsonfile://{tmp_path}/missing/dir/x.jsonl", "immediate", None),
                                  "title", "body", alert_id="a2")
    finally:
        root.removeHandler(handler)
    assert ok and "Sent" in answer and json.loads(out.read_text())["title"] == "title"
    assert not bad_ok and bad_answer
    assert [r.getMessage() for r in seen if r.name.startswith("apprise")] == []
    assert logging.getLogger("apprise").propagate
