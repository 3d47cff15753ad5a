"""`seedwatch demo`: the whole pipeline offline, on the bundled demo news served from 127.0.0.1."""
from __future__ import annotations

import contextlib
import errno
import json
from pathlib import Path
from typing import Any, Iterator

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
        "[schedule]", "interval_minutes = 1",
        "# the demo polls every feed on every run (a real config lets each feed's rate decide)",
        "min_feed_interval_minutes = 0", "max_feed_interval_minutes = 0", "",
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


class DemoError(Exception):
    """The demo cannot start (its port is taken by something else); one line for the user."""


def _is_demo_site(base: str) -> bool:
    """Whether `base` already serves the demo news (a `seedwatch demo --serve-only`)."""
    import httpx
    first = manifest()["feeds"][0]["path"]
    with contextlib.suppress(httpx.HTTPError):
        res = httpx.get(f"{base}/{first}", timeout=3)
        return res.status_code == 200 and f"{base}/".encode() in res.content
    return False


@contextlib.contextmanager
def demo_site(port: int, reuse: bool = True) -> Iterator[str]:
    """Serve the demo site on 127.0.0.1:`port` and yield its base URL. With `reuse`, a demo
    site already served on that port (by `seedwatch demo --serve-only`) is used as it is."""
    try:
        srv = SiteServer(DEMO_DIR / "site", port=port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise DemoError(f"cannot serve the demo site on 127.0.0.1:{port}: {exc.strerror}") from None
        base = f"http://127.0.0.1:{port}"
        if reuse and _is_demo_site(base):
            yield base
            return
        raise DemoError(f"port {port} on 127.0.0.1 is in use by another program; stop it or "
                        "choose another port with --port N") from None
    with srv:
        yield srv.base


def write_demo_config(out: Path, base: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    cfg_path = out / "seedwatch.toml"
    cfg_path.write_text(demo_config(base, out), encoding="utf-8")
    return cfg_path


def run_demo(out: Path, port: int = DEFAULT_PORT) -> dict[str, Any]:
    """Serve the demo site, run the real flow once against it, return the run summary."""
    from flows.monitor import monitor

    with demo_site(port) as base:
        return monitor(config_path=str(write_demo_config(out, base)))


def serve_demo(out: Path, port: int = DEFAULT_PORT) -> int:
    """`seedwatch demo --serve-only`: keep the demo site up until Ctrl-C, for runs by hand."""
    from seedwatch.runcmd import sleep_until_interrupted

    import sys
    prog = sys.argv[0] if sys.argv and sys.argv[0].endswith("seedwatch") else "seedwatch"
    with demo_site(port, reuse=False) as base:
        cfg_path = write_demo_config(out, base)
        print(f"Serving the demo news at {base}/ until Ctrl-C. In another terminal:\n"
              f"  {prog} run --config {cfg_path}\n"
              f"  {prog} serve --config {cfg_path}", flush=True)
        sleep_until_interrupted()
    print("demo site stopped", flush=True)
    return 0
