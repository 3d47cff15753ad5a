"""Commands around the analyst's desk: `seedwatch stories`, the feedback part of
`seedwatch topic show`, and `seedwatch eval --feedback`. Each reads the warehouse's snapshot."""
from __future__ import annotations

import json
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from seedwatch.config import Config


class CommandError(Exception):
    """A usage mistake (bad date, unknown topic); printed as one line, exit status 2."""


def parse_since(value: str | None) -> date | datetime | None:
    """`--since`: a day (YYYY-MM-DD, UTC) or an ISO time (with a zone, or taken as UTC)."""
    if not value:
        return None
    value = value.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"--since: not a date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM): {value!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --- seedwatch stories -------------------------------------------------------------------------

def stories_command(cfg: Config, topic: str | None, since: str | None, as_json: bool,
                    limit: int = 1000) -> int:
    from warehouse.query import reading
    from warehouse.ui_queries import stories_with_articles, topics

    when = parse_since(since)
    with reading(cfg.resolve(cfg.warehouse.path)) as (_, con):
        if topic and topic not in topics(con):
            raise CommandError(f"no topic {topic!r} in the warehouse (known: {', '.join(topics(con)) or 'none'})")
        rows = stories_with_articles(con, topic, when, limit=limit)
    if as_json:
        for r in rows:
            sys.stdout.write(json.dumps(_plain({k: r[k] for k in (
                "story_id", "topic", "headline", "first_seen", "last_updated", "updated_at",
                "article_count", "max_score", "languages", "outlets", "headline_url", "articles")}),
                ensure_ascii=False) + "\n")
        return 0
    from rich.markup import escape

    from seedwatch.report import console, table
    from ui.render import clean as _clean

    def clean(value: Any, limit: int) -> str:  # titles may hold rich markup ("[red]")
        return escape(_clean(value, limit))
    table("Stories, newest first" + (f" ({topic})" if topic else ""),
          ["first seen", "articles", "score", "languages", "outlets", "headline", "story"],
          [(f"{r['first_seen']:%Y-%m-%d %H:%M}", r["article_count"], f"{r['max_score'] or 0:.2f}",
            ",".join(r["languages"] or []), clean(", ".join(r["outlets"] or []), 60),
            clean(r["headline"], 100), r["story_id"]) for r in rows])
    console.print(f"{len(rows)} stor{'y' if len(rows) == 1 else 'ies'}"
                  + (f" (the newest {limit}; use --since or --topic)" if len(rows) == limit else ""))
    return 0


# --- seedwatch topic show: the analyst's labels ----------------------------------------------------

def topic_feedback(cfg: Config, topic: str) -> list[dict[str, Any]] | None:
    """The labels of `topic` (stored and queued), or None when there is no warehouse yet."""
    from warehouse.db import WarehouseError
    from warehouse.feedback import feedback_list, queued_records
    from warehouse.query import reading

    path = cfg.resolve(cfg.warehouse.path)
    try:
        with reading(path) as (_, con):
            return feedback_list(con, topic, queued_records(con, path))
    except WarehouseError:
        return None


def describe_feedback(topic: str, rows: list[dict[str, Any]] | None) -> str:
    from ui.render import clean
    if rows is None:
        return f"Analyst feedback on {topic}: no warehouse yet."
    if not rows:
        return (f"Analyst feedback on {topic}: none yet (mark articles relevant / not relevant in "
                "`seedwatch ui`).")
    yes = sum(1 for r in rows if r["label"] == "relevant")
    queued = sum(1 for r in rows if r["queued"])
    lines = [f"Analyst feedback on {topic}: {len(rows)} labelled articles, {yes} relevant, "
             f"{len(rows) - yes} not relevant" + (f" ({queued} queued for the next run)" if queued else "")]
    for r in rows:
        lines.append(f"  {r['given_at']:%Y-%m-%d %H:%M}  {r['label'].replace('_', ' '):<13} "
                     f"{'queued ' if r['queued'] else ''}{clean(r['outlet'], 24)}: {clean(r['title'], 90)}"
                     f"  [{r['article_id']}]")
    return "\n".join(lines)


def feedback_as_json(rows: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [_plain({k: r[k] for k in ("article_id", "story_id", "label", "given_at", "queued",
                                      "title", "outlet", "canonical_url")}) for r in rows or []]


# --- seedwatch eval --feedback -------------------------------------------------------------------

def evaluate_feedback(cfg: Config, topic_name: str | None = None) -> dict[str, Any]:
    """Score the analyst's labelled articles with the flow's detector of each topic and compare
    with the labels ("relevant" = a match is right)."""
    from detection.metrics import figures
    from seedwatch.pipeline import load_detectors
    from warehouse.feedback import read_labelled_items

    detectors = load_detectors(cfg)
    if topic_name:
        detectors = [d for d in detectors if d.name == topic_name]
        if not detectors:
            raise CommandError(f"no configured topic named {topic_name!r}")
    path = cfg.resolve(cfg.warehouse.path)
    out: dict[str, Any] = {"warehouse": str(path), "topics": []}
    for td in detectors:
        items = read_labelled_items(path, td.name)
        verdicts = td.verdicts([(title, text, lang) for _, title, text, lang, _, _ in items])
        pairs = [(decision, label == "relevant") for (_, decision, _), (*_, label, _) in zip(verdicts, items)]
        wrong = [{"article_id": aid, "title": title, "label": label, "score": round(score, 4),
                  "decision": decision, "given_at": given.isoformat()}
                 for (aid, title, _, _, label, given), (score, decision, _) in zip(items, verdicts)
                 if decision != (label == "relevant")]
        out["topics"].append({"topic": td.name, "detector": getattr(td.detector, "version", "unknown"),
                              "threshold": td.threshold, "labels": len(items),
                              "relevant": sum(1 for *_, label, _ in items if label == "relevant"),
                              "metrics": figures(pairs) if items else None, "disagreements": wrong})
    return out


def format_feedback_report(result: dict[str, Any]) -> str:
    from ui.render import clean
    lines = [f"Detector against the analyst's labels ({result['warehouse']})"]
    for t in result["topics"]:
        lines.append(f"\n{t['topic']} (detector {t['detector']}, threshold {t['threshold']:.2f}): "
                     f"{t['labels']} labels, {t['relevant']} relevant")
        m = t["metrics"]
        if not m:
            lines.append("  no labels yet: mark articles in `seedwatch ui`")
            continue
        lines.append(f"  precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}  "
                     f"(tp {m['tp']}, fp {m['fp']}, fn {m['fn']}, tn {m['tn']})")
        for w in t["disagreements"][:25]:
            lines.append(f"  {'false match ' if w['decision'] else 'missed      '} {w['score']:.2f}  "
                         f"{clean(w['title'], 90)}  [{w['article_id']}]")
    return "\n".join(lines)


def eval_feedback_command(cfg: Config, topic: str | None, as_json: bool) -> int:
    result = evaluate_feedback(cfg, topic)
    print(json.dumps(result, ensure_ascii=False) if as_json else format_feedback_report(result))
    return 0


def ui_hint(config_path: str | Path) -> str:
    """The command that opens a warehouse's config in the UI, as the user would type it."""
    import os
    import shlex
    prog = sys.argv[0] if os.path.basename(sys.argv[0]) == "seedwatch" else "seedwatch"
    return f"{shlex.quote(prog)} ui --config {shlex.quote(str(config_path))}"
