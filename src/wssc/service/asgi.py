"""ASGI application over `ServiceEngine` (serve it with uvicorn).

Where the work of a call runs, by default: an application message in a session (up to
``loop_security_limit`` bytes, default 64 KiB, WCF's ``MaxReceivedMessageSize``) is verified
on the event loop, and its reply secured there; its operation runs on the app's executor of
``security_threads`` threads (default 4) when it is synchronous, and is awaited on the loop
when it is ``async def``. Everything else (an Issue, Renew or Cancel, a negotiation leg, a
larger message) is handed to a thread whole: it may call a username validator, a KDC or a
store over the network. So is every request when the engine's session store, replay cache or
certificate validator may wait on I/O (Redis, custom code: `ServiceEngine.waits_on_io`).

Why: a hand-over of security work from the loop to a thread and back costs context switches,
and threads that verify and secure side by side fight for the GIL; the service's CPU per call
climbed with concurrency (+24..38 % from 1 to 16 clients, docs/performance.md). On the loop,
security work is one call at a time with no switch at all, and a synchronous operation that
blocks (a database, a remote call) still holds up no other call, as in WCF, which runs the
calls of different sessions concurrently. The cost: the loop reads no other request while it
verifies one (at most ``loop_security_limit`` bytes of work). At most ``2 * security_threads``
requests are parsed and waiting for, or on, a thread; the others wait unparsed.

**Security work on threads takes turns.** Verifying and securing on the threads hold one lock
(`wssc.service.security_turn`): the other threads wait on the lock, asleep, not on the GIL.
``loop_security_limit=0`` sends all of it to the threads (the layout before).

``inline_limit`` (default 0: off): requests of at most that many bytes are handled on the
event loop whole, their synchronous operation too, for services whose operations never block.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from wssc.errors import ConfigurationError
from wssc.logs import printable
from wssc.service.engine import Dispatch, HttpRequest, HttpResponse, ServiceEngine
from wssc.service.hosting import startup
from wssc.service.security_turn import SecurityTurn
from wssc.service.transport import transport_info

log = logging.getLogger("wssc.service.asgi")

#: What uvicorn's ``--http`` takes for the protocol that keeps such bodies (`wssc.service.uvicorn_http`).
UVICORN_HTTP = "wssc.service.uvicorn_http:HttpToolsProtocol"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
_T = TypeVar("_T")


class AsgiApp:
    """The ASGI app. On the lifespan start-up it routes ``wssc.*`` logs to uvicorn's handlers
    (when the application configured none) and refuses to start a per-process session store
    under several workers (`wssc.service.hosting`).

    ``forwarded_allow_ips``: the proxies whose forwarded headers the server (uvicorn's
    ``--forwarded-allow-ips``) was told to trust. Empty (the default): a request carrying a
    forwarded header is never taken as HTTPS (`wssc.service.transport`).

    ``max_body``: by default the engine's ``max_received_message_size`` (64 KiB, WCF's). A
    bigger request gets HTTP 413 as soon as its Content-Length, or the bytes received so far,
    say so: it is never buffered whole.

    ``security_threads``, ``loop_security_limit``, ``inline_limit``: where the work of a call
    runs (the module docs)."""

    def __init__(
        self,
        engine: ServiceEngine,
        max_body: int | None = None,
        forwarded_allow_ips: Sequence[str] = (),
        security_threads: int = 4,
        inline_limit: int = 0,
        loop_security_limit: int = 65536,
    ) -> None:
        if security_threads < 1:
            raise ConfigurationError(f"security_threads must be at least 1, not {security_threads}")
        if inline_limit < 0:
            raise ConfigurationError(f"inline_limit must be at least 0, not {inline_limit}")
        if loop_security_limit < 0:
            raise ConfigurationError(f"loop_security_limit must be at least 0, not {loop_security_limit}")
        self.engine = engine
        self.max_body = engine.settings.max_received_message_size if max_body is None else max_body
        self.forwarded_allow_ips = tuple(forwarded_allow_ips)
        self.security_threads = security_threads
        self.inline_limit = inline_limit
        self.loop_security_limit = loop_security_limit if engine.waits_on_io is None else 0
        self._executor = ThreadPoolExecutor(security_threads, thread_name_prefix="wssc-security")
        self.security_turn = SecurityTurn()
        self._gate: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def _secure(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run security work on the app's executor, in its turn."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.security_turn.run, fn, *args)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    try:
                        startup(self.engine)  # logs under uvicorn's; refuse unsafe workers
                        self._log_where()
                    except ConfigurationError as exc:
                        await send({"type": "lifespan.startup.failed", "message": str(exc.detail)})
                        return
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.max_body:
            await self._send(send, self.engine.too_large(int(declared)))
            return
        body = bytearray()
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if len(body) > self.max_body:  # chunked, or more than it declared
                await self._send(send, self.engine.too_large(None))
                return
            if not msg.get("more_body"):
                break
        lost = lost_body_reason(headers, bytes(body))
        if lost:
            log.warning("%s", lost)
        client = scope.get("client") or ("", 0)
        req = HttpRequest(
            scope["method"],
            scope.get("path", "/"),
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            bytes(body),
            transport_info(
                secure=scope.get("scheme") == "https",
                peer=str(client[0]),
                headers=headers,
                forwarded_allow_ips=self.forwarded_allow_ips,
            ),
        )
        if len(body) <= self.inline_limit:  # opted in: all of it on the loop
            out = self._handle(req)
        elif len(body) <= self.loop_security_limit:
            await self._send(send, await self._on_loop(req))
            return
        else:
            out = await asyncio.get_running_loop().run_in_executor(self._executor, self._handle, req)
        if isinstance(out, Dispatch):
            out = await self._run_async(out)
        await self._send(send, out)

    async def _on_loop(self, req: HttpRequest) -> HttpResponse:
        """Security work here, a synchronous operation on a thread, the rest on a thread whole.

        At most ``2 * security_threads`` requests are past their parse and not yet done with
        a thread (`_thread_gate`): a parsed message is several times its bytes, and one that
        waits for a busy thread must not be kept for every connection; the others wait
        unparsed, as they would for the threads' layout."""
        async with self._thread_gate():
            out = self.engine.handle_on_loop(req)
            if isinstance(out, HttpResponse):
                return out
            if not isinstance(out, Dispatch):  # work that may wait on I/O: a thread, whole
                out = await asyncio.get_running_loop().run_in_executor(
                    self._executor, self.security_turn.complete, out
                )
                if isinstance(out, Dispatch):
                    return await self._run_async(out)
                return out
            d = out
            if not d.operation.is_async:
                try:
                    value = await asyncio.get_running_loop().run_in_executor(self._executor, _call, d)
                except Exception as exc:
                    return d.finish(None, exc)
                return d.finish(value, None)
        # an ``async def`` operation is awaited outside the gate, as in the threads' layout
        try:
            value = await d.method(**d.args)
        except Exception as exc:
            return d.finish(None, exc)
        return d.finish(value, None)

    def _thread_gate(self) -> asyncio.Semaphore:
        """The running loop's gate (a semaphore binds to one loop: a new loop gets a new one)."""
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate[0] is not loop:
            self._gate = (loop, asyncio.Semaphore(2 * self.security_threads))
        return self._gate[1]

    def _log_where(self) -> None:
        if self.loop_security_limit:
            log.info(
                "application messages up to %d bytes are verified on the event loop; "
                "synchronous operations run on %d threads",
                self.loop_security_limit,
                self.security_threads,
            )
        else:
            why = self.engine.waits_on_io or "loop_security_limit is 0"
            log.info("security work runs on %d threads: %s", self.security_threads, why)

    def _handle(self, req: HttpRequest) -> HttpResponse | Dispatch:
        """Verify, run a synchronous operation, secure the reply: one hand-over in all."""
        return self.security_turn.handle(self.engine, req)

    async def _run_async(self, d: Dispatch) -> HttpResponse:
        try:
            value = await d.method(**d.args)
        except Exception as exc:
            return await self._secure(d.finish, None, exc)
        return await self._secure(d.finish, value, None)

    @staticmethod
    async def _send(send: Send, r: HttpResponse) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in r.headers]
        headers.append((b"content-length", str(len(r.body)).encode()))
        await send({"type": "http.response.start", "status": r.status, "headers": headers})
        await send({"type": "http.response.body", "body": r.body})


def _call(d: Dispatch) -> object:
    return d.method(**d.args)


def lost_body_reason(headers: dict[str, str], body: bytes) -> str | None:
    """Why the body is empty, when the server dropped it: the request offered an ``Upgrade``
    other than WebSocket (Java's ``HttpClient`` offers ``h2c``) with a non-empty
    ``Content-Length`` or a chunked body, and nothing arrived. uvicorn's httptools parser does
    that (uvicorn issue 2722); the application cannot get the body back, so the log names the
    fix. None otherwise."""
    if body:
        return None
    upgrade = headers.get("upgrade", "").strip()
    connection = [t.strip().lower() for t in headers.get("connection", "").split(",")]
    if not upgrade or upgrade.lower() == "websocket" or "upgrade" not in connection:
        return None
    declared = headers.get("content-length", "").strip()
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    if not chunked and not (declared.isdigit() and int(declared) > 0):
        return None
    return (
        f"the server dropped the body of a request that offered Upgrade: {printable(upgrade, 40)} "
        "(uvicorn's httptools protocol does, uvicorn issue 2722): under uvicorn, run it with "
        f"--http {UVICORN_HTTP} (or --http h11), as wssc serve does"
    )
