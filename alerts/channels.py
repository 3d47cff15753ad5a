"""Alert channels: apprise URLs from the config, plus two local schemes for demos and tests.

`jsonfile:///abs/path.jsonl` (always an absolute path) appends one JSON object per alert to a file; `console://` prints
the alert. A channel is identified in the warehouse by a redacted id that never holds the
URL's secrets.
"""
from __future__ import annotations

import hashlib
import json
import logging
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, unquote, urlsplit

import apprise
from apprise.decorators import notify

_write_lock = threading.Lock()
_APPRISE_LOG = logging.getLogger("apprise")


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
    alert_id = (meta.get("qsd") or {}).get("alert_id")
    if alert_id:
        record["alert_id"] = alert_id
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

    @property
    def carries_alert_id(self) -> bool:
        """Whether the alert id travels with each message (`with_alert_id`), so that the
        receiver can drop a repeat."""
        return urlsplit(self.url).scheme.lower() in _ID_PARAMS

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


# Where a scheme lets us, the alert id travels with the message so that a receiver can drop
# a repeat (a resend after a crash between sending and recording): JSON webhooks get an
# Idempotency-Key header and an "alert_id" field, e-mail an X-Seedwatch-Alert-Id header.
_ID_PARAMS = {
    "json": ["+Idempotency-Key={id}", ":alert_id={id}"],
    "jsons": ["+Idempotency-Key={id}", ":alert_id={id}"],
    "mailto": ["+X-Seedwatch-Alert-Id={id}"],
    "mailtos": ["+X-Seedwatch-Alert-Id={id}"],
    "jsonfile": ["alert_id={id}"],
}


def with_alert_id(url: str, alert_id: str | None) -> str:
    """The channel URL with the alert id added where its scheme can carry one."""
    params = _ID_PARAMS.get(urlsplit(url).scheme.lower()) if alert_id else None
    if not params:
        return url
    query = "&".join(p.format(id=quote(alert_id, safe="")) for p in params)
    return url + ("&" if "?" in url else "?") + query


@contextmanager
def _kept_from_console():
    """apprise's log lines of a send go to the captured answer only. The capture lowers
    apprise's logger to INFO; propagating, its two lines a send ("Notifying 1 service(s)",
    "Sent ...") reached the root logger's handlers whatever level was configured: the run's
    console (Prefect's), at about half the CPU of a send. A failure still reaches the run's
    report and log through the answer recorded with the attempt."""
    before = _APPRISE_LOG.propagate
    _APPRISE_LOG.propagate = False
    try:
        yield
    finally:
        _APPRISE_LOG.propagate = before


def send(channel: Channel, title: str, body: str, alert_id: str | None = None) -> tuple[bool, str]:
    """Deliver one message; returns success and the channel's answer (redacted)."""
    ap = apprise.Apprise()
    if not ap.add(with_alert_id(channel.url, alert_id)):
        return False, "apprise cannot use this URL"
    with _kept_from_console(), \
            apprise.LogCapture(level=apprise.logging.INFO, fmt="%(levelname)s %(message)s") as captured:
        ok = ap.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT)
    answer = " ".join(captured.getvalue().split())[-500:] or ("sent" if ok else "failed")
    return bool(ok), redact(answer, channel)
