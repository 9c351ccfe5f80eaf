"""ASGI application over `ServiceEngine` (serve it with uvicorn).

Where the work of a call runs (verify the request, run a synchronous operation, secure the
reply): on the app's own executor of ``security_threads`` threads (default 4), in one
hand-over from the event loop, which goes on reading bodies and accepting connections
meanwhile. A synchronous operation runs in the same thread as its security work: every extra
hand-over between threads costs, on a busy machine a wait for the scheduler.

**Security work takes turns.** Verifying a request and securing a reply hold the GIL, so
several threads never run them in parallel; left to themselves they fight for it, every
forced switch costs CPU, and the service's CPU per call climbed with concurrency (+53 % from
1 to 16 clients with four threads, docs/performance.md). So the verify and secure steps of
every call hold one lock (`wssc.service.security_turn`): one call's security work runs at a
time, the other threads wait on the lock, asleep, not on the GIL. The operation itself runs
outside the lock, so a synchronous operation that blocks (a database, a remote call) holds up
no other call; that is why there are four threads and not one. ``async def`` operations are
awaited on the loop.

``inline_limit`` (default 0: off): requests of at most that many bytes are handled on the
event loop itself, no hand-over at all, for services whose operations never block.
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

    ``security_threads``, ``inline_limit``: where the work of a call runs (the module docs)."""

    def __init__(
        self,
        engine: ServiceEngine,
        max_body: int | None = None,
        forwarded_allow_ips: Sequence[str] = (),
        security_threads: int = 4,
        inline_limit: int = 0,
    ) -> None:
        if security_threads < 1:
            raise ConfigurationError(f"security_threads must be at least 1, not {security_threads}")
        if inline_limit < 0:
            raise ConfigurationError(f"inline_limit must be at least 0, not {inline_limit}")
        self.engine = engine
        self.max_body = engine.settings.max_received_message_size if max_body is None else max_body
        self.forwarded_allow_ips = tuple(forwarded_allow_ips)
        self.security_threads = security_threads
        self.inline_limit = inline_limit
        self._executor = ThreadPoolExecutor(security_threads, thread_name_prefix="wssc-security")
        self.security_turn = SecurityTurn()

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
        else:
            out = await asyncio.get_running_loop().run_in_executor(self._executor, self._handle, req)
        if isinstance(out, Dispatch):
            out = await self._run_async(out)
        await self._send(send, out)

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
