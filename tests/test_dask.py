"""Extraction on a Dask cluster through prefect-dask: the runner the config asks for, and the
real flow with `[runner] dask_address = "local"` (a LocalCluster) against the fixture site."""
from __future__ import annotations

import asyncio

import duckdb
import pytest
from prefect.testing.utilities import prefect_test_harness

from flows.runners import DaskExtractor, LocalExtractor, extractor_for
from tests.conftest import write_config


def test_the_config_picks_the_extraction_backend(config_for):
    local = extractor_for(config_for([]))
    assert isinstance(local, LocalExtractor)

    remote = extractor_for(config_for([], runner={"dask_address": "tcp://10.0.0.5:8786", "batch_size": 25}))
    assert isinstance(remote, DaskExtractor) and remote.batch_size == 25
    assert remote.runner.address == "tcp://10.0.0.5:8786"  # not connected until entered

    cluster = extractor_for(config_for([], runner={"dask_address": "local"}, extract={"workers": 3}))
    assert cluster.runner.address is None
    assert cluster.runner.cluster_kwargs["n_workers"] == 3
    assert cluster.runner.cluster_kwargs["threads_per_worker"] == 1  # extraction holds the GIL


@pytest.fixture(scope="module")
def harness():
    with prefect_test_harness(server_startup_timeout=180):
        yield


def _task_run_names(flow_run_id) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, TaskRunFilter

    async def read():
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                task_run_filter=TaskRunFilter())
            return [r.name for r in runs]
    return asyncio.run(read())


def test_flow_extracts_on_a_local_dask_cluster(harness, site, config_for, tmp_path):
    from flows.monitor import monitor

    cfg = config_for([f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"])
    path = write_config(tmp_path / "seedwatch.toml", cfg)
    with path.open("a", encoding="utf-8") as f:  # 2 pages per Dask task: several tasks per batch
        f.write('\n[runner]\ndask_address = "local"\nbatch_size = 2\n')

    state = monitor(config_path=str(path), return_state=True)
    summary = state.result()
    assert summary["new_articles"] == 5 and summary["pages_fetched"] == 4

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT text_source, extractor, length(text) FROM articles "
                           "WHERE text_source = 'page'").fetchall()
    finally:
        con.close()
    assert len(rows) == 4 and all(e.startswith("trafilatura") and n > 200 for _, e, n in rows)
    # The pages went through the Dask cluster as Prefect task runs of this flow run.
    names = _task_run_names(state.state_details.flow_run_id)
    assert sum(n.startswith("extract-pages") for n in names) == 2  # 4 good pages, 2 per task


def test_deployment_file_parses_as_prefect_reads_it():
    """deploy/prefect.yaml: the polling deployment runs on the process pool, on an interval,
    one run at a time (a run due while one is going is cancelled)."""
    from pathlib import Path

    import yaml
    from prefect.cli.deploy._models import PrefectYamlModel

    path = Path(__file__).resolve().parent.parent / "deploy" / "prefect.yaml"
    model = PrefectYamlModel.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    by_name = {d.name: d for d in model.deployments}
    poll = by_name["seedwatch-monitor"]
    assert poll.entrypoint == "flows/monitor.py:monitor"
    assert poll.work_pool.name == "seedwatch-process"
    assert poll.schedules[0].interval.total_seconds() == 600
    assert (poll.concurrency_limit.limit, poll.concurrency_limit.collision_strategy) == (1, "CANCEL_NEW")
    # Anchored settings are shared, not copied: both deployments get the same pool and limit.
    assert by_name["seedwatch-monitor-dask"].work_pool == poll.work_pool
