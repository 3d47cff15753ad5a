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


def test_overlapping_passes_with_a_slow_webhook_send_each_alert_once(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with SlowHook(DELAY) as hook:
        queue_alerts(str(path), hook.url, N)
        first = delivery_pass(path, hook.url)
        deadline = time.monotonic() + 30
        while sum(hook.ids.values()) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)  # the first pass is sending
        time.sleep(LEASE + 0.3)  # ...and the lease of its first claim has run out
        second = delivery_pass(path, hook.url)
        outs = [p.communicate(timeout=60) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    assert len(hook.ids) == N  # every alert arrived...
    assert {k: v for k, v in hook.ids.items() if v > 1} == {}  # ...once
    sent = [int(out.split("sent=")[1].split()[0]) for out, _ in outs]
    assert sum(sent) == N  # and the passes' reports add up to what was sent
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT status, count(*) FROM alerts GROUP BY status").fetchall() == [("delivered", N)]
        assert con.execute("SELECT count(*) FROM alert_attempts").fetchone()[0] == N
    finally:
        con.close()
