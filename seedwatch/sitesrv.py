"""A small static web server on 127.0.0.1 for the demo news and for tests.

Serves a folder; in text files the placeholder `{{BASE}}` becomes `http://127.0.0.1:PORT`,
so feeds can carry absolute links. Answers conditional GETs (ETag, Last-Modified) with 304
like a real news site.
"""
from __future__ import annotations

import hashlib
import mimetypes
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

_TEXT_TYPES = (".xml", ".html", ".htm", ".rss", ".atom", ".json", ".txt")
_STARTED = formatdate(usegmt=True)


class _Handler(BaseHTTPRequestHandler):
    server: "SiteServer._Server"

    def log_message(self, fmt: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        root = self.server.root
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        target = (root / rel).resolve()
        if target.is_dir():
            target = target / "index.html"
        if root not in target.parents and target != root or not target.is_file():
            self.send_error(404, "Not Found")
            return
        body = target.read_bytes()
        if target.suffix in _TEXT_TYPES:
            body = body.replace(b"{{BASE}}", self.server.base.encode("ascii"))
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix == ".xml":
            ctype = "application/xml"
        self.send_response(200)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8" if target.suffix in _TEXT_TYPES else ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", _STARTED)
        self.end_headers()
        self.wfile.write(body)


class SiteServer:
    """`with SiteServer(folder, port=0) as srv:` serves `folder` at `srv.base`."""

    class _Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        root: Path
        base: str

    def __init__(self, root: str | Path, port: int = 0, host: str = "127.0.0.1"):
        self.httpd = self._Server((host, port), _Handler)
        self.httpd.root = Path(root).resolve()
        self.port = self.httpd.server_address[1]
        self.base = self.httpd.base = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="site-server", daemon=True)

    def __enter__(self) -> "SiteServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
