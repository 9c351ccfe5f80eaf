"""Message security: outbound `protect`, inbound `verify`."""

from wssc.security.inbound import KeyResolver, VerifiedMessage, verify
from wssc.security.outbound import protect, protect_wire
from wssc.security.policy import MessagePolicy
from wssc.security.replay import MemoryReplayCache, ReplayCache
from wssc.security.tokens import (
    EncryptedKeyProtection,
    EncryptedKeySha1Protection,
    ProtectionToken,
    SctProtection,
    encrypted_key_sha1,
)

__all__ = [
    "EncryptedKeyProtection",
    "EncryptedKeySha1Protection",
    "KeyResolver",
    "MemoryReplayCache",
    "MessagePolicy",
    "ProtectionToken",
    "ReplayCache",
    "SctProtection",
    "VerifiedMessage",
    "encrypted_key_sha1",
    "protect",
    "protect_wire",
    "verify",
]
