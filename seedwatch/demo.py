"""`seedwatch demo`: the whole pipeline offline, on the bundled demo news served from 127.0.0.1."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seedwatch.sitesrv import SiteServer

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
DEFAULT_PORT = 8941  # fixed, so article URLs (the keys) are the same on every demo run


def manifest() -> dict[str, Any]:
    return json.loads((DEMO_DIR / "manifest.json").read_text(encoding="utf-8"))


def demo_config(base: str, out: Path) -> str:
    """The TOML config of a demo run: the demo feeds, a warehouse and an alert file in `out`."""
    seeds = (DEMO_DIR.parent / "seeds").resolve()
    lines = [
        "[warehouse]", f'path = "{(out / "warehouse.duckdb").resolve()}"', "",
        "[schedule]", "interval_minutes = 1", "",
        "[fetch]", "allow_private_addresses = true", "retries = 1", "backoff_seconds = 0.2", "",
    ]
    for topic in sorted(seeds.glob("*.toml")):
        lines += ["[[topics]]", f'file = "{topic}"', ""]
    for feed in manifest()["feeds"]:
        lines += ["[[feeds]]", f'url = "{base}/{feed["path"]}"', f'name = "{feed["name"]}"',
                  f'language = "{feed.get("language", "")}"', ""]
    lines += ["[[alerts]]", f'url = "jsonfile://{(out / "alerts.jsonl").resolve()}"',
              'name = "demo-alerts-file"', 'mode = "immediate"', ""]
    return "\n".join(lines)


def run_demo(out: Path, port: int = DEFAULT_PORT) -> dict[str, Any]:
    """Serve the demo site, run the real flow once against it, return the run summary."""
    from flows.monitor import monitor

    out.mkdir(parents=True, exist_ok=True)
    with SiteServer(DEMO_DIR / "site", port=port) as srv:
        cfg_path = out / "seedwatch.toml"
        cfg_path.write_text(demo_config(srv.base, out), encoding="utf-8")
        return monitor(config_path=str(cfg_path))
