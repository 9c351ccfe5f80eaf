"""Run ``wssc serve`` in a subprocess (uvicorn on loopback) for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from wssc.client.common import tls_verify


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    home: Path
    proc: subprocess.Popen[bytes]
    args: tuple[str, ...]

    @property
    def wsdl_url(self) -> str:
        return self.url + "?wsdl"

    @property
    def verify(self) -> str | bool:
        return str(self.home / "dev-cert.pem") if self.url.startswith("https") else True

    def log(self) -> str:
        return (self.home / "serve.log").read_text(errors="replace")


Start = Callable[..., Server]


@pytest.fixture(scope="session")
def wssc_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One development certificate for all servers of the run.
    return tmp_path_factory.mktemp("wssc-home")


@pytest.fixture(scope="session")
def start_server(wssc_home: Path) -> Iterator[Start]:
    servers: list[Server] = []

    def start(*args: str) -> Server:
        port = free_port()
        tls = "username-over-transport" in args
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/svc"
        log = open(wssc_home / "serve.log", "ab")
        env = dict(os.environ, WSSC_HOME=str(wssc_home))
        proc = subprocess.Popen(
            [sys.executable, "-m", "wssc", "--log-level", "INFO", "serve", "--port", str(port),
             *args],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        server = Server(url, wssc_home, proc, args)
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"wssc serve {args} exited:\n{server.log()[-3000:]}")
            try:
                r = httpx.get(server.wsdl_url, verify=tls_verify(server.verify), timeout=2)
                if r.status_code == 200:
                    break
            except (httpx.HTTPError, OSError):  # OSError: the first HTTPS server has not
                pass                            # written the development certificate yet
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"wssc serve {args} did not start:\n{server.log()[-3000:]}")
            time.sleep(0.1)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.proc.terminate()
    for s in servers:
        try:
            s.proc.wait(10)
        except subprocess.TimeoutExpired:
            s.proc.kill()


_cache: dict[tuple[str, ...], Server] = {}


@pytest.fixture(scope="session")
def server(start_server: Start) -> Callable[..., Server]:
    """A server per distinct argument list, shared by the tests of the session."""

    def get(*args: str) -> Server:
        if args not in _cache:
            _cache[args] = start_server(*args)
        return _cache[args]

    return get
