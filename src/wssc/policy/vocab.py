"""The WS-SecurityPolicy vocabulary of one version, and small helpers shared by export and import.

WCF writes one of two SP namespaces per endpoint, chosen by the ``MessageSecurityVersion``:

========================  ==============================  =====================================
..                        WS-SecurityPolicy 1.1           WS-SecurityPolicy 1.2
========================  ==============================  =====================================
namespace                 ``…/ws/2005/07/securitypolicy``  ``…/ws-sx/ws-securitypolicy/200702``
binding                   WSHttpBinding                   WS2007HttpBinding
Trust assertion           ``sp:Trust10``                  ``sp:Trust13``
MustNotSendCancel         ``mssp:MustNotSendCancel``      ``sp:MustNotSendCancel``
MustNotSendAmend          (none)                          ``sp:MustNotSendAmend``
MustNotSendRenew          (none)                          ``sp:MustNotSendRenew``
UsernameToken over HTTPS  ``sp:SignedSupportingTokens``   ``sp:SignedEncryptedSupportingTokens``
========================  ==============================  =====================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from lxml import etree

from wssc.errors import ConfigurationError
from wssc.settings import WS2007, WS2007_WSS10, WSHTTP, WSHTTP_WSS10, MessageSecurityVersion
from wssc.xml import ns

#: Both WS-Policy namespaces are read; WS-Policy 1.5 is written by default.
WSP_NAMESPACES: Final = (ns.WSP15, ns.WSP12)


@dataclass(frozen=True, slots=True)
class SpDialect:
    """The URIs and assertion names of one WS-SecurityPolicy version."""

    ns: str

    @property
    def is_sp12(self) -> bool:
        return self.ns == ns.SP12

    @property
    def always_to_recipient(self) -> str:
        """``sp:IncludeToken`` value for a token sent in every request."""
        return self.ns + "/IncludeToken/AlwaysToRecipient"

    @property
    def once(self) -> str:
        """``sp:IncludeToken`` value for a token sent in the first request only (Kerberos)."""
        return self.ns + "/IncludeToken/Once"

    @property
    def never(self) -> str:
        """``sp:IncludeToken`` value for a token never sent (the service's certificate)."""
        return self.ns + "/IncludeToken/Never"

    @property
    def trust_name(self) -> str:
        return "Trust13" if self.is_sp12 else "Trust10"

    @property
    def cancel_ns(self) -> str:
        """Where WCF writes MustNotSendCancel: ``mssp`` under SP 1.1, ``sp`` under SP 1.2."""
        return ns.SP12 if self.is_sp12 else ns.MSSP

    @property
    def username_supporting(self) -> str:
        """The supporting-token assertion WCF uses for UserNameOverTransport's UsernameToken."""
        return "SignedEncryptedSupportingTokens" if self.is_sp12 else "SignedSupportingTokens"

    @property
    def message_security_version(self) -> MessageSecurityVersion:
        return WS2007 if self.is_sp12 else WSHTTP

    @property
    def wss10_version(self) -> MessageSecurityVersion:
        """The family under WS-Security 1.0 (``sp:Wss10``, WCF's ``WSSecurity10…``)."""
        return WS2007_WSS10 if self.is_sp12 else WSHTTP_WSS10


SP11_DIALECT: Final = SpDialect(ns.SP11)
SP12_DIALECT: Final = SpDialect(ns.SP12)


def dialect_for(version: MessageSecurityVersion) -> SpDialect:
    if version.sp_ns == ns.SP12:
        return SP12_DIALECT
    if version.sp_ns == ns.SP11:
        return SP11_DIALECT
    raise ConfigurationError(f"unknown WS-SecurityPolicy namespace {version.sp_ns!r}")


_PREFIXES: Final = {
    ns.SP11: "sp",
    ns.SP12: "sp",
    ns.MSSP: "mssp",
    ns.WSP12: "wsp",
    ns.WSP15: "wsp",
    ns.WSAW: "wsaw",
    ns.WSAM: "wsam",
    ns.WSAP: "wsap",
    ns.WSPE: "wspe",
    ns.WSOMA: "wsoma",
    ns.MSB: "msb",
    ns.WSRM_POLICY: "wsrm",
    ns.WSRMP_11: "wsrmp",
    ns.MS_HTTP_POLICY: "http",
    ns.MSF: "msf",
    ns.CDP: "cdp",
    ns.MS_ONEWAY: "ow",
    ns.MSMQ_POLICY: "msmq",
}


def pretty(el: etree._Element) -> str:
    """``sp:SymmetricBinding`` for known namespaces, Clark notation otherwise (for messages)."""
    q = etree.QName(el)
    prefix = _PREFIXES.get(q.namespace or "")
    return f"{prefix}:{q.localname}" if prefix else q.text


def is_true(value: str | None) -> bool:
    """``xs:boolean`` truth."""
    return (value or "").strip() in ("true", "1")
