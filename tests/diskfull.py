"""Run inside a small tmpfs (see tests/test_small_faults.py): a warehouse, a full disk during the
snapshot, the next run on the full disk, then the run after space is freed. Prints JSON."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from seedwatch import pipeline
from seedwatch.checks import user_facing
from seedwatch.sitesrv import SiteServer
from tests.conftest import FIXTURES, make_config
from tests.test_sql_cli import cycle
from warehouse.snapshot import refresh_snapshot


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def main(mnt: Path) -> dict:
    out: dict = {}
    with SiteServer(FIXTURES / "site") as site:
        feeds = [f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"]
        cfg = make_config(mnt, feeds, warehouse={"snapshot": False})
        cycle(cfg)
        filler = mnt / "filler"
        with open(filler, "wb") as fh:
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError as exc:
                out["filled"] = exc.errno
        os.truncate(filler, filler.stat().st_size - 400_000)  # room for small writes, not a copy
        wh = pipeline.warehouse_for(cfg)
        try:
            with wh.connect() as con:
                refresh_snapshot(con, wh.path)
            out["snapshot"] = "written"
        except Exception as exc:  # noqa: BLE001 - what a user would see
            out["snapshot"] = f"{type(exc).__name__}: {user_facing(exc)}"
        out["after_snapshot"] = files(mnt)
        cfg = make_config(mnt, feeds + [f"{site.base}/feeds/daily.xml?v=2"])
        try:
            cycle(cfg)
            out["next_run"] = "ok"
        except Exception as exc:  # noqa: BLE001
            out["next_run"] = f"{type(exc).__name__}: {user_facing(exc)}"
        filler.unlink()
        cycle(cfg)
        out["after_freeing"] = files(mnt)
        with pipeline.warehouse_for(cfg).connect() as con:
            out["new_feed_entries"] = con.execute(
                "SELECT count(*) FROM entries JOIN feeds USING (feed_id) WHERE url LIKE '%v=2'").fetchone()[0]
    return out


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
