"""The corpus server, in its own process as a remote site would be: `python -m bench.serve ROOT`.

A lean HTTP/1.1 server on a bare `asyncio.Protocol` (keep-alive, ETag / If-None-Match → 304,
`{{BASE}}` substitution like `seedwatch.sitesrv`). It stands in for many remote sites, so it
should cost this machine's cores as little as possible: `http.server` spends ~4 ms of CPU a
request (a thread and a connection each), which on 2 cores would be charged to the monitor,
and asyncio streams with a hashed ETag took 0.61 ms a page (`make bench` reports the figure).

With `--bake` the server first writes its base URL into every file of the folder that holds
the placeholder, once, before it answers anything: replacing the ~275 placeholders of a
generated page on every request took 76 us of the server's ~165 us of CPU a page. The
extraction-only limit then reads the very bytes the run fetches. Before answering, it also
looks up every file once (`Site.index`), and sends a page's header and body in one write
without joining them: on 3,000 bench pages its CPU fell from ~0.11 to ~0.03 ms a page.

Prints the base URL on the first line of stdout, then serves until its stdin closes.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import zlib
from pathlib import Path
from urllib.parse import unquote, urlsplit

_TYPES = {".xml": "application/xml; charset=utf-8", ".html": "text/html; charset=utf-8",
          ".htm": "text/html; charset=utf-8"}


class ServerProcess:
    """`with ServerProcess(root) as base:` serves `root` from a child process."""

    def __init__(self, root: Path, bake: bool = False):
        self.root, self.bake = root, bake
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> str:
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.serve", str(self.root)]
                                     + (["--bake"] if self.bake else []),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (Linux /proc)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
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


PLACEHOLDER = b"{{BASE}}"


def bake(root: Path, base: bytes) -> int:
    """Write `base` over the placeholder in every file under `root` that has it; returns how
    many files were rewritten."""
    n = 0
    for f in root.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            if PLACEHOLDER in data:
                f.write_bytes(data.replace(PLACEHOLDER, base))
                n += 1
    return n


class Site:
    """Answers paths from the files under `root`. What a path resolves to (the file, its ETag
    and type, or nothing) is looked up once and kept: resolving and checking a path on every
    request took ~30 us of the ~80 us of Python a page. Page bodies are read on each request
    (one open and read from the page cache), never kept: 10,000 pages are ~800 MB."""

    def __init__(self, root: Path, base: str, baked: bool = False):
        self.root, self.base, self.baked = root.resolve(), base.encode("ascii"), baked
        # path -> (file, etag, type, body or None: read per request), or None for a miss
        self.cache: dict[str, tuple[str, bytes, bytes, bytes | None] | None] = {}

    def index(self) -> int:
        """Look up every file now, before the first request (each page is asked for once in a
        run, so a lookup on first use would cost the run's cores as much as it ever saves);
        returns how many files. Paths asked for in another spelling are looked up on use."""
        for f in self.root.rglob("*"):
            if f.is_file():
                path = "/" + f.relative_to(self.root).as_posix()
                self.cache[path] = self._lookup(path)
        return len(self.cache)

    def _lookup(self, path: str) -> tuple[str, bytes, bytes, bytes | None] | None:
        target = (self.root / unquote(urlsplit(path).path).lstrip("/")).resolve()
        if self.root not in target.parents or not target.is_file():
            return None
        st = target.stat()
        # As nginx makes it, from the file's time and size: no hash of every body. Unbaked, the
        # body also holds this server's address, so the ETag names it too (a feed's ETag
        # stored against a server on another port must not earn a 304 here).
        stamp = "" if self.baked else f"-{zlib.crc32(self.base):x}"
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}{stamp}"'.encode()
        ctype = _TYPES.get(target.suffix, "application/octet-stream").encode()
        # Feeds are small and asked for again (304s): kept whole, their address written in.
        body = self._fill(target.read_bytes()) if target.suffix == ".xml" else None
        return str(target), etag, ctype, body

    def _fill(self, data: bytes) -> bytes:
        return data if self.baked else data.replace(PLACEHOLDER, self.base)

    def get(self, path: str) -> tuple[bytes, bytes, bytes] | None:
        """(body, etag, content type) of `path`, or None when there is no such file."""
        try:
            found = self.cache[path]
        except KeyError:
            found = self.cache[path] = self._lookup(path)
        if found is None:
            return None
        name, etag, ctype, body = found
        if body is None:
            with open(name, "rb") as f:
                body = self._fill(f.read())
        return body, etag, ctype


class Http(asyncio.Protocol):
    """One connection: requests parsed from the bytes as they come (no stream objects, no
    coroutine a request), each answered with one write."""

    def __init__(self, site: Site):
        self.site, self.buffer, self.transport = site, b"", None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            if not self.answer(head):
                self.transport.close()
                return

    def answer(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        try:
            method, target, _ = lines[0].split(b" ", 2)
        except ValueError:
            return False
        headers = {}
        for line in lines[1:]:
            if b":" in line:
                k, v = line.split(b":", 1)
                headers[k.strip().lower()] = v.strip()
        found = self.site.get(target.decode("latin-1")) if method in (b"GET", b"HEAD") else None
        if found is None:
            self.transport.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        elif headers.get(b"if-none-match") == found[1]:
            self.transport.write(b"HTTP/1.1 304 Not Modified\r\nETag: " + found[1] + b"\r\n\r\n")
        else:
            body, etag, ctype = found
            head = (b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\nETag: " + etag
                    + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
            # Header and body in one send, without first copying them into one bytes object.
            self.transport.writelines((head, body) if method == b"GET" else (head,))
        return headers.get(b"connection", b"").lower() != b"close"


async def serve(root: Path, baked: bool = False) -> None:
    holder: dict[str, Site] = {}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Http(holder["site"]), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    if baked:
        bake(root, base.encode("ascii"))
    holder["site"] = site = Site(root, base, baked)
    site.index()
    print(base, flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    server.close()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1]), baked="--bake" in sys.argv[2:]))
