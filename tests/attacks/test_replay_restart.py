"""Finding 4: replay after a restart (cookie mode). A cookie outlives the replay cache: after
the service restarted, or Redis restarted empty, a captured message ran again.

A replay cache that starts empty now refuses every message under a session issued before it
started whose Timestamp ``Created`` is earlier than its start + ``max_clock_skew``
(:mod:`wssc.security.replay`), with ``BadContextToken``, so that a legitimate client opens a
new session instead of failing for minutes. The exact boundaries are checked on the cache
itself (a running service cannot be put 5 minutes into the future).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from attack_kit import (
    assert_fault,
    assert_generic_fault,
    client_via,
    last,
    post,
    read_fault_bytes,
    serve_args,
    wait_for_log,
)

import servers
from servers import Server
from wssc.errors import BadContextToken, PredatesReplayCache, RemoteFault
from wssc.security.replay import MemoryReplayCache

pytestmark = pytest.mark.e2e

PREDATES = "under a session issued before the replay cache started"
REPLAY = "A replay of a previously received message was detected"
ADDRESS = "http://restart.example/svc"


def _restartable(start: Callable[..., Server], home: Path, *extra: str) -> Callable[[], Server]:
    """``wssc serve`` in cookie mode with a fixed identity (address, key ring), so that a
    new process on a new port is the same endpoint restarted."""
    ring = str(home / f"restart-{time.monotonic_ns()}.json")
    args = serve_args("wshttp", "cookie", "--address", ADDRESS, "--keyring", ring, *extra)
    return lambda: start(*args)


def _stop(srv: Server) -> None:
    srv.proc.terminate()
    srv.proc.wait(10)


def test_a_message_captured_before_a_restart_is_refused_after_it(
    start_server: Callable[..., Server], wssc_home: Path
) -> None:
    start = _restartable(start_server, wssc_home)
    first = start()
    victim, rec = client_via(first, ADDRESS)
    bystander, _ = client_via(first, ADDRESS)
    with victim, bystander:
        assert victim.Add(a=20, b=22) == 42
        assert bystander.Echo(text="before") == "before"  # a session opened before
        captured = last(rec, "/Add").request
        r = post(first, captured)  # before the restart, the cache knows it
        assert_generic_fault(r, "replay before the restart")
        wait_for_log(first, REPLAY)
        _stop(first)

        second = start()
        r = post(second, captured)
        assert r.status_code == 500, f"the captured Add ran again after the restart: {r.text}"
        assert_fault(r, "BadContextToken", "replay after the restart")
        wait_for_log(second, PREDATES)

        # What it costs a legitimate client of a session opened before the restart: one
        # call refused (BadContextToken), then the client opens a new session by itself.
        via = bystander._http._transport  # type: ignore[attr-defined]
        via.target = second.url
        with pytest.raises(BadContextToken) as info:
            bystander.Echo(text="after")
        assert isinstance(info.value, RemoteFault)
        assert bystander.Echo(text="after") == "after"
        assert bystander.Add(a=1, b=2) == 3
    # A session opened after the restart is not affected at all.
    fresh, _ = client_via(second, ADDRESS)
    with fresh:
        assert fresh.Add(a=2, b=3) == 5


# --- Redis restarted without its data -----------------------------------------------------------
def _free_port() -> int:
    """A free port of this test worker's own slice (`servers.free_port`)."""
    return servers.free_port()


class _Redis:
    """A redis-server without persistence that the test can restart (empty) on its port."""

    def __init__(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:  # CI installs it (scripts/setup.sh); never a silent skip
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.exe = exe
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="wssc-redis-restart-")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def restartable_redis() -> Iterator[_Redis]:
    r = _Redis()
    r.start()
    try:
        yield r
    finally:
        r.stop()
        shutil.rmtree(r.dir, ignore_errors=True)


def test_a_replay_after_redis_restarted_empty_is_refused(
    start_server: Callable[..., Server], restartable_redis: _Redis
) -> None:
    redis = restartable_redis
    srv = start_server(*serve_args("wshttp", "cookie", "--store", f"redis://127.0.0.1:{redis.port}/0"))
    victim, rec = client_via(srv, srv.url)
    with victim:
        assert victim.Add(a=20, b=22) == 42
    captured = last(rec, "/Add").request
    assert_generic_fault(post(srv, captured), "replay while Redis remembers")
    redis.stop()
    redis.start()  # empty: no persistence
    deadline = time.monotonic() + 30
    while True:  # the service reconnects to Redis; until then it answers EndpointUnavailable
        r = post(srv, captured)
        fault = read_fault_bytes(r.content)
        if fault is None or not fault.code.endswith("}EndpointUnavailable"):
            break
        assert time.monotonic() < deadline, "the service did not reconnect to Redis"
        time.sleep(0.1)
    assert r.status_code == 500, f"the captured Add ran again after Redis restarted: {r.text}"
    assert_fault(r, "BadContextToken", "replay after Redis restarted empty")
    wait_for_log(srv, PREDATES)
    # New sessions work at once.
    fresh, _ = client_via(srv, srv.url)
    with fresh:
        assert fresh.Add(a=2, b=3) == 5


# --- the boundaries, on the cache itself -------------------------------------------------------
E, SKEW = 1_000_000.0, 300.0


@pytest.mark.parametrize(
    ("created", "issued", "refused"),
    [
        (E + SKEW - 0.001, E - 0.001, True),  # could have arrived just before E
        (E + SKEW, E - 0.001, False),  # created too late to have arrived before E
        (E - 3600, None, True),  # session issue time unknown: taken as before E
        (E + SKEW - 0.001, E, False),  # a session issued at E or later: nothing before E
        (E - 100, E + 1, False),
    ],
)
def test_epoch_boundaries(created: float, issued: float | None, refused: bool) -> None:
    cache = MemoryReplayCache(epoch=E)
    now = E + 10
    args = {"partition": "sct:x", "created": created, "issued": issued, "skew": SKEW}
    if refused:
        with pytest.raises(PredatesReplayCache):
            cache.check_and_add(b"m", now + 600, now, **args)  # type: ignore[arg-type]
    else:
        cache.check_and_add(b"m", now + 600, now, **args)  # type: ignore[arg-type]
    cache.check_and_add(b"undated", now + 600, now, created=None)  # RST, no session


def test_a_cache_without_an_epoch_starts_at_its_first_check() -> None:
    cache = MemoryReplayCache()
    cache.check_and_add(b"first", E + 600, E)
    assert cache.epoch == E
    with pytest.raises(PredatesReplayCache):
        cache.check_and_add(b"m", E + 600, E + 1, created=E, issued=E - 1, skew=SKEW)


def test_redis_epoch_is_kept_and_renewed_when_lost(restartable_redis: _Redis) -> None:
    import redis

    from wssc.store.redis import RedisReplayCache

    redis_client = redis.Redis(port=restartable_redis.port)
    cache = RedisReplayCache(redis_client)
    cache.check_and_add(b"first", E + 600, E)
    cache.check_and_add(b"m", E + 900, E + 400, created=E + SKEW, issued=E - 1, skew=SKEW)
    with pytest.raises(PredatesReplayCache):
        cache.check_and_add(b"n", E + 900, E + 400, created=E + 10, issued=E - 1, skew=SKEW)
    redis_client.flushdb()  # Redis lost its data
    later = E + 1000
    with pytest.raises(PredatesReplayCache):  # "m" again: the new epoch refuses it
        cache.check_and_add(b"m", later + 600, later, created=E + SKEW, issued=E - 1, skew=SKEW)
    assert int(redis_client.get("wssc:replay:epoch")) == int(later * 1000)  # type: ignore[arg-type]
    cache.check_and_add(b"o", later + 600, later, created=later, issued=later, skew=SKEW)
