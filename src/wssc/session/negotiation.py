"""The service's negotiation states: what a multi-leg bootstrap (SPNEGO, TLSNEGO) keeps
between its legs, by the negotiation's ``Context``, in this process.

WCF's rules (``NegotiationTokenAuthenticatorStateCache``), kept here:

* at most ``max_stateful_negotiations`` (128) states; a new negotiation past it is refused with
  ``ServerTooBusy`` once the expired ones are purged (WCF's QuotaExceeded fault);
* a state lives until ``negotiation_timeout`` (1 minute) after the negotiation's *first* leg;
  later legs do not extend it, so an abandoned negotiation frees its slot on its own;
* a first leg whose Context is in use, and a later leg whose Context is unknown (or expired),
  are refused (``InvalidRequest``); any failure of a leg drops the state.

Beyond WCF, one peer address may hold at most ``max_pending_sessions_per_peer`` states (16 by
default), as for pending sessions, so that one source cannot take every slot; a Context is at
most 256 characters. Memory is bounded by the count: each state is whatever the bootstrap keeps
(a few hundred bytes for SSPI/TLS contexts' handles).

A finished negotiation leaves this cache: the token it issued waits for its RST/SCT (or, without
a session, serves each message) in the negotiated-token cache (`wssc.session.negotiated`).

The states live in memory, as WCF's do: a farm needs the legs of one negotiation to reach one
process (sticky sessions), as it does with WCF.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from wssc.errors import InvalidRequest, ServerTooBusy

#: Longest Context accepted (WCF writes ``uuid-<guid>-<n>``: about 50 characters).
MAX_CONTEXT_LENGTH = 256


@dataclass(slots=True)
class _Entry:
    state: object = field(repr=False)
    peer: str
    expires: float


class NegotiationStates:
    """The live negotiations of one endpoint. Thread-safe; sans-IO (``now`` is passed in)."""

    def __init__(self, capacity: int, timeout: float, per_peer: int = 0) -> None:
        self.capacity = capacity
        self.timeout = timeout
        self.per_peer = per_peer
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _check_context(context: str) -> None:
        if not context or len(context) > MAX_CONTEXT_LENGTH:
            raise InvalidRequest("the negotiation's Context is missing or too long")

    def _purge(self, now: float) -> None:
        for context in [c for c, e in self._entries.items() if e.expires <= now]:
            del self._entries[context]

    def begin(self, context: str, peer: str, now: float) -> None:
        """Reserve ``context`` for a new negotiation from ``peer`` (its first leg), expiring
        ``timeout`` from now. ``InvalidRequest`` when the Context is in use; ``ServerTooBusy``
        past the capacity or the peer's share of it."""
        self._check_context(context)
        with self._lock:
            live = self._entries.get(context)
            if live is not None and live.expires > now:
                raise InvalidRequest("a negotiation with this Context is already in progress")
            if len(self._entries) >= self.capacity:
                self._purge(now)
            if len(self._entries) >= self.capacity:
                raise ServerTooBusy(
                    f"max_stateful_negotiations ({self.capacity}) negotiations are in progress"
                )
            if self.per_peer and peer:
                held = sum(1 for e in self._entries.values() if e.peer == peer and e.expires > now)
                if held >= self.per_peer:
                    raise ServerTooBusy(
                        f"the peer holds {held} negotiations in progress (max_pending_sessions_per_peer)"
                    )
            self._entries[context] = _Entry(None, peer, now + self.timeout)

    def get(self, context: str, now: float) -> object:
        """The state of a negotiation in progress (a later leg). ``InvalidRequest`` when
        none is live under ``context``."""
        self._check_context(context)
        with self._lock:
            e = self._entries.get(context)
            if e is None or e.expires <= now or e.state is None:
                self._entries.pop(context, None)
                raise InvalidRequest("no negotiation is in progress under this Context")
            return e.state

    def keep(
        self,
        context: str,
        state: object,
        now: float,
        keep_for: float | None = None,
        keep_as: str | None = None,
    ) -> None:
        """Keep ``state`` for the next leg (or the RST/SCT). The deadline stays the one the
        first leg set, unless ``keep_for`` sets another (from now). ``keep_as`` moves the
        state to another key (refused when that key is in use)."""
        if keep_as is not None:
            self._check_context(keep_as)
        with self._lock:
            e = self._entries.get(context)
            if e is None:  # dropped meanwhile (expired, or a failed leg)
                raise InvalidRequest("no negotiation is in progress under this Context")
            e.state = state
            if keep_for is not None:
                e.expires = now + keep_for
            if keep_as is not None and keep_as != context:
                if keep_as in self._entries:
                    del self._entries[context]
                    raise InvalidRequest("a negotiation's state is already kept under this key")
                self._entries[keep_as] = self._entries.pop(context)

    def drop(self, context: str) -> None:
        with self._lock:
            self._entries.pop(context, None)

    def take(self, context: str, now: float) -> object | None:
        """Remove and return a live state (the RST/SCT that ends a negotiation); None when
        there is none."""
        if not context or len(context) > MAX_CONTEXT_LENGTH:
            return None
        with self._lock:
            e = self._entries.pop(context, None)
        if e is None or e.expires <= now or e.state is None:
            return None
        return e.state


__all__ = ["MAX_CONTEXT_LENGTH", "NegotiationStates"]
