"""The bootstrap seam: how an RST (or, without secure conversation, every message) is
secured before an SCT exists.

A bootstrap has a client half and a service half. New bootstraps (MutualCertificate,
UserNameForCertificate, SPNEGO…) implement these two protocols and register in
`wssc.bootstrap.registry.BOOTSTRAPS` (its module docstring walks through it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from lxml import etree

from wssc.security.inbound import KeyResolver, VerifiedMessage
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import SctProtection
from wssc.xml.soap import Envelope

#: (username, password) -> accepted? A service's check of UsernameTokens.
UsernameValidator = Callable[[str, str], bool]


@dataclass(frozen=True, slots=True)
class TransportInfo:
    """What the HTTP driver knows about the connection."""

    secure: bool = False  # TLS
    peer: str = ""
    #: ``scheme://host[:port]`` the client used, as a declared reverse proxy reported it
    #: (None without one); the address filter accepts a ``wsa:To`` at that origin too.
    origin: str | None = None


@dataclass(slots=True)
class ClientContext:
    """State a client keeps between securing a request and verifying its reply."""

    reply_keys: dict[str, bytes] = field(default_factory=dict, repr=False)
    #: the raw SignatureValue of each signature in the request (for SignatureConfirmation)
    request_signatures: list[bytes] = field(default_factory=list, repr=False)


@dataclass(slots=True)
class ServiceResult:
    """What the service learned from a bootstrap-secured request."""

    message: VerifiedMessage
    identity: str  # '' for anonymous
    reply_keys: dict[str, bytes] = field(default_factory=dict, repr=False)
    reply_sha1: str | None = None


class BootstrapClient(Protocol):
    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]: ...

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage: ...

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        """Secure a Renew as WCF (and Metro) send it: over the bootstrap, with the session's
        SCT endorsing it. Returns the context to verify a bootstrap-secured reply with, or
        None when the reply comes under the session's key (over TLS)."""
        ...


class BootstrapService(Protocol):
    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: KeyResolver | None = None,
    ) -> ServiceResult:
        """Verify a bootstrap-secured request. With ``endorsing`` (the session's keys) the
        request is a Renew under message security: it must also carry one endorsing
        signature by the session's SCT over the primary signature, and the result names that
        SCT (``message.endorsing_sct``)."""
        ...

    def secure_reply(
        self,
        envelope: etree._Element,
        result: ServiceResult,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element: ...

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        """Does this (not yet verified) message carry this bootstrap's own protection rather
        than the session's? The engine asks it of every SCT-secured request: only a Renew may
        (`verify` with ``endorsing`` then checks it); a Cancel or application message that does
        is refused. A bootstrap whose Renew comes under the session's key returns False. A
        cheap look at the header only: `verify` decides."""
        ...

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str:
        """Who sends this (SCT-signed) Renew, as `verify` named the issuing party; the
        service refuses a Renew from another identity (WCF's ``IsSameIdentity``)."""
        ...
