"""One call's security work at a time: verify and secure in turns, operations outside them.

Verifying a request and securing a reply hold the GIL, so threads never run them in
parallel. Left to themselves, several threads fight for the GIL, every forced switch costs
CPU, and the service's CPU per call climbs with the number of clients (+53 % from 1 to 16
clients with four threads, docs/performance.md). A `SecurityTurn` is one lock that each call
holds while it is verified and while its reply is secured: the other threads wait on the
lock, asleep. The operation runs outside the lock, so one that blocks (a database, a remote
call) holds up no other call, as in WCF, which runs the calls of different sessions
concurrently. A Redis round trip inside a turn steps out of it (`wssc.turn.outside_turn`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from wssc.service.engine import Dispatch, HttpRequest, HttpResponse, ServiceEngine
from wssc.turn import Turn


class SecurityTurn(Turn):
    """The lock, and the two ways a host runs a call with it."""

    def handle(self, engine: ServiceEngine, req: HttpRequest) -> HttpResponse | Dispatch:
        """Verify in a turn, run a synchronous operation outside it, secure the reply in
        another turn. A Dispatch of an ``async def`` operation is returned for the host's
        loop to await (then `run` its ``finish``)."""
        return self.complete(engine.handle, req)

    def complete(self, fn: Callable[..., HttpResponse | Dispatch], *args: Any) -> HttpResponse | Dispatch:
        """`handle` for the request ``fn(*args)`` answers (`ServiceEngine.handle_on_loop`'s
        work for a thread)."""
        out = self.run(fn, *args)
        if not isinstance(out, Dispatch) or out.operation.is_async:
            return out
        try:
            value = out.method(**out.args)
        except Exception as exc:
            return self.run(out.finish, None, exc)
        return self.run(out.finish, value, None)

    def handle_sync(self, engine: ServiceEngine, req: HttpRequest) -> HttpResponse:
        """`handle`, with an ``async def`` operation run to completion here (WSGI)."""
        out = self.handle(engine, req)
        if not isinstance(out, Dispatch):
            return out
        try:
            value = asyncio.run(out.method(**out.args))
        except Exception as exc:
            return self.run(out.finish, None, exc)
        return self.run(out.finish, value, None)
