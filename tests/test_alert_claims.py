"""Issue 11.3: with a slow channel, overlapping delivery passes never send an alert twice.

The lease used to cover a whole claimed batch: a pass that took longer than the lease to send
its batch lost the claim on the rest, a second pass took them over, and both sent them."""
from __future__ import annotations

import subprocess
import sys
import time

import duckdb

from tests.conftest import REPO
from tests.slowhook import SlowHook, queue_alerts

N, DELAY, LEASE = 10, 0.4, 1.5  # sending all takes 4 s, far longer than the lease


def delivery_pass(path, url) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.slowhook", str(path), url, str(LEASE)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def overlapping_passes(path, n: int, fast_first: int, started: int) -> tuple[dict, list[int]]:
    """Deliver `n` alerts to a slow webhook (its first `fast_first` answers are quick) in two
    delivery passes: the second starts once the first has sent `started` alerts and the lease
    of a claim it made then has run out. Returns (alert id -> times received, sent by each
    pass), after checking that both passes ended and that the warehouse recorded each alert
    delivered, with one attempt."""
    with SlowHook(DELAY, fast_first=fast_first) as hook:
        queue_alerts(str(path), hook.url, n)
        first = delivery_pass(path, hook.url)
        deadline = time.monotonic() + 30
        while sum(hook.ids.values()) < started and time.monotonic() < deadline:
            time.sleep(0.02)  # the first pass is sending
        time.sleep(LEASE + 0.3)  # ...and the lease of the claim it holds has run out
        second = delivery_pass(path, hook.url)
        outs = [p.communicate(timeout=90) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT status, count(*) FROM alerts GROUP BY status").fetchall() == [("delivered", n)]
        assert con.execute("SELECT count(*) FROM alert_attempts").fetchone()[0] == n
    finally:
        con.close()
    return dict(hook.ids), [int(out.split("sent=")[1].split()[0]) for out, _ in outs]


def test_overlapping_passes_with_a_slow_webhook_send_each_alert_once(tmp_path):
    received, sent = overlapping_passes(tmp_path / "warehouse.duckdb", N, fast_first=0, started=1)
    assert len(received) == N  # every alert arrived...
    assert {k: v for k, v in received.items() if v > 1} == {}  # ...once
    assert sum(sent) == N  # and the passes' reports add up to what was sent


def test_a_channel_that_slows_down_mid_group_keeps_its_claims(tmp_path):
    """Fast sends are claimed several at a time; when the channel then slows down, the alerts
    of the group not sent yet have their lease renewed, so a second pass started after the
    first claim's lease ran out takes over none of them."""
    # 20 quick answers: the first pass claims 1, 2, 4 and 8 alerts, then 16, and the channel
    # slows down in the middle of that group.
    received, sent = overlapping_passes(tmp_path / "warehouse.duckdb", 40, fast_first=20, started=22)
    assert len(received) == 40
    assert {k: v for k, v in received.items() if v > 1} == {}
    assert sum(sent) == 40 and min(sent) > 0  # both passes delivered, none twice


def _claimed_at_each_send(tmp_path, pause: float, url: str = "json://127.0.0.1:9/hook"
                          ) -> list[tuple[int, int]]:
    """Deliver 30 alerts of the channel `url` through a sender that takes `pause` seconds and
    stands in for the channel; at each send, how many alerts were claimed ('sending') and how
    many recorded as delivered."""
    from alerts import outbox as delivery
    from alerts.channels import Channel
    from warehouse.db import Warehouse
    path = tmp_path / f"w{pause}-{url.split(':')[0]}.duckdb"
    queue_alerts(str(path), url, 30)
    wh, seen = Warehouse(path), []

    def sender(channel, title, body, alert_id=None):
        with wh.connect() as con:
            seen.append(con.execute("""SELECT count(*) FILTER (WHERE status = 'sending'),
                count(*) FILTER (WHERE status = 'delivered') FROM alerts""").fetchone())
        time.sleep(pause)
        return True, "ok"

    report = delivery.deliver_due(wh, [Channel(url)], sender)
    assert report.sent == 30
    with wh.connect() as con:
        assert con.execute("SELECT count(*) FROM alerts WHERE status = 'delivered'").fetchone()[0] == 30
    return seen


def test_claims_follow_the_channel_speed(tmp_path):
    fast = _claimed_at_each_send(tmp_path, 0.0)
    assert max(c for c, _ in fast) > 8  # a fast channel: several alerts a claim (fewer transactions)
    assert any(d < i for i, (_, d) in enumerate(fast))  # and records made a group at a time
    slow = _claimed_at_each_send(tmp_path, 0.3)
    assert [c for c, _ in slow] == [1] * 30  # a slow one: one alert claimed at a time, as before
    assert [d for _, d in slow] == list(range(30))  # each send recorded before the next


def test_a_channel_without_alert_ids_has_each_send_recorded_before_the_next(tmp_path):
    # Chat services cannot drop a repeat: a crash must leave at most one send unrecorded.
    fast = _claimed_at_each_send(tmp_path, 0.0, url="console://")
    assert [d for _, d in fast] == list(range(30))
