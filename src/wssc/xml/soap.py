"""SOAP 1.1 / 1.2 envelope access, building and faults.

::

    <s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">
      <s:Header>
        <a:Action s:mustUnderstand="1">…</a:Action>
        <wsse:Security s:mustUnderstand="1">…</wsse:Security>
      </s:Header>
      <s:Body>…</s:Body>
    </s:Envelope>
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from lxml import etree

from wssc.errors import FaultCode, MalformedXml, MustUnderstand, WsscError
from wssc.xml import ns


@dataclass(frozen=True, slots=True)
class SoapVersion:
    ns: str
    name: str
    content_type: str


SOAP_11 = SoapVersion(ns.SOAP11, "1.1", "text/xml")
SOAP_12 = SoapVersion(ns.SOAP12, "1.2", "application/soap+xml")
SOAP_VERSIONS = {ns.SOAP11: SOAP_11, ns.SOAP12: SOAP_12}
#: The attribute that targets a header block, and the values that mean this node (the
#: ultimate receiver: a service is never an intermediary). SOAP 1.2's ``role/none`` and any
#: other URI are for someone else.
_TARGET = {ns.SOAP11: "actor", ns.SOAP12: "role"}
_THIS_NODE = {
    ns.SOAP11: frozenset({"", ns.SOAP11_ACTOR_NEXT}),
    ns.SOAP12: frozenset({"", ns.SOAP12_ROLE_NEXT, ns.SOAP12_ROLE_ULTIMATE_RECEIVER}),
}


_SECURITY = f"{{{ns.WSSE}}}Security"
_HEADER = {v: f"{{{v}}}Header" for v in SOAP_VERSIONS}
_BODY = {v: f"{{{v}}}Body" for v in SOAP_VERSIONS}
_ENVELOPE = {f"{{{v.ns}}}Envelope": v for v in SOAP_VERSIONS.values()}


def soap_version(name: str) -> SoapVersion:
    for v in (SOAP_11, SOAP_12):
        if name in (v.name, v.ns):
            return v
    raise ValueError(f"unknown SOAP version {name!r} (use 1.1 or 1.2)")


class Envelope:
    """A view over a parsed ``s:Envelope`` element."""

    __slots__ = ("_body", "root", "version")

    def __init__(self, root: etree._Element) -> None:
        version = _ENVELOPE.get(root.tag)  # (a str compare: etree.QName cost 5x more)
        if version is None:
            raise MalformedXml("the document is not a SOAP 1.1 or 1.2 Envelope")
        self.root = root
        self.version = version
        self._body: etree._Element | None = None

    @property
    def header(self) -> etree._Element | None:
        """The first Header child (as ``find`` gives it), read by walking the children: the
        Header is first, and a walk costs less than lxml's path lookup."""
        tag = _HEADER[self.version.ns]
        for child in self.root:
            if child.tag == tag:
                return child
        return None

    def ensure_header(self) -> etree._Element:
        h = self.header
        if h is None:
            h = etree.Element(f"{{{self.version.ns}}}Header")
            self.root.insert(0, h)
        return h

    @property
    def body(self) -> etree._Element:
        """The one Body. Cached: callers never replace the Body element itself (decryption
        and encryption change its content only)."""
        b = self._body
        if b is not None and b.getparent() is self.root:
            return b
        tag = _BODY[self.version.ns]
        bodies = [c for c in self.root if c.tag == tag]
        if len(bodies) != 1:
            raise MalformedXml("a SOAP Envelope must have exactly one Body")
        self._body = bodies[0]
        return bodies[0]

    def security_headers(self) -> list[etree._Element]:
        h = self.header
        return [] if h is None else [c for c in h if c.tag == _SECURITY]

    def header_text(self, namespace: str, local: str) -> str | None:
        h = self.header
        if h is None:
            return None
        el = h.find(f"{{{namespace}}}{local}")
        return None if el is None or el.text is None else el.text.strip()

    def not_understood(self, understood: frozenset[str]) -> list[tuple[str, str]]:
        """The header blocks this node must understand but does not: marked
        ``mustUnderstand`` (``1``/``true``; a value that is neither true nor false counts as
        true), targeted at this node (no ``actor``/``role``, the ultimate receiver, or
        ``next``), and whose Clark name is not in ``understood``."""
        h = self.header
        if h is None:
            return []
        s = self.version.ns
        mu, target = f"{{{s}}}mustUnderstand", f"{{{s}}}{_TARGET[s]}"
        out: list[tuple[str, str]] = []
        for el in h:
            if not isinstance(el.tag, str) or el.tag in understood:
                continue
            value = el.get(mu)
            if value is None or value.strip() in ("0", "false"):
                continue
            if (el.get(target) or "").strip() not in _THIS_NODE[s]:
                continue
            q = etree.QName(el)
            out.append((q.namespace or "", q.localname))
        return out

    def check_must_understand(self, understood: frozenset[str]) -> None:
        """Raise `MustUnderstand` for the headers `not_understood` finds."""
        missing = self.not_understood(understood)
        if missing:
            raise MustUnderstand(missing, soap_ns=self.version.ns)

    @property
    def action(self) -> str | None:
        return self.header_text(ns.WSA10, "Action") or self.header_text(ns.WSA2004, "Action")

    @property
    def message_id(self) -> str | None:
        return self.header_text(ns.WSA10, "MessageID") or self.header_text(ns.WSA2004, "MessageID")

    @property
    def payload(self) -> etree._Element | None:
        """The first element child of the Body (the operation element)."""
        for child in self.body:
            if isinstance(child.tag, str):
                return child
        return None


def new_envelope(
    version: SoapVersion,
    action: str | None = None,
    to: str | None = None,
    payload: etree._Element | None = None,
    relates_to: str | None = None,
    message_id: bool = True,
    reply_to_anonymous: bool = True,
) -> etree._Element:
    """Build an envelope with WS-Addressing 1.0 headers the way WCF writes them."""
    s = version.ns
    # ``u`` is declared up front so that wsu:Id attributes added when securing need no
    # declarations of their own.
    env = etree.Element(f"{{{s}}}Envelope", nsmap={"s": s, "a": ns.WSA10, "u": ns.WSU})
    header = etree.SubElement(env, f"{{{s}}}Header")
    mu = f"{{{s}}}mustUnderstand"
    if action is not None:
        a = etree.SubElement(header, f"{{{ns.WSA10}}}Action")
        a.set(mu, "1")
        a.text = action
    if relates_to is not None:
        etree.SubElement(header, f"{{{ns.WSA10}}}RelatesTo").text = relates_to
    elif message_id:
        etree.SubElement(header, f"{{{ns.WSA10}}}MessageID").text = f"urn:uuid:{uuid.uuid4()}"
        if reply_to_anonymous:
            rt = etree.SubElement(header, f"{{{ns.WSA10}}}ReplyTo")
            etree.SubElement(rt, f"{{{ns.WSA10}}}Address").text = ns.WSA10_ANONYMOUS
    if to is not None:
        t = etree.SubElement(header, f"{{{ns.WSA10}}}To")
        t.set(mu, "1")
        t.text = to
    body = etree.SubElement(env, f"{{{s}}}Body")
    if payload is not None:
        body.append(payload)
    return env


def build_fault(
    version: SoapVersion,
    code: FaultCode,
    reason: str,
    relates_to: str | None = None,
    action: str | None = None,
    not_understood: list[tuple[str, str]] | tuple[()] = (),
) -> etree._Element:
    """Build a SOAP fault the way WCF does (``not_understood``: (namespace, name) of headers
    named in SOAP 1.2 ``env:NotUnderstood`` header blocks).

    SOAP 1.2::

        <s:Fault><s:Code><s:Value>s:Sender</s:Value>
          <s:Subcode><s:Value xmlns:x="…">x:BadContextToken</s:Value></s:Subcode></s:Code>
          <s:Reason><s:Text xml:lang="en-US">…</s:Text></s:Reason></s:Fault>

    SOAP 1.1: the subcode QName becomes ``faultcode`` (WCF's ``WriteTo11``).
    """
    s = version.ns
    env = new_envelope(
        version,
        action=action or ns.WCF_DEFAULT_FAULT_ACTION,
        relates_to=relates_to,
        message_id=relates_to is None,
        reply_to_anonymous=False,
    )
    if version is SOAP_12:
        header = env[0]
        for namespace, local in not_understood:
            nu = etree.SubElement(
                header, f"{{{s}}}NotUnderstood", nsmap={"h": namespace} if namespace else None
            )
            nu.set("qname", f"h:{local}" if namespace else local)
    body = env.find(f"{{{s}}}Body")
    assert body is not None
    fault = etree.SubElement(body, f"{{{s}}}Fault")
    is_soap_code = code.namespace in (ns.SOAP11, ns.SOAP12)
    if version is SOAP_12:
        c = etree.SubElement(fault, f"{{{s}}}Code")
        v = etree.SubElement(c, f"{{{s}}}Value")
        v.text = f"s:{code.local if is_soap_code else code.side}"
        if not is_soap_code:
            sub = etree.SubElement(c, f"{{{s}}}Subcode")
            sv = etree.SubElement(sub, f"{{{s}}}Value", nsmap={"x": code.namespace})
            sv.text = f"x:{code.local}"
        r = etree.SubElement(fault, f"{{{s}}}Reason")
        t = etree.SubElement(r, f"{{{s}}}Text")
        t.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
        t.text = reason
    else:
        fc = etree.SubElement(fault, "faultcode", nsmap={"x": code.namespace})
        if is_soap_code:
            fc.text = "s:" + _SOAP11_CODES.get(code.local, code.local)
        else:
            fc.text = f"x:{code.local}"
        fs = etree.SubElement(fault, "faultstring")
        fs.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
        fs.text = reason
    return env


#: SOAP 1.2 fault codes in SOAP 1.1 (MustUnderstand, VersionMismatch: the same name).
_SOAP11_CODES = {"Sender": "Client", "Receiver": "Server"}


def fault_from_error(version: SoapVersion, error: WsscError, relates_to: str | None = None) -> etree._Element:
    if isinstance(error, MustUnderstand) and error.code.namespace != version.ns:
        error = MustUnderstand(error.headers, soap_ns=version.ns)
    return build_fault(
        version,
        error.code,
        error.reason,
        relates_to,
        error.action,
        error.headers if isinstance(error, MustUnderstand) else (),
    )


@dataclass(frozen=True, slots=True)
class ParsedFault:
    code: FaultCode
    reason: str


def read_fault(env: Envelope) -> ParsedFault | None:
    """Read a SOAP fault from a (decrypted) envelope, or None if the Body is not a fault."""
    body = env.body
    s = env.version.ns
    fault = body.find(f"{{{s}}}Fault")
    if fault is None:
        return None

    def resolve(el: etree._Element | None) -> tuple[str, str]:
        if el is None or not el.text:
            return ("", "")
        text = el.text.strip()
        prefix, _, local = text.rpartition(":")
        uri = el.nsmap.get(prefix or None, "") if prefix or None in el.nsmap else ""
        return (uri or "", local)

    if env.version is SOAP_12:
        value = fault.find(f"{{{s}}}Code/{{{s}}}Value")
        side_ns, side = resolve(value)
        sub = fault.find(f"{{{s}}}Code/{{{s}}}Subcode/{{{s}}}Value")
        code_ns, local = resolve(sub) if sub is not None else (side_ns, side)
        reason_el = fault.find(f"{{{s}}}Reason/{{{s}}}Text")
    else:
        code_ns, local = resolve(fault.find("faultcode"))
        side = "Receiver" if local in ("Server", "Receiver") else "Sender"
        reason_el = fault.find("faultstring")
    reason = (reason_el.text or "").strip() if reason_el is not None else ""
    return ParsedFault(
        FaultCode(code_ns, local, "Receiver" if side in ("Receiver", "Server") else "Sender"),
        reason,
    )
