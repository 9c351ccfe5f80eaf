"""The bootstrap seam: how an RST (or, without secure conversation, every message) is
secured before an SCT exists.

A bootstrap has a client half and a service half. New bootstraps (MutualCertificate,
UserNameForCertificate, SPNEGO…) implement these two protocols and register in
:data:`wssc.bootstrap.registry.BOOTSTRAPS` (its module docstring walks through it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from lxml import etree

from wssc.security.inbound import VerifiedMessage
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache

#: (username, password) -> accepted? A service's check of UsernameTokens.
UsernameValidator = Callable[[str, str], bool]


@dataclass(frozen=True, slots=True)
class TransportInfo:
    """What the HTTP driver knows about the connection."""

    secure: bool = False  # TLS
    peer: str = ""


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
        self, data: bytes | etree._Element, ctx: ClientContext, policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage: ...

    def renew_supporting_tokens(self) -> list[etree._Element]:
        """Bootstrap credentials a Renew carries beside the SCT: WCF (and Metro) send the Renew
        over the bootstrap channel with the SCT endorsing it."""
        ...


class BootstrapService(Protocol):
    def verify(
        self, data: bytes | etree._Element, transport: TransportInfo, policy: MessagePolicy,
        now: float, replay_cache: ReplayCache | None = None,
    ) -> ServiceResult: ...

    def secure_reply(
        self, envelope: etree._Element, result: ServiceResult, policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element: ...

    def renew_identity(
        self, message: VerifiedMessage, transport: TransportInfo, now: float
    ) -> str:
        """Who sends this (SCT-signed) Renew, as :meth:`verify` named the issuing party; the
        service refuses a Renew from another identity (WCF's ``IsSameIdentity``)."""
        ...
