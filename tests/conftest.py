"""Shared fixtures: the WSS4J interop peer and the ``wssc`` CLI runner (see ``peers.py``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from peers import PeerMissing, Wss4jPeer, find_wss4j_peer, in_ci
from peers import wssc_cli as _wssc_cli
from servers import free_port, server, start_server, wssc_home  # noqa: F401 - fixtures (tests/servers.py)

SERIAL_TESTS = ("include", "exclude", "only")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--serial-tests",
        choices=SERIAL_TESTS,
        default="include",
        help="the tests marked `serial` (they measure time or CPU as ratios and want the machine "
        "to themselves): run them with the others (include, the default), leave them out "
        "(exclude: the parallel pass of scripts/test.sh, under pytest-xdist) or run only "
        "them (only: its serial pass). Left out, they are deselected and counted as such.",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mode = config.getoption("--serial-tests")
    if mode == "include":
        return
    keep, drop = [], []
    for item in items:
        serial = item.get_closest_marker("serial") is not None
        (keep if serial == (mode == "only") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def wss4j() -> Wss4jPeer:
    """The WSS4J peer. Missing: a failure under CI (``in_ci()``), else a loud skip."""
    try:
        return find_wss4j_peer()
    except PeerMissing as exc:
        why = str(exc)
    if in_ci():
        pytest.fail(f"WSS4J PEER MISSING under CI: {why}. scripts/setup.sh must build it.")
    pytest.skip(f"!!! WSS4J PEER MISSING — run scripts/setup.sh; interop NOT tested ({why}) !!!")


@pytest.fixture(scope="session")
def wssc_cli() -> Callable[..., Any]:
    """``wssc_cli(*args, input=None) -> CompletedProcess``: ``python -m wssc ARGS``."""
    return _wssc_cli


@pytest.fixture(scope="session")
def redis_server() -> Iterator[tuple[str, int]]:
    """Start ``redis-server`` on a free port without persistence; stop it afterwards."""
    exe = shutil.which("redis-server")
    if exe is None:
        msg = "redis-server is not installed: the RedisStore tests cannot run"
        if in_ci():
            pytest.fail(f"{msg} (CI: install redis-server)")
        pytest.skip(f"!!! {msg}; install it (apt-get install redis-server) to run them !!!")
    redis = __import__("redis")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="wssc-redis-")
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        client.close()
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def kdc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real MIT KDC on loopback with a throwaway realm (`tests/kdc.py`), its environment
    (KRB5_CONFIG…) in this process's for the session. Missing: a failure under CI, else a loud
    skip."""
    import os

    from kdc import Kdc, tools_missing

    missing = tools_missing()
    if missing:
        msg = f"the MIT Kerberos KDC tools are missing ({', '.join(missing)}): SPNEGO over Kerberos"
        if in_ci():
            pytest.fail(f"{msg} cannot be tested (CI: scripts/setup.sh installs krb5-kdc)")
        pytest.skip(f"!!! {msg} is NOT tested; run scripts/setup.sh !!!")
    running = Kdc.start(tmp_path_factory.mktemp("kdc"))
    old = running.activate()
    try:
        yield running
    finally:
        running.stop()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
