"""`AsgiApp`'s default layout: an application message in a session is verified, and its reply
secured, on the event loop; its synchronous operation runs on a security thread and its
``async def`` operation on the loop. An Issue and a Cancel, a message over
``loop_security_limit``, and every request of an engine whose session store, replay cache or
certificate validator may wait on I/O (`ServiceEngine.waits_on_io`) go to a security thread
whole, as before."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import wssc.service.engine as engine_module
from wssc.certs import Certificate, generate_self_signed
from wssc.client import AsyncClient
from wssc.contract import get_contract, operation, service_contract
from wssc.errors import SoapFault
from wssc.security.replay import MemoryReplayCache
from wssc.security.x509_validation import CertificateValidator
from wssc.service.asgi import AsgiApp
from wssc.service.engine import Dispatch, HttpResponse, ServiceEngine
from wssc.settings import EndpointSettings, SecureConversationSettings
from wssc.store.memory import MemoryStore

CERT = generate_self_signed()
URL = "http://testserver/svc"
LOOP = "the loop"
RELEASE = threading.Event()


@service_contract(namespace="http://tempuri.org/", name="IWhere")
class Where:
    """Each operation records the thread it ran on."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    @operation
    def Echo(self, text: str) -> str:
        self.threads.append(threading.current_thread().name)
        return text

    @operation
    async def EchoAsync(self, text: str) -> str:
        self.threads.append(threading.current_thread().name)
        return text

    @operation
    def Fail(self, text: str) -> str:
        raise ValueError("the operation failed")

    @operation
    def Wait(self, text: str) -> str:
        if not RELEASE.wait(30):  # released by the test
            raise RuntimeError("never released")
        return text


class Recorder:
    """Wraps engine steps to record the thread each one ran on (the loop's as ``LOOP``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, eng: ServiceEngine) -> None:
        self.loop_thread = ""
        self.seen: dict[str, list[str]] = {"verify": [], "secure": [], "issue": [], "cancel": []}
        real_verify = getattr(engine_module, "verify")
        monkeypatch.setattr(engine_module, "verify", self.wrap("verify", real_verify))
        for step, name in (("secure", "_secure_with_sct"), ("issue", "_issue"), ("cancel", "_cancel")):
            monkeypatch.setattr(eng, name, self.wrap(step, getattr(eng, name)))

    def wrap(self, step: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            name = threading.current_thread().name
            self.seen[step].append(LOOP if name == self.loop_thread else name)
            return fn(*args, **kwargs)

        return recorded


def run_calls(app: AsgiApp, rec: Recorder, calls: list[tuple[str, str]]) -> list[object]:
    """Open a session, make ``calls`` (operation, text), close it (a Cancel)."""

    async def main() -> list[object]:
        rec.loop_thread = threading.current_thread().name
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        c = AsyncClient(URL, get_contract(Where), http=http, service_certificate=Certificate(CERT.cert))
        out: list[object] = []
        async with c:
            for op, text in calls:
                try:
                    out.append(await c.call(op, text=text))
                except SoapFault as exc:
                    out.append(exc)
        await http.aclose()
        return out

    return asyncio.run(main())


def on_security_threads(names: list[str]) -> bool:
    return bool(names) and all(n.startswith("wssc-security") for n in names)


def test_by_default_the_loop_verifies_and_secures_and_a_thread_runs_the_operation(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    svc = Where()
    eng = ServiceEngine(svc, address=URL, certificate=CERT)
    rec = Recorder(monkeypatch, eng)
    app = AsgiApp(eng)
    assert eng.waits_on_io is None and app.loop_security_limit == 65536
    with caplog.at_level(logging.INFO, logger="wssc.service.asgi"):
        app._log_where()
    assert "up to 65536 bytes are verified on the event loop" in caplog.text

    assert run_calls(app, rec, [("Echo", "a"), ("Echo", "b"), ("EchoAsync", "c")]) == ["a", "b", "c"]
    # the Issue, and the Cancel (its verify and its reply), on a security thread whole
    assert on_security_threads(rec.seen["issue"]) and on_security_threads(rec.seen["cancel"])
    assert rec.seen["verify"][:3] == [LOOP] * 3 and on_security_threads(rec.seen["verify"][3:])
    assert rec.seen["secure"][:3] == [LOOP] * 3 and on_security_threads(rec.seen["secure"][3:])
    assert len(rec.seen["verify"]) == len(rec.seen["secure"]) == 4
    # the synchronous operation on a thread, the async one on the loop
    assert svc.threads[0].startswith("wssc-security") and svc.threads[1].startswith("wssc-security")
    assert svc.threads[2] == rec.loop_thread


def test_a_failing_operation_gets_its_secured_fault_from_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    eng = ServiceEngine(Where(), address=URL, certificate=CERT)
    rec = Recorder(monkeypatch, eng)
    out = run_calls(AsgiApp(eng), rec, [("Fail", "x"), ("Echo", "after")])
    assert isinstance(out[0], SoapFault) and out[1] == "after"
    assert rec.seen["secure"][:2] == [LOOP, LOOP]


def test_with_no_loop_limit_the_log_says_so(caplog: pytest.LogCaptureFixture) -> None:
    app = AsgiApp(ServiceEngine(Where(), address=URL, certificate=CERT), loop_security_limit=0)
    with caplog.at_level(logging.INFO, logger="wssc.service.asgi"):
        app._log_where()
    assert "security work runs on 4 threads: loop_security_limit is 0" in caplog.text


def test_a_message_over_the_limit_goes_to_a_thread_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    svc = Where()
    eng = ServiceEngine(svc, address=URL, certificate=CERT)
    rec = Recorder(monkeypatch, eng)
    assert run_calls(AsgiApp(eng, loop_security_limit=1000), rec, [("Echo", "x" * 2000)]) == ["x" * 2000]
    assert on_security_threads(rec.seen["verify"]) and on_security_threads(rec.seen["secure"])
    assert on_security_threads(svc.threads)


class SharedStore(MemoryStore):
    """Stands for a store that may wait on I/O: anything but the memory store itself."""

    __slots__ = ()


class SharedReplayCache(MemoryReplayCache):
    pass


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"store": SharedStore()}, "the session store is a SharedStore"),
        ({"replay_cache": SharedReplayCache()}, "the replay cache is a SharedReplayCache"),
        (
            {"client_certificate_validator": CertificateValidator.custom_check(lambda cert: None)},
            "the client certificate validator runs custom code",
        ),
    ],
)
def test_what_may_wait_on_io_keeps_all_security_work_on_threads(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    kwargs: dict[str, Any],
    reason: str,
) -> None:
    svc = Where()
    eng = ServiceEngine(svc, address=URL, certificate=CERT, **kwargs)
    assert eng.waits_on_io == reason
    rec = Recorder(monkeypatch, eng)
    app = AsgiApp(eng)
    assert app.loop_security_limit == 0
    with caplog.at_level(logging.INFO, logger="wssc.service.asgi"):
        app._log_where()
    assert f"security work runs on 4 threads: {reason}" in caplog.text
    assert run_calls(app, rec, [("Echo", "a"), ("EchoAsync", "b")]) == ["a", "b"]
    assert on_security_threads(rec.seen["verify"]) and on_security_threads(rec.seen["secure"])
    assert on_security_threads(svc.threads[:1]) and svc.threads[1] == rec.loop_thread


def test_an_endpoint_without_sessions_verifies_on_threads() -> None:
    settings = EndpointSettings(SecureConversationSettings(establish_security_context=False))
    eng = ServiceEngine(Where(), settings=settings, address=URL, certificate=CERT)
    assert eng.waits_on_io and eng.waits_on_io.startswith("the endpoint establishes no session")
    assert AsgiApp(eng).loop_security_limit == 0


def test_an_issue_and_a_cancel_are_handed_back_for_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """``handle_on_loop`` hands an Issue and a Cancel back for a thread (an Issue's bootstrap
    may call a username validator or a KDC); it answers an application message itself."""
    eng = ServiceEngine(Where(), address=URL, certificate=CERT)
    rec = Recorder(monkeypatch, eng)
    seen: list[object] = []
    real = eng.handle_on_loop

    def handle_on_loop(req: Any) -> Any:
        out = real(req)
        seen.append(out)
        return out

    monkeypatch.setattr(eng, "handle_on_loop", handle_on_loop)
    assert run_calls(AsgiApp(eng, security_threads=1), rec, [("Echo", "a")]) == ["a"]
    issue, echo, cancel = seen
    assert isinstance(echo, Dispatch)
    for thunk in (issue, cancel):  # a function for the thread, never an answer
        assert callable(thunk) and not isinstance(thunk, Dispatch | HttpResponse)
    assert rec.seen["issue"] == ["wssc-security_0"] and rec.seen["cancel"] == ["wssc-security_0"]


def test_at_most_two_requests_per_thread_are_parsed_and_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """One thread, held by a blocking operation: of six calls, two are verified (the one
    running, the one waiting for the thread); the other four wait unparsed, until the
    thread is free. A parsed message is several times its bytes: never one per connection."""
    RELEASE.clear()
    eng = ServiceEngine(Where(), address=URL, certificate=CERT)
    rec = Recorder(monkeypatch, eng)
    app = AsgiApp(eng, security_threads=1)
    arrived = [0]
    real_on_loop = app._on_loop

    async def on_loop(req: Any) -> Any:
        arrived[0] += 1
        return await real_on_loop(req)

    monkeypatch.setattr(app, "_on_loop", on_loop)

    async def main() -> list[object]:
        rec.loop_thread = threading.current_thread().name
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        clients = [
            AsyncClient(URL, get_contract(Where), http=http, service_certificate=Certificate(CERT.cert))
            for _ in range(6)
        ]
        for c in clients:
            await c.open()
        arrived[0] = 0
        calls = [asyncio.create_task(c.call("Wait", text=f"w{i}")) for i, c in enumerate(clients)]
        await until(lambda: arrived[0] == 6, "the six calls to reach the app")
        for _ in range(50):  # let the loop run: nothing may pass the gate while the thread is held
            await asyncio.sleep(0)  # sleep-ok: a yield to the loop, no time
        assert len(rec.seen["verify"]) == 2 and not any(t.done() for t in calls)
        RELEASE.set()
        out = await asyncio.wait_for(asyncio.gather(*calls), 30)
        assert len(rec.seen["verify"]) == 6
        for c in clients:
            await c.aclose()
        await http.aclose()
        return list(out)

    try:
        assert asyncio.run(main()) == [f"w{i}" for i in range(6)]
    finally:
        RELEASE.set()


async def until(cond: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)  # sleep-ok: one poll step of a deadline loop


def test_the_request_that_purges_the_store_goes_to_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A purge is one pass over every session (70 ms at 100,000): the request that finds one
    due runs on a thread whole, the next one on the loop again."""
    offset = [0.0]
    svc = Where()
    eng = ServiceEngine(svc, address=URL, certificate=CERT, clock=lambda: time.time() + offset[0])
    rec = Recorder(monkeypatch, eng)
    purges: list[str] = []
    real_purge = MemoryStore.purge

    def purge(store: MemoryStore, *args: Any) -> int:
        purges.append(threading.current_thread().name)
        return real_purge(store, *args)

    def echo(text: str) -> str:
        if text == "advance":  # the service's clock moves on ten seconds
            offset[0] = 10.0
        return text

    monkeypatch.setattr(MemoryStore, "purge", purge)
    monkeypatch.setattr(svc, "Echo", echo)
    calls = [("Echo", "a"), ("Echo", "advance"), ("Echo", "b"), ("Echo", "c")]
    assert run_calls(AsgiApp(eng, security_threads=1), rec, calls) == ["a", "advance", "b", "c"]
    # the Issue purged first, on its thread; "b" found the next purge due: on the thread, whole
    assert purges == ["wssc-security_0", "wssc-security_0"]
    assert rec.seen["verify"][:4] == [LOOP, LOOP, "wssc-security_0", LOOP]
