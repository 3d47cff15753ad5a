"""The real Prefect flow, run twice in a test harness against the fixture site."""
from __future__ import annotations

import duckdb
import pytest
from prefect.testing.utilities import prefect_test_harness

from tests.conftest import write_config


@pytest.fixture(scope="module")
def harness():
    with prefect_test_harness(server_startup_timeout=180):
        yield


def test_flow_runs_end_to_end_and_is_idempotent(harness, site, config_for, tmp_path):
    from flows.monitor import monitor

    alerts = tmp_path / "alerts.jsonl"
    cfg = config_for([f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"],
                     alerts=[{"url": f"jsonfile://{alerts}"}])
    path = write_config(tmp_path / "seedwatch.toml", cfg)

    first = monitor(config_path=str(path))
    assert first["new_articles"] == 5
    # One alert per story (matches of one event share a story), not per matched article.
    assert first["new_matches"] >= 2 and 1 <= first["alerts_sent"] <= first["new_matches"]
    second = monitor(config_path=str(path))
    assert second["new_articles"] == 0 and second["alerts_sent"] == 0
    assert {f["outcome"] for f in second["feeds"]} == {"not_modified"}

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM runs WHERE finished_at IS NOT NULL").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM alerts WHERE status = 'delivered'").fetchone()[0] \
            == first["alerts_sent"]
    finally:
        con.close()
    assert len(alerts.read_text().splitlines()) == first["alerts_sent"]
    # The read snapshot was refreshed after the run and opens read-only.
    snap = duckdb.connect(str(tmp_path / "warehouse.snapshot.duckdb"), read_only=True)
    try:
        assert snap.execute("SELECT count(*) FROM articles").fetchone()[0] == 5
    finally:
        snap.close()


def _heartbeat_threads() -> list:
    """Live threads running Prefect's flow-run heartbeat loop."""
    import threading
    found = []
    for t in threading.enumerate():
        args = getattr(t, "_args", ()) or ()
        if args and getattr(args[0], "__name__", "") == "heartbeat_loop" and t.is_alive():
            found.append(t)
    return found


def test_a_flow_run_ends_without_waiting_for_its_heartbeat_thread(harness):
    # Prefect's synchronous engine used to wait for the heartbeat thread's one-second sleep at
    # the end of every flow run (flows/heartbeats.py). Now the run returns while the thread,
    # told to stop, is still in that sleep; it then ends by itself.
    import time

    import flows.heartbeats  # noqa: F401 - installs the change (as every flow module does)
    from prefect import flow

    @flow
    def quick() -> int:
        deadline = time.monotonic() + 10
        while not _heartbeat_threads() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # the thread has sent its first heartbeat and sleeps (1 s steps)
        return 1

    assert quick() == 1
    lingering = _heartbeat_threads()
    assert lingering, "the flow run waited for its heartbeat thread"
    for t in lingering:
        t.join(timeout=3)
        assert not t.is_alive()
