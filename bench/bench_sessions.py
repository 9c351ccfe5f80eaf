"""Secure-session costs: throughput, establishment latency, memory per session, cookie mode.

    .venv/bin/python bench/bench_sessions.py [--quick] [--json]

Every figure comes from this one run (about 60-75 s by default, 15-20 s with ``--quick``, on
2 cores).
The secured side always uses the default settings: AnonymousForCertificate bootstrap,
WSHttpBinding (WS-SC Feb 2005, SP 1.1), SOAP 1.2, Basic256, derived keys, session mode.

1. Echo calls per second over an established session against the *same* service served by
   ``UnsecuredEngine`` (below: plain SOAP, no WS-Security), both
   a. in-process (sans-IO): client work + ``engine.handle`` + ``run_dispatch_sync`` + client
      work, no sockets; the secured client is :class:`wssc.session.client.ClientSession`,
      the plain one builds ``new_envelope(SOAP_12, action, to, encode_request(...))`` and
      decodes the reply with the hardened parser and ``decode_response``;
   b. over HTTP on 127.0.0.1: uvicorn serving ``AsgiApp(engine)`` in a child process (this
      script re-run with a hidden ``--_serve`` option, identical for both services apart
      from ``UnsecuredEngine``), one keep-alive ``httpx.Client`` sending sequential calls; the
      secured side is the real :class:`wssc.client.sync.Client` with its session open.
   Secured and plain blocks are interleaved (the order alternates each round) so machine
   noise hits both; each figure is the median over rounds, the ratio the median of the
   per-round ratios. Target: secured >= 0.5x plain.
2. Session establishment: RST/SCT -> RSTR (RSA-OAEP bootstrap included) in-process and over
   HTTP, and open + first call + Cancel over HTTP (keep-alive connection): median and p90.
   Every issued session is cancelled, untimed, so the default pending-session quota holds.
3. Memory per stateful session (tracemalloc, Python allocations only):
   a. a MemoryStore holding 100,000 records shaped like the ones the engine issues
      (urn:uuid context id, 32-byte key, anonymous identity; the approach of
      bench/store_memory.py, with counter-based ids of the same length, because tracing
      100,000 ``uuid4()`` calls takes tens of seconds);
   b. the real engine: Issue requests are built first (untraced), then handed to
      ``engine.handle`` under tracemalloc; everything the process still holds afterwards,
      divided by the number of sessions (``max_pending_sessions`` raised for this only, so
      the sessions stay pending: an activated record has the same fields and size), and, as
      a cross-check, the growth of everything reachable from the engine object.
   Target: <= 400 bytes/session at 100k sessions (issue 19).
4. Cookie mode (``require_cancellation=False`` + a KeyRing): N sessions, each Issue + one
   call, in-process. The store must hold 0 records; what the engine object holds must not
   grow (a walk of everything reachable from it, ``sys.getsizeof``: exact) and the
   process-wide tracemalloc growth must be ~0 per session (second half of the run; a
   session-mode + Cancel run is the control for its noise). The replay cache is reported
   apart: one entry per verified message, not per session, and it expires.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import types
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from wssc.bootstrap.registry import ClientCredentials
from wssc.certs import Certificate, generate_self_signed, load, save
from wssc.client.common import make_bootstrap
from wssc.client.sync import Client
from wssc.contract import OperationSpec, decode_response, encode_request, get_contract
from wssc.demo import Calculator
from wssc.service.engine import (
    Dispatch,
    HttpRequest,
    HttpResponse,
    ServiceEngine,
    run_dispatch_sync,
)
from wssc.session.client import ClientSession, Outgoing
from wssc.settings import (
    EndpointSettings,
    LocalServiceSecuritySettings,
    SecureConversationSettings,
)
from wssc.store import MemoryStore, SessionRecord
from wssc.store.cookie import KeyRing
from wssc.xml import ns
from wssc.xml.parse import parse_xml
from wssc.xml.soap import SOAP_12, Envelope, new_envelope

TARGET_RATIO = 0.5
TARGET_BYTES = 400
#: cookie mode, tracemalloc: "about zero" bytes per session. A stored session costs ~400 B
#: (section 3); process-wide tracemalloc growth has a bounded noise of a few KB (CPython
#: internals; the session-mode + Cancel control, which provably keeps nothing, shows it too).
TARGET_COOKIE_BYTES = 64
TEXT = "hello, secure world"
PATH = "/svc"
PLAIN_CTYPE = f"{SOAP_12.content_type}; charset=utf-8"


@dataclass(frozen=True)
class Profile:
    name: str
    rounds: int
    inproc_block: float  # seconds per in-process block
    http_block: float  # seconds per HTTP block
    issue_samples: int
    full_samples: int
    store_sessions: int
    engine_sessions: int
    cookie_sessions: int


DEFAULT = Profile("default", 5, 0.8, 1.5, 120, 80, 100_000, 1000, 300)
QUICK = Profile("quick", 3, 0.3, 0.6, 40, 25, 100_000, 150, 100)


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------
def address(port: int) -> str:
    return f"http://127.0.0.1:{port}{PATH}"


def p90(samples: list[float]) -> float:
    s = sorted(samples)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def rate(fn: Callable[[], None], seconds: float) -> float:
    """Calls per second of ``fn`` run back to back for about ``seconds``."""
    n = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while True:
        fn()
        n += 1
        t = time.perf_counter()
        if t >= end:
            return n / (t - t0)


def interleaved(
    secured: Callable[[], None], plain: Callable[[], None], rounds: int, block: float
) -> dict[str, object]:
    sec: list[float] = []
    pln: list[float] = []
    for r in range(rounds):
        if r % 2 == 0:
            sec.append(rate(secured, block))
            pln.append(rate(plain, block))
        else:
            pln.append(rate(plain, block))
            sec.append(rate(secured, block))
    ratios = [s / p for s, p in zip(sec, pln, strict=True)]
    return {
        "secured_calls_per_s": statistics.median(sec),
        "plain_calls_per_s": statistics.median(pln),
        "ratio": statistics.median(ratios),
        "secured_rounds": sec,
        "plain_rounds": pln,
        "ratio_rounds": ratios,
    }


_SHARED = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.CodeType,
    types.MethodType,
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
    types.GetSetDescriptorType,
    types.MemberDescriptorType,
)


def reachable_bytes(root: object, exclude: tuple[object, ...] = ()) -> tuple[int, int]:
    """(bytes, objects) reachable from ``root`` by ``gc.get_referents``, by ``sys.getsizeof``;
    code, classes, functions and modules are shared program text and not followed."""
    seen = {id(o) for o in exclude}
    total = count = 0
    stack = [root]
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, _SHARED):
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        count += 1
        stack.extend(gc.get_referents(o))
    return total, count


def post_inproc(engine: ServiceEngine, body: bytes, content_type: str) -> HttpResponse:
    req = HttpRequest("POST", PATH, "", {"content-type": content_type}, body)
    out = engine.handle(req)
    if isinstance(out, Dispatch):
        out = run_dispatch_sync(out)
    return out


def plain_body(op: OperationSpec, to: str) -> bytes:
    env = new_envelope(SOAP_12, action=op.action, to=to, payload=encode_request(op, {"text": TEXT}))
    return etree.tostring(env, encoding="utf-8")


def plain_value(op: OperationSpec, data: bytes) -> object:
    payload = Envelope(parse_xml(data)).payload
    if payload is None:
        raise RuntimeError("the plain reply has an empty Body")
    return decode_response(op, payload)


def new_client_session(settings: EndpointSettings, cert: Certificate, to: str) -> ClientSession:
    return ClientSession(settings, make_bootstrap(settings, ClientCredentials(service_certificate=cert)), to)


def open_inproc(cs: ClientSession, engine: ServiceEngine) -> None:
    now = time.time()
    out = cs.issue_request(now)
    r = post_inproc(engine, out.body, out.content_type)
    cs.issue_response(r.body, out, now)


def call_inproc(cs: ClientSession, engine: ServiceEngine, op: OperationSpec) -> object:
    now = time.time()
    out = cs.app_request(op, {"text": TEXT}, now)
    r = post_inproc(engine, out.body, out.content_type)
    return cs.app_response(r.body, out, now)


def cancel_inproc(cs: ClientSession, engine: ServiceEngine) -> None:
    now = time.time()
    out = cs.cancel_request(now)
    if out is not None:
        r = post_inproc(engine, out.body, out.content_type)
        cs.cancel_response(r.body, out, now)


# --------------------------------------------------------------------------------------------
# HTTP servers (child processes)
# --------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class UnsecuredEngine(ServiceEngine):
    """The baseline: plain document/literal SOAP on the same engine and contract codec, with no
    WS-Security at all. Kept here, out of the library's public constructors."""

    def _post(self, env: Any, transport: Any) -> Any:
        from lxml import etree

        from wssc.contract import decode_request, encode_response
        from wssc.service.engine import Dispatch, HttpResponse

        op = self.contract.find(env.action)
        args = decode_request(op, self._payload(env))
        method = getattr(self.service, op.method_name or op.name)

        def finish(value: object, error: BaseException | None) -> HttpResponse:
            if error is not None:
                raise error
            reply = self._reply(env, op.reply_action, encode_response(op, value))
            ctype = f"{env.version.content_type}; charset=utf-8"
            return HttpResponse(200, [("content-type", ctype)], etree.tostring(reply))

        return Dispatch(op, method, args, finish)


def serve_child(mode: str, port: int, cert_dir: Path) -> None:
    """The child process: uvicorn + AsgiApp(engine), plain or secured, on 127.0.0.1."""
    import uvicorn

    from wssc.service.asgi import AsgiApp

    cert = load(cert_dir / "cert.pem", cert_dir / "key.pem")
    factory = UnsecuredEngine if mode == "plain" else ServiceEngine
    engine = factory(Calculator(), settings=EndpointSettings(), address=address(port), certificate=cert)
    uvicorn.run(AsgiApp(engine), host="127.0.0.1", port=port, log_level="warning", access_log=False)


class Server:
    def __init__(self, mode: str, cert_dir: Path, log_dir: Path) -> None:
        self.mode = mode
        self.port = free_port()
        self.address = address(self.port)
        self.log_path = log_dir / f"server-{mode}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.cert_dir = cert_dir

    def start(self, timeout: float = 30.0) -> None:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--_serve",
                    self.mode,
                    "--_port",
                    str(self.port),
                    "--_cert-dir",
                    str(self.cert_dir),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.address, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        log_text = self.log_path.read_text(errors="replace")
        raise RuntimeError(f"the {self.mode} server did not start on port {self.port}:\n{log_text}")

    def stop(self) -> None:
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


# --------------------------------------------------------------------------------------------
# 1. Throughput
# --------------------------------------------------------------------------------------------
def throughput_inproc(cert: Certificate, prof: Profile) -> dict[str, object]:
    to = address(1)
    settings = EndpointSettings()
    op = get_contract(Calculator).operation("Echo")
    secured_engine = ServiceEngine(Calculator(), settings=settings, address=to, certificate=cert)
    plain_engine = UnsecuredEngine(Calculator(), settings=settings, address=to, certificate=cert)
    cs = new_client_session(settings, cert, to)
    open_inproc(cs, secured_engine)

    def secured() -> None:
        if call_inproc(cs, secured_engine, op) != TEXT:
            raise RuntimeError("secured in-process Echo returned something else")

    def plain() -> None:
        r = post_inproc(plain_engine, plain_body(op, to), PLAIN_CTYPE)
        if r.status != 200 or plain_value(op, r.body) != TEXT:
            raise RuntimeError("plain in-process Echo failed")

    for _ in range(20):  # warm-up
        secured()
        plain()
    result = interleaved(secured, plain, prof.rounds, prof.inproc_block)
    cancel_inproc(cs, secured_engine)
    return result


def throughput_http(
    cert: Certificate, secured_srv: Server, plain_srv: Server, prof: Profile
) -> dict[str, object]:
    op = get_contract(Calculator).operation("Echo")
    client = Client(
        secured_srv.address, get_contract(Calculator), settings=EndpointSettings(), service_certificate=cert
    )
    http = httpx.Client(timeout=60.0)
    try:
        client.open()
        to = plain_srv.address
        headers = {"content-type": PLAIN_CTYPE, "soapaction": f'"{op.action}"'}

        def secured() -> None:
            if client.call("Echo", text=TEXT) != TEXT:
                raise RuntimeError("secured HTTP Echo returned something else")

        def plain() -> None:
            r = http.post(to, content=plain_body(op, to), headers=headers)
            if r.status_code != 200 or plain_value(op, r.content) != TEXT:
                raise RuntimeError(f"plain HTTP Echo failed: HTTP {r.status_code}")

        for _ in range(20):
            secured()
            plain()
        return interleaved(secured, plain, prof.rounds, prof.http_block)
    finally:
        client.close()
        http.close()


# --------------------------------------------------------------------------------------------
# 2. Establishment
# --------------------------------------------------------------------------------------------
def summary_ms(samples: list[float]) -> dict[str, float]:
    ms = [s * 1e3 for s in samples]
    return {"median_ms": statistics.median(ms), "p90_ms": p90(ms), "n": len(ms)}


def establish(cert: Certificate, srv: Server, prof: Profile) -> dict[str, object]:
    """Issue in-process, Issue over HTTP and open+call+cancel over HTTP, sample by sample
    interleaved so that machine noise spreads over all three alike."""
    to = address(1)
    settings = EndpointSettings()
    contract = get_contract(Calculator)
    engine = ServiceEngine(Calculator(), settings=settings, address=to, certificate=cert)
    http = httpx.Client(timeout=60.0)
    inproc: list[float] = []
    server: list[float] = []
    issue: list[float] = []
    full: list[float] = []
    warm = 3
    try:
        for i in range(warm + max(prof.issue_samples, prof.full_samples)):
            keep = i >= warm
            if i < warm + prof.issue_samples:
                cs = new_client_session(settings, cert, to)
                t0 = time.perf_counter()
                now = time.time()
                out = cs.issue_request(now)
                t1 = time.perf_counter()
                r = engine.handle(HttpRequest("POST", PATH, "", {"content-type": out.content_type}, out.body))
                t2 = time.perf_counter()
                assert isinstance(r, HttpResponse)
                cs.issue_response(r.body, out, now)
                t3 = time.perf_counter()
                cancel_inproc(cs, engine)  # untimed
                c = Client(srv.address, contract, settings=settings, service_certificate=cert, http=http)
                t4 = time.perf_counter()
                c.open()
                t5 = time.perf_counter()
                c.close()  # Cancel, untimed
                if keep:
                    inproc.append(t3 - t0)
                    server.append(t2 - t1)
                    issue.append(t5 - t4)
            if i < warm + prof.full_samples:
                c = Client(srv.address, contract, settings=settings, service_certificate=cert, http=http)
                t0 = time.perf_counter()
                c.open()
                if c.call("Echo", text=TEXT) != TEXT:
                    raise RuntimeError("first call returned something else")
                c.close()
                t1 = time.perf_counter()
                if keep:
                    full.append(t1 - t0)
    finally:
        http.close()
    return {
        "issue_inproc": summary_ms(inproc),
        "issue_inproc_engine_only": summary_ms(server),
        "issue_http": summary_ms(issue),
        "open_call_cancel_http": summary_ms(full),
        "inproc_store_after": len(engine.sessions.store),
    }


# --------------------------------------------------------------------------------------------
# 3. Memory per stateful session
# --------------------------------------------------------------------------------------------
def build_store(n: int) -> MemoryStore:
    """Records shaped like the engine's (session mode, anonymous, pending), distinct ids."""
    store = MemoryStore()
    tag = os.urandom(4).hex()
    t0 = time.time()
    for i in range(n):
        t = t0 + i * 1e-3
        store.put(
            SessionRecord(
                context_id=f"urn:uuid:{tag}-0000-4000-8000-{i:012x}",  # 45 chars, as uuid4
                instance=None,
                key=os.urandom(32),
                created=t,
                expires=t + 10 * 365 * 86400.0,
                key_effective=t,
                key_expires=t + 54_000.0,
                identity="",
                activated=False,
                sc_ns=ns.SC_2005,
                last_used=t,
            )
        )
    return store


def store_bytes_per_session(n: int) -> float:
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    store = build_store(n)
    gc.collect()
    used, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(store) == n
    del store
    return (used - base) / n


def engine_bytes_per_session(cert: Certificate, n: int) -> dict[str, object]:
    to = address(1)
    settings = EndpointSettings(service=LocalServiceSecuritySettings(max_pending_sessions=n + 16))
    engine = ServiceEngine(Calculator(), settings=settings, address=to, certificate=cert)
    cs = new_client_session(settings, cert, to)
    warm = 5
    requests: list[Outgoing] = [cs.issue_request(time.time()) for _ in range(n + warm)]
    for out in requests[:warm]:
        r = post_inproc(engine, out.body, out.content_type)
        assert r.status == 200, r.body[:300]
    todo = requests[warm:]
    del requests
    reach0, _ = reachable_bytes(engine, (engine.replay,))
    t0 = time.perf_counter()
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for out in todo:
        r = post_inproc(engine, out.body, out.content_type)
        if r.status != 200:
            raise RuntimeError(f"issue failed: {r.body[:300]!r}")
    del r, out
    gc.collect()
    used, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    elapsed = time.perf_counter() - t0
    held = len(engine.sessions.store) - warm
    if held != n:
        raise RuntimeError(f"the store holds {held} new sessions, expected {n}")
    reach1, _ = reachable_bytes(engine, (engine.replay,))
    return {
        "bytes_per_session": (used - base) / n,
        "sessions": n,
        "reachable_bytes_per_session": (reach1 - reach0) / n,
        "store_records": len(engine.sessions.store),
        "traced_seconds": elapsed,
    }


# --------------------------------------------------------------------------------------------
# 4. Cookie mode
# --------------------------------------------------------------------------------------------
def retained_per_session(
    cert: Certificate, n: int, settings: EndpointSettings, keyring: KeyRing | None
) -> dict[str, object]:
    """Run 2 x n/2 sessions (Issue + one Echo + Cancel when the mode sends one) through one
    engine under tracemalloc. After each half the replay cache is measured and dropped (a
    fresh one is put in its place), so what remains is what the engine keeps for sessions.
    The figure is the second half's growth per session: the first half also warms free
    lists and caches (bounded, a few KB, not per session)."""
    from wssc.security.replay import MemoryReplayCache

    to = address(1)
    engine = ServiceEngine(Calculator(), settings=settings, address=to, certificate=cert, keyring=keyring)
    op = get_contract(Calculator).operation("Echo")
    cookie_len = 0
    sent_cancel = False

    def one_session() -> None:
        nonlocal cookie_len, sent_cancel
        cs = new_client_session(settings, cert, to)
        open_inproc(cs, engine)
        if call_inproc(cs, engine, op) != TEXT:
            raise RuntimeError("Echo returned something else")
        assert cs.sct is not None
        cookie_len = len(cs.sct.cookie or b"")
        sent_cancel = cs.cancel_request(time.time()) is not None
        cancel_inproc(cs, engine)

    def drop_replay() -> int:
        assert engine.replay is not None
        entries = len(engine.replay)
        engine.replay = MemoryReplayCache(engine.replay.max_entries)
        return entries

    for _ in range(20):
        one_session()
    drop_replay()
    reach0 = reachable_bytes(engine, (engine.replay,))
    half = max(1, n // 2)
    gc.collect()
    tracemalloc.start()
    marks: list[int] = [tracemalloc.get_traced_memory()[0]]
    replay_bytes = replay_entries = replay_reach = replay_reach_entries = 0
    for _ in range(2):
        for _ in range(half):
            one_session()
        gc.collect()
        with_replay, _ = tracemalloc.get_traced_memory()
        if len(marks) == 1:  # the replay cache's own size, by the same walk, once
            replay_reach, _ = reachable_bytes(engine.replay)
            replay_reach_entries = len(engine.replay) if engine.replay is not None else 0
        replay_entries += drop_replay()
        gc.collect()
        without, _ = tracemalloc.get_traced_memory()
        replay_bytes += with_replay - without
        marks.append(without)
    tracemalloc.stop()
    reach1 = reachable_bytes(engine, (engine.replay,))
    return {
        "sessions": 2 * half,
        "reachable_bytes_growth_excl_replay": reach1[0] - reach0[0],
        "reachable_objects_growth_excl_replay": reach1[1] - reach0[1],
        "replay_reachable_bytes_per_entry": replay_reach / max(1, replay_reach_entries),
        "store_records": len(engine.sessions.store),
        "sent_cancel": sent_cancel,
        "bytes_per_session_excl_replay": (marks[2] - marks[1]) / half,
        "bytes_growth_first_half": marks[1] - marks[0],
        "bytes_growth_second_half": marks[2] - marks[1],
        "replay_entries": replay_entries,
        "replay_bytes_per_entry": replay_bytes / max(1, replay_entries),
        "cookie_bytes": cookie_len,
    }


def cookie_mode(cert: Certificate, n: int) -> dict[str, object]:
    cookie = EndpointSettings(secure_conversation=SecureConversationSettings(require_cancellation=False))
    return {
        "cookie": retained_per_session(cert, n, cookie, KeyRing.generate()),
        # the control: session mode with Cancel ends with an empty store too, so its residue
        # is the measurement's noise floor
        "session_cancelled": retained_per_session(cert, n, EndpointSettings(), None),
    }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table(res: dict[str, object], prof: Profile) -> list[str]:
    rows: list[tuple[str, str, str, str]] = []
    a = res["throughput_inproc"]
    b = res["throughput_http"]
    e = res["establish"]
    m = res["memory"]
    c = res["cookie_mode"]
    assert isinstance(a, dict) and isinstance(b, dict) and isinstance(e, dict)
    assert isinstance(m, dict) and isinstance(c, dict)

    for label, d in (("1a in-process", a), ("1b HTTP loopback", b)):
        rows.append(
            (f"{label}: secured Echo over open session", f"{d['secured_calls_per_s']:8.0f} calls/s", "", "")
        )
        rows.append(
            (f"{label}: plain Echo (unsecured engine)", f"{d['plain_calls_per_s']:8.0f} calls/s", "", "")
        )
        rows.append(
            (
                f"{label}: ratio secured/plain",
                f"{d['ratio']:8.3f} x",
                f">= {TARGET_RATIO} x",
                verdict(d["ratio"] >= TARGET_RATIO),
            )
        )
    for label, s in (
        ("2 issue in-process (client+engine)", e["issue_inproc"]),
        ("2 issue in-process (engine.handle only)", e["issue_inproc_engine_only"]),
        ("2 issue over HTTP", e["issue_http"]),
        ("2 open+first call+cancel over HTTP", e["open_call_cancel_http"]),
    ):
        rows.append((label, f"{s['median_ms']:7.2f} ms median", f"p90 {s['p90_ms']:.2f} ms", f"n={s['n']}"))
    st = m["store_bytes_per_session"]
    rows.append(
        (
            f"3 MemoryStore, {m['store_sessions']:,} sessions held",
            f"{st:8.0f} B/session",
            f"<= {TARGET_BYTES} B",
            verdict(st <= TARGET_BYTES),
        )
    )
    eng = m["engine"]
    assert isinstance(eng, dict)
    eb = eng["bytes_per_session"]
    rows.append(
        (
            f"3 engine issue path, {eng['sessions']:,} sessions held",
            f"{eb:8.0f} B/session",
            f"<= {TARGET_BYTES} B",
            verdict(eb <= TARGET_BYTES),
        )
    )
    rows.append(
        (
            "3 engine: bytes reachable from the engine object",
            f"{eng['reachable_bytes_per_session']:8.0f} B/session",
            "(getsizeof walk)",
            "info",
        )
    )
    same = m["store_same_n_bytes_per_session"]
    rows.append(
        (f"3 engine extra vs store-only at {eng['sessions']:,}", f"{eb - same:+8.0f} B/session", "", "")
    )
    ck = c["cookie"]
    ctl = c["session_cancelled"]
    assert isinstance(ck, dict) and isinstance(ctl, dict)
    rows.append(
        (
            f"4 cookie mode, {ck['sessions']} sessions: store records",
            f"{ck['store_records']:8d}",
            "== 0",
            verdict(ck["store_records"] == 0),
        )
    )
    rb = ck["reachable_bytes_growth_excl_replay"]
    rows.append(
        (
            "4 cookie mode: growth reachable from engine, excl. replay",
            f"{rb:8d} B total",
            "== 0 B",
            verdict(rb == 0),
        )
    )
    cb = ck["bytes_per_session_excl_replay"]
    ctb = ctl["bytes_per_session_excl_replay"]
    rows.append(
        (
            "4 cookie mode: tracemalloc growth excl. replay cache",
            f"{cb:8.1f} B/session",
            f"<= {TARGET_COOKIE_BYTES} B (~0)",
            verdict(cb <= TARGET_COOKIE_BYTES),
        )
    )
    rows.append(
        (
            "4 control, session mode + Cancel: same figure",
            f"{ctb:8.1f} B/session",
            f"store {ctl['store_records']} rec., reach {ctl['reachable_bytes_growth_excl_replay']} B",
            "noise floor",
        )
    )
    rows.append(
        (
            "4 cookie mode: replay-cache entries (1/call)",
            f"{ck['replay_entries']:8d}",
            f"{ck['replay_bytes_per_entry']:.0f} B/entry (reach "
            f"{ck['replay_reachable_bytes_per_entry']:.0f})",
            "info",
        )
    )
    rows.append(
        ("4 cookie mode: state carried in the SCT cookie", f"{ck['cookie_bytes']:8d} B/SCT", "", "info")
    )

    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    env = res["environment"]
    assert isinstance(env, dict)
    head = (
        f"wssc bench_sessions ({prof.name}: {prof.rounds} rounds; Python "
        f"{env['python']}; {env['cpus']} CPUs; load {env['load_before']} -> "
        f"{env['load_after']}; {env['elapsed_s']:.0f} s)"
    )
    lines = [head]
    for r in rows:
        lines.append(f"{r[0]:<{w0}}  {r[1]:>{w1}}  {r[2]:<{w2}}  {r[3]}".rstrip())
    lines.append(
        f"note: replay-cache entries are one per verified secured message (its SignatureValue, "
        f"kept while its Timestamp could still pass: at least Created + replay window + clock skew = "
        f"{res['replay_keep_s']:.0f} s, capped at replay_cache_size); they are replay "
        f"protection, not session state, the same in session mode, and expire by themselves."
    )
    lines.append(
        "note: tracemalloc growth counts the whole process (bounded CPython noise of a few KB); "
        "'reachable from engine' walks the engine object graph (sys.getsizeof) and is exact."
    )
    return lines


def run(prof: Profile) -> dict[str, object]:
    started = time.perf_counter()
    load_before = loadavg()
    res: dict[str, object] = {"profile": asdict(prof)}
    cert = generate_self_signed()
    with tempfile.TemporaryDirectory(prefix="wssc-bench-") as tmp:
        tmpdir = Path(tmp)
        save(cert, tmpdir / "cert.pem", tmpdir / "key.pem")
        secured_srv = Server("secured", tmpdir, tmpdir)
        plain_srv = Server("plain", tmpdir, tmpdir)
        try:
            secured_srv.start()
            plain_srv.start()
            res["throughput_inproc"] = throughput_inproc(cert, prof)
            res["throughput_http"] = throughput_http(cert, secured_srv, plain_srv, prof)
            res["establish"] = establish(cert, secured_srv, prof)
        finally:
            try:
                secured_srv.stop()
            finally:
                plain_srv.stop()
    res["memory"] = {
        "store_sessions": prof.store_sessions,
        "store_bytes_per_session": store_bytes_per_session(prof.store_sessions),
        "engine": engine_bytes_per_session(cert, prof.engine_sessions),
        "store_same_n_bytes_per_session": store_bytes_per_session(prof.engine_sessions),
    }
    res["cookie_mode"] = cookie_mode(cert, prof.cookie_sessions)
    svc = LocalServiceSecuritySettings()
    res["replay_keep_s"] = (svc.replay_window + svc.max_clock_skew).total_seconds()
    res["environment"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_before": None if load_before is None else round(load_before, 2),
        "load_after": None if (la := loadavg()) is None else round(la, 2),
        "elapsed_s": time.perf_counter() - started,
    }
    return res


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="15-20 s instead of 60-75 s")
    ap.add_argument(
        "--json", action="store_true", help="print the results as JSON on stdout (the table goes to stderr)"
    )
    ap.add_argument(
        "--engine-sessions", type=int, default=None, help="sessions issued through the engine for section 3"
    )
    ap.add_argument("--_serve", choices=["secured", "plain"], help=argparse.SUPPRESS)
    ap.add_argument("--_port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--_cert-dir", dest="_cert_dir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._serve:
        serve_child(args._serve, args._port, args._cert_dir)
        return 0
    # SIGTERM (and SIGINT, which a background job may have ignored) unwind through the
    # finally blocks, so the child servers are always stopped.
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    prof = QUICK if args.quick else DEFAULT
    if args.engine_sessions:
        from dataclasses import replace

        prof = replace(prof, engine_sessions=args.engine_sessions)
    try:
        res = run(prof)
    except KeyboardInterrupt as exc:
        print(f"interrupted ({exc}); servers stopped", file=sys.stderr)
        return 130
    lines = table(res, prof)
    if args.json:
        print("\n".join(lines), file=sys.stderr)
        print(json.dumps(res, indent=2))
    else:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
