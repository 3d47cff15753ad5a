"""`seedwatch serve`: the monitor flow as a Prefect deployment on the configured schedule.

Scheduling needs a Prefect API. With PREFECT_API_URL set, that server is used; otherwise a
local `prefect server` is started on 127.0.0.1 for the lifetime of this command (see
`seedwatch.prefect_env.local_api`). The first run starts at once, then one per interval (or
cron time). Runs never overlap: the deployment's concurrency limit is 1 and a run due while
one is going is cancelled (CANCEL_NEW), the runner itself executes one run at a time, and each
run holds the warehouse's run lock (a `seedwatch run` by hand meanwhile is refused, and a
scheduled run that meets one is skipped).

Ctrl-C (or SIGTERM) stops the runner; a run in progress is marked `interrupted` in
`run_history` by the run itself.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

from seedwatch.config import Config
from seedwatch.prefect_env import local_api

DEPLOYMENT_NAME = "seedwatch-monitor"


def schedule_kwargs(cfg: Config) -> dict:
    if cfg.schedule.cron:
        return {"cron": cfg.schedule.cron}
    return {"interval": timedelta(minutes=cfg.schedule.interval_minutes)}


def serve(config_path: str, cfg: Config) -> None:
    """Serve the deployment until Ctrl-C. Prefect reads its settings when first imported, so
    nothing from Prefect is imported before PREFECT_API_URL is set."""
    with local_api(ui=True, services=True, preferred_port=4200, announce=True) as api:
        from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
        from prefect.deployments import run_deployment
        from prefect.runner import Runner

        from flows.monitor import monitor
        runner = Runner(name=DEPLOYMENT_NAME, pause_on_shutdown=True, limit=1)
        deployment_id = runner.add_flow(
            monitor, name=DEPLOYMENT_NAME, parameters={"config_path": config_path},
            concurrency_limit=ConcurrencyLimitConfig(
                limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
            **schedule_kwargs(cfg))
        # The first run now, not one interval after start.
        run_deployment(deployment_id, timeout=0, as_subflow=False)
        when = cfg.schedule.cron or f"every {cfg.schedule.interval_minutes:g} min"
        print(f"Serving deployment {DEPLOYMENT_NAME} against {api}: a run now, then {when}. "
              "Ctrl-C stops.", flush=True)
        asyncio.run(runner.start())
