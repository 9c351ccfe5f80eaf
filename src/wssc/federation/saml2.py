"""The SAML 2.0 assertion of an IssuedToken: its model, how an STS writes one, how it is read.

A holder-of-key assertion as WCF's ``Saml2SecurityTokenHandler`` and ADFS write it::

    <saml:Assertion ID="_…" IssueInstant="…" Version="2.0">
      <saml:Issuer>https://sts.example/</saml:Issuer>
      <ds:Signature>(RSA-SHA256, exc-c14n, one Reference: #ID, enveloped)</ds:Signature>
      <saml:Subject>
        <saml:NameID>alice</saml:NameID>
        <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:holder-of-key">
          <saml:SubjectConfirmationData xsi:type="saml:KeyInfoConfirmationDataType">
            <ds:KeyInfo><xenc:EncryptedKey>(the proof key, to the relying party)</…></ds:KeyInfo>
          </saml:SubjectConfirmationData>
        </saml:SubjectConfirmation>
      </saml:Subject>
      <saml:Conditions NotBefore="…" NotOnOrAfter="…">
        <saml:AudienceRestriction><saml:Audience>https://rp.example/</…></…>
      </saml:Conditions>
      <saml:AttributeStatement><saml:Attribute Name="…"><saml:AttributeValue>…</…></…></…>
    </saml:Assertion>

`read_saml2` reads the structure only, within `AssertionLimits`; trust comes from
`wssc.federation.saml_checks`, which reads the element the signature covered.
"""

from __future__ import annotations

import base64
import datetime
import uuid
from dataclasses import dataclass, field

from lxml import etree

from wssc.certs import Certificate
from wssc.crypto.primitives import rsa_key_wrap
from wssc.errors import ConfigurationError, SamlAssertionRejected
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns

_S = f"{{{ns.SAML2}}}"
_TAG = f"{_S}Assertion"
_TAG11 = f"{{{ns.SAML11}}}Assertion"
#: The assertions an IssuedToken may be: SAML 2.0 and SAML 1.1.
ASSERTION_TAGS = frozenset({_TAG, _TAG11})


@dataclass(frozen=True, slots=True)
class AssertionLimits:
    """Caps on one assertion, checked before any cryptography. ADFS's tokens are 2-8 KiB."""

    max_bytes: int = 32 * 1024
    max_depth: int = 12
    max_elements: int = 512
    max_attributes: int = 64
    max_values_per_attribute: int = 32
    max_audiences: int = 16


DEFAULT_ASSERTION_LIMITS = AssertionLimits()


@dataclass(frozen=True, slots=True)
class SamlAttribute:
    """One claim: a name and its values, as ``saml:Attribute`` carries them. SAML 1.1 splits
    the name into ``AttributeNamespace`` and ``AttributeName`` (``namespace`` and ``name``)."""

    name: str
    values: tuple[str, ...]
    namespace: str = ""

    @property
    def claim_type(self) -> str:
        """The claim type, as WCF/WIF spell it: a SAML 2.0 ``Name`` as it is; a SAML 1.1
        attribute's ``AttributeNamespace/AttributeName``."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True, eq=False)
class SamlAssertion:
    """What an assertion says. ``proof_key`` is the holder-of-key ``xenc:EncryptedKey``
    (None for a bearer assertion); ``element`` the assertion itself, to be forwarded."""

    assertion_id: str
    issuer: str
    issue_instant: float
    not_before: float
    not_on_or_after: float
    audiences: tuple[str, ...]
    subject: str | None
    confirmation_method: str
    attributes: tuple[SamlAttribute, ...]
    proof_key: etree._Element | None = field(repr=False)
    element: etree._Element = field(repr=False)
    #: The WSS token type: ``…#SAMLV2.0`` or ``…#SAMLV1.1``.
    token_type: str = ns.WSS_SAML2_TOKEN_TYPE


def format_instant(t: float) -> str:
    """xs:dateTime in UTC with milliseconds, as WCF writes SAML times."""
    d = datetime.datetime.fromtimestamp(t, datetime.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def parse_instant(text: str | None, what: str) -> float:
    if not text or len(text) > 40 or not text.endswith("Z"):
        raise SamlAssertionRejected(f"the assertion's {what} is not a UTC xs:dateTime")
    try:
        d = datetime.datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError:
        raise SamlAssertionRejected(f"the assertion's {what} is not a UTC xs:dateTime") from None
    return d.timestamp()


def build_saml2(
    *,
    issuer: str,
    audience: str,
    relying_party: Certificate | None,
    proof_key: bytes | None,
    subject: str | None,
    attributes: tuple[SamlAttribute, ...] = (),
    now: float,
    lifetime: float = 3600.0,
    key_wrap: str = ns.RSA_OAEP_MGF1P,
    assertion_id: str | None = None,
) -> etree._Element:
    """An unsigned holder-of-key assertion (sign it with `saml_signature.sign_assertion`),
    the proof key wrapped to ``relying_party``; without ``proof_key``, a bearer assertion.
    Times are ``now`` to ``now + lifetime``."""
    a = etree.Element(_TAG, nsmap={"saml": ns.SAML2})
    a.set("ID", assertion_id or f"_{uuid.uuid4()}")
    a.set("IssueInstant", format_instant(now))
    a.set("Version", "2.0")
    etree.SubElement(a, f"{_S}Issuer").text = issuer
    # signxml puts the enveloped signature where this placeholder stands (after the Issuer,
    # as the SAML 2.0 schema wants it).
    etree.SubElement(a, f"{{{ns.DS}}}Signature", nsmap={"ds": ns.DS}).set("Id", "placeholder")
    subj = etree.SubElement(a, f"{_S}Subject")
    if subject is not None:
        etree.SubElement(subj, f"{_S}NameID").text = subject
    sc = etree.SubElement(subj, f"{_S}SubjectConfirmation")
    if proof_key is None:  # a bearer assertion: no proof key
        sc.set("Method", ns.SAML2_BEARER)
    else:
        if relying_party is None:
            raise ConfigurationError("a holder-of-key assertion needs the relying party's certificate")
        sc.set("Method", ns.SAML2_HOLDER_OF_KEY)
        scd = etree.SubElement(sc, f"{_S}SubjectConfirmationData", nsmap={"xsi": ns.XSI})
        scd.set(f"{{{ns.XSI}}}type", "saml:KeyInfoConfirmationDataType")
        ki = etree.SubElement(scd, f"{{{ns.DS}}}KeyInfo", nsmap={"ds": ns.DS})
        ki.append(encrypted_proof_key(relying_party, proof_key, key_wrap))
    cond = etree.SubElement(a, f"{_S}Conditions")
    cond.set("NotBefore", format_instant(now))
    cond.set("NotOnOrAfter", format_instant(now + lifetime))
    etree.SubElement(etree.SubElement(cond, f"{_S}AudienceRestriction"), f"{_S}Audience").text = audience
    if attributes:
        st = etree.SubElement(a, f"{_S}AttributeStatement")
        for attr in attributes:
            el = etree.SubElement(st, f"{_S}Attribute")
            el.set("Name", attr.name)
            for v in attr.values:
                etree.SubElement(el, f"{_S}AttributeValue").text = v
    return a


def encrypted_proof_key(cert: Certificate, key: bytes, algorithm: str) -> etree._Element:
    """``key`` wrapped to ``cert``, named by its SHA-1 thumbprint (as ADFS names it)."""
    ek = etree.Element(f"{{{ns.XENC}}}EncryptedKey", nsmap={"e": ns.XENC})
    m = etree.SubElement(ek, f"{{{ns.XENC}}}EncryptionMethod")
    m.set("Algorithm", algorithm)
    if algorithm == ns.RSA_OAEP_MGF1P:
        etree.SubElement(m, f"{{{ns.DS}}}DigestMethod", nsmap={"ds": ns.DS}).set("Algorithm", ns.SHA1)
    ref = SecurityTokenReference(
        key_identifier=cert.thumbprint_b64, value_type=ns.WSS_THUMBPRINT, encoding_type=ns.WSS_BASE64
    )
    etree.SubElement(ek, f"{{{ns.DS}}}KeyInfo", nsmap={"ds": ns.DS}).append(ref.to_xml())
    cd = etree.SubElement(ek, f"{{{ns.XENC}}}CipherData")
    wrapped = rsa_key_wrap(algorithm, cert.public_key, key)
    etree.SubElement(cd, f"{{{ns.XENC}}}CipherValue").text = base64.b64encode(wrapped).decode("ascii")
    return ek


def check_shape(el: etree._Element, limits: AssertionLimits = DEFAULT_ASSERTION_LIMITS) -> bytes:
    """The caps, before any cryptography: size, depth and element count (one linear walk).
    Returns the assertion serialized (what the size was measured on)."""
    if el.tag not in ASSERTION_TAGS:
        raise SamlAssertionRejected("not a SAML 1.1 or 2.0 assertion")
    count = 0
    for _child in el.iter():
        count += 1
        if count > limits.max_elements:
            raise SamlAssertionRejected("the assertion has too many elements")
    raw = etree.tostring(el)
    if len(raw) > limits.max_bytes:
        raise SamlAssertionRejected("the assertion is too large")
    depth, stack = 0, [(el, 1)]
    while stack:
        node, d = stack.pop()
        depth = max(depth, d)
        if depth > limits.max_depth:
            raise SamlAssertionRejected("the assertion is nested too deeply")
        stack.extend((c, d + 1) for c in node)
    return raw


def one_child(parent: etree._Element, tag: str, what: str) -> etree._Element:
    found = parent.findall(tag)
    if len(found) != 1:
        raise SamlAssertionRejected(f"the assertion has {len(found)} {what}, not one")
    return found[0]


def read_saml2(el: etree._Element, limits: AssertionLimits = DEFAULT_ASSERTION_LIMITS) -> SamlAssertion:
    """The fields of ``el`` (within ``limits``). Reads; trusts nothing."""
    check_shape(el, limits)
    if el.tag != _TAG:
        raise SamlAssertionRejected("not a SAML 2.0 assertion")
    if el.get("Version") != "2.0":
        raise SamlAssertionRejected("the assertion's Version is not 2.0")
    ident = el.get("ID")
    if not ident:
        raise SamlAssertionRejected("the assertion has no ID")
    issuer = (one_child(el, f"{_S}Issuer", "Issuer").text or "").strip()
    cond = one_child(el, f"{_S}Conditions", "Conditions")
    audiences = tuple((a.text or "").strip() for a in cond.iterfind(f"{_S}AudienceRestriction/{_S}Audience"))
    if len(audiences) > limits.max_audiences:
        raise SamlAssertionRejected("the assertion names too many audiences")
    subj = one_child(el, f"{_S}Subject", "Subject")
    name = subj.find(f"{_S}NameID")
    confs = subj.findall(f"{_S}SubjectConfirmation")
    if len(confs) != 1:
        raise SamlAssertionRejected(f"the assertion has {len(confs)} SubjectConfirmation, not one")
    method = confs[0].get("Method") or ""
    eks = confs[0].findall(f"{_S}SubjectConfirmationData/{{{ns.DS}}}KeyInfo/{{{ns.XENC}}}EncryptedKey")
    if len(eks) > 1:
        raise SamlAssertionRejected("the assertion has more than one proof key")
    attributes: list[SamlAttribute] = []
    for a in el.iterfind(f"{_S}AttributeStatement/{_S}Attribute"):
        values = tuple((v.text or "") for v in a.iterfind(f"{_S}AttributeValue"))
        if len(attributes) >= limits.max_attributes or len(values) > limits.max_values_per_attribute:
            raise SamlAssertionRejected("the assertion has too many attributes")
        attributes.append(SamlAttribute(a.get("Name") or "", values))
    return SamlAssertion(
        assertion_id=ident,
        issuer=issuer,
        issue_instant=parse_instant(el.get("IssueInstant"), "IssueInstant"),
        not_before=parse_instant(cond.get("NotBefore"), "NotBefore"),
        not_on_or_after=parse_instant(cond.get("NotOnOrAfter"), "NotOnOrAfter"),
        audiences=audiences,
        subject=(name.text or "").strip() if name is not None else None,
        confirmation_method=method,
        attributes=tuple(attributes),
        proof_key=eks[0] if eks else None,
        element=el,
    )


__all__ = [
    "ASSERTION_TAGS",
    "DEFAULT_ASSERTION_LIMITS",
    "AssertionLimits",
    "SamlAssertion",
    "SamlAttribute",
    "build_saml2",
    "check_shape",
    "encrypted_proof_key",
    "format_instant",
    "one_child",
    "parse_instant",
    "read_saml2",
]
