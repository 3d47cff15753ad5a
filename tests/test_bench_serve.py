"""The bench's corpus server (`bench.serve`): placeholder substitution, baked or per request."""
from __future__ import annotations

import urllib.request

from bench.serve import ServerProcess


def _get(url: str, etag: str | None = None) -> tuple[int, bytes, str | None]:
    req = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read(), resp.headers.get("ETag")
    except urllib.error.HTTPError as exc:
        return exc.code, b"", exc.headers.get("ETag")


def test_pages_carry_the_servers_address_baked_or_not(tmp_path):
    for bake in (False, True):
        root = tmp_path / f"site-{bake}"
        (root / "news").mkdir(parents=True)
        page = root / "news" / "a.html"
        page.write_bytes(b'<a href="{{BASE}}/news/b.html">b</a> <img src="{{BASE}}/i.jpg">')
        with ServerProcess(root, bake=bake) as base:
            status, body, etag = _get(f"{base}/news/a.html")
            assert status == 200
            assert body == f'<a href="{base}/news/b.html">b</a> <img src="{base}/i.jpg">'.encode()
            assert _get(f"{base}/news/a.html", etag)[0] == 304
            assert _get(f"{base}/news/missing.html")[0] == 404
        # baked: written into the file once, before the first answer; otherwise left as it was
        assert (b"{{BASE}}" in page.read_bytes()) is not bake


def test_an_unbaked_page_is_not_304_for_another_servers_etag(tmp_path):
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "f.xml").write_bytes(b"<rss><channel><link>{{BASE}}/</link></channel></rss>")
    with ServerProcess(tmp_path) as first, ServerProcess(tmp_path) as second:  # two ports
        _, old_body, old_etag = _get(f"{first}/feeds/f.xml")
        status, body, etag = _get(f"{second}/feeds/f.xml", old_etag)
        assert first != second and status == 200 and etag != old_etag  # another address inside
        assert body.decode() == old_body.decode().replace(first, second)
        assert _get(f"{second}/feeds/f.xml", etag)[0] == 304
