"""Where `AsgiApp` runs the work of a call. By default an application message in a session is
verified and its reply secured on the event loop, its synchronous operation on a security
thread; an Issue, a Cancel, and every request of an engine whose store may wait on I/O, on a
security thread whole. With ``loop_security_limit=0``: verify, synchronous operation and reply
in one hand-over, while the event loop goes on reading other bodies. With ``inline_limit``,
small requests on the loop itself. With ``security_threads=2``, a blocking operation holds up
no other call."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from wssc.certs import Certificate, generate_self_signed
from wssc.cli.endpoint import security_threads
from wssc.client import AsyncClient
from wssc.contract import get_contract, operation, service_contract
from wssc.errors import ConfigurationError
from wssc.service.asgi import AsgiApp
from wssc.service.engine import HttpRequest, ServiceEngine

CERT = generate_self_signed()
URL = "http://testserver/svc"
RELEASE = threading.Event()
OP_THREADS: list[str] = []


@service_contract(namespace="http://tempuri.org/", name="IBlocking")
class Blocking:
    @operation
    def Wait(self, text: str) -> str:
        if not RELEASE.wait(30):  # released by the test once the other call has finished
            raise RuntimeError("never released")
        return text

    @operation
    def Echo(self, text: str) -> str:
        OP_THREADS.append(threading.current_thread().name)
        return text


def scope(length: int) -> dict[str, object]:
    return {
        "type": "http",
        "method": "POST",
        "path": "/svc",
        "query_string": b"",
        "headers": [(b"content-length", str(length).encode()), (b"content-type", b"application/soap+xml")],
    }


async def until(cond: Callable[[], bool], what: str) -> None:
    """Poll a condition, yielding to the loop, up to a deadline."""
    deadline = time.monotonic() + 20
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)  # sleep-ok: one poll step of a deadline loop


def recording_engine(
    monkeypatch: pytest.MonkeyPatch, gate: threading.Event | None = None
) -> tuple[ServiceEngine, list[str], threading.Event]:
    """An engine whose ``handle`` records the thread it runs on; with ``gate``, a request
    whose body starts with ``<gate`` waits for it (security work that takes long)."""
    eng = ServiceEngine(Blocking(), address=URL, certificate=CERT)
    threads: list[str] = []
    entered = threading.Event()
    real = eng.handle

    def handle(req: HttpRequest) -> object:
        threads.append(threading.current_thread().name)
        if gate is not None and req.body.startswith(b"<gate"):
            entered.set()
            if not gate.wait(30):
                raise RuntimeError("gate never opened")
        return real(req)

    monkeypatch.setattr(eng, "handle", handle)
    return eng, threads, entered


def test_with_inline_limit_small_requests_are_handled_on_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    eng, threads, _ = recording_engine(monkeypatch)
    app = AsgiApp(eng, inline_limit=1024)
    body = b"<x/>"

    async def main() -> tuple[str, list[int]]:
        statuses: list[int] = []

        async def send(msg: dict[str, object]) -> None:
            if msg["type"] == "http.response.start":
                statuses.append(int(msg["status"]))  # type: ignore[call-overload]

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        await asyncio.gather(*(app(scope(len(body)), receive, send) for _ in range(8)))  # type: ignore[arg-type]
        return threading.current_thread().name, statuses

    loop_thread, statuses = asyncio.run(main())
    assert statuses == [500] * 8  # a malformed message: a fault, from the engine
    assert threads == [loop_thread] * 8


@pytest.mark.parametrize("inline_limit", [0, 1024])
def test_requests_go_to_one_security_thread_while_the_loop_reads(
    monkeypatch: pytest.MonkeyPatch, inline_limit: int
) -> None:
    gate = threading.Event()
    eng, threads, entered = recording_engine(monkeypatch, gate)
    app = AsgiApp(eng, inline_limit=inline_limit, max_body=1 << 20, security_threads=1, loop_security_limit=0)
    first = b"<gate>" + b"a" * 2000 + b"</gate>"
    chunks = [b"<big>"] + [b"b" * 1024] * 60 + [b"</big>"]
    big_len = sum(map(len, chunks))
    read: list[int] = []
    sent: dict[str, list[int]] = {"first": [], "big": []}

    def sender(name: str) -> Callable[[dict[str, object]], object]:
        async def send(msg: dict[str, object]) -> None:
            if msg["type"] == "http.response.start":
                sent[name].append(int(msg["status"]))  # type: ignore[call-overload]

        return send

    async def receive_first() -> dict[str, object]:
        return {"type": "http.request", "body": first, "more_body": False}

    async def receive_big() -> dict[str, object]:
        i = len(read)
        read.append(i)
        await asyncio.sleep(0)  # sleep-ok: yield, so each chunk is a separate turn of the loop
        return {"type": "http.request", "body": chunks[i], "more_body": i + 1 < len(chunks)}

    async def main() -> str:
        a = asyncio.create_task(app(scope(len(first)), receive_first, sender("first")))  # type: ignore[arg-type]
        await until(entered.is_set, "the first request's security work to start")
        b = asyncio.create_task(app(scope(big_len), receive_big, sender("big")))  # type: ignore[arg-type]
        # the first request's security work holds the security thread; the loop reads the
        # whole of the second body meanwhile
        await until(lambda: len(read) == len(chunks), "the loop to read the second body")
        assert not a.done() and not b.done() and sent == {"first": [], "big": []}
        gate.set()
        await asyncio.wait_for(asyncio.gather(a, b), 30)
        return threading.current_thread().name

    loop_thread = asyncio.run(main())
    assert sent == {"first": [500], "big": [500]}
    assert len(threads) == 2 and threads[0] == threads[1]
    assert threads[0].startswith("wssc-security") and threads[0] != loop_thread


def test_verify_operation_and_reply_run_in_one_security_thread() -> None:
    OP_THREADS.clear()
    app = AsgiApp(
        ServiceEngine(Blocking(), address=URL, certificate=CERT), security_threads=1, loop_security_limit=0
    )

    async def main() -> object:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))  # type: ignore[arg-type]
        c = AsyncClient(URL, get_contract(Blocking), http=http, service_certificate=Certificate(CERT.cert))
        async with c:
            results = [await c.call("Echo", text=f"e{i}") for i in range(3)]
        await http.aclose()
        return results

    assert asyncio.run(main()) == ["e0", "e1", "e2"]
    assert len(OP_THREADS) == 3 and len(set(OP_THREADS)) == 1
    assert OP_THREADS[0].startswith("wssc-security")


@pytest.mark.parametrize("loop_security_limit", [65536, 0])
def test_with_two_security_threads_a_blocking_operation_holds_up_no_other_call(
    loop_security_limit: int,
) -> None:
    RELEASE.clear()
    app = AsgiApp(
        ServiceEngine(Blocking(), address=URL, certificate=CERT),
        security_threads=2,
        loop_security_limit=loop_security_limit,
    )

    async def main() -> tuple[object, object]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))  # type: ignore[arg-type]
        clients = [
            AsyncClient(URL, get_contract(Blocking), http=http, service_certificate=Certificate(CERT.cert))
            for _ in range(2)
        ]
        for c in clients:
            await c.open()
        waiting = asyncio.create_task(clients[0].call("Wait", text="w"))
        # the other session's call is verified, run and answered while Wait blocks its thread
        echoed = await asyncio.wait_for(clients[1].call("Echo", text="e"), 30)
        assert not waiting.done()
        RELEASE.set()
        waited = await asyncio.wait_for(waiting, 30)
        for c in clients:
            await c.aclose()
        await http.aclose()
        return echoed, waited

    try:
        assert asyncio.run(main()) == ("e", "w")
    finally:
        RELEASE.set()


@pytest.mark.parametrize(
    "kwargs", [{"security_threads": 0}, {"inline_limit": -1}, {"loop_security_limit": -1}]
)
def test_bad_settings_are_configuration_errors(kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError):
        AsgiApp(ServiceEngine(Blocking(), address=URL, certificate=CERT), **kwargs)  # type: ignore[arg-type]


def test_serve_runs_four_security_threads_by_default() -> None:
    assert AsgiApp(ServiceEngine(Blocking(), address=URL, certificate=CERT)).security_threads == 4
    assert security_threads(None, "memory") == 4
    assert security_threads(None, "redis://127.0.0.1:6379/0") == 4
    assert security_threads(2, "redis://127.0.0.1:6379/0") == 2
    assert security_threads(3, "memory") == 3


class WatchedLock:
    """A `SecurityTurn`'s lock that counts the threads waiting for it."""

    def __init__(self) -> None:
        self.real = threading.Lock()
        self.count = threading.Lock()
        self.waiting = 0

    def acquire(self) -> bool:
        with self.count:
            self.waiting += 1
        self.real.acquire()
        with self.count:
            self.waiting -= 1
        return True

    def release(self) -> None:
        self.real.release()


def overlap_engine(
    monkeypatch: pytest.MonkeyPatch, gate: threading.Event
) -> tuple[ServiceEngine, list[int], threading.Event]:
    """An engine whose ``handle`` counts how many calls are inside it at once (the most seen,
    in the list) and holds a request whose body starts with ``<gate`` until ``gate`` opens."""
    eng = ServiceEngine(Blocking(), address=URL, certificate=CERT)
    inside = [0]
    most: list[int] = []
    entered = threading.Event()
    real = eng.handle
    count = threading.Lock()

    def handle(req: HttpRequest) -> object:
        with count:
            inside[0] += 1
            most.append(inside[0])
        try:
            if req.body.startswith(b"<gate"):
                entered.set()
                if not gate.wait(30):
                    raise RuntimeError("gate never opened")
            return real(req)
        finally:
            with count:
                inside[0] -= 1

    monkeypatch.setattr(eng, "handle", handle)
    return eng, most, entered


def test_the_security_work_of_two_calls_takes_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Four threads, two requests: the second one's verify waits, asleep on the turn, until the
    first one's is done; it never runs beside it (docs/performance.md: the threads would
    otherwise fight for the GIL)."""
    gate = threading.Event()
    eng, most, entered = overlap_engine(monkeypatch, gate)
    app = AsgiApp(eng, security_threads=4, loop_security_limit=0)
    watched = WatchedLock()
    app.security_turn.lock = watched
    statuses: list[int] = []

    async def send(msg: dict[str, object]) -> None:
        if msg["type"] == "http.response.start":
            statuses.append(int(msg["status"]))  # type: ignore[call-overload]

    def receiver(body: bytes) -> Callable[[], object]:
        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        return receive

    async def main() -> None:
        first, second = b"<gate/>", b"<x/>"
        a = asyncio.create_task(app(scope(len(first)), receiver(first), send))  # type: ignore[arg-type]
        await until(entered.is_set, "the first request's security work to start")
        b = asyncio.create_task(app(scope(len(second)), receiver(second), send))  # type: ignore[arg-type]
        await until(lambda: watched.waiting == 1, "the second request to wait for its turn")
        assert most == [1] and not b.done()
        gate.set()
        await asyncio.wait_for(asyncio.gather(a, b), 30)

    asyncio.run(main())
    assert statuses == [500, 500] and most == [1, 1]


def test_wsgi_threads_take_turns_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same under WSGI, whose server runs a thread per connection."""
    import io

    from wssc.service.wsgi import WsgiApp

    gate = threading.Event()
    eng, most, entered = overlap_engine(monkeypatch, gate)
    app = WsgiApp(eng)
    watched = WatchedLock()
    app.security_turn.lock = watched
    statuses: list[str] = []

    def call(body: bytes) -> None:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/svc",
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/soap+xml",
            "wsgi.input": io.BytesIO(body),
        }
        app(environ, lambda status, headers: statuses.append(status))

    a = threading.Thread(target=call, args=(b"<gate/>",))
    a.start()
    if not entered.wait(30):
        raise AssertionError("the first request's security work never started")
    b = threading.Thread(target=call, args=(b"<x/>",))
    b.start()
    deadline = time.monotonic() + 20
    while watched.waiting != 1:
        if time.monotonic() > deadline:
            raise AssertionError("the second request never waited for its turn")
        time.sleep(0.001)  # sleep-ok: one poll step of a deadline loop
    assert most == [1] and b.is_alive()
    gate.set()
    a.join(30)
    b.join(30)
    assert sorted(statuses) == ["500 Internal Server Error"] * 2 and most == [1, 1]
