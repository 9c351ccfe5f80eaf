"""The building blocks of exported policies: `PolicyWriter` (``sp:``/``wsp:`` elements of one
dialect) and the assertions that several bootstrap shapes share (security bindings,
``sp:Wss11``, ``sp:Trust10``/``sp:Trust13``).

It sits below both `wssc.policy.shapes` (the bootstrap seam, whose ``assertions`` take a
writer) and `wssc.policy.export` (which assembles the endpoint policy), so neither imports the
other's users.
"""

from __future__ import annotations

from lxml import etree

from wssc.crypto.suites import get_suite
from wssc.errors import ConfigurationError, UnsupportedAlgorithm
from wssc.settings import KeyEntropyMode, SecureConversationSettings
from wssc.xml import ns

from .vocab import SpDialect

_Child = etree._Element | None


class PolicyWriter:
    """Builds ``sp:``/``wsp:`` elements of one dialect."""

    def __init__(self, dialect: SpDialect, wsp_ns: str) -> None:
        self.d = dialect
        self.wsp_ns = wsp_ns

    def el(self, namespace: str, local: str, *children: _Child, **attrs: str) -> etree._Element:
        e = etree.Element(ns.qn(namespace, local))
        for k, v in attrs.items():
            e.set(k, v)
        for c in children:
            if c is not None:
                e.append(c)
        return e

    def sp(self, local: str, *children: _Child, **attrs: str) -> etree._Element:
        return self.el(self.d.ns, local, *children, **attrs)

    def policy(self, *children: _Child) -> etree._Element:
        return self.el(self.wsp_ns, "Policy", *children)

    def wrapped(self, local: str, *children: _Child) -> etree._Element:
        """``<sp:{local}><wsp:Policy>children</wsp:Policy></sp:{local}>``."""
        return self.sp(local, self.policy(*children))

    def token(self, local: str, include: str, *children: _Child) -> etree._Element:
        t = self.sp(local, self.policy(*children))
        t.set(ns.qn(self.d.ns, "IncludeToken"), include)
        return t

    def flag(self, local: str, on: bool) -> _Child:
        return self.sp(local) if on else None


def _suite_name(settings: SecureConversationSettings) -> str:
    try:
        return get_suite(settings.algorithm_suite).sp_name
    except UnsupportedAlgorithm as exc:
        raise ConfigurationError(str(exc.detail)) from None


def _binding_common(w: PolicyWriter, settings: SecureConversationSettings) -> list[_Child]:
    return [
        w.wrapped("AlgorithmSuite", w.sp(_suite_name(settings))),
        w.wrapped("Layout", w.sp("Strict")),
        w.sp("IncludeTimestamp"),
    ]


def symmetric_binding(
    w: PolicyWriter, settings: SecureConversationSettings, token: etree._Element
) -> etree._Element:
    return w.wrapped(
        "SymmetricBinding",
        w.wrapped("ProtectionToken", token),
        *_binding_common(w, settings),
        w.flag("EncryptSignature", settings.encrypt_signature),
        w.sp("OnlySignEntireHeadersAndBody"),
    )


def asymmetric_binding(
    w: PolicyWriter,
    settings: SecureConversationSettings,
    initiator: etree._Element,
    recipient: etree._Element,
) -> etree._Element:
    return w.wrapped(
        "AsymmetricBinding",
        w.wrapped("InitiatorToken", initiator),
        w.wrapped("RecipientToken", recipient),
        *_binding_common(w, settings),
        w.flag("EncryptSignature", settings.encrypt_signature),
        w.sp("OnlySignEntireHeadersAndBody"),
    )


def transport_binding(w: PolicyWriter, settings: SecureConversationSettings) -> etree._Element:
    if w.d.is_sp12:
        https = w.sp("HttpsToken", w.policy())
    else:
        https = w.sp("HttpsToken", RequireClientCertificate="false")
    return w.wrapped("TransportBinding", w.wrapped("TransportToken", https), *_binding_common(w, settings))


def wss11(w: PolicyWriter, *names: str) -> etree._Element:
    return w.wrapped("Wss11", *(w.sp(n) for n in names))


def wss(w: PolicyWriter, settings: SecureConversationSettings, *names: str) -> etree._Element:
    """``sp:Wss11`` (with ``names``), or a bare ``sp:Wss10`` under a WS-Security 1.0 message
    security version: WCF's ``CreateWsspWssAssertion`` decides by the version alone, for
    every security binding (transport ones too)."""
    if settings.message_security_version.wss11:
        return wss11(w, *names)
    return w.wrapped("Wss10")


def trust_assertion(w: PolicyWriter, mode: KeyEntropyMode) -> etree._Element:
    client = mode in (KeyEntropyMode.CLIENT, KeyEntropyMode.COMBINED)
    server = mode in (KeyEntropyMode.SERVER, KeyEntropyMode.COMBINED)
    return w.wrapped(
        w.d.trust_name,
        w.sp("MustSupportIssuedTokens"),
        w.flag("RequireClientEntropy", client),
        w.flag("RequireServerEntropy", server),
    )


__all__ = [
    "PolicyWriter",
    "asymmetric_binding",
    "symmetric_binding",
    "transport_binding",
    "trust_assertion",
    "wss",
    "wss11",
]
