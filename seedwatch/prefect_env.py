"""Prefect's environment for the `seedwatch` command, and the local Prefect API it runs against.

Prefect reads its settings from the environment when it is first imported, so `configure` runs
before anything imports Prefect (the CLI imports flows only inside commands). It sets what the
Makefile used to set, each only when the user has not set it already:

* no analytics: `PREFECT_SERVER_ANALYTICS_ENABLED=false`, `DO_NOT_TRACK=1` (no "Failed to send
  telemetry", and no telemetry write racing the first migration of a fresh Prefect database,
  which printed a long "database is locked" traceback);
* `PREFECT_HOME`: `.prefect` in the warehouse's folder (for `seedwatch demo`, in its `--out`
  folder), so `run` and `serve` on one warehouse share one Prefect history, and runs of
  different warehouses never share a Prefect database;
* logs: Prefect's per-task "Finished in state Completed()" lines are dropped (task runs log at
  WARNING); the flow's own lines stay. `-v` shows everything.

`local_api` starts a Prefect server on 127.0.0.1 when `PREFECT_API_URL` is not set. It runs in
its own session, so Ctrl-C in the terminal (SIGINT to the whole foreground process group)
stops the run, not the server the run still needs to report "interrupted" to.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # A fresh Prefect database is migrated at the first start; slow on a busy machine.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "INFO",
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "WARNING",
}
VERBOSE = {"PREFECT_LOGGING_LEVEL": "DEBUG", "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "DEBUG"}


def prefect_home_for(warehouse: Path) -> Path:
    """The default PREFECT_HOME of a warehouse: `.prefect` beside it."""
    return warehouse.expanduser().resolve().parent / ".prefect"


def configure(home: Path | None = None, verbose: bool = False) -> None:
    """Set Prefect's environment defaults (never overriding what the user set)."""
    if "prefect" in sys.modules:  # too late for settings read at import; nothing to do
        return
    for key, value in {**DEFAULTS, **(VERBOSE if verbose else {})}.items():
        os.environ.setdefault(key, value)
    if home is not None and not os.environ.get("PREFECT_HOME"):
        os.environ["PREFECT_HOME"] = str(home)


# --- a Prefect API on 127.0.0.1 -------------------------------------------------------------

def free_port(preferred: int | None = None) -> int:
    with socket.socket() as s:
        if preferred:
            try:
                s.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(api_url: str, timeout: float = 120.0, proc: subprocess.Popen | None = None) -> None:
    import httpx
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the local Prefect server exited at start (status {proc.returncode})")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"Prefect server at {api_url} did not become healthy in {timeout:.0f}s")


@contextlib.contextmanager
def local_api(ui: bool = False, services: bool = False, preferred_port: int | None = None,
              announce: bool = False) -> Iterator[str]:
    """Yield the Prefect API URL: PREFECT_API_URL when set, else a server started here on
    127.0.0.1 (in its own session) and stopped at the end. `services` (the scheduler) are
    needed by `serve`; a single `run` needs only the API."""
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS") or 120)
    for attempt in range(3):  # a port taken between the probe and the server's bind: try another
        port = free_port(preferred_port if attempt == 0 else None)
        api = f"http://127.0.0.1:{port}/api"
        args = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                "--port", str(port), "--ui" if ui else "--no-ui"]
        if not services:
            args.append("--no-services")
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_healthy(api, timeout, proc)
            break
        except BaseException as exc:
            exited_by_itself = proc.poll() is not None
            stop_group(proc)
            if attempt == 2 or not exited_by_itself or not isinstance(exc, Exception):
                raise
    try:
        if announce:
            print(f"Started a local Prefect server; its UI is at http://127.0.0.1:{port}", flush=True)
        os.environ["PREFECT_API_URL"] = api
        if not ui:  # no "View at http://..." link to a UI that is not served
            os.environ.setdefault("PREFECT_UI_URL", "")
        yield api
    finally:
        with _deferred_interrupts():  # a second Ctrl-C must not leave the server running
            drain_prefect()
            os.environ.pop("PREFECT_API_URL", None)
            if not ui and os.environ.get("PREFECT_UI_URL") == "":
                del os.environ["PREFECT_UI_URL"]
            stop_group(proc)


@contextlib.contextmanager
def _deferred_interrupts() -> Iterator[None]:
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def drain_prefect(timeout: float = 10.0) -> None:
    """Send Prefect's queued logs and events now, while the API is still up (at exit it would
    be gone, and each lost batch prints an error)."""
    if "prefect" not in sys.modules:
        return
    with contextlib.suppress(Exception):
        from prefect.logging.handlers import APILogWorker
        APILogWorker.drain_all(timeout=timeout)
    with contextlib.suppress(Exception):
        from prefect.events.worker import EventsWorker
        EventsWorker.drain_all(timeout=timeout)


def stop_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Stop the server and the processes it started (its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):  # whatever of the group is still there
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
