"""The corpus server, in its own process as a remote site would be: `python -m bench.serve ROOT`.

A lean asyncio HTTP/1.1 server (keep-alive, ETag / If-None-Match → 304, `{{BASE}}`
substitution like `seedwatch.sitesrv`). It stands in for many remote sites, so it should cost
this machine's cores as little as possible: `http.server` spends ~4 ms of CPU a request
(a thread and a connection each), which on 2 cores would be charged to the monitor.

Prints the base URL on the first line of stdout, then serves until its stdin closes.
"""
from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

_TYPES = {".xml": "application/xml; charset=utf-8", ".html": "text/html; charset=utf-8",
          ".htm": "text/html; charset=utf-8"}


class ServerProcess:
    """`with ServerProcess(root) as base:` serves `root` from a child process."""

    def __init__(self, root: Path):
        self.root = root
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> str:
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.serve", str(self.root)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (Linux /proc)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        import os
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Site:
    def __init__(self, root: Path, base: str):
        self.root, self.base = root.resolve(), base.encode("ascii")
        self.cache: dict[str, tuple[bytes, bytes, bytes] | None] = {}  # path -> (body, etag, type)

    def get(self, path: str) -> tuple[bytes, bytes, bytes] | None:
        if path in self.cache:
            return self.cache[path]
        target = (self.root / unquote(urlsplit(path).path).lstrip("/")).resolve()
        found = None
        if self.root in target.parents and target.is_file():
            body = target.read_bytes().replace(b"{{BASE}}", self.base)
            etag = b'"' + hashlib.blake2b(body, digest_size=8).hexdigest().encode() + b'"'
            found = (body, etag, _TYPES.get(target.suffix, "application/octet-stream").encode())
        if target.suffix == ".xml" or found is None:  # feeds and misses are small: keep them
            self.cache[path] = found
        return found


async def handle(site: Site, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            method, target, _ = lines[0].split(b" ", 2)
            headers = {}
            for line in lines[1:]:
                if b":" in line:
                    k, v = line.split(b":", 1)
                    headers[k.strip().lower()] = v.strip()
            found = site.get(target.decode("latin-1")) if method in (b"GET", b"HEAD") else None
            if found is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            elif headers.get(b"if-none-match") == found[1]:
                writer.write(b"HTTP/1.1 304 Not Modified\r\nETag: " + found[1] + b"\r\n\r\n")
            else:
                body, etag, ctype = found
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\nETag: " + etag
                             + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
                if method == b"GET":
                    writer.write(body)
            await writer.drain()
            if headers.get(b"connection", b"").lower() == b"close":
                break
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def serve(root: Path) -> None:
    holder: dict[str, Site] = {}
    server = await asyncio.start_server(lambda r, w: handle(holder["site"], r, w), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    holder["site"] = Site(root, base)
    print(base, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    server.close()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
