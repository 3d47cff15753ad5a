"""A slow webhook receiver on 127.0.0.1 and a delivery pass in its own process, for issue 11.3.

`python -m tests.slowhook WAREHOUSE CHANNEL_URL LEASE_SECONDS` runs one `deliver_due` pass with
the outbox lease shortened to LEASE_SECONDS (the real lease is 5 minutes: a test cannot wait for
it), and prints `sent=N failed=M`."""
from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SlowHook:
    """`with SlowHook(delay) as hook:` answers every POST after `delay` seconds (the first
    `fast_first` at once); `hook.ids` counts the alert ids received (Idempotency-Key header)."""

    def __init__(self, delay: float, fast_first: int = 0):
        hook = self
        self.delay, self.ids, self.lock = delay, Counter(), threading.Lock()
        self.fast_first, self.seen = fast_first, 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key") or json.loads(body or b"{}").get("alert_id")
                with hook.lock:
                    hook.seen += 1
                    fast = hook.seen <= hook.fast_first
                time.sleep(0 if fast else hook.delay)
                with hook.lock:
                    hook.ids[key] += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"json://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "SlowHook":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def queue_alerts(path: str, url: str, n: int) -> None:
    """`n` pending alerts for the channel `url` in the warehouse at `path`."""
    from datetime import datetime, timezone

    from alerts.channels import Channel
    from warehouse import outbox
    from warehouse.db import Warehouse

    ch, now = Channel(url), datetime.now(timezone.utc)
    rows = [{"channel": ch.id, "topic": "t", "subject_kind": "story", "subject_id": f"s{i:04d}",
             "title": f"alert {i}", "body": "body", "created_at": now, "next_attempt_at": None,
             "story_ids": [f"s{i:04d}"]} for i in range(n)]
    with Warehouse(path).transaction() as con:
        outbox.enqueue(con, rows)


if __name__ == "__main__":
    from datetime import timedelta

    import alerts.outbox as delivery
    from alerts.channels import Channel
    from warehouse.db import Warehouse

    delivery.LEASE = timedelta(seconds=float(sys.argv[3]))
    report = delivery.deliver_due(Warehouse(sys.argv[1]), [Channel(sys.argv[2])])
    print(f"sent={report.sent} failed={report.failed}", flush=True)
