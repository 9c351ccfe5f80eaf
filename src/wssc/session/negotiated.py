"""The service's negotiated-token cache: the SCTs a finished negotiation (SPNEGO, TLSNEGO)
issued, with their keys and the authenticated identity, apart from the negotiations in
progress (`wssc.session.negotiation`).

WCF keeps them so too: a negotiation's state lives in ``NegotiationTokenAuthenticatorStateCache``
(``max_stateful_negotiations``, ``negotiation_timeout``) until its last leg; the token it issues
goes to the authenticator's issued-token cache, bounded by ``MaxCachedCookies`` (1000), and lives
its Lifetime (15 minutes, the transition token's). So a finished negotiation frees its
negotiation slot at once, and 128 clients between their last leg and their RST/SCT do not
block every new negotiation for a quarter of an hour.

What reads an entry:

* with a secure session, the RST/SCT that follows the negotiation *takes* it (one use);
* without one (``establish_security_context=False``), every application message signed by the
  negotiated SCT *looks it up*; it lives until its Lifetime ends.

Rules: at most ``capacity`` live tokens (expired ones are purged first); past it a new one is
refused with ``ServerTooBusy`` (WCF's quota fault), as is a peer address past its share
(``per_peer``; 0: none). A key is at most 256 characters. Memory is bounded by the count (an
entry is an SCT identifier, a key of 16-32 bytes and a principal name). In memory, as WCF's:
a farm needs sticky sessions for the negotiated token too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from wssc.errors import ServerTooBusy

#: Longest key accepted (an SCT identifier: ``urn:uuid:…``, 45 characters).
MAX_KEY_LENGTH = 256


@dataclass(slots=True)
class _Token:
    state: object = field(repr=False)
    peer: str
    expires: float


class NegotiatedTokens:
    """The tokens finished negotiations issued. Thread-safe; sans-IO (``now`` is passed in)."""

    def __init__(self, capacity: int, per_peer: int = 0) -> None:
        self.capacity = capacity
        self.per_peer = per_peer
        self._tokens: dict[str, _Token] = {}
        self._per_peer: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tokens)

    def _remove(self, key: str) -> _Token | None:
        t = self._tokens.pop(key, None)
        if t is not None and t.peer:
            left = self._per_peer.get(t.peer, 0) - 1
            if left > 0:
                self._per_peer[t.peer] = left
            else:
                self._per_peer.pop(t.peer, None)
        return t

    def _purge(self, now: float) -> None:
        for key in [k for k, t in self._tokens.items() if t.expires <= now]:
            self._remove(key)

    def add(self, key: str, state: object, peer: str, expires: float, now: float) -> None:
        """Cache the token a negotiation from ``peer`` issued under ``key`` (its SCT's
        identifier) until ``expires``. ``ServerTooBusy`` past the capacity or the peer's
        share; ``ValueError`` for a key in use (identifiers are fresh UUIDs)."""
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ValueError("a negotiated token's key is missing or too long")
        with self._lock:
            if key in self._tokens:
                raise ValueError("a negotiated token is already cached under this key")
            if len(self._tokens) >= self.capacity or (
                self.per_peer and peer and self._per_peer.get(peer, 0) >= self.per_peer
            ):
                self._purge(now)
            if len(self._tokens) >= self.capacity:
                raise ServerTooBusy(f"max_cached_cookies ({self.capacity}) negotiated tokens are cached")
            held = self._per_peer.get(peer, 0) if peer else 0
            if self.per_peer and peer and held >= self.per_peer:
                raise ServerTooBusy(f"the peer holds {held} negotiated tokens (max_cached_cookies_per_peer)")
            self._tokens[key] = _Token(state, peer, expires)
            if peer:
                self._per_peer[peer] = held + 1

    def get(self, key: str, now: float) -> object | None:
        """A live token's state (it stays cached); None when none is live under ``key``."""
        if not key or len(key) > MAX_KEY_LENGTH:
            return None
        with self._lock:
            t = self._tokens.get(key)
            if t is None:
                return None
            if t.expires <= now:
                self._remove(key)
                return None
            return t.state

    def take(self, key: str, now: float) -> object | None:
        """Remove and return a live token's state (the RST/SCT of a secure session); None
        when none is live under ``key``."""
        if not key or len(key) > MAX_KEY_LENGTH:
            return None
        with self._lock:
            t = self._remove(key)
        if t is None or t.expires <= now:
            return None
        return t.state


__all__ = ["MAX_KEY_LENGTH", "NegotiatedTokens"]
