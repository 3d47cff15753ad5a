"""The text of an alert: headline, outlet, time, score, why it matched, and the links.

Alerts are sent as plain text, so article-supplied markup reaches no channel as HTML: entities
are decoded first (so `&lt;script&gt;` cannot turn into a tag afterwards), then tags are removed,
then escape sequences and control characters, and the text is collapsed before it is placed
in a message.
"""
from __future__ import annotations

import html
import json
import re
from typing import Any

from seedwatch.safetext import clean

# A tag, comment or declaration (`<` then a letter, `/`, `!` or `?`), also one cut off by
# truncation upstream; a bare `<` in prose ("3 < 5") is text.
_TAG = re.compile(r"<\s*[/!?]?\s*[A-Za-z!?][^>]*(?:>|$)")


def plain(value: Any, limit: int = 400) -> str:
    """One line of plain text, at most `limit` characters, safe to send anywhere."""
    text = str(value or "")
    for _ in range(3):  # entities encoded more than once
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    text = clean(" ".join(text.split()))
    while True:  # "<<b>b>" leaves "<b>" after one pass
        stripped = _TAG.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def explanation_of(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {"summary": value}
    return value if isinstance(value, dict) else {}


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else "date unknown"


def _story_lines(story: dict[str, Any]) -> list[str]:
    outlets = ", ".join(plain(o, 60) for o in story.get("outlets") or []) or "unknown"
    return [
        plain(story.get("headline"), 300),
        f"Outlets: {outlets}  |  first seen {_when(story.get('first_seen'))}"
        f"  |  score {float(story.get('max_score') or 0):.2f}  |  {story.get('article_count', 0)} article(s)",
    ]


def _article_links(story: dict[str, Any], limit: int = 30) -> list[str]:
    arts = story.get("articles") or []
    lines = [f"  - [{plain(a.get('outlet') or '?', 40)}, {_when(a.get('article_at'))}] "
             f"{plain(a.get('title'), 160)}\n    {plain(a.get('canonical_url'), 500)}" for a in arts[:limit]]
    if len(arts) > limit:
        lines.append(f"  … and {len(arts) - limit} more")
    return lines


def story_alert(topic: str, story: dict[str, Any]) -> tuple[str, str]:
    """(title, body) of the alert for one new story: headline, outlets, time, score, why it
    matched, and a link to every article of the story."""
    why = explanation_of(story.get("explanation"))
    lines = _story_lines(story)
    lines.append(f"Why: {plain(why.get('summary') or 'matched the topic profile', 300)}")
    if why.get("passage"):
        lines.append(f"Closest passage: \"{plain(why['passage'], 300)}\"")
    lines.append("Articles:")
    lines += _article_links(story)
    return f"[{topic}] {plain(story.get('headline'), 200)}", "\n".join(lines)


def digest_alert(topic: str, stories: list[dict[str, Any]], period: str) -> tuple[str, str]:
    """(title, body) of a digest: every story new since the channel's last digest."""
    title = f"[{topic}] {period} digest: {len(stories)} new stor{'y' if len(stories) == 1 else 'ies'}"
    parts = []
    for n, story in enumerate(stories, 1):
        why = explanation_of(story.get("explanation"))
        block = [f"{n}. " + _story_lines(story)[0], "   " + _story_lines(story)[1],
                 f"   Why: {plain(why.get('summary') or 'matched the topic profile', 200)}"]
        parts.append("\n".join(block + _article_links(story, 10)))
    return title, "\n\n".join(parts)
