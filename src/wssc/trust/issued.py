"""WS-Trust Issue of a token from a security token service (an STS), as WCF's
``IssuedSecurityTokenProvider`` asks for one and ADFS answers::

    <trust:RequestSecurityToken>
      <wsp:AppliesTo><wsa:EndpointReference><wsa:Address>https://rp/…</…></…></wsp:AppliesTo>
      <trust:KeyType>…/SymmetricKey</trust:KeyType> <trust:KeySize>256</trust:KeySize>
      <trust:Entropy><trust:BinarySecret Type="…/Nonce">…</…></trust:Entropy>
      <trust:ComputedKeyAlgorithm>…/CK/PSHA1</trust:ComputedKeyAlgorithm>
      <trust:RequestType>…/Issue</trust:RequestType> <trust:TokenType>…#SAMLV2.0</trust:TokenType>
    </trust:RequestSecurityToken>

    <trust:RequestSecurityTokenResponseCollection><trust:RequestSecurityTokenResponse>
      <trust:Lifetime/> <wsp:AppliesTo/> <trust:RequestedSecurityToken>(saml:Assertion)</…>
      <trust:RequestedAttachedReference/> <trust:RequestedUnattachedReference/>
      (wsse:SecurityTokenReference wsse11:TokenType="…#SAMLV2.0", KeyIdentifier ValueType="…#SAMLID")
      <trust:RequestedProofToken><trust:ComputedKey>…/CK/PSHA1</…></…>
      <trust:Entropy/> <trust:KeySize/> <trust:TokenType/> <trust:RequestType/> <trust:KeyType/>
    </trust:RequestSecurityTokenResponse></trust:RequestSecurityTokenResponseCollection>

The token is opaque here (`wssc.federation` reads it). Under WS-Trust 1.3 the reply is an
RSTRC (Action ``RSTRC/IssueFinal``), under February 2005 a bare RSTR (``RSTR/Issue``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from lxml import etree

from wssc.errors import InvalidRequest
from wssc.tokens.str_ import STR_TAG, SecurityTokenReference
from wssc.trust import _xml as x
from wssc.trust.messages import BinarySecret, ComputedKey, Lifetime, SecretType, _entropy_xml, _read_entropy
from wssc.xml import ns
from wssc.xml.ns import TrustVersion

_APPLIES_TO = f"{{{ns.WSP12}}}AppliesTo"
_MAX_TOKEN_TEXT = 256
_FROM_SECONDARY = frozenset({"TokenType", "KeyType", "KeySize"})


def _applies_to_xml(parent: etree._Element, address: str) -> None:
    at = etree.SubElement(parent, _APPLIES_TO, nsmap={"wsp": ns.WSP12})
    epr = etree.SubElement(at, f"{{{ns.WSA10}}}EndpointReference", nsmap={"wsa": ns.WSA10})
    etree.SubElement(epr, f"{{{ns.WSA10}}}Address").text = address


def _read_applies_to(parent: etree._Element) -> str | None:
    found = parent.findall(_APPLIES_TO)
    if not found:
        return None
    if len(found) > 1:
        raise InvalidRequest("more than one AppliesTo")
    addr = found[0].findall(f"{{{ns.WSA10}}}EndpointReference/{{{ns.WSA10}}}Address")
    if len(addr) != 1:
        raise InvalidRequest("AppliesTo must hold one wsa:EndpointReference with an Address")
    return x.text(addr[0], "AppliesTo Address")


def saml2_reference(assertion_id: str) -> SecurityTokenReference:
    """How WCF names a SAML 2.0 assertion: a KeyIdentifier of its ``ID`` (``…#SAMLID``), the
    STR's ``wsse11:TokenType`` ``…#SAMLV2.0``."""
    return SecurityTokenReference(
        key_identifier=assertion_id, value_type=ns.WSS_SAML2_ID, token_type=ns.WSS_SAML2_TOKEN_TYPE
    )


def saml11_reference(assertion_id: str) -> SecurityTokenReference:
    """How WCF names a SAML 1.1 assertion: a KeyIdentifier of its ``AssertionID``
    (``…#SAMLAssertionID``), the STR's ``wsse11:TokenType`` ``…#SAMLV1.1``."""
    return SecurityTokenReference(
        key_identifier=assertion_id, value_type=ns.WSS_SAML11_ID, token_type=ns.WSS_SAML11_TOKEN_TYPE
    )


def assertion_reference(assertion: etree._Element) -> SecurityTokenReference:
    """The reference naming ``assertion``, SAML 1.1 or 2.0 by its element."""
    if assertion.tag == f"{{{ns.SAML11}}}Assertion":
        return saml11_reference(assertion.get("AssertionID") or "")
    return saml2_reference(assertion.get("ID") or "")


@dataclass(frozen=True, slots=True)
class IssuedTokenRequest:
    """RST/Issue to an STS. ``entropy`` is the requestor's (combined-entropy key);
    ``token_type`` '' when the RST names none (WCF's default: the STS chooses)."""

    token_type: str
    applies_to: str | None
    key_size: int | None = 256
    entropy: bytes | None = field(default=None, repr=False)
    key_type: str | None = None
    context: str | None = None

    @staticmethod
    def action(trust: TrustVersion) -> str:
        return trust.rst_issue

    def to_xml(self, trust: TrustVersion) -> etree._Element:
        el = x.trust_element(trust, "RequestSecurityToken")
        if self.context is not None:
            el.set("Context", self.context)
        if self.applies_to is not None:
            _applies_to_xml(el, self.applies_to)
        x.sub(el, trust, "KeyType", self.key_type or trust.symmetric_key)
        if self.key_size:
            x.sub(el, trust, "KeySize", str(self.key_size))
        if self.entropy is not None:
            _entropy_xml(el, trust, self.entropy)
            x.sub(el, trust, "ComputedKeyAlgorithm", trust.ck_psha1)
        x.sub(el, trust, "RequestType", trust.issue)
        if self.token_type:
            x.sub(el, trust, "TokenType", self.token_type)
        return el

    @classmethod
    def from_xml(cls, el: etree._Element, trust: TrustVersion) -> IssuedTokenRequest:
        x.expect(el, trust, "RequestSecurityToken")
        kids = {etree.QName(c).localname: c for c in x.children(el) if etree.QName(c).namespace == trust.ns}
        if len(x.children(el)) > 16:
            raise InvalidRequest("the RST has too many children")
        # WS-Trust 1.3: the client copies the relying party's RequestSecurityTokenTemplate
        # into SecondaryParameters (WCF and Metro send TokenType, KeyType and KeySize there);
        # the RST's own elements come first.
        if "SecondaryParameters" in kids:
            second = x.children(kids["SecondaryParameters"])
            if len(second) > 16:
                raise InvalidRequest("the RST's SecondaryParameters has too many children")
            for c in second:
                name = etree.QName(c).localname
                if etree.QName(c).namespace == trust.ns and name in _FROM_SECONDARY and name not in kids:
                    kids[name] = c
        rt = x.text(kids["RequestType"], "RequestType") if "RequestType" in kids else None
        if rt != trust.issue:
            raise InvalidRequest("the RequestType is not Issue")
        key_type = x.text(kids["KeyType"], "KeyType") if "KeyType" in kids else trust.symmetric_key
        if key_type not in (trust.symmetric_key, trust.bearer_key):
            raise InvalidRequest(f"unsupported KeyType {key_type[:200]!r} (SymmetricKey or Bearer only)")
        return cls(
            token_type=x.text(kids["TokenType"], "TokenType", _MAX_TOKEN_TEXT) if "TokenType" in kids else "",
            applies_to=_read_applies_to(el),
            key_size=x.non_negative_int(kids["KeySize"], "KeySize") or None if "KeySize" in kids else None,
            entropy=_read_entropy(kids["Entropy"], trust) if "Entropy" in kids else None,
            key_type=key_type,
            context=x.attr(el, "Context", "Context"),
        )


@dataclass(frozen=True, slots=True)
class IssuedTokenResponse:
    """The STS's answer: the token (opaque), how to name it, its proof key and lifetime."""

    token: etree._Element = field(repr=False)
    token_type: str
    applies_to: str | None = None
    lifetime: Lifetime | None = None
    attached_reference: SecurityTokenReference | None = None
    unattached_reference: SecurityTokenReference | None = None
    proof: ComputedKey | BinarySecret | None = None
    entropy: bytes | None = field(default=None, repr=False)
    key_size: int | None = None
    context: str | None = None
    #: The ``wst:KeyType`` (None: SymmetricKey).
    key_type: str | None = None

    @staticmethod
    def action(trust: TrustVersion) -> str:
        return trust.rstrc_issue_final if trust.ns == ns.TRUST_13 else trust.rstr_issue

    def to_xml(self, trust: TrustVersion) -> etree._Element:
        if trust.ns == ns.TRUST_13:
            root = x.trust_element(trust, "RequestSecurityTokenResponseCollection")
            el = x.sub(root, trust, "RequestSecurityTokenResponse")
        else:
            root = el = x.trust_element(trust, "RequestSecurityTokenResponse")
        if self.context is not None:
            el.set("Context", self.context)
        if self.lifetime is not None:
            el.append(self.lifetime.to_xml(trust))
        if self.applies_to is not None:
            _applies_to_xml(el, self.applies_to)
        x.sub(el, trust, "RequestedSecurityToken").append(copy.deepcopy(self.token))
        if self.attached_reference is not None:
            x.sub(el, trust, "RequestedAttachedReference").append(self.attached_reference.to_xml())
        if self.unattached_reference is not None:
            x.sub(el, trust, "RequestedUnattachedReference").append(self.unattached_reference.to_xml())
        if self.proof is not None:
            holder = x.sub(el, trust, "RequestedProofToken")
            if isinstance(self.proof, ComputedKey):
                x.sub(holder, trust, "ComputedKey", self.proof.algorithm or trust.ck_psha1)
            else:
                holder.append(self.proof.to_xml(trust))
        if self.entropy is not None:
            _entropy_xml(el, trust, self.entropy)
        if self.key_size:
            x.sub(el, trust, "KeySize", str(self.key_size))
        x.sub(el, trust, "TokenType", self.token_type)
        x.sub(el, trust, "RequestType", trust.issue)
        x.sub(el, trust, "KeyType", self.key_type or trust.symmetric_key)
        return root

    @classmethod
    def from_xml(cls, el: etree._Element, trust: TrustVersion) -> IssuedTokenResponse:
        """Read an RSTRC holding one RSTR, or a bare RSTR."""
        if el.tag == x.tq(trust, "RequestSecurityTokenResponseCollection"):
            inner = x.children(el)
            if len(inner) != 1:
                raise InvalidRequest("the RSTRC must hold exactly one RSTR")
            el = inner[0]
        x.expect(el, trust, "RequestSecurityTokenResponse")
        kids = {etree.QName(c).localname: c for c in x.children(el) if etree.QName(c).namespace == trust.ns}
        if "RequestedSecurityToken" not in kids:
            raise InvalidRequest("the RSTR has no RequestedSecurityToken")
        token = x.only_child(kids["RequestedSecurityToken"], "RequestedSecurityToken")
        proof: ComputedKey | BinarySecret | None = None
        if "RequestedProofToken" in kids:
            inner_proof = x.only_child(kids["RequestedProofToken"], "RequestedProofToken")
            if inner_proof.tag == x.tq(trust, "ComputedKey"):
                proof = ComputedKey(x.text(inner_proof, "ComputedKey"))
            elif inner_proof.tag == x.tq(trust, "BinarySecret"):
                proof = BinarySecret.from_xml(inner_proof, trust, 64)
                if proof.type not in (None, SecretType.SYMMETRIC_KEY):
                    raise InvalidRequest("the proof token's BinarySecret is not a SymmetricKey")
            else:
                raise InvalidRequest("only a ComputedKey or BinarySecret proof token is supported")
        refs: dict[str, SecurityTokenReference | None] = {}
        for name in ("RequestedAttachedReference", "RequestedUnattachedReference"):
            refs[name] = None
            if name in kids:
                inner_ref = x.only_child(kids[name], name)
                if inner_ref.tag != STR_TAG:
                    raise InvalidRequest(f"{name} must hold a wsse:SecurityTokenReference")
                refs[name] = SecurityTokenReference.from_xml(inner_ref)
        return cls(
            token=copy.deepcopy(token),
            token_type=x.text(kids["TokenType"], "TokenType", _MAX_TOKEN_TEXT) if "TokenType" in kids else "",
            applies_to=_read_applies_to(el),
            lifetime=Lifetime.from_xml(kids["Lifetime"], trust) if "Lifetime" in kids else None,
            attached_reference=refs["RequestedAttachedReference"],
            unattached_reference=refs["RequestedUnattachedReference"],
            proof=proof,
            entropy=_read_entropy(kids["Entropy"], trust) if "Entropy" in kids else None,
            key_size=x.non_negative_int(kids["KeySize"], "KeySize") or None if "KeySize" in kids else None,
            context=x.attr(el, "Context", "Context"),
            key_type=x.text(kids["KeyType"], "KeyType", _MAX_TOKEN_TEXT) if "KeyType" in kids else None,
        )


__all__ = [
    "IssuedTokenRequest",
    "IssuedTokenResponse",
    "assertion_reference",
    "saml2_reference",
    "saml11_reference",
]
