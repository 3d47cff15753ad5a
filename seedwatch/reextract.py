"""`seedwatch reextract [--since DATE]`: run today's extractor again on the archived raw pages.

For each article with an archived page (its latest one, fetched since DATE when given), the page
is read back from the WARC archive, extracted by the current extractor on all cores, and the
article's stored text is replaced when the new text is long enough (`[extract] min_chars`) and
differs from what is stored (or the stored text came from the feed). A shorter result never
replaces a page text: re-extraction only upgrades. Replaced articles get `updated_at`; their
scores are then older than their text, and `seedwatch rescore --since DATE` takes articles
whose text changed since DATE as well as those published since then. Nothing is fetched from
the network. The command writes like a run: it takes the warehouse's run lock and runs as a
Prefect flow (flows/reextract.py); the read snapshot is refreshed when texts were upgraded.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from extractors.article import content_hash
from extractors.pool import extract_pages
from seedwatch.config import Config, load_config
from seedwatch.pipeline import archive_for, warehouse_for
from warehouse import store

BATCH = 200


@dataclass
class ReextractReport:
    examined: int = 0
    upgraded: int = 0
    unchanged: int = 0
    kept: int = 0      # new text too short: the stored text stays
    missing: int = 0   # archive file or record gone (retention, deleted by hand)
    upgraded_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse_since(value: str | None) -> datetime | None:
    """DATE or DATETIME (ISO 8601); naive values are UTC. A bad one is a one-line error."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"--since: not a date (YYYY-MM-DD or an ISO 8601 time): {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _upgrade(loc: dict[str, Any], stored: dict[str, Any], ex: dict[str, Any], min_chars: int
             ) -> dict[str, Any] | None:
    text = ex.get("text") or ""
    if len(text) < min_chars:
        return None
    digest = content_hash(text)
    if (digest == stored["content_hash"] and stored["text_source"] == "page"
            and stored.get("extractor") == ex.get("extractor")):
        return {}
    return {"article_id": loc["article_id"], "url": loc["final_url"], "text": text,
            "text_source": "page", "extractor": ex.get("extractor"), "author": ex.get("author"),
            "site": ex.get("site"), "content_hash": digest, "fallback_reason": None}


def reextract(cfg: Config, since: datetime | None = None, workers: int | None = None) -> ReextractReport:
    # Archiving may be off now; pages archived while it was on are still read.
    wh, archive = warehouse_for(cfg), archive_for(cfg, even_if_disabled=True)
    report = ReextractReport()
    with wh.connect() as con:
        locations = store.archived_locations(con, since)
    for i in range(0, len(locations), BATCH):
        part = locations[i:i + BATCH]
        with wh.connect() as con:
            stored = store.article_texts(con, [p["article_id"] for p in part])
        pages, found = [], []
        for loc in part:
            try:
                body, url, _ctype = archive.read(loc["warc_file"], loc["warc_offset"], loc["warc_length"])
            except (OSError, ValueError) as exc:
                report.missing += 1
                if len(report.errors) < 10:
                    report.errors.append(f"{loc['warc_file']}:{loc['warc_offset']}: {exc}"[:200])
                continue
            pages.append((body, url or loc["final_url"]))
            found.append(loc)
        extracted = extract_pages(pages, cfg.extract.workers if workers is None else workers)
        ups = []
        for loc, ex in zip(found, extracted):
            report.examined += 1
            row = _upgrade(loc, stored[loc["article_id"]], ex, cfg.extract.min_chars) \
                if loc["article_id"] in stored else None
            if row is None:
                report.kept += 1
            elif not row:
                report.unchanged += 1
            else:
                ups.append(row)
        if ups:
            with wh.transaction() as con:
                store.upgrade_articles(con, ups)
            report.upgraded += len(ups)
            report.upgraded_ids += [u["article_id"] for u in ups]
    if report.upgraded:
        from seedwatch.pipeline import refresh_read_snapshot
        refresh_read_snapshot(wh, cfg)
    return report


def cmd_reextract(args: argparse.Namespace) -> int:
    from pathlib import Path

    from seedwatch.prefect_env import local_api
    from seedwatch.runcmd import _waiting
    from warehouse.runlock import run_lock
    cfg = load_config(args.config)
    warehouse = cfg.resolve(cfg.warehouse.path)
    started = datetime.now(timezone.utc)
    # Like a run and a rescore: the warehouse's run lock (waiting for a run), inside a flow.
    with run_lock(warehouse, wait=True, on_wait=_waiting(warehouse)), local_api():
        from flows.reextract import reextract_flow
        rep = reextract_flow(config_path=str(Path(args.config).resolve()),
                             since=args.since.isoformat() if args.since else None)
    print(f"re-extracted {rep['examined']} archived pages: {rep['upgraded']} articles upgraded, "
          f"{rep['unchanged']} unchanged, {rep['kept']} kept (new text too short), "
          f"{rep['missing']} missing from the archive")
    for e in rep["errors"]:
        print(f"  missing: {e}")
    if rep["upgraded"]:
        print("their scores predate the new text: score them again with "
              f"`seedwatch rescore --since {started:%Y-%m-%dT%H:%M:%S}`")
    return 0


def add_parser(add: Any) -> None:
    """Register `seedwatch reextract` (called by seedwatch.cli.build_parser)."""
    sp = add("reextract", cmd_reextract, "run the current extractor on the archived raw pages "
             "and upgrade the stored article texts")
    sp.add_argument("--since", type=_since_arg,
                    help="only pages fetched since this date (YYYY-MM-DD or ISO 8601 time, UTC)")


def _since_arg(value: str) -> datetime | None:
    try:
        return parse_since(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--since: ")) from None
