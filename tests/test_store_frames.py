"""Batched writes scan NumPy columns (`warehouse.store.frame`): values keep their types through
DuckDB's inference, and the flow's process does not load pyarrow."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from warehouse.store import _registered, frame, insert_rows

ROOT = Path(__file__).resolve().parent.parent


def test_values_round_trip_through_a_batch_insert(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("""CREATE TABLE t (k VARCHAR PRIMARY KEY, n BIGINT, ts TIMESTAMPTZ, ok BOOLEAN,
                                   note VARCHAR, sig BIGINT[], meta VARCHAR)""")
    when = datetime(2018, 1, 2, 9, 30, tzinfo=timezone.utc)
    big = 2**62 + 7  # past 32 bits: a band key or signature value
    rows = [
        {"k": "a", "n": big, "ts": when, "ok": True, "note": None, "meta": {"x": "ü"}},
        {"k": "b", "n": None, "ts": None, "ok": False, "note": "텍스트", "meta": None},
    ]
    cols = ("k", "n", "ts", "ok", "note", "meta")
    assert insert_rows(con, "t", rows, cols) == 2
    assert insert_rows(con, "t", rows, cols) == 0  # keyed: a rerun adds nothing
    got = con.execute("SELECT k, n, ts, ok, note, meta FROM t ORDER BY k").fetchall()
    assert got[0][:5] == ("a", big, when, True, None)
    assert got[0][5] == '{"x": "ü"}'  # dicts are stored as JSON text
    assert got[1] == ("b", None, None, False, "텍스트", None)

    # lists of 64-bit ints (sketch signatures), and a column of only NULLs
    with _registered(con, "sk", frame(k=["c", "d"], sig=[[1, big], [3]], none=[None, None])):
        con.execute("INSERT INTO t (k, sig, note) SELECT k, sig, none FROM sk")
    assert con.execute("SELECT sig, note FROM t WHERE k = 'c'").fetchone() == ([1, big], None)


def test_an_empty_probe_matches_nothing():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 'x' AS v")
    with _registered(con, "probe", frame(v=[])):
        assert con.execute("SELECT count(*) FROM t WHERE v IN (SELECT v FROM probe)").fetchall() == [(0,)]


def test_the_flow_does_not_import_pyarrow():
    """pyarrow would add ~50 MB to the flow process's resident size (issue 13's memory target)."""
    code = "import sys, flows.monitor, seedwatch.cli; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_pending_batches_take_each_articles_first_entry_in_order(tmp_path):
    """`pending_entries`, read batch by batch with its cursor, gives what the plain definition
    gives: the first entry (by first_seen, then entry_id) of every article, oldest first, each
    once, with repeats of an article and equal times spread over the batches."""
    import random
    from datetime import timedelta

    from warehouse.db import Warehouse
    from warehouse.store import pending_entries

    wh = Warehouse(tmp_path / "w.duckdb")
    t0 = datetime(2018, 1, 2, tzinfo=timezone.utc)
    rng = random.Random(13)
    rows = [{"entry_id": f"e{i:04d}", "article_url": f"https://news.example/{rng.randrange(120)}",
             "feed_id": "f", "first_seen": t0 + timedelta(minutes=rng.randrange(60)),
             "title": f"title {i}"} for i in range(400)]
    with wh.transaction() as con:
        insert_rows(con, "pending", rows, ("entry_id", "article_url", "feed_id", "first_seen", "title"))
        got, after = [], None
        while batch := pending_entries(con, 7, after):
            got += [r["entry_id"] for r in batch]
            after = (batch[-1]["first_seen"], batch[-1]["entry_id"])
    first: dict[str, tuple] = {}
    for r in rows:
        k = (r["first_seen"], r["entry_id"])
        first[r["article_url"]] = min(first.get(r["article_url"], k), k)
    assert got == [e for _, e in sorted(first.values())]
    assert len(got) == len({r["article_url"] for r in rows}) > 50
