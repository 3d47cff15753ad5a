"""Secrets out of the logs: every value the config took from the environment (`${NAME}`) is
replaced by *** in every log record, whichever library logs it and at whatever level.

A log-record factory is used rather than a filter: filters on a logger do not see records
of its children, and handlers (Prefect's, pytest's, the CLI's) come and go.
"""
from __future__ import annotations

import logging
import threading
from urllib.parse import quote

MIN_LENGTH = 4  # shorter values would blank out ordinary words
_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def remember(value: str) -> None:
    """Treat `value` (and its URL-encoded form) as a secret from now on."""
    global _installed
    if len(value) < MIN_LENGTH:
        return
    with _lock:
        _secrets.update({value, quote(value, safe="")})
        if not _installed:
            _install()
            _installed = True


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return text


def _install() -> None:
    base = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is the logging module's to report
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
