"""Issue 11 items 10-12, as a new user meets them: Prefect's environment and noise, the demo
site kept up, busy ports, every feed failing, `feeds list`, secrets, broken pipes, `topic show
--config`, `make clean`, `make eval`, the deploy README. Real subprocesses and servers."""
from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from seedwatch import prefect_env
from seedwatch.evaldata import find_eval_files
from tests.conftest import REPO, write_config
from tests.faultsrv import dead_port


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")
           and k not in ("DO_NOT_TRACK",)}
    env.update(COLUMNS="200", **extra)
    return env


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
         cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seedwatch.cli", *args], cwd=cwd,
                          env=env or _env(), capture_output=True, text=True, timeout=timeout)


# --- item 10: Prefect's environment, set by the command itself --------------------------------

def test_configure_sets_defaults_before_prefect_and_keeps_what_the_user_set(tmp_path):
    code = ("import os, sys; from pathlib import Path; from seedwatch import prefect_env; "
            "prefect_env.configure(Path(sys.argv[1])); import prefect.settings as s; "
            "st = s.get_current_settings(); "
            "print(st.home, st.server.analytics_enabled, os.environ['DO_NOT_TRACK'])")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ph")], cwd=REPO, env=_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == [str(tmp_path / "ph"), "False", "1"], out.stderr[-2000:]
    mine = _env(PREFECT_HOME=str(tmp_path / "mine"), PREFECT_SERVER_ANALYTICS_ENABLED="true")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ph")], cwd=REPO, env=mine,
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.split()[:2] == [str(tmp_path / "mine"), "True"], out.stderr[-2000:]


def test_prefect_home_defaults_beside_the_warehouse(tmp_path):
    assert prefect_env.prefect_home_for(tmp_path / "data" / "w.duckdb") == tmp_path / "data" / ".prefect"


@pytest.mark.slow
def test_first_run_is_quiet_and_uses_the_warehouse_prefect_home(tmp_path, config_for, site):
    """A fresh machine: no PREFECT_* variables, an empty HOME, a Prefect database never migrated."""
    home = tmp_path / "home"
    home.mkdir()
    cfg = config_for([f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"])
    path = write_config(tmp_path / "seedwatch.toml", cfg)
    proc = _cli("run", "--config", str(path), env=_env(HOME=str(home)), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    err = proc.stderr
    for noise in ("Traceback", "telemetry", "database is locked", "prefect.task_runs",
                  "Starting temporary server", "Error logging to API", "apprise"):
        assert noise not in err, (noise, err[-3000:])
    assert len(err.strip().splitlines()) <= 15, err  # the flow's own lines, not Prefect's chatter
    assert (tmp_path / ".prefect").is_dir() and any((tmp_path / ".prefect").iterdir())
    assert not (home / ".prefect").exists()


# --- item 11: the demo site kept up, busy ports, every feed failing ---------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_demo(port: int, out: Path) -> subprocess.Popen:
    """`seedwatch demo --serve-only` in a child that Ctrl-C (SIGINT) stops as it would a user's."""
    return subprocess.Popen([sys.executable, "-m", "seedwatch.cli", "demo", "--serve-only", "--port",
                             str(port), "--out", str(out)], cwd=REPO, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_demo_serve_only_keeps_the_site_up_until_ctrl_c(tmp_path):
    port = _free_port()
    out = tmp_path / "demo-run"
    proc = _serve_demo(port, out)
    try:
        first = proc.stdout.readline()
        second = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first and "Ctrl-C" in first
        assert f"run --config {out / 'seedwatch.toml'}" in second
        feeds = [line.split('"')[1] for line in (out / "seedwatch.toml").read_text().splitlines()
                 if line.startswith("url = \"http")]
        assert len(feeds) >= 5
        for url in feeds:  # what `seedwatch run --config demo-run/seedwatch.toml` fetches
            res = httpx.get(url, timeout=5)
            assert res.status_code == 200 and b"<" in res.content[:100]
    finally:
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "Traceback" not in err, err
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


@pytest.mark.slow
def test_runs_by_hand_against_the_served_demo(tmp_path):
    """The newcomer's path: `demo --serve-only`, then `run --config demo-run/seedwatch.toml`; and
    `seedwatch demo` while the site is served uses that site instead of failing on the port."""
    port = _free_port()
    out = tmp_path / "demo-run"
    site = _serve_demo(port, out)
    try:
        assert "Ctrl-C" in site.stdout.readline()
        run = _cli("run", "--config", str(out / "seedwatch.toml"), timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "feeds ok 6" in run.stdout and "warning" not in run.stderr
        demo = _cli("demo", "--port", str(port), "--out", str(tmp_path / "again"), timeout=300)
        assert demo.returncode == 0, demo.stderr[-3000:]
        assert "feeds ok 6" in demo.stdout
    finally:
        site.send_signal(signal.SIGINT)
        site.communicate(timeout=20)


@pytest.mark.parametrize("extra", [[], ["--serve-only"]])
def test_demo_on_a_busy_port_says_so_in_one_line(tmp_path, extra):
    with socket.socket() as busy:  # another program on the port
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _cli("demo", "--port", str(port), "--out", str(tmp_path / "d"), *extra, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port}" in lines[0] and "--port" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_run_where_every_feed_failed_warns_and_exits_1(tmp_path, config_for):
    dead = dead_port()
    cfg = config_for([f"http://127.0.0.1:{dead}/feeds/a.xml", f"http://127.0.0.1:{dead}/feeds/b.xml"])
    path = write_config(tmp_path / "seedwatch.toml", cfg)
    mine = tmp_path / "my-prefect-home"  # a PREFECT_HOME the user chose is kept
    proc = _cli("run", "--config", str(path), env=_env(PREFECT_HOME=str(mine)), timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    warning = [line for line in proc.stderr.splitlines() if line.startswith("seedwatch: warning")]
    assert len(warning) == 1 and "every feed failed in this run (2 failed)" in warning[0]
    assert "Traceback" not in proc.stderr
    assert mine.is_dir() and not (tmp_path / ".prefect").exists()


def test_feed_warning_rule():
    from seedwatch.pipeline import feed_warning
    assert feed_warning({"ok": 1, "failed": 5}) is None
    assert feed_warning({"not_modified": 3}) is None
    assert "every feed failed" in feed_warning({"failed": 2, "skipped": 1})
    assert "backing off" in feed_warning({"skipped": 4})
    assert feed_warning({}) is None


# --- item 12: the CLI ------------------------------------------------------------------------

def _warehouse_with_feeds(tmp_path: Path, config_for, urls: list[str], **sections) -> Path:
    from warehouse import store
    from warehouse.db import Warehouse
    cfg = config_for(urls, **sections)
    with Warehouse(tmp_path / "warehouse.duckdb").transaction() as con:
        store.upsert_feeds(con, [{"url": u, "name": f"Feed {i}"} for i, u in enumerate(urls)])
    return write_config(tmp_path / "seedwatch.toml", cfg)


def test_feeds_list_shows_url_and_id_usable_by_disable(tmp_path, config_for):
    from warehouse.store import key
    urls = ["http://127.0.0.1:9/feeds/one.xml", "http://127.0.0.1:9/feeds/two.xml"]
    path = _warehouse_with_feeds(tmp_path, config_for, urls)
    listed = _cli("feeds", "list", "--config", str(path))
    assert listed.returncode == 0, listed.stderr
    for url in urls:
        row = next(line for line in listed.stdout.splitlines() if url in line)
        assert key(url) in row
    disabled = _cli("feeds", "disable", key(urls[1]), "--config", str(path))
    assert disabled.returncode == 0, disabled.stderr
    row = next(line for line in _cli("feeds", "list", "--config", str(path)).stdout.splitlines()
               if urls[1] in line)
    assert "disabled" in row


def test_feeds_list_on_a_missing_warehouse_does_not_create_it(tmp_path, config_for):
    path = write_config(tmp_path / "seedwatch.toml", config_for(["http://127.0.0.1:9/feed.xml"]))
    proc = _cli("feeds", "list", "--config", str(path))
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and "no warehouse" in proc.stderr
    assert list(tmp_path.iterdir()) == [path]  # no warehouse, no .wal, no lock file


def test_reading_needs_no_alert_secret(tmp_path, config_for):
    path = _warehouse_with_feeds(tmp_path, config_for, ["http://127.0.0.1:9/feed.xml"],
                                 alerts=[{"url": "json://hooks.example/${SW_TEST_UNSET_TOKEN}"}])
    env = _env()
    env.pop("SW_TEST_UNSET_TOKEN", None)
    sql = _cli("sql", "--config", str(path), "--csv", "SELECT count(*) AS n FROM feeds", env=env)
    assert sql.returncode == 0 and sql.stdout.split() == ["n", "1"], sql.stderr
    listed = _cli("feeds", "list", "--config", str(path), env=env)
    assert listed.returncode == 0 and "127.0.0.1:9/feed.xml" in listed.stdout, listed.stderr
    # What sends alerts still refuses to start without it, in one line naming it.
    run = _cli("run", "--config", str(path), env=env)
    assert run.returncode == 2 and "SW_TEST_UNSET_TOKEN is not set" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [
    ["topic", "show"],
    ["topic", "show", "--json"],
    ["feeds", "list"],
    ["sql", "SELECT * FROM range(5000)"],
    ["sql", "--csv", "SELECT * FROM range(5000)"],
])
def test_a_closed_pipe_ends_quietly(tmp_path, config_for, args):
    """`seedwatch ... | head -0`: the reader is gone before the first line is written."""
    if args[0] in ("feeds", "sql"):
        args = args[:2] + ["--config", str(_warehouse_with_feeds(
            tmp_path, config_for, [f"http://127.0.0.1:9/feed{i}.xml" for i in range(50)]))] + args[2:]
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "seedwatch.cli", *args], cwd=REPO, env=_env(),
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert proc.stderr.strip() == ""
    assert proc.returncode in (0, 1, 141)  # rich ends with 1 itself on a closed pipe


def test_topic_show_takes_the_configs_topics(tmp_path):
    cfg = tmp_path / "seedwatch.toml"
    cfg.write_text(f'[[topics]]\nfile = "{REPO / "seeds" / "inter-korean-diplomacy.toml"}"\n'
                   "threshold = 0.77\n", encoding="utf-8")
    proc = _cli("topic", "show", "--json", "--config", str(cfg))
    assert proc.returncode == 0, proc.stderr
    topics = json.loads(proc.stdout)
    assert [(t["name"], t["threshold"]) for t in topics] == [("inter-korean-diplomacy", 0.77)]


def test_make_clean_removes_the_demo_run(tmp_path):
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    for d in ("demo-run", ".venv", ".prefect"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "x").write_text("x")
    (tmp_path / "keep.txt").write_text("mine")
    proc = subprocess.run(["make", "-C", str(tmp_path), "clean"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Makefile", "keep.txt"]


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args], cwd=cwd,
                   check=True, capture_output=True, timeout=60)


@pytest.fixture
def checkouts(tmp_path):
    """A main checkout with shared/eval beside it, a worktree elsewhere, a clone elsewhere."""
    main, shared = tmp_path / "work" / "main", tmp_path / "work" / "shared" / "eval"
    main.mkdir(parents=True)
    shared.mkdir(parents=True)
    shutil.copy(REPO / "Makefile", main / "Makefile")
    (main / "pyproject.toml").write_text("[project]\nname='x'\n")
    _git("init", "-q", "-b", "main", cwd=main)
    _git("add", ".", cwd=main)
    _git("commit", "-qm", "x", cwd=main)
    _git("worktree", "add", "-q", str(tmp_path / "elsewhere" / "wt"), cwd=main)
    _git("clone", "-q", str(main), str(tmp_path / "elsewhere" / "clone"), cwd=tmp_path)
    item = {"id": "1", "title": "Koreas hold talks", "text": "The two Koreas held talks at Panmunjom.",
            "lang": "en", "label": "YES"}
    for name in ("dev.jsonl.gz", "dev2.jsonl.gz"):
        (shared / name).write_bytes(gzip.compress((json.dumps(item) + "\n").encode()))
    return {"main": main, "wt": tmp_path / "elsewhere" / "wt",
            "clone": tmp_path / "elsewhere" / "clone", "shared": shared}


def test_eval_data_is_found_from_the_main_checkout_a_worktree_and_a_clone(checkouts):
    want = [checkouts["shared"] / "dev.jsonl.gz", checkouts["shared"] / "dev2.jsonl.gz"]
    for name in ("main", "wt", "clone"):
        assert [p.resolve() for p in find_eval_files(checkouts[name])] == [p.resolve() for p in want], name
    (checkouts["shared"] / "dev2.jsonl.gz").unlink()
    assert [p.name for p in find_eval_files(checkouts["clone"])] == ["dev.jsonl.gz"]


def _make_eval(checkout: Path, *extra: str) -> subprocess.CompletedProcess:
    # The repository's own venv, and no install step (STAMP empty): only the eval recipe runs.
    return subprocess.run(["make", "-C", str(checkout), "-n", "eval", f"VENV={REPO / '.venv'}",
                           "STAMP=", *extra], capture_output=True, text=True, timeout=120)


def test_make_eval_passes_both_files_or_says_in_one_line_what_is_missing(checkouts, tmp_path):
    proc = _make_eval(checkouts["clone"])
    assert proc.returncode == 0, proc.stderr
    shared = checkouts["shared"].resolve()
    assert f"seedwatch eval {shared / 'dev.jsonl.gz'} {shared / 'dev2.jsonl.gz'}" in proc.stdout

    lonely = tmp_path / "lonely"
    shutil.copytree(checkouts["main"], lonely, ignore=shutil.ignore_patterns(".git"))
    proc = _make_eval(lonely)
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1 and "EVAL_DIR=" in proc.stderr, proc.stderr
    proc = _make_eval(lonely, f"EVAL_DIR={checkouts['shared']}")
    assert proc.returncode == 0 and "dev2.jsonl.gz" in proc.stdout, proc.stderr


def test_deploy_readme_exports_seedwatch_home_before_prefect_deploy():
    text = (REPO / "deploy" / "README.md").read_text(encoding="utf-8")
    step2 = text[text.index("## 2."):text.index("## 3.")]
    block = step2[step2.index("```sh"):step2.index("```", step2.index("```sh") + 5)]
    lines = [line.strip() for line in block.splitlines()]
    export = next(i for i, line in enumerate(lines) if line.startswith("export SEEDWATCH_HOME="))
    deploy = next(i for i, line in enumerate(lines) if line.startswith("prefect deploy"))
    assert export < deploy
