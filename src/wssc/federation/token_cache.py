"""A bounded cache of validated assertions, so that a resent one costs no RSA operation.

Validating an issued assertion costs one RSA public-key operation (the issuer's signature)
and one RSA private-key operation (unwrapping the proof key). WCF's clients send the same
assertion with every message when ``EstablishSecurityContext`` is off, so a relying party
keeps what a successful validation found, keyed by the SHA-256 of the assertion's exact
serialization (with its in-scope namespace declarations): any change to it, one byte,
misses. An entry holds the assertion's fields (not its document) and the unwrapped proof
key, until the assertion's ``NotOnOrAfter`` plus the skew; at most ``max_entries`` entries,
the least recently used evicted first. Only successes are cached: a refused assertion costs
its checks every time it comes. The checks that depend on the moment (lifetime, replay) run
on every use; the proof of possession is the message layer's, on every message.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from wssc.federation.saml2 import SamlAssertion

#: The default of ``LocalServiceSecuritySettings.max_cached_issued_tokens``.
DEFAULT_MAX_CACHED_ISSUED_TOKENS = 1000


@dataclass(frozen=True, slots=True, eq=False)
class CachedAssertion:
    """What a validation found: the assertion's fields (its elements dropped, so that the
    cache holds no message's document), the proof key, and when the entry ends."""

    assertion: SamlAssertion
    proof_key: bytes | None
    proof_key_sha1: str | None
    until: float


class ValidatedAssertions:
    """An LRU of `CachedAssertion` by digest, thread-safe, at most ``max_entries``
    (0 turns the cache off)."""

    __slots__ = ("_entries", "_lock", "max_entries")

    def __init__(self, max_entries: int = DEFAULT_MAX_CACHED_ISSUED_TOKENS) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, CachedAssertion] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes, now: float) -> CachedAssertion | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if now >= entry.until:
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return entry

    def put(self, digest: bytes, entry: CachedAssertion) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[digest] = entry
            self._entries.move_to_end(digest)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


__all__ = ["DEFAULT_MAX_CACHED_ISSUED_TOKENS", "CachedAssertion", "ValidatedAssertions"]
