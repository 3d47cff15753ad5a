"""Safety: schemes, private addresses, bounded decompression, entity expansion, markup in
alerts, and secrets that never reach the warehouse or the logs."""
from __future__ import annotations

import gzip
import logging
import time
import zlib
from pathlib import Path

import duckdb
import pytest

from alerts.render import plain
from extractors.feeds import FeedError, parse_feed
from extractors.http import BoundedDecoder, _TooLarge
from extractors.urls import UnsafeURL, check_address
from tests.conftest import make_config
from tests.faultsrv import FAULTS, FaultServer, news_site, run_plain

LAUGHS = (FAULTS / "feeds" / "laughs.xml").read_bytes()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://localhost:8080/x", "http://10.1.2.3/", "http://192.168.0.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/", "ftp://example.org/feed", "file:///etc/passwd", "javascript:alert(1)",
])
def test_unsafe_urls_are_refused(url):
    with pytest.raises(UnsafeURL):
        check_address(url, allow_private=False)


def test_private_feed_links_are_refused_and_recorded(tmp_path):
    """With the default fetch.allow_private_addresses = false, a configured feed on 127.0.0.1
    is fetched (the operator chose it), but the links it supplies to 127.0.0.1 are not."""
    with FaultServer() as srv:
        feed = f"{srv.base}/feeds/wire.xml"
        cfg = make_config(tmp_path, [feed], fetch={"allow_private_addresses": False, "read_timeout_seconds": 0.5})
        summary = run_plain(cfg)
        page_hits = sum(n for path, n in srv.hits.items() if path.startswith("/news/"))
    assert summary.feeds[0].outcome == "ok" and page_hits == 0
    con = duckdb.connect(cfg.warehouse.path, read_only=True)
    try:
        rows = con.execute("SELECT outcome, error_class, error FROM fetch_log WHERE kind = 'page'").fetchall()
        stored = con.execute("SELECT count(*) FROM articles WHERE text_source = 'feed_summary' "
                             "AND canonical_url LIKE 'http%'").fetchone()[0]
    finally:
        con.close()
    assert rows and all(r[:2] == ("skipped", "skip") for r in rows)
    assert all("private or local address (127.0.0.1)" in r[2] for r in rows)
    assert stored == len(rows)  # the items still land, with the feed's own text


def test_gzip_bomb_is_decoded_within_the_cap():
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join([z.compress(b"\0" * 1_000_000) for _ in range(200)] + [z.flush()])  # 200 MB
    decoder = BoundedDecoder("gzip", 1_000_000)
    with pytest.raises(_TooLarge):
        for i in range(0, len(bomb), 65536):
            out = decoder.feed(bomb[i:i + 65536])
            assert len(out) <= 1_000_001  # never more than the cap in memory at once
    assert BoundedDecoder("gzip", 100).feed(gzip.compress(b"hello")) == b"hello"
    assert BoundedDecoder("deflate", 100).feed(zlib.compress(b"hi")) == b"hi"


def test_billion_laughs_is_not_expanded():
    started = time.perf_counter()
    feed = parse_feed(LAUGHS.replace(b"{{BASE}}", b"http://example.org"))
    assert time.perf_counter() - started < 1.0
    assert len(feed.entries) == 1 and "lollol" not in feed.entries[0].title + feed.entries[0].summary


def test_a_body_that_names_a_local_file_is_not_read_from_disk(tmp_path):
    local = tmp_path / "local.xml"
    local.write_bytes(LAUGHS.replace(b"{{BASE}}", b"http://example.org"))
    assert parse_feed(local.read_bytes()).entries  # the file itself is a feed
    with pytest.raises(FeedError, match="not a feed"):  # its name, sent as a body, is not
        parse_feed(str(local).encode())


def test_entities_hidden_past_the_doctype_are_refused():
    with pytest.raises(FeedError, match="declares XML entities"):
        parse_feed((FAULTS / "feeds" / "laughs-hidden.xml").read_bytes())
    padded = b"<?xml version='1.0'?>" + b" " * 70_000 + LAUGHS.split(b"?>", 1)[1]
    feed = parse_feed(padded)  # a DOCTYPE far from the start is not parsed as one: no expansion
    assert all("lollol" not in e.title for e in feed.entries)


def test_alert_text_is_plain():
    assert plain('<script>alert(1)</script><b>Talks</b> &amp; <img src=x onerror=alert(2)>') \
        == "alert(1) Talks &"


def test_secrets_reach_neither_the_warehouse_nor_the_logs(tmp_path, monkeypatch, caplog, capfd):
    token = "tok3n-s3cr3t-0123456789abcdef"
    monkeypatch.setenv("SEEDWATCH_TEST_TOKEN", token)
    caplog.set_level(logging.DEBUG)
    with FaultServer(news_site(1, 6)) as srv:
        host = srv.base.split("//")[1]
        alerts = [{"url": f"json://hook:${{SEEDWATCH_TEST_TOKEN}}@{host}/hook/ok/${{SEEDWATCH_TEST_TOKEN}}"},
                  {"url": f"json://hook:${{SEEDWATCH_TEST_TOKEN}}@{host}/hook/fail/${{SEEDWATCH_TEST_TOKEN}}"}]
        cfg = make_config(tmp_path, [f"{srv.base}/feeds/site0.xml"], alerts=alerts)
        summary = run_plain(cfg)
        posts = list(srv.posts)
    assert summary.alerts_sent >= 1 and summary.alerts_failed >= 1  # both channels were used
    assert any(token in path for path, _ in posts)  # the receiver did get the secret
    out, err = capfd.readouterr()
    for name, text in [("logs", caplog.text), ("stdout", out), ("stderr", err)]:
        assert token not in text, name
    for path in Path(tmp_path).iterdir():  # warehouse, its WAL and its snapshot
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path.name


def test_a_tag_cut_off_by_truncation_is_removed_too():
    assert plain("Talks resume <img src=x onerror=alert(2)") == "Talks resume"
