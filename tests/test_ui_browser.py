"""The web UI in a real browser: Debian's chromium driven by Playwright (its own browser
downloads are never used). Skipped, saying why, where chromium or Playwright is missing."""
from __future__ import annotations

import os
import shutil

import duckdb
import pytest

from seedwatch.config import load_config
from seedwatch.demo import DEMO_DIR, demo_config
from seedwatch.sitesrv import SiteServer
from tests.faultsrv import run_plain
from warehouse import feedback as fb

CHROMIUM = os.environ.get("SEEDWATCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="Playwright for Python is not installed "
                       "(pip install -e '.[test]')"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no chromium at {CHROMIUM}: install "
                       "Debian's browser with `apt-get install -y chromium` to run the browser test"),
]


def in_thread(fn, *args):
    """Playwright's sync API runs an event loop in this thread; the monitor's cycle (which uses
    asyncio.run for alerts) runs in another."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


@pytest.fixture
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def test_analyst_filters_opens_a_story_and_marks_an_article_not_relevant(tmp_path, browser):
    from ui.server import start_background

    with SiteServer(DEMO_DIR / "site") as site:
        cfg_path = tmp_path / "seedwatch.toml"
        cfg_path.write_text(demo_config(site.base, tmp_path) + "\n[extract]\nworkers = 1\n", encoding="utf-8")
        cfg = load_config(cfg_path)
        assert in_thread(run_plain, cfg).new_articles == 41  # a real warehouse, built by the monitor's cycle
        wh = tmp_path / "warehouse.duckdb"
        con = duckdb.connect(str(wh), read_only=True)
        try:
            stories = con.execute("SELECT count(*) FROM stories").fetchone()[0]
        finally:
            con.close()
        running = start_background(cfg, "127.0.0.1", 0)
        try:
            page = browser.new_page()
            page.goto(running.url + "/")
            assert page.locator("table.stories tbody tr").count() == stories
            assert page.locator("#story-count").inner_text() == str(stories)

            # filter: Korean-language stories only
            page.select_option("select[name=language]", "ko")
            page.click("#filters button[type=submit]")
            page.wait_for_url("**language=ko**")
            con = duckdb.connect(str(wh), read_only=True)
            try:
                ko = con.execute("SELECT count(DISTINCT story_id) FROM story_members WHERE language = 'ko'").fetchall()[0][0]
            finally:
                con.close()
            assert 0 < page.locator("table.stories tbody tr").count() == ko < 8

            # open the biggest story
            rows = page.locator("table.stories tbody tr")
            counts = [int(rows.nth(i).locator("td.num").first.inner_text()) for i in range(rows.count())]
            rows.nth(counts.index(max(counts))).locator("a.headline").click()
            page.wait_for_url("**/stories/*")
            story_id = page.url.rsplit("/", 1)[1]
            first = page.locator("article.art").first
            article_id = first.get_attribute("id").removeprefix("a-")
            assert first.locator("blockquote.passage mark").count() >= 1  # matched terms marked
            assert "threshold" in first.locator("p.verdict").inner_text()

            # mark its first article not relevant
            first.locator("button.no").click()
            page.wait_for_url(f"**/stories/{story_id}")
            given = page.locator(f"#a-{article_id} .given")
            assert "marked not relevant (queued" in given.inner_text()
            assert page.locator(f"#a-{article_id} button.no.on").count() == 1

            queued = fb.read_inbox(wh).records
            assert len(queued) == 1 and queued[0]["label"] == "not_relevant"
            assert queued[0]["article_ids"] == [article_id] and queued[0]["story_id"] == story_id

            # the next run takes it in; the page then shows it as stored
            assert in_thread(run_plain, cfg).feedback_ingested == 1
            con = duckdb.connect(str(wh), read_only=True)
            try:
                rows_ = con.execute("SELECT article_id, label, topic, story_id FROM feedback").fetchall()
            finally:
                con.close()
            assert rows_ == [(article_id, "not_relevant", "inter-korean-diplomacy", story_id)]
            page.reload()
            text = page.locator(f"#a-{article_id} .given").inner_text()
            assert text == "marked not relevant"
            page.goto(running.url + "/feedback")
            assert page.locator("table.feedback tbody tr").count() == 1
            assert "taken in" in page.locator("table.feedback tbody tr").inner_text()
        finally:
            running.stop()
