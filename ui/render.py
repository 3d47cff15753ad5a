"""Turning article-supplied strings into safe HTML: control characters removed, length capped,
everything escaped, and the matched terms of an explanation highlighted in its passage."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterable

from markupsafe import Markup, escape

# C0 and C1 controls (but tab and newline), lone surrogates, and non-characters: never shown.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPACE = re.compile(r"\s+")


def clean(value: Any, limit: int | None = 300) -> str:
    """Text fit to show: str, no control characters, spaces collapsed, at most `limit` chars."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = _SPACE.sub(" ", _CONTROL.sub("", str(value))).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def forms_of(explanation: dict[str, Any] | None) -> list[str]:
    """The surface forms the detector matched (the explanation's terms), longest first."""
    forms: set[str] = set()
    for term in (explanation or {}).get("terms") or []:
        if isinstance(term, dict):
            for f in term.get("forms") or []:
                f = clean(f, 100)
                if len(f) >= 2:
                    forms.add(f)
    return sorted(forms, key=lambda f: (-len(f), f))


def highlight(text: Any, forms: Iterable[str], limit: int | None = 600) -> Markup:
    """`text`, escaped, with each occurrence of one of `forms` (case-insensitive) in <mark>."""
    text = clean(text, limit)
    forms = [f for f in forms if f]
    if not text or not forms:
        return Markup(escape(text))
    # A form may be a stem ("talk" in "talks"): the rest of a Latin word is marked with it.
    pattern = re.compile("(?:" + "|".join(re.escape(f) for f in forms) + ")[A-Za-z]*", re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(Markup("<mark>") + escape(m.group(0)) + Markup("</mark>"))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def when(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time in UTC for display ('' for none)."""
    if not isinstance(value, datetime):
        return "" if value is None else clean(value, 40)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime(fmt)


def score(value: Any) -> str:
    return "" if value is None else f"{float(value):.2f}"
