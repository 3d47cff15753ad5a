"""Starting the web UI: `seedwatch ui` in the foreground, or beside `seedwatch serve` in a thread.

The socket is bound here (not by uvicorn) so that a port in use or a refused host is reported
as one clear line before anything starts, and so tests can bind port 0.
"""
from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from seedwatch.config import Config

log = logging.getLogger(__name__)


class UiError(Exception):
    """The UI cannot start (host refused, port in use); one line for the user."""


@dataclass
class Running:
    url: str
    server: object
    thread: threading.Thread | None = None

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout)


def check_host(host: str, token: str) -> None:
    from ui.app import is_loopback
    if not is_loopback(host) and not token:
        raise UiError(f"refusing to listen on {host}: only loopback (127.0.0.1) is allowed without a "
                      "token; set [ui] token in the config (then every request needs it)")


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: a response written in two parts (headers, body) must not
    # wait for the client's delayed ACK (40 ms) on a kept-alive connection.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise UiError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _server(cfg: Config, host: str, port: int):
    import uvicorn

    from ui.app import UiSettings, create_app
    check_host(host, cfg.ui.token)
    sock = bind(host, port)
    real_port = sock.getsockname()[1]
    app = create_app(UiSettings(Path(cfg.resolve(cfg.warehouse.path)), cfg.ui.token, host, real_port))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            server_header=False, timeout_graceful_shutdown=3)
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    return uvicorn.Server(config), sock, f"http://{shown}:{real_port}"


def run_ui(cfg: Config, host: str | None = None, port: int | None = None) -> int:
    """`seedwatch ui`: serve until Ctrl-C."""
    server, sock, url = _server(cfg, host or cfg.ui.host, cfg.ui.port if port is None else port)
    print(f"seedwatch UI at {url}/ (reads {cfg.resolve(cfg.warehouse.path)}'s snapshot); Ctrl-C stops.",
          flush=True)
    server.run(sockets=[sock])
    return 0


def start_background(cfg: Config, host: str | None = None, port: int | None = None) -> Running:
    """Start the UI in a daemon thread (for `seedwatch serve`); returns its address."""
    server, sock, url = _server(cfg, host or cfg.ui.host, cfg.ui.port if port is None else port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="seedwatch-ui",
                              daemon=True)
    thread.start()
    return Running(url, server, thread)
