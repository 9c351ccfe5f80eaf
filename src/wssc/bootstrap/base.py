"""The bootstrap seam: how an RST (or, without secure conversation, every message) is
secured before an SCT exists.

A bootstrap has a client half and a service half. New bootstraps (MutualCertificate,
UserNameForCertificate, SPNEGO…) implement these two protocols and register in
`wssc.bootstrap.registry.BOOTSTRAPS` (its module docstring walks through it).

A bootstrap that first *negotiates* (SPNEGO, TLSNEGO: WS-Trust legs before the RST/SCT) also
implements `NegotiatingClient` and `NegotiatingService`. Its legs travel as WCF sends them,
with no ``wsse:Security`` header, under the trust version's ``RST/Issue`` and ``RSTR/Issue``
actions, all of one negotiation under one ``Context``::

    C→S  RST/Issue   <wst:RequestSecurityToken Context="uuid-1">…<wst:BinaryExchange/>…
    S→C  RSTR/Issue  <wst:RequestSecurityTokenResponse Context="uuid-1">…
    C→S  RSTR/Issue  <wst:RequestSecurityTokenResponse Context="uuid-1">…     (any number)
    S→C  RSTR/Issue  …                                                       (the last leg)
    C→S  RST/SCT     secured by what the negotiation established (`NegotiatingClient.negotiate`
                     returns the client half that secures it); the service half's `verify` finds
                     the negotiation's state with ``negotiated`` (`NegotiatedState`)

The client flow (`wssc.session.flow.ClientFlow.open`) and the service engine carry the legs;
the engine keeps each negotiation's state (`wssc.session.negotiation.NegotiationStates`) under
``max_stateful_negotiations`` and ``negotiation_timeout``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from lxml import etree

from wssc.claims import Claim
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
    #: The caller's claims, when the bootstrap knows more than its name (an issued token);
    #: () means the identity's name claim only (`wssc.claims.identity_claims`).
    claims: tuple[Claim, ...] = ()


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

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str | None:
        """Who sends this (SCT-signed) Renew, as `verify` named the issuing party; the
        service refuses a Renew from another identity (WCF's ``IsSameIdentity``). None: this
        bootstrap renews under the session's key alone, whose possession is the proof (the
        session keeps the identity it was issued to)."""
        ...


@dataclass(frozen=True, slots=True)
class NegotiationLeg:
    """One leg a negotiating client sends: the Body payload (a ``wst:RequestSecurityToken``
    first, ``wst:RequestSecurityTokenResponse`` after) under ``action`` (the trust version's
    ``RST/Issue``, then ``RSTR/Issue``). The client session wraps it in an envelope with the
    addressing headers and no ``wsse:Security`` header."""

    action: str
    payload: etree._Element


#: A client's negotiation, sans-IO: yields each `NegotiationLeg`, is sent the Body payload of
#: each reply (a reply that answers the leg: its RelatesTo is checked, and a fault raised as its
#: typed error, before), and returns the client half that secures the RST/SCT and the Renews.
ClientNegotiation = Generator[NegotiationLeg, etree._Element, BootstrapClient]


@runtime_checkable
class NegotiatingClient(BootstrapClient, Protocol):
    def negotiate(self, policy: MessagePolicy, now: float) -> ClientNegotiation:
        """A new negotiation (each issue runs one; an abandoned one is dropped)."""
        ...


#: Looks up (and takes) the state a negotiation left under its Context for the RST/SCT that
#: follows it: None when there is none (unknown, expired or taken already).
NegotiatedState = Callable[[str], object | None]


@dataclass(frozen=True, slots=True)
class NegotiationStep:
    """A service's answer to one leg: the reply's Body payload under ``action``, and the state
    to keep under the negotiation's Context for its next leg or its RST/SCT (None: forget it).
    ``keep_for``: how long, in seconds, from now; None: until ``negotiation_timeout`` after
    the negotiation's first leg (WCF's rule). ``keep_as``: the negotiation is finished and
    ``state`` is the token it issued; the engine moves it to the negotiated-token cache
    (`wssc.session.negotiated`) under that key (the identifier of the SCT it issued, which the
    RST/SCT, or without a session each message, names) for ``keep_for`` seconds, and frees the
    negotiation's slot."""

    action: str
    payload: etree._Element
    state: object | None
    keep_for: float | None = None
    keep_as: str | None = None


@runtime_checkable
class NegotiatingService(BootstrapService, Protocol):
    def negotiate(
        self,
        request: etree._Element,
        state: object | None,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
    ) -> NegotiationStep:
        """Answer one leg: ``request`` is the leg's Body payload; ``state`` what the previous
        leg of this negotiation kept (None for a first leg: a ``wst:RequestSecurityToken``).
        Raise a `WsscError` to end the negotiation (its state is dropped)."""
        ...

    def verify_negotiated(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        negotiated: NegotiatedState,
        replay_cache: ReplayCache | None = None,
    ) -> ServiceResult:
        """`BootstrapService.verify` for the RST/SCT that ends a negotiation: it finds what
        the negotiation established with ``negotiated`` (by the Context it names, or the key
        its last step kept it under: `NegotiationStep.keep_as`)."""
        ...
