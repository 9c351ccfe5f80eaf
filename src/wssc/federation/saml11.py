"""The SAML 1.1 assertion of an IssuedToken: how an STS writes one, how it is read.

A holder-of-key assertion as WCF's ``SamlSecurityToken`` and ADFS write it (SAML 1.1 lives in
SAML 1.0's namespace)::

    <saml:Assertion MajorVersion="1" MinorVersion="1" AssertionID="_…" Issuer="https://sts/"
        IssueInstant="…">
      <saml:Conditions NotBefore="…" NotOnOrAfter="…">
        <saml:AudienceRestrictionCondition><saml:Audience>https://rp/</…></…>
      </saml:Conditions>
      <saml:AttributeStatement>
        <saml:Subject>
          <saml:NameIdentifier>alice</saml:NameIdentifier>
          <saml:SubjectConfirmation>
            <saml:ConfirmationMethod>urn:oasis:names:tc:SAML:1.0:cm:holder-of-key</…>
            <ds:KeyInfo><xenc:EncryptedKey>(the proof key, to the relying party)</…></ds:KeyInfo>
          </saml:SubjectConfirmation>
        </saml:Subject>
        <saml:Attribute AttributeName="role" AttributeNamespace="http://…">
          <saml:AttributeValue>…</…></…>
      </saml:AttributeStatement>
      <saml:AuthenticationStatement AuthenticationMethod="…" AuthenticationInstant="…">
        <saml:Subject>(the same subject)</saml:Subject>
      </saml:AuthenticationStatement>
      <ds:Signature>(RSA-SHA256, exc-c14n, one Reference: #AssertionID, enveloped)</…>
    </saml:Assertion>

Each statement carries its own ``Subject``; a relying party requires them to agree (the same
name, confirmation method and proof key), as WCF's ``SamlSecurityTokenAuthenticator`` takes one
subject key for the token. `read_saml11` gives the same `SamlAssertion` model as SAML 2.0, so
one checker (`wssc.federation.saml_checks`) serves both.
"""

from __future__ import annotations

import copy
import uuid

from lxml import etree

from wssc.certs import Certificate
from wssc.errors import ConfigurationError, SamlAssertionRejected
from wssc.federation.saml2 import (
    DEFAULT_ASSERTION_LIMITS,
    AssertionLimits,
    SamlAssertion,
    SamlAttribute,
    check_shape,
    encrypted_proof_key,
    format_instant,
    one_child,
    parse_instant,
)
from wssc.xml import ns

_S = f"{{{ns.SAML11}}}"
_TAG = f"{_S}Assertion"
_STATEMENTS = (f"{_S}AttributeStatement", f"{_S}AuthenticationStatement")
#: A statement beyond these (or more of them) is refused: WCF's STS writes two.
_MAX_STATEMENTS = 4
#: The ``AttributeNamespace`` a claim gets when the STS's attribute name has none: WCF's
#: claim types' namespace (``…/claims/role`` then reads back as that claim type).
DEFAULT_ATTRIBUTE_NAMESPACE = ns.CLAIMS


def _split(attr: SamlAttribute) -> tuple[str, str]:
    """(namespace, name) of a SAML 1.1 attribute: a claim-type URI is split at its last '/'."""
    if attr.namespace:
        return attr.namespace, attr.name
    head, sep, tail = attr.name.rpartition("/")
    if sep and head and tail:
        return head, tail
    return DEFAULT_ATTRIBUTE_NAMESPACE, attr.name


def _subject(subject: str | None, proof: etree._Element | None) -> etree._Element:
    """The statement's subject: holder-of-key with ``proof``, bearer without."""
    subj = etree.Element(f"{_S}Subject")
    if subject is not None:
        etree.SubElement(subj, f"{_S}NameIdentifier").text = subject
    sc = etree.SubElement(subj, f"{_S}SubjectConfirmation")
    method = ns.SAML11_HOLDER_OF_KEY if proof is not None else ns.SAML11_BEARER
    etree.SubElement(sc, f"{_S}ConfirmationMethod").text = method
    if proof is not None:
        etree.SubElement(sc, f"{{{ns.DS}}}KeyInfo", nsmap={"ds": ns.DS}).append(copy.deepcopy(proof))
    return subj


def build_saml11(
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
    """An unsigned holder-of-key SAML 1.1 assertion (sign it with
    `saml_signature.sign_assertion`), the proof key wrapped to ``relying_party`` once and
    carried in each statement's subject. Times are ``now`` to ``now + lifetime``."""
    a = etree.Element(_TAG, nsmap={"saml": ns.SAML11})
    a.set("MajorVersion", "1")
    a.set("MinorVersion", "1")
    a.set("AssertionID", assertion_id or f"_{uuid.uuid4()}")
    a.set("Issuer", issuer)
    a.set("IssueInstant", format_instant(now))
    cond = etree.SubElement(a, f"{_S}Conditions")
    cond.set("NotBefore", format_instant(now))
    cond.set("NotOnOrAfter", format_instant(now + lifetime))
    arc = etree.SubElement(cond, f"{_S}AudienceRestrictionCondition")
    etree.SubElement(arc, f"{_S}Audience").text = audience
    proof = None
    if proof_key is not None:  # holder-of-key; without one, a bearer assertion
        if relying_party is None:
            raise ConfigurationError("a holder-of-key assertion needs the relying party's certificate")
        proof = encrypted_proof_key(relying_party, proof_key, key_wrap)
    if attributes:
        st = etree.SubElement(a, f"{_S}AttributeStatement")
        st.append(_subject(subject, proof))
        for attr in attributes:
            namespace, name = _split(attr)
            el = etree.SubElement(st, f"{_S}Attribute")
            el.set("AttributeName", name)
            el.set("AttributeNamespace", namespace)
            for v in attr.values:
                etree.SubElement(el, f"{_S}AttributeValue").text = v
    auth = etree.SubElement(a, f"{_S}AuthenticationStatement")
    auth.set("AuthenticationMethod", ns.SAML11_AM_PASSWORD)
    auth.set("AuthenticationInstant", format_instant(now))
    auth.append(_subject(subject, proof))
    # signxml puts the enveloped signature where this placeholder stands: last, as the
    # SAML 1.1 schema wants it.
    etree.SubElement(a, f"{{{ns.DS}}}Signature", nsmap={"ds": ns.DS}).set("Id", "placeholder")
    return a


def _read_subject(subj: etree._Element) -> tuple[str | None, str, etree._Element | None]:
    name = subj.findall(f"{_S}NameIdentifier")
    if len(name) > 1:
        raise SamlAssertionRejected("the assertion's subject has more than one NameIdentifier")
    confs = subj.findall(f"{_S}SubjectConfirmation")
    if len(confs) != 1:
        raise SamlAssertionRejected(f"the assertion has {len(confs)} SubjectConfirmation, not one")
    methods = confs[0].findall(f"{_S}ConfirmationMethod")
    if len(methods) != 1:
        raise SamlAssertionRejected("the assertion's SubjectConfirmation has not one ConfirmationMethod")
    eks = confs[0].findall(f"{{{ns.DS}}}KeyInfo/{{{ns.XENC}}}EncryptedKey")
    if len(eks) > 1:
        raise SamlAssertionRejected("the assertion has more than one proof key")
    return (
        (name[0].text or "").strip() if name else None,
        (methods[0].text or "").strip(),
        eks[0] if eks else None,
    )


def _cipher(ek: etree._Element | None) -> str | None:
    if ek is None:
        return None
    cv = ek.find(f"{{{ns.XENC}}}CipherData/{{{ns.XENC}}}CipherValue")
    return "".join((cv.text or "").split()) if cv is not None else ""


def read_saml11(el: etree._Element, limits: AssertionLimits = DEFAULT_ASSERTION_LIMITS) -> SamlAssertion:
    """The fields of ``el`` (within ``limits``), in the model SAML 2.0 has. Reads; trusts
    nothing. Every statement's subject must agree (name, confirmation, proof key)."""
    check_shape(el, limits)
    if el.tag != _TAG:
        raise SamlAssertionRejected("not a SAML 1.1 assertion")
    if (el.get("MajorVersion"), el.get("MinorVersion")) != ("1", "1"):
        raise SamlAssertionRejected("the assertion's version is not SAML 1.1")
    ident = el.get("AssertionID")
    if not ident:
        raise SamlAssertionRejected("the assertion has no AssertionID")
    issuer = (el.get("Issuer") or "").strip()
    cond = one_child(el, f"{_S}Conditions", "Conditions")
    audiences = tuple(
        (a.text or "").strip() for a in cond.iterfind(f"{_S}AudienceRestrictionCondition/{_S}Audience")
    )
    if len(audiences) > limits.max_audiences:
        raise SamlAssertionRejected("the assertion names too many audiences")
    statements = [c for c in el if c.tag in _STATEMENTS]
    if not statements or len(statements) > _MAX_STATEMENTS:
        raise SamlAssertionRejected(f"the assertion has {len(statements)} subject statements")
    subjects = [_read_subject(one_child(st, f"{_S}Subject", "Subject")) for st in statements]
    name, method, ek = subjects[0]
    if any((n, m, _cipher(k)) != (name, method, _cipher(ek)) for n, m, k in subjects[1:]):
        raise SamlAssertionRejected("the assertion's statements name different subjects")
    attributes: list[SamlAttribute] = []
    for a in el.iterfind(f"{_S}AttributeStatement/{_S}Attribute"):
        values = tuple((v.text or "") for v in a.iterfind(f"{_S}AttributeValue"))
        if len(attributes) >= limits.max_attributes or len(values) > limits.max_values_per_attribute:
            raise SamlAssertionRejected("the assertion has too many attributes")
        name_, namespace = a.get("AttributeName") or "", a.get("AttributeNamespace") or ""
        attributes.append(SamlAttribute(name_, values, namespace))
    return SamlAssertion(
        assertion_id=ident,
        issuer=issuer,
        issue_instant=parse_instant(el.get("IssueInstant"), "IssueInstant"),
        not_before=parse_instant(cond.get("NotBefore"), "NotBefore"),
        not_on_or_after=parse_instant(cond.get("NotOnOrAfter"), "NotOnOrAfter"),
        audiences=audiences,
        subject=name,
        confirmation_method=method,
        attributes=tuple(attributes),
        proof_key=ek,
        element=el,
        token_type=ns.WSS_SAML11_TOKEN_TYPE,
    )


__all__ = ["DEFAULT_ATTRIBUTE_NAMESPACE", "build_saml11", "read_saml11"]
