"""The seam between the policy layer and the bootstraps above it.

Each bootstrap module (``wssc.bootstrap.*``) describes its own WS-SecurityPolicy shape: the
assertions of its bootstrap binding (export) and how it recognises them (import), with the
words ``wssc inspect`` uses for it. The policy layer never names a bootstrap: its callers (the
registry, `wssc.bootstrap.registry`) hand it the shapes to use.
"""

from __future__ import annotations

from collections.abc import Callable
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
    #: An ``sp:IssuedToken`` endorsing supporting token (federation over transport or over
    #: the service's certificate: WCF's IssuedTokenOverTransport, IssuedTokenForCertificate).
    endorsing_issued: etree._Element | None = None
    #: An ``sp:IssuedToken`` signed supporting token over transport: a bearer token (WCF's
    #: IssuedTokenOverTransport with ``IssuedKeyType.BearerKey``).
    signed_issued: etree._Element | None = None
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
    def issued_token(self) -> etree._Element | None:
        """The ``sp:IssuedToken`` of the binding: its protection token, or an endorsing or
        signed supporting one."""
        token = self.protection_token
        if token is not None and etree.QName(token).localname == "IssuedToken":
            return token
        return self.endorsing_issued if self.endorsing_issued is not None else self.signed_issued

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


#: How a shape reads its protection token's nested policy, once the binding matched: its
#: RequireDerivedKeys, or None when the token is not this shape's.
TokenReader = Callable[[ShapeReader, etree._Element], bool | None]

#: A qualified assertion name in a table; the namespace ``SP`` stands for the WS-SecurityPolicy
#: namespace of the alternative being read.
SP = ""
Name = tuple[str, str]


def names(namespaces: tuple[str, ...], *local: str) -> frozenset[Name]:
    """Each of ``local`` in each of ``namespaces`` (`SP` for the alternative's)."""
    return frozenset((n, a) for n in namespaces for a in local)


def x509_token(reader: ShapeReader, token: etree._Element) -> bool | None:
    """An ``sp:X509Token`` protection token, read by the importer (IncludeToken Never, its
    reference and token-type assertions)."""
    return reader.x509_protection(token)


def derived_anywhere(reader: ShapeReader, token: etree._Element) -> bool | None:
    """Any nested policy (the importer checks nothing more): ``sp:RequireDerivedKeys``
    anywhere in the token."""
    return any(True for _ in token.iter(f"{{{reader.sp}}}RequireDerivedKeys"))


@dataclass(frozen=True, slots=True)
class Assertions:
    """A token whose nested policy holds only ``allowed`` assertions (an unknown one: not
    WCF's shape), each of ``required`` at least once, each of ``unique`` at most once."""

    allowed: frozenset[Name]
    required: frozenset[Name] = frozenset()
    unique: frozenset[Name] = frozenset()

    def __call__(self, reader: ShapeReader, token: etree._Element) -> bool | None:
        found: list[Name] = []
        for policy in (c for c in token if isinstance(c.tag, str)):
            for a in policy.iter():
                if a is policy or not isinstance(a.tag, str):
                    continue
                q = etree.QName(a)
                name = (SP if q.namespace == reader.sp else q.namespace or "", q.localname)
                if name not in self.allowed:
                    return None
                found.append(name)
        if not self.required <= set(found) or any(found.count(n) > 1 for n in self.unique):
            return None
        return any(local == "RequireDerivedKeys" for _, local in found)


@dataclass(frozen=True, slots=True)
class BindingShape:
    """One row of a bootstrap's shape table: the binding facts it has (``endorsing_x509``
    None: either), and its protection token (``token``: the local name, in ``token_ns``,
    `SP` for the alternative's; None: no protection token is read, as over transport or in an
    ``sp:AsymmetricBinding``) with the reader of its nested policy."""

    token: str | None = None
    read: TokenReader = x509_token
    token_ns: str = SP
    transport: bool = False
    asymmetric: bool = False
    username: bool = False
    endorsing_x509: bool | None = False
    #: An endorsing ``sp:IssuedToken`` (an issued token that endorses, not protects).
    endorsing_issued: bool = False

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        """`BootstrapShape.recognize` for this row."""
        if (binding.transport, binding.asymmetric, binding.username) != (
            self.transport,
            self.asymmetric,
            self.username,
        ):
            return None
        if self.endorsing_x509 is not None and (binding.endorsing_x509 is not None) != self.endorsing_x509:
            return None
        if (binding.endorsing_issued is not None) != self.endorsing_issued:
            return None
        if self.token is None:
            return False
        token = binding.protection_token
        if token is None:
            return None
        q = etree.QName(token)
        if q.localname != self.token or q.namespace != (self.token_ns or reader.sp):
            return None
        return self.read(reader, token)


def recognize(table: tuple[BindingShape, ...], reader: ShapeReader, binding: BindingFacts) -> bool | None:
    """The first row of ``table`` that recognises ``binding``: its RequireDerivedKeys; None
    when none does."""
    for row in table:
        derived = row.recognize(reader, binding)
        if derived is not None:
            return derived
    return None


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


__all__ = [
    "SP",
    "Assertions",
    "BindingFacts",
    "BindingShape",
    "BootstrapShape",
    "SecurityMode",
    "ShapeReader",
    "TokenReader",
    "derived_anywhere",
    "derived_keys_in_effect",
    "names",
    "recognize",
    "x509_token",
]
