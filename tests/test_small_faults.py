"""Issue 11.7: userinfo in links, ${VAR} in feed URLs, a damaged warehouse, a full disk."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug import Response

from seedwatch.config import ConfigError, parse_config
from tests.conftest import REPO, write_config
from tests.test_page_retries import PAGE
from tests.test_pipeline import query, run_once
from tests.test_sql_cli import built  # noqa: F401 - a warehouse after one cycle


def seedwatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seedwatch.cli", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


# --- userinfo ------------------------------------------------------------------------------

def test_credentials_in_feed_links_are_never_sent(httpserver, config_for):
    base = httpserver.url_for("")[:-1]
    host = base.split("://", 1)[1]
    items = [("a", f"http://reader:s3cret@{host}/a.html"), ("r", f"{base}/r.html")]
    httpserver.expect_request("/feed.xml").respond_with_data(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>' + "".join(
            f"<item><title>Talks {g}</title><link>{link}</link><guid>{g}</guid></item>" for g, link in items)
        + "</channel></rss>", content_type="application/rss+xml")
    # a redirect that supplies credentials of its own
    httpserver.expect_request("/r.html").respond_with_response(
        Response("", status=302, headers={"Location": f"http://admin:hunter2@{host}/b.html"}))
    seen = []

    def page(request):
        seen.append((request.path, request.headers.get("Authorization")))
        return Response(PAGE, content_type="text/html")

    httpserver.expect_request("/a.html").respond_with_handler(page)
    httpserver.expect_request("/b.html").respond_with_handler(page)
    cfg = config_for([f"{base}/feed.xml"])
    run_once(cfg)
    assert sorted(seen) == [("/a.html", None), ("/b.html", None)]
    assert all(req.headers.get("Authorization") is None for req, _ in httpserver.log)
    stored = " ".join(str(v) for row in query(cfg, "SELECT link, canonical_url FROM entries") for v in row)
    stored += " ".join(str(r) for r in query(cfg, "SELECT url FROM fetch_log"))
    assert "s3cret" not in stored and "hunter2" not in stored and "reader" not in stored


# --- ${VAR} and credentials in configured feed URLs ----------------------------------------

@pytest.mark.parametrize("url, words", [
    ("https://example.org/feed?token=${FEED_TOKEN}", ["feeds[0].url", "${FEED_TOKEN}", "full URL"]),
    ("https://user:pw@example.org/feed.xml", ["feeds[0].url", "credentials"]),
])
def test_feed_url_with_a_variable_or_credentials_is_refused(url, words, tmp_path, monkeypatch):
    monkeypatch.setenv("FEED_TOKEN", "abc")  # set or not, it is refused, never half-expanded
    with pytest.raises(ConfigError) as err:
        parse_config({"feeds": [{"url": url}]})
    assert all(w in str(err.value) for w in words)
    config = tmp_path / "seedwatch.toml"
    config.write_text(f'[[feeds]]\nurl = "{url}"\n', encoding="utf-8")
    done = seedwatch("run", "--config", str(config))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("seedwatch: error: feeds[0].url")


# --- a damaged warehouse -------------------------------------------------------------------

def damaged_copy(built, tmp_path, damage) -> Path:  # noqa: F811
    config, wh = built
    text = config.read_text(encoding="utf-8")
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(wh, copy)
    damage(copy)
    new = tmp_path / "seedwatch.toml"
    new.write_text(text.replace(str(wh), str(copy)), encoding="utf-8")
    return new


def truncate(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(12288 + 100_000)  # the headers and part of the first block


def scribble(path: Path) -> None:
    """Overwrite blocks after the headers with garbage (bad checksums)."""
    with open(path, "r+b") as fh:
        fh.seek(12288)
        fh.write(b"\xa5" * (path.stat().st_size - 12288))


@pytest.mark.parametrize("damage", [truncate, scribble])
@pytest.mark.parametrize("command", [["run"], ["feeds", "list"], ["sql", "SELECT max(length(text)) FROM articles"]])
def test_damaged_warehouse_is_one_line_saying_what_to_do(built, tmp_path, damage, command):  # noqa: F811
    config = damaged_copy(built, tmp_path, damage)
    done = seedwatch(*command[:1], "--config", str(config), *command[1:])
    assert done.returncode in (1, 2), (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seedwatch: error:"), done.stderr
    assert "damaged" in lines[0] and "backup" in lines[0]


# --- a full disk during the snapshot -------------------------------------------------------

def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    done = subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                          capture_output=True, timeout=30)
    return done.returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="needs unshare and a tmpfs mount in a user namespace")
def test_full_disk_during_snapshot_cleans_up_and_says_disk_full(tmp_path):
    """A real full disk: a 16 MB tmpfs in a private mount namespace, filled to the brim."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = f"mount -t tmpfs -o size=16m tmpfs {mnt} && exec {sys.executable} -m tests.diskfull {mnt}"
    done = subprocess.run(["unshare", "-Urm", "sh", "-c", script], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["filled"] == 28  # ENOSPC: the disk was full
    assert out["snapshot"].startswith("DiskFull: disk full")
    # no half-written copy is left to keep the disk full
    assert not [f for f in out["after_snapshot"] if ".tmp" in f], out["after_snapshot"]
    # the next run, disk still full: "disk full", not "cannot rollback - no transaction is active"
    assert out["next_run"].startswith("DiskFull: disk full"), out["next_run"]
    assert "rollback" not in out["next_run"]
    # with space again, the run stores what it could not before, and the snapshot is written
    assert out["new_feed_entries"] == 3
    assert "warehouse.snapshot.duckdb" in out["after_freeing"]
    assert not [f for f in out["after_freeing"] if ".tmp" in f]
