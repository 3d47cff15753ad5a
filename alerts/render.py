"""The text of an alert: headline, outlet, time, score, why it matched, and the links.

Alerts are sent as plain text, so article-supplied markup reaches no channel as HTML: tags
are removed and the text is collapsed before it is placed in a message.
"""
from __future__ import annotations

import html
import json
import re
from typing import Any

_TAG = re.compile(r"<[^>]*>")


def plain(value: Any, limit: int = 400) -> str:
    text = html.unescape(_TAG.sub(" ", str(value or "")))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def explanation_of(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {"summary": value}
    return value if isinstance(value, dict) else {}


def article_alert(topic: str, article: dict[str, Any]) -> tuple[str, str]:
    """(title, body) for one matched article."""
    why = explanation_of(article.get("explanation"))
    published = article.get("published")
    when = published.strftime("%Y-%m-%d %H:%M UTC") if hasattr(published, "strftime") else "date unknown"
    title = f"[{topic}] {plain(article.get('title'), 200)}"
    lines = [
        plain(article.get("title"), 300),
        f"Outlet: {plain(article.get('outlet') or article.get('site') or 'unknown', 100)}  |  {when}"
        f"  |  score {float(article.get('score') or 0):.2f}",
        f"Why: {plain(why.get('summary') or 'matched the topic profile', 300)}",
    ]
    if why.get("passage"):
        lines.append(f"Closest passage: \"{plain(why['passage'], 300)}\"")
    links = article.get("links") or [article.get("canonical_url")]
    lines.append("Links:")
    lines += [f"  - {plain(link, 500)}" for link in links if link]
    return title, "\n".join(lines)
