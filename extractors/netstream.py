"""A network layer for httpcore on plain asyncio streams (used by `extractors.http.Fetcher`).

httpx talks HTTP through httpcore, which reaches sockets through anyio by default. Profiling the
flow process (`make bench`, py-spy) put a third of the time of a page fetch in that layer: anyio
builds its typed-attribute tables on every lookup, and httpcore asks for the raw socket and
polls it on every request for every idle connection of the pool. This backend does the same
work on asyncio's own streams: reads and writes under `asyncio.timeout`, TLS with
`StreamWriter.start_tls`, and "is the idle connection readable" answered from what asyncio's
transport has already seen (it reads eagerly, so a server's close shows as end of file).

Errors are httpcore's (ConnectTimeout, ConnectError, ReadTimeout, ReadError, WriteTimeout,
WriteError), so httpx maps them to the same exceptions as with its default backend.
"""
from __future__ import annotations

import asyncio
import ssl
import typing

import httpcore


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._reader, self._writer = reader, writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc) or "read timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc) or "write timed out") from exc
        except (OSError, ssl.SSLError, RuntimeError) as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        # No wait for the peer: a closed transport releases its socket on the next loop turn.
        self._writer.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> "AsyncioStream":
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._writer.close()
            raise httpcore.ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            self._writer.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":
            # Idle and readable means the server closed it (or sent what it should not).
            return self._reader.at_eof() or self._writer.is_closing() or bool(self._reader._buffer)
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable[typing.Any] | None = None
                          ) -> AsyncioStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc) or "connect timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable[typing.Any] | None = None
                                  ) -> AsyncioStream:  # pragma: no cover - not used
        raise httpcore.ConnectError("unix sockets are not used by seedwatch")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
