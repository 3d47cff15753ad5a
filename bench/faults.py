"""`python -m bench.faults CASE` (part of `make bench`): costs of the hostile cases of issue 11.

  claims    N alerts to a webhook answering in D s, two overlapping delivery passes with the
            lease shortened to L s (the real one is 5 minutes): alerts delivered twice, wall time.
  grouping  N near-identical matching articles (1k, 5k, 20k): seconds and peak memory of the
            grouping stage (duplicate groups, then stories) on a fresh warehouse.
  pages     one run with a healthy feed and slowloris pages: seconds until the healthy
            feed's alert arrives, and until the run ends.

`--code DIR` runs the measured code from another checkout (e.g. `git archive` of an older
commit), so a before/after comparison is measured the same way. Each measurement runs in a
fresh process; `--repeat N` prints medians.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def child(code: Path | None, args: list[str], timeout: float) -> tuple[dict | None, float]:
    """Run `python bench/faults.py --child ...` with `code` first on sys.path; (its JSON, s)."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    t = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", *args],
                              capture_output=True, text=True, env=env, timeout=timeout,
                              cwd=str(code or REPO))
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - t


def _popen(code: Path | None, args: list[str]) -> subprocess.Popen:
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=str(code or REPO))


# --- claims -------------------------------------------------------------------------------------

def bench_claims(code: Path | None, n: int, delay: float, lease: float) -> dict:
    sys.path.insert(0, str(REPO))
    from tests.slowhook import SlowHook
    with tempfile.TemporaryDirectory() as tmp, SlowHook(delay) as hook:
        path = str(Path(tmp) / "warehouse.duckdb")
        child(code, ["queue", path, hook.url, str(n)], 120)
        t = time.perf_counter()
        first = _popen(code, ["deliver", path, hook.url, str(lease)])
        while sum(hook.ids.values()) < 1 and time.perf_counter() - t < 60:
            time.sleep(0.02)
        time.sleep(lease + 0.3)  # the lease of the first pass's claim has run out
        second = _popen(code, ["deliver", path, hook.url, str(lease)])
        outs = [p.communicate(timeout=600) for p in (first, second)]
        wall = time.perf_counter() - t
        for p, (_, err) in zip((first, second), outs):
            if p.returncode:
                raise SystemExit(err[-2000:])
        sent = [json.loads(o.strip().splitlines()[-1])["sent"] for o, _ in outs]
        return {"alerts": n, "webhook_seconds": delay, "lease_seconds": lease,
                "received": sum(hook.ids.values()), "distinct": len(hook.ids),
                "delivered_twice": sum(1 for v in hook.ids.values() if v > 1),
                "reported_sent": sent, "seconds": round(wall, 2)}


def _child_queue(path: str, url: str, n: str) -> dict:
    """`n` pending alerts for the channel `url` (the measured code's own outbox)."""
    from datetime import datetime, timezone

    from alerts.channels import Channel
    from warehouse import outbox
    from warehouse.db import Warehouse
    ch, now = Channel(url), datetime.now(timezone.utc)
    rows = [{"channel": ch.id, "topic": "t", "subject_kind": "story", "subject_id": f"s{i:04d}",
             "title": f"alert {i}", "body": "body", "created_at": now, "next_attempt_at": None,
             "story_ids": [f"s{i:04d}"]} for i in range(int(n))]
    with Warehouse(path).transaction() as con:
        outbox.enqueue(con, rows)
    return {"queued": int(n)}


def _child_deliver(path: str, url: str, lease: str) -> dict:
    from datetime import timedelta

    import alerts.outbox as delivery
    from alerts.channels import Channel
    from warehouse.db import Warehouse
    delivery.LEASE = timedelta(seconds=float(lease))
    report = delivery.deliver_due(Warehouse(path), [Channel(url)])
    return {"sent": report.sent, "failed": report.failed}


# --- grouping -----------------------------------------------------------------------------------

BASE = ("North Korea and South Korea agreed on Monday to hold high-level talks at the border village "
        "of Panmunjom next week, the Unification Ministry in Seoul said, after Pyongyang accepted the "
        "South's offer of dialogue made last month. The two Koreas will also discuss restoring the "
        "inter-Korean hotline and reuniting families separated by the war, officials said. Seoul "
        "welcomed the North's answer as a step towards easing military tension on the peninsula, and "
        "the ministry said a delegation led by the unification minister would attend the talks.")
FILLER = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()


def flood_texts(n: int, seed: int = 11) -> list[str]:
    """`n` texts that differ from BASE by two words each: near-identical, never identical."""
    rng, words = random.Random(seed), BASE.split()
    out = []
    for i in range(n):
        w = list(words)
        for _ in range(2):
            w[rng.randrange(len(w))] = f"{rng.choice(FILLER)}{i}"
        out.append(" ".join(w))
    return out


def store_flood(wh, n: int, topic_name: str, words: int | None = None, site: str = "flood") -> None:
    """`n` near-identical articles, each scored a match of `topic_name`, in the warehouse;
    with `words`, texts cut to that many words (too short for a MinHash sketch)."""
    from datetime import datetime, timedelta, timezone

    from extractors.article import content_hash
    from warehouse import store

    now = datetime.now(timezone.utc)
    rows, scores = [], []
    for i, text in enumerate(flood_texts(n)):
        text = " ".join(text.split()[:words]) if words else text
        url = f"http://{site}.example/{i}.html"
        rows.append({"canonical_url": url, "url": url, "feed_id": "flood", "title": "Koreas agree to talks",
                     "text": text, "text_source": "page", "content_hash": content_hash(text),
                     "published": now - timedelta(seconds=n - i), "language": "en",
                     "first_seen": now, "run_id": "bench"})
        scores.append({"article_id": store.article_key(url), "topic": topic_name, "score": 0.9,
                       "decision": True, "explanation": "{}", "detector_version": "bench", "scored_at": now})
    with wh.transaction() as con:
        store.insert_articles(con, rows)
        store.insert_scores(con, scores)


def _child_grouping(path: str, n: str) -> dict:
    """Store `n` near-identical matching articles, then time the grouping stage alone."""
    from detection import load_topic
    from seedwatch.grouping import update_stories
    from warehouse.db import Warehouse

    topic = load_topic(REPO / "seeds" / "inter-korean-diplomacy.toml")
    wh = Warehouse(path)
    store_flood(wh, int(n), topic.name)
    t = time.perf_counter()
    report = update_stories(wh, {topic.name: topic.lexicon})
    seconds = time.perf_counter() - t
    with wh.connect() as con:
        stories = con.execute("SELECT count(*) FROM stories").fetchone()[0]
    return {"articles": int(n), "seconds": round(seconds, 2), "duplicates": report.duplicates,
            "placed": report.placed, "stories": stories,
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def bench_grouping(code: Path | None, sizes: list[int], timeout: float) -> list[dict]:
    out = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            res, wall = child(code, ["grouping", str(Path(tmp) / "w.duckdb"), str(n)], timeout)
        if res is None:
            res = {"articles": n, "seconds": None, "killed_after": round(wall)}
        out.append(res)
        print(f"  grouping {n}: {res}", flush=True)
    return out


# --- main ---------------------------------------------------------------------------------------

CHILDREN = {"queue": _child_queue, "deliver": _child_deliver, "grouping": _child_grouping}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        print(json.dumps(CHILDREN[argv[1]](*argv[2:])), flush=True)
        return 0
    ap = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", nargs="*", default=["claims", "grouping", "pages"])
    ap.add_argument("--code", type=Path, help="measure the code of this checkout instead")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--sizes", default="1000,5000,20000", help="grouping: article counts")
    ap.add_argument("--timeout", type=float, default=600, help="grouping: seconds before a size is killed")
    ap.add_argument("--alerts", type=int, default=40)
    ap.add_argument("--webhook-seconds", type=float, default=0.25)
    ap.add_argument("--lease-seconds", type=float, default=3.0)
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = ap.parse_args(argv)
    code = args.code.resolve() if args.code else None
    results: dict = {"code": str(code or REPO)}
    for case in args.cases:
        runs = []
        for rep in range(args.repeat):
            if case == "claims":
                runs.append(bench_claims(code, args.alerts, args.webhook_seconds, args.lease_seconds))
            elif case == "grouping":
                runs.append(bench_grouping(code, [int(s) for s in args.sizes.split(",")], args.timeout))
            elif case == "pages":
                runs.append(bench_pages(code))
            else:
                raise SystemExit(f"unknown case {case!r}")
            print(f"[{rep + 1}/{args.repeat}] {case}: {runs[-1]}", flush=True)
        results[case] = runs
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


def _med(values: list) -> object:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def report(results: dict) -> None:
    print(f"\n== seedwatch bench.faults ({results['code']}) ==")
    if "claims" in results:
        r = results["claims"]
        print(f"claims    {r[0]['alerts']} alerts, webhook {r[0]['webhook_seconds']} s, lease {r[0]['lease_seconds']} s, "
              f"two overlapping passes: delivered twice {_med([x['delivered_twice'] for x in r])} (median), "
              f"received {_med([x['received'] for x in r])}, {_med([x['seconds'] for x in r])} s")
    if "grouping" in results:
        for i, first in enumerate(results["grouping"][0]):
            per = [run[i] for run in results["grouping"]]
            secs = _med([p["seconds"] for p in per])
            shown = f"{secs} s" if secs is not None else f"killed after {per[0]['killed_after']} s"
            print(f"grouping  {first['articles']:>6} near-identical matches: {shown}"
                  + (f", peak {_med([p['peak_mb'] for p in per])} MB, {per[0]['stories']} stories"
                     if secs is not None else ""))
    if "pages" in results:
        r = results["pages"]
        print(f"pages     {r[0]['slow_pages']} slowloris pages + healthy feed: first alert after "
              f"{_med([x['first_alert_seconds'] for x in r])} s, run {_med([x['run_seconds'] for x in r])} s "
              f"(medians of {len(r)})")


# --- pages --------------------------------------------------------------------------------------

SLOW_PAGES = 6


class SlowSite:
    """A healthy feed (one matching article on 127.0.0.1) and a feed of SLOW_PAGES slowloris
    links on `localhost` (another host name, so the fetcher's per-host limit applies to them
    alone): each answers its headers, then one byte every 5 s, for ever. POST /hook is a
    webhook receiver that notes when each alert arrives."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        site = self
        self.alerts: list[float] = []
        self.stop = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, body: bytes, ctype: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                base = f"http://127.0.0.1:{site.port}"
                if self.path == "/healthy.xml":
                    self._send(_rss([(f"{base}/news/talks.html", "Koreas agree to talks")]),
                               "application/rss+xml")
                elif self.path == "/slow.xml":
                    self._send(_rss([(f"http://localhost:{site.port}/slow/{i}.html", f"Weather report {i}")
                                     for i in range(SLOW_PAGES)]), "application/rss+xml")
                elif self.path == "/news/talks.html":
                    self._send(TALKS_PAGE.encode(), "text/html; charset=utf-8")
                elif self.path.startswith("/slow/"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    try:
                        while not site.stop.wait(5):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                    except OSError:
                        pass
                else:
                    self.send_error(404)

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                site.alerts.append(time.monotonic())
                self._send(b"{}", "application/json")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "SlowSite":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


TALKS_PAGE = """<!doctype html><html lang="en"><head><title>Koreas agree to talks</title></head><body>
<article><h1>Koreas agree to talks</h1>
<p>North Korea and South Korea agreed on Monday to hold high-level talks at the border village of
Panmunjom next week, the Unification Ministry in Seoul said, after Pyongyang accepted the South's
offer of dialogue made last month.</p>
<p>The two Koreas will also discuss restoring the inter-Korean hotline and reuniting families
separated by the war, officials said. Seoul welcomed the North's answer as a step towards easing
military tension on the peninsula.</p></article></body></html>"""


def _rss(items: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
                   f"<description>{t}.</description></item>" for link, t in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


def bench_pages(code: Path | None, extra: str = "") -> dict:
    """One plain run (`python -m tests.faultsrv CONFIG`, the flow's stages without Prefect) with
    the default fetch settings; seconds from its start to the healthy feed's alert and to its end."""
    with tempfile.TemporaryDirectory() as tmp, SlowSite() as site:
        cfg = Path(tmp) / "seedwatch.toml"
        base = f"http://127.0.0.1:{site.port}"
        cfg.write_text(f"""[warehouse]\npath = "{tmp}/w.duckdb"\n\n[fetch]\nallow_private_addresses = true\n{extra}
[extract]\nworkers = 1\n\n[[topics]]\nfile = "{REPO / 'seeds' / 'inter-korean-diplomacy.toml'}"\n
[[feeds]]\nurl = "{base}/healthy.xml"\n\n[[feeds]]\nurl = "{base}/slow.xml"\n
[[alerts]]\nurl = "json://127.0.0.1:{site.port}/hook"\n""", encoding="utf-8")
        env = dict(os.environ)
        if code is not None:
            env["PYTHONPATH"] = str(code)
        t = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "tests.faultsrv", str(cfg)], cwd=str(code or REPO),
                              env=env, capture_output=True, text=True, timeout=1800)
        end = time.monotonic() - t
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        first = round(site.alerts[0] - t, 1) if site.alerts else None
        return {"slow_pages": SLOW_PAGES, "first_alert_seconds": first, "run_seconds": round(end, 1),
                "alerts": len(site.alerts), "summary": done.stdout.strip().splitlines()[-1]}


if __name__ == "__main__":
    sys.exit(main())
