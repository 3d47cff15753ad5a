"""`seedwatch serve`: the monitor flow as a Prefect deployment on the configured schedule.

Scheduling needs a Prefect API. With PREFECT_API_URL set, that server is used; otherwise a
local `prefect server` is started on 127.0.0.1 for the lifetime of this command. Runs never
overlap: the deployment's concurrency limit is 1 and a run due while one is going is cancelled
(CANCEL_NEW), and the runner itself executes one run at a time.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from typing import Iterator

import httpx

from seedwatch.config import Config

DEPLOYMENT_NAME = "seedwatch-monitor"


def _free_port(preferred: int = 4200) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


def wait_healthy(api_url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"Prefect server at {api_url} did not become healthy in {timeout:.0f}s")


@contextlib.contextmanager
def prefect_api() -> Iterator[str]:
    """Yield the API URL to use, starting a local server when none is configured."""
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_healthy(api)
        print(f"Started a local Prefect server; its UI is at http://127.0.0.1:{port}", flush=True)
        os.environ["PREFECT_API_URL"] = api
        yield api
    finally:
        _stop_group(proc)


def _stop_group(proc: subprocess.Popen) -> None:
    """Stop the server and the uvicorn processes it started (its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=15)
    time.sleep(1)
    with contextlib.suppress(ProcessLookupError):  # whatever of the group is still there
        os.killpg(proc.pid, signal.SIGKILL)


def schedule_kwargs(cfg: Config) -> dict:
    if cfg.schedule.cron:
        return {"cron": cfg.schedule.cron}
    return {"interval": timedelta(minutes=cfg.schedule.interval_minutes)}


def serve(config_path: str, cfg: Config) -> None:
    """Serve the deployment until Ctrl-C. Prefect reads its settings when first imported, so
    nothing from Prefect is imported before PREFECT_API_URL is set."""
    with prefect_api() as api:
        from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

        from flows.monitor import monitor
        when = cfg.schedule.cron or f"every {cfg.schedule.interval_minutes:g} min"
        print(f"Serving deployment {DEPLOYMENT_NAME} ({when}) against {api}; Ctrl-C stops.", flush=True)
        monitor.serve(
            name=DEPLOYMENT_NAME,
            parameters={"config_path": config_path},
            global_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
            limit=1,
            pause_on_shutdown=True,
            **schedule_kwargs(cfg),
        )
