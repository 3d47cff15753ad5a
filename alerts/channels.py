"""Alert channels: apprise URLs from the config, plus two local schemes for demos and tests.

`jsonfile:///abs/path.jsonl` (always an absolute path) appends one JSON object per alert to a file; `console://` prints
the alert. A channel is identified in the warehouse by a redacted id that never holds the
URL's secrets.
"""
from __future__ import annotations

import hashlib
import json
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

import apprise
from apprise.decorators import notify

_write_lock = threading.Lock()


class ChannelError(ValueError):
    """An alert URL apprise cannot use (unknown scheme, missing parts)."""


@notify(on="jsonfile", name="seedwatch JSON-lines file")
def _jsonfile(body: str, title: str, notify_type: str, meta: dict, *args, **kwargs) -> bool:
    # apprise reads jsonfile:///tmp/a.jsonl as host "tmp", path "/a.jsonl": the path is absolute.
    path = "/" + "/".join(p.strip("/") for p in (meta.get("host") or "", meta.get("fullpath") or "") if p.strip("/"))
    path = unquote(path)
    if path == "/":
        return False
    record = {"at": datetime.now(timezone.utc).isoformat(), "title": title, "body": body,
              "type": str(notify_type)}
    with _write_lock, open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return True


@notify(on="console", name="seedwatch console")
def _console(body: str, title: str, notify_type: str, meta: dict, *args, **kwargs) -> bool:
    print(f"\n=== ALERT: {title}\n{body}\n", file=sys.stdout, flush=True)
    return True


@dataclass(frozen=True)
class Channel:
    url: str
    mode: str = "immediate"
    name: str = ""

    @property
    def id(self) -> str:
        """scheme://host#hash: readable, stable, and free of tokens and passwords."""
        parts = urlsplit(self.url)
        digest = hashlib.sha256(self.url.encode("utf-8")).hexdigest()[:8]
        label = self.name or f"{parts.scheme}://{parts.hostname or ''}"
        return f"{label}#{digest}"

    def secrets(self) -> list[str]:
        parts = urlsplit(self.url)
        found = [self.url, parts.password or "", parts.username or ""]
        found += [seg for seg in parts.path.split("/") if len(seg) >= 12]
        return [s for s in found if s]


def check_channel(channel: Channel) -> None:
    """Raise ChannelError when apprise does not understand the URL."""
    if apprise.Apprise.instantiate(channel.url) is None:
        scheme = urlsplit(channel.url).scheme or "(none)"
        raise ChannelError(f"alert channel {channel.id}: apprise cannot use this URL "
                           f"(unknown scheme {scheme!r} or missing parts)")


def redact(text: str, channel: Channel) -> str:
    for secret in sorted(channel.secrets(), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def send(channel: Channel, title: str, body: str) -> tuple[bool, str]:
    """Deliver one message; returns success and the channel's answer (redacted)."""
    ap = apprise.Apprise()
    if not ap.add(channel.url):
        return False, "apprise cannot use this URL"
    with apprise.LogCapture(level=apprise.logging.INFO, fmt="%(levelname)s %(message)s") as captured:
        ok = ap.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT)
    answer = " ".join(captured.getvalue().split())[-500:] or ("sent" if ok else "failed")
    return bool(ok), redact(answer, channel)
