"""Flow runs end when their work ends, not up to a second later.

Prefect 3.9's synchronous flow engine keeps a heartbeat thread beside each flow run (for
zombie detection in deployments) that sleeps in steps of one second, and at the end of the run
waits for it to notice that it should stop: every flow run ended 0-1 s after its last task (an
empty flow run took 1.06 s, 0.07 s without the wait; the bench's run over 1,000 unchanged feeds
went from 1.06 to 0.5 s). Prefect's asynchronous engine does not wait for the thread
(`join_on_exit=False`); `install` makes the synchronous engine do the same. The thread is a
daemon and checks for the stop (and for a final state) before it sends anything, so no
heartbeat goes out after the run; it just ends within a second on its own. Heartbeats while
the run lasts are unchanged.

Every flow module imports this one. `flows/__init__.py` must not: `seedwatch serve` imports
`flows.serve` before it sets PREFECT_API_URL, and Prefect reads its settings when imported.
"""
from __future__ import annotations

import functools

import prefect.flow_engine as _engine


def install() -> None:
    """Make the synchronous flow engine stop its heartbeat thread without waiting for it."""
    current = _engine._send_heartbeats
    if getattr(current, "seedwatch_no_join", False):
        return
    patched = functools.partial(current, join_on_exit=False)
    patched.seedwatch_no_join = True  # type: ignore[attr-defined]
    _engine._send_heartbeats = patched


install()
