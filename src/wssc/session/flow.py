"""The client's conversation as one sans-IO flow: generators that yield requests and take
replies, as httpx's ``Auth.auth_flow`` does. The sync and async clients (and the zeep
transports) only drive them; no I/O happens here.

::

    flow = ClientFlow(session, clock=time.time, on_event=print)
    gen = flow.call(op, {"a": 2, "b": 3})
    out = next(gen)                      # Outgoing: an RST/SCT, a Renew, or the call itself
    while True:
        try:
            out = gen.send(post(out))   # the reply bytes; or gen.throw(exc) on a network error
        except StopIteration as done:
            value = done.value
            break

Every flow follows the same rules:

* **open** issues the SCT when none is held (or, in cookie mode, when 60 % of the cookie's
  life has passed), over as many legs as the bootstrap negotiates, and renews at the key's
  renewal time;
* **call** opens, sends the operation, and after a ``RenewNeeded`` fault renews once and
  retries (when the binding can renew);
* **close** sends the Cancel unless the policy says MustNotSendCancel; a failed Cancel is
  logged and the session is closed locally all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Generator
from typing import TypeVar

from wssc.contract.model import OperationSpec
from wssc.errors import RenewNeeded, WsscError
from wssc.session.client import ClientSession, Outgoing

log = logging.getLogger("wssc.client")

#: Called with (event, detail) for "negotiate" (each further leg of a negotiating bootstrap),
#: "issue", "reissue", "call", "renew", "renew-needed", "cancel", "close".
EventHook = Callable[[str, str], None]

T = TypeVar("T")
#: A flow step: yields the request to send, receives the reply's bytes, returns ``T``.
Flow = Generator[Outgoing, bytes, T]


class ClientFlow:
    def __init__(
        self,
        session: ClientSession,
        *,
        clock: Callable[[], float],
        on_event: EventHook | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.on_event = on_event

    def _event(self, name: str, detail: str) -> None:
        # A call's arguments and result are application data (they may be secrets): the log
        # gets the operation's name only; the on_event hook (wssc call -v) gets the detail.
        logged = detail.split("(", 1)[0].split(" ->", 1)[0] if name == "call" else detail
        log.info("%s: %s", name, logged)
        if self.on_event:
            self.on_event(name, detail)

    def open(self) -> Flow[None]:
        """Issue (or re-issue) the SCT when due, else renew when due."""
        s = self.session
        if not s.scs.establish_security_context:
            if s.negotiation_due(self.clock()):  # a negotiated token protects the messages
                out: Outgoing | None = s.negotiation_request(self.clock())
                while out is not None:
                    self._event("negotiate", f"leg -> {out.action}")
                    out = s.negotiation_step((yield out), out, self.clock())
            return
        now = self.clock()
        if s.issue_due(now):
            reissue = s.is_open
            out = s.issue_request(now)
            step = s.issue_step((yield out), out, now)
            while isinstance(step, Outgoing):  # a negotiating bootstrap's next leg, or its RST/SCT
                self._event("negotiate", f"leg -> {step.action}")
                out = step
                step = s.issue_step((yield out), out, self.clock())
            sct = step
            self._event(
                "reissue" if reissue else "issue", f"SCT {sct.identifier}{' (cookie)' if sct.cookie else ''}"
            )
        elif s.renew_due(now):
            yield from self.renew()

    def renew(self) -> Flow[None]:
        now = self.clock()
        out = self.session.renew_request(now)
        try:
            reply = yield out
        except BaseException as exc:  # the network failed, or the driver gave up: the
            # Renew is over and the current key stays
            self.session.renew_failed(exc)
            raise
        sct = self.session.renew_response(reply, out, now)
        self._event("renew", f"SCT {sct.identifier} instance {sct.instance}")

    def call(self, op: OperationSpec, bound: dict[str, object]) -> Flow[object]:
        """Open when due, call, and after RenewNeeded renew once and call again."""
        for attempt in (1, 2):
            yield from self.open()
            now = self.clock()
            out = self.session.app_request(op, bound, now)
            try:
                value = self.session.app_response((yield out), out, now)
            except RenewNeeded:
                if attempt == 2 or not self.session.scs.can_renew_session:
                    raise
                self._event("renew-needed", "the service asked for a new key")
                continue
            args = ", ".join(f"{k}={v!r}" for k, v in bound.items())
            self._event("call", f"{op.name}({args}) -> {value!r}")
            return value
        raise AssertionError("unreachable")

    def close(self) -> Flow[None]:
        """Cancel unless MustNotSendCancel; never raises for a failed Cancel."""
        s = self.session
        try:
            out = s.cancel_request(self.clock())
            if out is not None:
                s.cancel_response((yield out), out, self.clock())
                self._event("cancel", "session cancelled")
            elif s.is_open:
                self._event("close", "no Cancel sent (MustNotSendCancel: cookie mode)")
                s.closed_without_cancel()
        except WsscError as exc:
            log.warning("cancel failed: %s", exc.describe())
            s.closed_without_cancel()


def run_flow(flow: Flow[T], send: Callable[[Outgoing], bytes]) -> T:
    """Drive a flow synchronously. An error from ``send`` is thrown into the flow."""
    try:
        out = next(flow)
        while True:
            try:
                reply = send(out)
            except WsscError as exc:
                out = flow.throw(exc)
            else:
                out = flow.send(reply)
    except StopIteration as done:
        result: T = done.value
        return result


async def arun_flow(flow: Flow[T], send: Callable[[Outgoing], Awaitable[bytes]]) -> T:
    """Drive a flow on an event loop. An error from ``send`` is thrown into the flow."""
    try:
        out = next(flow)
        while True:
            try:
                reply = await send(out)
            except WsscError as exc:
                out = flow.throw(exc)
            else:
                out = flow.send(reply)
    except StopIteration as done:
        result: T = done.value
        return result


__all__ = ["ClientFlow", "EventHook", "Flow", "arun_flow", "run_flow"]
