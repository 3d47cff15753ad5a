"""What every `seedwatch` command sets up before it starts, and how it ends quietly.

* Prefect's environment (`seedwatch.prefect_env.configure`), before anything imports Prefect:
  PREFECT_HOME defaults to `.prefect` beside the command's warehouse.
* SIGTERM ends `run`, `serve` and `demo` like Ctrl-C (the run is marked `interrupted`).
* A closed output pipe (`seedwatch sql ... | head`) ends the command silently.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import select
import signal
import sys
from pathlib import Path

from seedwatch import prefect_env
from seedwatch.config import ConfigError, load_config

PREFECT_COMMANDS = ("run", "serve", "demo")


def prefect_home(args: argparse.Namespace) -> Path | None:
    """The default PREFECT_HOME of this command (None: it does not run Prefect)."""
    if args.command == "demo":
        return Path(args.out).resolve() / ".prefect"
    if args.command in ("run", "serve"):
        try:
            cfg = load_config(args.config)
        except ConfigError:
            return None  # the command itself reports the error
        return prefect_env.prefect_home_for(cfg.resolve(cfg.warehouse.path))
    return None


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def prepare(args: argparse.Namespace) -> None:
    prefect_env.configure(prefect_home(args), verbose=getattr(args, "verbose", False))
    if args.command in PREFECT_COMMANDS and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm)


class _NoCrashReports(logging.Filter):
    """Prefect reports Ctrl-C as a "Crash detected!" error for each task and flow run; the
    command says it once, in its own words. Apprise's INFO lines ("Notifying 1 service(s)")
    are captured per delivery as the channel's answer (alerts/channels.py raises apprise's
    level meanwhile), and are kept out of the terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("apprise") and record.levelno < logging.WARNING:
            return False
        return not (record.name.startswith("prefect") and "interrupt signal" in record.getMessage())


def quiet_interrupts() -> None:
    for handler in logging.getLogger().handlers:
        handler.addFilter(_NoCrashReports())


def stdout_is_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (POLLERR on the writing end)."""
    try:
        fd = sys.__stdout__.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush at exit does not complain."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno())
        os.close(devnull)
