"""An Atom 1.0 feed (RFC 4287) of a topic's matched stories: one entry per story, newest first.

Ids are stable (`urn:seedwatch:story:<story_id>`, derived from the topic and the story's first
article), `updated` is when the story last changed, so a feed reader shows a story once and
marks it updated when new articles join it. Text is stripped of characters XML cannot carry and
escaped. Used by the web UI (`/topics/<name>.atom`) and `seedwatch export --format atom FILE`.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from ui.render import clean

MAX_ENTRIES = 100


def _t(value: datetime | None) -> str:
    value = value or datetime.now(timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _x(value: Any, limit: int | None = 500) -> str:
    return escape(clean(value, limit))


def _entry_html(story: dict[str, Any]) -> str:
    items = []
    for a in story.get("articles", []):
        score = "" if a.get("score") is None else f", score {a['score']:.2f}"
        items.append(f"<li>{_html(a.get('outlet'))}: <a href={_html_attr(a.get('canonical_url'))}>"
                     f"{_html(a.get('title'))}</a> ({_html(a.get('language') or '?')}{score})</li>")
    outlets = ", ".join(clean(o, 80) for o in story.get("outlets") or [])
    return (f"<p>{story.get('article_count', 0)} articles from {_html(outlets)}; best score "
            f"{(story.get('max_score') or 0):.2f}.</p><ul>{''.join(items)}</ul>")


def _html(value: Any) -> str:
    return escape(clean(value, 500), {'"': "&quot;"})


def _html_attr(value: Any) -> str:
    url = clean(value, 2000)
    if not url.lower().startswith(("http://", "https://")):
        url = "#"
    return quoteattr(url)


def render(topic: str, stories: Sequence[dict[str, Any]], base_url: str | None = None,
           self_url: str | None = None) -> str:
    """The feed as a string. With `base_url` (the UI's address) entries link to the UI's story
    pages; without it, to the story's best article."""
    updated = max((s["updated_at"] for s in stories if s.get("updated_at")), default=None)
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<feed xmlns="http://www.w3.org/2005/Atom">',
           f"<id>urn:seedwatch:topic:{_x(quote(topic, safe=''))}</id>",
           f"<title>seedwatch: {_x(topic, 200)}</title>",
           f"<subtitle>Stories matched by seedwatch on the topic {_x(topic, 200)}</subtitle>",
           f"<updated>{_t(updated)}</updated>",
           "<author><name>seedwatch</name></author>",
           '<generator uri="https://github.com/seedwatch/seedwatch">seedwatch</generator>']
    if self_url:
        out.append(f'<link rel="self" type="application/atom+xml" href={quoteattr(clean(self_url, 2000))}/>')
    if base_url:
        out.append(f'<link rel="alternate" type="text/html" href={quoteattr(base_url + "/?topic=" + quote(topic))}/>')
    for s in stories[:MAX_ENTRIES]:
        out.append("<entry>")
        out.append(f"<id>urn:seedwatch:story:{_x(s['story_id'], 64)}</id>")
        out.append(f"<title>{_x(s.get('headline') or '(no title)', 500)}</title>")
        out.append(f"<updated>{_t(s.get('updated_at'))}</updated>")
        out.append(f"<published>{_t(s.get('first_seen'))}</published>")
        if base_url:
            out.append(f'<link rel="alternate" type="text/html" href={quoteattr(base_url + "/stories/" + s["story_id"])}/>')
            if s.get("headline_url", "").startswith(("http://", "https://")):
                out.append(f'<link rel="related" href={quoteattr(clean(s["headline_url"], 2000))}/>')
        elif s.get("headline_url", "").startswith(("http://", "https://")):
            out.append(f'<link rel="alternate" href={quoteattr(clean(s["headline_url"], 2000))}/>')
        out.append(f'<category term={quoteattr(clean(topic, 200))}/>')
        out.append(f'<content type="html">{escape(_entry_html(s))}</content>')
        out.append("</entry>")
    out.append("</feed>")
    return "\n".join(out) + "\n"


def export_atom(warehouse: str | Path, target: str | Path, topic: str | None = None) -> tuple[str, int]:
    """`seedwatch export --format atom FILE`: write the feed of `topic` (the only topic when
    None) read from the snapshot; returns (topic, entries). Written via a temporary name."""
    from warehouse.query import reading
    from warehouse.ui_queries import stories_with_articles, topics

    with reading(warehouse) as (_, con):
        known = topics(con)
        if topic is None:
            if len(known) != 1:
                raise ValueError("name the topic with --topic (the warehouse has "
                                 f"{', '.join(known) or 'no topics yet'})")
            topic = known[0]
        elif topic not in known:
            raise ValueError(f"no topic {topic!r} in the warehouse (known: {', '.join(known) or 'none'})")
        stories = stories_with_articles(con, topic, limit=MAX_ENTRIES)
    target = Path(target)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(render(topic, stories), encoding="utf-8")
    os.replace(tmp, target)
    return topic, len(stories)
