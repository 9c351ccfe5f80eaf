"""WCF's standard policy assertions beside WS-SecurityPolicy, and what each means for wssc.

A WCF ``?wsdl`` attaches to a binding the assertions of every binding element, not only the
security one. Each is either accepted (it changes nothing for a wssc client or service) or
refused by name, saying which protocol it needs and what to change on the WCF side:

=====================================  ========  ==================================================
assertion                              verdict   why
=====================================  ========  ==================================================
``wsaw:UsingAddressing``               accepted  WS-Addressing 1.0, what wssc writes
``wsam:Addressing``                    accepted  likewise (WS-Addressing Metadata)
``wsap:UsingAddressing``               accepted  WS-Addressing August 2004 announced; noted, as
                                                 wssc's client writes WS-Addressing 1.0 headers
``wspe:Utf816FFFECharacterEncoding``   accepted  the text encoder also reads UTF-16; wssc sends
                                                 UTF-8, which it reads too
``wsoma:OptimizedMimeSerialization``   refused   MTOM (XOP/MIME packaging)
``msb:BinaryEncoding``                 refused   .NET Binary XML (``application/soap+msbin1``)
``wsrm:RMAssertion`` (both versions)   refused   WS-ReliableMessaging sequences
``http:*Authentication``               refused   HTTP-level (Basic, Digest, NTLM, Negotiate)
                                                 authentication of the transport
``msf:*`` (framing)                    refused   net.tcp / named-pipe stream security
``cdp:CompositeDuplex``, ``ow:OneWay``  refused   duplex and one-way channel shapes
``msmq:*``                             refused   the MSMQ transport
=====================================  ========  ==================================================

Anything else stays for the WS-SecurityPolicy importer, which refuses what it does not know.
"""

from __future__ import annotations

from typing import Final

from lxml import etree

from wssc.errors import ConfigurationError
from wssc.xml import ns

from .normalize import Alternative

#: (namespace, local name) → a note for ``wssc inspect`` (None: nothing worth saying).
ACCEPTED: Final[dict[tuple[str, str], str | None]] = {
    (ns.WSAW, "UsingAddressing"): None,
    (ns.WSAM, "Addressing"): None,
    (ns.WSAP, "UsingAddressing"): (
        "wsap:UsingAddressing: the service announces WS-Addressing August 2004; wssc's "
        "client writes WS-Addressing 1.0 headers, wssc's service reads both"
    ),
    (ns.WSPE, "Utf816FFFECharacterEncoding"): (
        "wspe:Utf816FFFECharacterEncoding: the service also reads UTF-16; wssc sends UTF-8"
    ),
}

#: Refused for every assertion of the namespace: (prefix, what it needs, what to change).
_REFUSED_NAMESPACES: Final[dict[str, tuple[str, str]]] = {
    ns.WSOMA: (
        "wsoma",
        "MTOM (XOP/MIME-packaged messages), which wssc does not speak; set the WCF "
        'binding\'s messageEncoding="Text"',
    ),
    ns.MSB: (
        "msb",
        "WCF's binary message encoding (.NET Binary XML, application/soap+msbin1), which "
        "wssc does not speak; use a textMessageEncoding binding element",
    ),
    ns.WSRM_POLICY: (
        "wsrm",
        "WS-ReliableMessaging (reliableSession enabled), which wssc does not implement; turn "
        "the binding's reliableSession off",
    ),
    ns.WSRMP_11: (
        "wsrmp",
        "WS-ReliableMessaging 1.1 (reliableSession enabled), which wssc does not implement; "
        "turn the binding's reliableSession off",
    ),
    ns.MS_HTTP_POLICY: (
        "http",
        "HTTP-level authentication of the transport (Basic, Digest, NTLM or Negotiate), which "
        "wssc's client does not perform; use message credentials (Message or "
        "TransportWithMessageCredential security)",
    ),
    ns.MSF: (
        "msf",
        "net.tcp / named-pipe stream security; wssc speaks SOAP over HTTP(S) only",
    ),
    ns.CDP: ("cdp", "a composite duplex channel (callbacks, wsDualHttpBinding), which wssc lacks"),
    ns.MS_ONEWAY: ("ow", "WCF's one-way binding element, which wssc lacks"),
    ns.MSMQ_POLICY: ("msmq", "the MSMQ transport; wssc speaks SOAP over HTTP(S) only"),
}


def refusal(el: etree._Element) -> str | None:
    """Why ``el`` is refused, naming it; None when it is not one of WCF's refused assertions."""
    q = etree.QName(el)
    found = _REFUSED_NAMESPACES.get(q.namespace or "")
    if found is None:
        return None
    prefix, why = found
    return f"{prefix}:{q.localname} needs {why}"


def screen(alt: Alternative) -> tuple[Alternative, tuple[str, ...]]:
    """``alt`` without the assertions that change nothing for wssc, and notes on them.
    Raises `ConfigurationError` naming the first assertion that needs a protocol wssc lacks."""
    kept: Alternative = []
    notes: list[str] = []
    for el in alt:
        why = refusal(el)
        if why is not None:
            raise ConfigurationError(f"unsupported assertion in the endpoint policy: {why}")
        q = etree.QName(el)
        key = (q.namespace or "", q.localname)
        if key in ACCEPTED:
            note = ACCEPTED[key]
            if note is not None and note not in notes:
                notes.append(note)
            if key[0] == ns.WSAW or key[0] == ns.WSAM:
                kept.append(el)  # the endpoint reader takes these itself
            continue
        kept.append(el)
    return kept, tuple(notes)


__all__ = ["ACCEPTED", "refusal", "screen"]
