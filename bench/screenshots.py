"""Screenshots of the web UI's pages into docs/ (PNG): `python -m bench.screenshots CONFIG`.

Run it on the demo warehouse (`make demo`, then `python -m bench.screenshots
demo-run/seedwatch.toml`). It starts the UI in this process on a free port and drives Debian's
chromium with Playwright (nothing is downloaded). The story shown is the one with the most
articles; before the feedback page is taken, its first article is marked "not relevant" through
the page (the click lands in the demo warehouse's inbox, as any click would).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.screenshots", description=__doc__.split("\n\n")[0])
    ap.add_argument("config", help="config of the warehouse to show (e.g. demo-run/seedwatch.toml)")
    ap.add_argument("--out", default=str(REPO / "docs"), help="folder for the PNG files (default: docs/)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from seedwatch.config import load_config
    from ui.server import start_background

    out = Path(args.out)
    running = start_background(load_config(args.config), "127.0.0.1", 0)
    shots = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})

            def shot(name: str, full: bool = True) -> None:
                path = out / f"ui-{name}.png"
                page.screenshot(path=str(path), full_page=full)
                shots.append(path)

            page.goto(running.url + "/")
            shot("stories")
            rows = page.locator("table.stories tbody tr")
            counts = [int(rows.nth(i).locator("td.num").first.inner_text()) for i in range(rows.count())]
            rows.nth(counts.index(max(counts))).locator("a.headline").click()
            page.wait_for_load_state()
            if not page.locator("article.art").first.locator(".given").count():
                page.locator("article.art").first.locator("button.no").click()
                page.wait_for_load_state()
            if page.locator("details.dups").count():
                page.locator("details.dups summary").first.click()
            shot("story")
            for name, path in [("coverage", "/coverage?days=30"), ("feeds", "/feeds"),
                               ("alerts", "/alerts"), ("runs", "/runs"), ("feedback", "/feedback")]:
                page.goto(running.url + path)
                shot(name)
            browser.close()
    finally:
        running.stop()
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
