"""The seam between the policy layer and the bootstraps above it.

Each bootstrap module (``wssc.bootstrap.*``) describes its own WS-SecurityPolicy shape: the
assertions of its bootstrap binding (export) and how it recognises them (import), with the
words ``wssc inspect`` uses for it. The policy layer never names a bootstrap: its callers (the
registry, `wssc.bootstrap.registry`) hand it the shapes to use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from lxml import etree

from wssc.settings import Bootstrap, KeyEntropyMode, SecureConversationSettings

from .writer import PolicyWriter

#: How a bootstrap's messages are protected: WS-Security ("message") or TLS ("transport"). Each
#: bootstrap's is the registry's ``BootstrapKind.security_mode``; the policy layer is handed it.
SecurityMode = Literal["message", "transport"]


def derived_keys_in_effect(settings: SecureConversationSettings, mode: SecurityMode) -> bool:
    """Over transport the SCT signs directly: WCF forces derived keys off."""
    return settings.require_derived_keys and mode == "message"


@dataclass(slots=True)
class BindingFacts:
    """One security binding assertion with its sibling assertions."""

    transport: bool
    suite: str
    encrypt_signature: bool = False
    protection_token: etree._Element | None = None
    endorsing_sct: etree._Element | None = None
    #: An ``sp:X509Token`` endorsing supporting token (the client's certificate).
    endorsing_x509: etree._Element | None = None
    username: bool = False
    signature_confirmation: bool = False
    entropy: KeyEntropyMode | None = None
    #: ``sp:Wss10`` instead of ``sp:Wss11`` (WS-Security 1.0).
    wss10: bool = False
    #: An ``sp:AsymmetricBinding`` (no protection token): its ``sp:InitiatorToken`` and
    #: ``sp:RecipientToken`` (each read by the importer: X.509, their IncludeToken, no
    #: derived keys).
    initiator_token: etree._Element | None = None
    recipient_token: etree._Element | None = None

    @property
    def asymmetric(self) -> bool:
        return self.recipient_token is not None

    @property
    def sct(self) -> etree._Element | None:
        token = self.protection_token
        if token is not None and etree.QName(token).localname == "SecureConversationToken":
            return token
        return self.endorsing_sct


class ShapeReader(Protocol):
    """What a shape may ask of the importer (`wssc.policy.policy_import.PolicyReader`) while it
    recognises its binding."""

    @property
    def sp(self) -> str:
        """The WS-SecurityPolicy namespace of the alternative being read."""
        ...

    def x509_protection(self, token: etree._Element) -> bool:
        """Read an ``sp:X509Token`` protection token; returns its RequireDerivedKeys."""
        ...


class BootstrapShape(Protocol):
    @property
    def key(self) -> Bootstrap:
        """The settings value this shape stands for."""
        ...

    @property
    def description(self) -> str:
        """Plain words for ``wssc inspect``."""
        ...

    @property
    def needs_service_certificate(self) -> bool:
        """Does the client need the service's X.509 certificate?"""
        ...

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        """The bootstrap binding's assertions (security binding, Wss11, Trust…)."""
        ...

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        """None when ``binding`` is not this bootstrap; else the RequireDerivedKeys of its
        protection token (False when it has none)."""
        ...


__all__ = ["BindingFacts", "BootstrapShape", "SecurityMode", "ShapeReader", "derived_keys_in_effect"]
