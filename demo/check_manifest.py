#!/usr/bin/env python3
"""Sanity-check the demo news set against demo/manifest.json.

Run: .venv/bin/python demo/check_manifest.py   (needs feedparser and trafilatura)
Exits non-zero on any failure.
"""
import json
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import trafilatura

DEMO = Path(__file__).resolve().parent
SITE = DEMO / "site"
BASE = "http://127.0.0.1:8765"
MIN_WORDS = 100

errors = []


def fail(msg):
    errors.append(msg)


def norm(s):
    return re.sub(r"\W+", " ", (s or "")).strip().lower()


def main():
    man = json.loads((DEMO / "manifest.json").read_text(encoding="utf-8"))
    arts = {a["path"]: a for a in man["articles"]}
    if len(arts) != len(man["articles"]):
        fail("duplicate article paths in manifest")
    seen_in = {p: set() for p in arts}

    for f in man["feeds"]:
        fp = SITE / f["path"]
        if not fp.is_file():
            fail(f"missing feed {f['path']}")
            continue
        raw = fp.read_text(encoding="utf-8")
        d = feedparser.parse(raw.replace("{{BASE}}", BASE))
        if d.bozo:
            fail(f"{f['path']}: feedparser bozo: {d.bozo_exception!r}")
        if not d.version.startswith(f["format"]):
            fail(f"{f['path']}: version {d.version!r} does not match format {f['format']!r}")
        if not d.entries:
            fail(f"{f['path']}: no entries")
        for ent in d.entries:
            u = urlsplit(ent.link)
            if f"{u.scheme}://{u.netloc}" != BASE:
                fail(f"{f['path']}: link not under {{{{BASE}}}}: {ent.link}")
            path = u.path.lstrip("/")
            if path not in arts:
                fail(f"{f['path']}: item link {ent.link} not in manifest")
                continue
            seen_in[path].add(f["path"])
            if not ent.get("id"):
                fail(f"{f['path']}: item without guid/id: {ent.link}")

    for path, a in arts.items():
        if not seen_in[path]:
            fail(f"{path}: not in any feed")
        if seen_in[path] != set(a["feeds"]):
            fail(f"{path}: manifest feeds {sorted(a['feeds'])} != actual {sorted(seen_in[path])}")
        fp = SITE / path
        if not fp.is_file():
            fail(f"missing page {path}")
            continue
        html = fp.read_text(encoding="utf-8")
        if f'<link rel="canonical" href="{{{{BASE}}}}/{path}">' not in html:
            fail(f"{path}: canonical link missing or wrong")
        html = html.replace("{{BASE}}", BASE)
        res = trafilatura.extract(html, url=f"{BASE}/{path}", with_metadata=True, output_format="json")
        if not res:
            fail(f"{path}: trafilatura extracted nothing")
            continue
        res = json.loads(res)
        words = len((res.get("text") or "").split())
        if words < MIN_WORDS and a["on_topic"] != "short":
            fail(f"{path}: only {words} words extracted")
        if norm(a["title"]) not in norm(res.get("title")):
            fail(f"{path}: title {res.get('title')!r} != {a['title']!r}")
        if a["published"] and res.get("date") != a["published"][:10]:
            fail(f"{path}: date {res.get('date')!r} != {a['published'][:10]!r}")

    size = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    if size > 1_100_000:
        fail(f"demo/ is {size} bytes")

    langs = {}
    for a in arts.values():
        langs[a["lang"]] = langs.get(a["lang"], 0) + 1
    events = {}
    for a in arts.values():
        if a["event"]:
            events.setdefault(a["event"], []).append(a["path"])
    print(f"articles: {len(arts)}  by lang: {langs}  feeds: {len(man['feeds'])}  size: {size} bytes")
    print("on_topic:", {k: sum(1 for a in arts.values() if a['on_topic'] == k) for k in (True, False, 'brief')})
    print("events:", {k: len(v) for k, v in events.items()})
    for e in errors:
        print("FAIL:", e)
    print("OK" if not errors else f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
