"""Step 3 of inbound processing: charge an authenticated SignatureValue to the replay cache.

It runs right after the signature value verifies and before anything else is decrypted: a
captured signature opens the message's EncryptedData at most once, so altered ciphertext
replayed under it can never be decrypted (no padding oracle through a valid signature).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wssc.security.header_state import Token
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.timestamp import Timestamp


@dataclass(slots=True)
class ReplayCharge:
    """Charges an authenticated SignatureValue to the replay cache."""

    cache: ReplayCache
    policy: MessagePolicy
    now: float
    partition: str
    #: when the session of a signing SCT was issued (None: the message is not dated)
    issued_at: Callable[[SecurityContextToken], float | None] | None = None

    def record(self, value: bytes, ts: Timestamp | None, tok: Token) -> None:
        created = ts.created if ts is not None else self.now
        # An entry lives only as long as the message could pass the timestamp check again:
        # Created + replay window + skew. The sender's Expires cannot stretch it.
        expires = min(created, self.now) + self.policy.replay_window + self.policy.max_clock_skew
        sct = tok.base.sct
        partition = "sct:" + sct.identifier if sct is not None else self.partition
        # A message under a session is dated against the cache's start (its epoch).
        stamp: float | None = None
        issued: float | None = None
        if sct is not None and self.issued_at is not None:
            stamp, issued = created, self.issued_at(sct)
        self.cache.check_and_add(
            value,
            max(expires, self.now + 1),
            self.now,
            partition=partition,
            created=stamp,
            issued=issued,
            skew=self.policy.max_clock_skew,
        )
