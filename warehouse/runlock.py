"""One monitoring run at a time per warehouse: a lock file beside the warehouse.

`<warehouse>.lock` holds a POSIX record lock (`fcntl.lockf`) for as long as a run goes, and
names the holder (pid, start time, command) so that a second run can say which run it met.
The kernel drops the lock when the holding process ends, however it ends (SIGKILL included),
so a lock file left by a dead run is simply taken over: what counts is the lock, not the file.

Record locks belong to a process, not to its children, so extraction workers started by the
run never keep the warehouse locked after the run is gone. Within one process the lock is
re-entrant (the CLI takes it before the Prefect flow starts, and the flow takes it again).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from warehouse.db import WarehouseError


class RunLocked(WarehouseError):
    """Another process is running the monitor on this warehouse."""

    exit_status = 75  # EX_TEMPFAIL: try again later

    def __init__(self, path: Path, holder: dict[str, Any]):
        self.path, self.holder = path, holder
        super().__init__(f"another run is using warehouse {str(path)[:-len('.lock')]}: "
                         f"{describe_holder(holder)}; wait for it (seedwatch run --wait) or stop it")


def lock_path(warehouse: str | os.PathLike[str]) -> Path:
    return Path(str(warehouse) + ".lock")


def describe_holder(holder: dict[str, Any]) -> str:
    pid = holder.get("pid", "?")
    started = holder.get("started_at") or "at an unknown time"
    what = holder.get("command")
    return f"pid {pid}, started {started}" + (f" ({what})" if what else "")


def read_holder(path: Path) -> dict[str, Any]:
    """What the lock file says about its holder ({} when unreadable or empty)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


_held: dict[Path, tuple[int, int]] = {}  # lock file → (fd, depth), in this process
_guard = threading.Lock()


def _try_lock(fd: int) -> bool:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise


def _command() -> str:
    argv = [os.path.basename(sys.argv[0])] + sys.argv[1:] if sys.argv else []
    return " ".join(argv)[:200]


@contextlib.contextmanager
def run_lock(warehouse: str | os.PathLike[str], wait: bool = False, poll: float = 0.5,
             on_wait: Callable[[dict[str, Any]], None] | None = None) -> Iterator[Path]:
    """Hold the run lock of `warehouse` for the block. Held by another process: raise
    RunLocked, or with `wait` call `on_wait(holder)` once and wait until it is free."""
    path = lock_path(warehouse).resolve()
    with _guard:
        if path in _held:  # re-entrant within this process
            fd, depth = _held[path]
            _held[path] = (fd, depth + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield path
        finally:
            with _guard:
                fd, depth = _held[path]
                _held[path] = (fd, depth - 1)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        told = False
        while not _try_lock(fd):
            holder = read_holder(path)
            if not wait:
                raise RunLocked(path, holder)
            if not told and on_wait is not None:
                on_wait(holder)
                told = True
            time.sleep(poll)
        record = {"pid": os.getpid(), "command": _command(),
                  "started_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
        with _guard:
            _held[path] = (fd, 1)
        try:
            yield path
        finally:
            with _guard:
                _held.pop(path, None)
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # the file stays (removing it would race a waiting run)
    finally:
        os.close(fd)  # closing releases the record lock
