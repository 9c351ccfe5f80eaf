"""WS-Trust bodies of the SCT exchanges: RST and RSTR for Issue, Renew and Cancel.

The classes are version-neutral values. ``to_xml(sc)`` writes them in one version family
(``t`` = WS-Trust February 2005 with WS-SC February 2005, ``trust`` = WS-Trust 1.3 with
WS-SC 1.3); ``from_xml(el, trust)`` reads them strictly for the version the endpoint speaks and
raises `InvalidRequest` for anything malformed or of the other version.

Issue request (client → service, Action ``{trust}/RST/SCT``)::

    <t:RequestSecurityToken Context="uuid-…">                      <!-- Context optional -->
      <t:TokenType>http://schemas.xmlsoap.org/ws/2005/02/sc/sct</t:TokenType>
      <t:RequestType>http://schemas.xmlsoap.org/ws/2005/02/trust/Issue</t:RequestType>
      <t:Entropy>                                    <!-- absent in ServerEntropy mode -->
        <t:BinarySecret Type="http://schemas.xmlsoap.org/ws/2005/02/trust/Nonce">…</t:BinarySecret>
      </t:Entropy>
      <t:KeySize>256</t:KeySize>
    </t:RequestSecurityToken>

Issue or renew response (Action ``{trust}/RSTR/SCT`` or ``…/RSTR/SCT/Renew``); under
WS-Trust 1.3 it is wrapped in ``trust:RequestSecurityTokenResponseCollection``::

    <t:RequestSecurityTokenResponse Context="uuid-…">
      <t:TokenType>…/sc/sct</t:TokenType>
      <t:RequestedSecurityToken>
        <c:SecurityContextToken u:Id="uuid-…-1">…</c:SecurityContextToken>
      </t:RequestedSecurityToken>
      <t:RequestedAttachedReference>
        <o:SecurityTokenReference><o:Reference URI="#uuid-…-1" ValueType="…/sc/sct"/></…>
      </t:RequestedAttachedReference>
      <t:RequestedUnattachedReference>
        <o:SecurityTokenReference><o:Reference URI="urn:uuid:…" ValueType="…/sc/sct"/></…>
      </t:RequestedUnattachedReference>
      <t:RequestedProofToken>
        <t:ComputedKey>http://schemas.xmlsoap.org/ws/2005/02/trust/CK/PSHA1</t:ComputedKey>
      </t:RequestedProofToken>                      <!-- CombinedEntropy; see below -->
      <t:Entropy><t:BinarySecret Type="…/trust/Nonce">…</t:BinarySecret></t:Entropy>
      <t:Lifetime><u:Created>…</u:Created><u:Expires>…</u:Expires></t:Lifetime>
      <t:KeySize>256</t:KeySize>
    </t:RequestSecurityTokenResponse>

In ServerEntropy mode the proof token is the key itself,
``<t:RequestedProofToken><t:BinarySecret Type="…/trust/SymmetricKey">…`` (the bootstrap
encryption protects it), and there is no Entropy; in ClientEntropy mode there is neither proof
token nor Entropy nor KeySize (the key is the client's entropy).

Renew request (Action ``{trust}/RST/SCT/Renew``)::

    <t:RequestSecurityToken>
      <t:TokenType>…/sc/sct</t:TokenType>
      <t:RequestType>…/trust/Renew</t:RequestType>
      <t:RenewTarget>
        <o:SecurityTokenReference>
          <o:Reference URI="urn:uuid:…" ValueType="…/sc/sct" c:Instance="urn:uuid:…"/>
        </o:SecurityTokenReference>
      </t:RenewTarget>
      <t:Entropy>…</t:Entropy>
      <t:KeySize>256</t:KeySize>
    </t:RequestSecurityToken>

Cancel request and response (Actions ``{trust}/RST/SCT/Cancel`` → ``{trust}/RSTR/SCT/Cancel``;
the response is inside an RSTRC under WS-Trust 1.3)::

    <t:RequestSecurityToken>
      <t:RequestType>…/trust/Cancel</t:RequestType>
      <t:CancelTarget><o:SecurityTokenReference>…external STR…</o:SecurityTokenReference>
      </t:CancelTarget>
    </t:RequestSecurityToken>

    <t:RequestSecurityTokenResponse><t:RequestedTokenCancelled/></t:RequestSecurityTokenResponse>
"""

from __future__ import annotations

import copy
import enum
import uuid
from dataclasses import dataclass, field
from typing import ClassVar, Final, Self

from lxml import etree

from wssc.crypto.suites import DEFAULT_SUITE, AlgorithmSuite
from wssc.errors import BadCloseTarget, InvalidRequest, InvalidSecurity, InvalidSecurityToken
from wssc.settings import KeyEntropyMode
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.str_ import STR_TAG, SecurityTokenReference
from wssc.tokens.timestamp import format_time, parse_time
from wssc.trust import _xml as x
from wssc.trust.entropy import MAX_KEY_BITS, new_entropy
from wssc.xml import ns
from wssc.xml.ns import ScVersion, TrustVersion

RST: Final = "RequestSecurityToken"
RSTR: Final = "RequestSecurityTokenResponse"
RSTRC: Final = "RequestSecurityTokenResponseCollection"
_OTHER_CK: Final = {
    ns.TRUST_FEB2005.ns: ns.TRUST_V13.ck_psha1,
    ns.TRUST_V13.ns: ns.TRUST_FEB2005.ck_psha1,
}


def _wraps(sc: ScVersion, wrap: bool | None) -> bool:
    """WCF wraps every RSTR of the SCT exchanges in an RSTRC under WS-Trust 1.3 only."""
    return sc.trust.ns == ns.TRUST_13 if wrap is None else wrap


# --- parts --------------------------------------------------------------------------------
class SecretType(enum.Enum):
    """``BinarySecret/@Type``: ``…/trust/Nonce`` (entropy) or ``…/trust/SymmetricKey`` (a key)."""

    NONCE = "Nonce"
    SYMMETRIC_KEY = "SymmetricKey"

    def uri(self, trust: TrustVersion) -> str:
        return trust.nonce if self is SecretType.NONCE else trust.symmetric_key


@dataclass(frozen=True, slots=True)
class BinarySecret:
    """``<t:BinarySecret Type="…">base64</t:BinarySecret>``. ``type=None``: no attribute."""

    value: bytes = field(repr=False)
    type: SecretType | None = SecretType.NONCE

    def to_xml(self, trust: TrustVersion) -> etree._Element:
        el = etree.Element(x.tq(trust, "BinarySecret"))
        if self.type is not None:
            el.set("Type", self.type.uri(trust))
        el.text = x.b64_text(self.value)
        return el

    @classmethod
    def from_xml(cls, el: etree._Element, trust: TrustVersion, max_bytes: int | None = None) -> BinarySecret:
        x.expect(el, trust, "BinarySecret")
        type_uri = x.attr(el, "Type", "BinarySecret Type")
        kind: SecretType | None = None
        if type_uri is not None:
            kinds = {t.uri(trust): t for t in SecretType}
            if type_uri not in kinds:
                raise InvalidRequest(
                    f"unsupported BinarySecret Type for WS-Trust {trust.name}: {type_uri[:200]!r}"
                )
            kind = kinds[type_uri]
        if max_bytes is None:
            return cls(x.b64(el, "the BinarySecret"), kind)
        return cls(x.b64(el, "the BinarySecret", max_bytes), kind)


def _entropy_xml(parent: etree._Element, trust: TrustVersion, value: bytes) -> None:
    x.sub(parent, trust, "Entropy").append(BinarySecret(value, SecretType.NONCE).to_xml(trust))


def _read_entropy(el: etree._Element, trust: TrustVersion) -> bytes:
    """``Entropy`` holding one ``BinarySecret`` (WCF never sends encrypted entropy here)."""
    inner = x.only_child(el, "Entropy")
    if etree.QName(inner).localname != "BinarySecret":
        raise InvalidRequest("only BinarySecret entropy is supported")
    secret = BinarySecret.from_xml(inner, trust)
    if secret.type is SecretType.SYMMETRIC_KEY:
        raise InvalidRequest("entropy must be a Nonce, not a SymmetricKey")
    return secret.value


@dataclass(frozen=True, slots=True)
class ComputedKey:
    """``RequestedProofToken/ComputedKey``: the key is ``computed_key(client, server entropy)``.

    ``algorithm=None`` writes the version's ``…/CK/PSHA1``; a parsed value keeps what was sent
    (`wssc.trust.client_key_from_rstr` refuses anything but P_SHA1).
    """

    algorithm: str | None = None


@dataclass(frozen=True, slots=True)
class OpaqueProof:
    """Any other proof token, kept as XML (e.g. the ``xenc:EncryptedKey`` of TLSNEGO/SPNEGO)."""

    element: etree._Element


ProofToken = ComputedKey | BinarySecret | OpaqueProof


@dataclass(frozen=True, slots=True)
class Lifetime:
    """``<t:Lifetime><u:Created>…</u:Created><u:Expires>…</u:Expires></t:Lifetime>``.

    Times are epoch seconds (written with millisecond precision, as WCF writes them).
    """

    created: float | None
    expires: float | None

    def to_xml(self, trust: TrustVersion) -> etree._Element:
        el = etree.Element(x.tq(trust, "Lifetime"), nsmap={"u": ns.WSU})
        if self.created is not None:
            etree.SubElement(el, f"{{{ns.WSU}}}Created").text = format_time(self.created)
        if self.expires is not None:
            etree.SubElement(el, f"{{{ns.WSU}}}Expires").text = format_time(self.expires)
        return el

    @classmethod
    def from_xml(cls, el: etree._Element, trust: TrustVersion) -> Lifetime:
        x.expect(el, trust, "Lifetime")
        times: dict[str, float] = {}
        for c in x.children(el):
            q = etree.QName(c)
            if q.namespace != ns.WSU or q.localname not in ("Created", "Expires"):
                raise InvalidRequest(f"unexpected element {c.tag} in Lifetime")
            if q.localname in times:
                raise InvalidRequest(f"Lifetime has more than one {q.localname}")
            try:
                times[q.localname] = parse_time(x.text(c, f"Lifetime/{q.localname}", 64))
            except InvalidSecurity:
                raise InvalidRequest(f"Lifetime/{q.localname} is not an xs:dateTime") from None
        created, expires = times.get("Created"), times.get("Expires")
        if created is not None and expires is not None and expires < created:
            raise InvalidRequest("the Lifetime expires before it is created")
        return cls(created, expires)


@dataclass(frozen=True, slots=True)
class ContextTarget:
    """The SCT a RenewTarget or CancelTarget names: an *external* STR by Identifier (and
    Instance, the key generation, when the SCT has one)::

        <o:SecurityTokenReference>
          <o:Reference URI="urn:uuid:…" ValueType="…/sc/sct" c:Instance="urn:uuid:…"/>
        </o:SecurityTokenReference>
    """

    identifier: str
    instance: str | None = None

    @classmethod
    def of(cls, token: SecurityContextToken) -> ContextTarget:
        return cls(token.identifier, token.instance)

    def matches(self, token: SecurityContextToken) -> bool:
        """WCF's clause match: same Identifier and same Instance (both absent counts)."""
        return self.identifier == token.identifier and self.instance == token.instance

    def to_xml(self, sc: ScVersion) -> etree._Element:
        return SecurityTokenReference.external(
            self.identifier, sc.sct_token_type, self.instance, sc.ns
        ).to_xml()

    @classmethod
    def from_xml(cls, el: etree._Element, sc: ScVersion, what: str) -> ContextTarget:
        """Read the STR inside ``what`` (``RenewTarget`` / ``CancelTarget``)."""
        if el.tag != STR_TAG:
            raise InvalidRequest(f"{what} must contain a wsse:SecurityTokenReference")
        try:
            ref = SecurityTokenReference.from_xml(el)
        except InvalidSecurity as exc:
            raise InvalidRequest(f"{what}: {exc.detail or exc.reason}") from None
        if ref.uri is None or ref.is_local:
            raise InvalidRequest(f"{what} must reference the SCT by its Identifier")
        if ref.value_type != sc.sct_token_type:
            raise InvalidRequest(
                f"{what} must reference a WS-SecureConversation {sc.name} SCT (ValueType {sc.sct_token_type})"
            )
        if ref.instance is not None:
            if ref.instance_ns != sc.ns:
                raise InvalidRequest(f"the {what} Instance attribute is not in the WS-SC {sc.name} namespace")
            if not ref.instance or len(ref.instance) > x.MAX_TEXT:
                raise InvalidRequest(f"the {what} Instance is empty or too long")
        return cls(ref.uri, ref.instance)


def renewed_token(token: SecurityContextToken, cookie: bytes | None = None) -> SecurityContextToken:
    """The SCT a Renew issues: same Identifier, a fresh ``Instance`` and ``wsu:Id``."""
    return SecurityContextToken(token.identifier, f"urn:uuid:{uuid.uuid4()}", cookie)


# --- requests -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RstFields:
    context: str | None
    token_type: str | None
    request_type: str | None
    entropy: bytes | None
    key_size: int | None
    renew_target: etree._Element | None
    cancel_target: etree._Element | None


def read_rst(el: etree._Element, trust: TrustVersion) -> RstFields:
    x.expect(el, trust, RST)
    kids = x.index_children(el, trust)
    token_type = x.text(kids["TokenType"], "TokenType") if "TokenType" in kids else None
    request_type = x.text(kids["RequestType"], "RequestType") if "RequestType" in kids else None
    entropy = _read_entropy(kids["Entropy"], trust) if "Entropy" in kids else None
    key_size = x.non_negative_int(kids["KeySize"], "KeySize") if "KeySize" in kids else None
    renew = x.only_child(kids["RenewTarget"], "RenewTarget") if "RenewTarget" in kids else None
    cancel = x.only_child(kids["CancelTarget"], "CancelTarget") if "CancelTarget" in kids else None
    return RstFields(
        x.attr(el, "Context", "Context"),
        token_type,
        request_type,
        entropy,
        key_size or None,
        renew,
        cancel,
    )


def _check_token_type(token_type: str | None, sc: ScVersion) -> None:
    """WCF: a TokenType, when present, must be this version's SCT token type."""
    if token_type is not None and token_type != sc.sct_token_type:
        raise InvalidRequest(
            f"the requested TokenType {token_type[:200]!r} is not the WS-SecureConversation "
            f"{sc.name} SCT type"
        )


def _rst_element(
    sc: ScVersion, context: str | None, token_type: str | None, request_type: str
) -> etree._Element:
    trust = sc.trust
    el = x.trust_element(trust, RST)
    if context is not None:
        el.set("Context", context)
    if token_type is not None:
        x.sub(el, trust, "TokenType", token_type)
    x.sub(el, trust, "RequestType", request_type)
    return el


def _key_parts(el: etree._Element, trust: TrustVersion, entropy: bytes | None, key_size: int | None) -> None:
    if entropy is not None:
        _entropy_xml(el, trust, entropy)
    if key_size:
        x.sub(el, trust, "KeySize", str(key_size))


def _client_entropy(suite: AlgorithmSuite, mode: KeyEntropyMode) -> bytes | None:
    """WCF sends KeySize/8 random bytes unless the mode is ServerEntropy."""
    return None if mode is KeyEntropyMode.SERVER else new_entropy(suite.symmetric_key_bits)


class _RstMessage:
    """What the three requests share: their Actions (``_ACTION`` names the TrustVersion
    attribute, ``rst_sct…``; the reply's is ``rstr_sct…``) and reading from XML."""

    __slots__ = ()
    _ACTION: ClassVar[str]

    @classmethod
    def action(cls, trust: TrustVersion) -> str:
        return str(getattr(trust, cls._ACTION))

    @classmethod
    def reply_action(cls, trust: TrustVersion) -> str:
        return str(getattr(trust, "rstr" + cls._ACTION[3:]))

    @classmethod
    def from_xml(cls, el: etree._Element, trust: TrustVersion) -> Self:
        return cls.from_fields(read_rst(el, trust), trust)

    @classmethod
    def from_fields(cls, f: RstFields, trust: TrustVersion) -> Self:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class IssueRequest(_RstMessage):
    """RST/SCT Issue. ``entropy`` is the client (requestor) entropy; keep it to compute the key.

    ``key_size`` is in bits; ``None`` (or 0 on the wire) means the suite default.
    """

    _ACTION: ClassVar[str] = "rst_sct"

    token_type: str | None
    entropy: bytes | None = field(default=None, repr=False)
    key_size: int | None = None
    context: str | None = None

    @classmethod
    def build(
        cls,
        sc: ScVersion,
        suite: AlgorithmSuite = DEFAULT_SUITE,
        mode: KeyEntropyMode = KeyEntropyMode.COMBINED,
        *,
        context: str | None = None,
    ) -> IssueRequest:
        """What a WCF client sends: the SCT TokenType, fresh entropy, the suite's key size."""
        return cls(sc.sct_token_type, _client_entropy(suite, mode), suite.symmetric_key_bits, context)

    def to_xml(self, sc: ScVersion) -> etree._Element:
        el = _rst_element(sc, self.context, self.token_type, sc.trust.issue)
        _key_parts(el, sc.trust, self.entropy, self.key_size)
        return el

    @classmethod
    def from_fields(cls, f: RstFields, trust: TrustVersion) -> IssueRequest:
        if f.request_type is not None and f.request_type != trust.issue:
            raise InvalidRequest("the RequestType is not Issue")
        if f.renew_target is not None or f.cancel_target is not None:
            raise InvalidRequest("an Issue request cannot carry a RenewTarget or CancelTarget")
        _check_token_type(f.token_type, x.sc_for(trust))
        return cls(f.token_type, f.entropy, f.key_size, f.context)


@dataclass(frozen=True, slots=True)
class RenewRequest(_RstMessage):
    """RST/SCT/Renew: new key material for the session ``target`` (a new ``Instance``)."""

    _ACTION: ClassVar[str] = "rst_sct_renew"

    target: ContextTarget
    token_type: str | None
    entropy: bytes | None = field(default=None, repr=False)
    key_size: int | None = None
    context: str | None = None

    @classmethod
    def build(
        cls,
        sc: ScVersion,
        token: SecurityContextToken,
        suite: AlgorithmSuite = DEFAULT_SUITE,
        mode: KeyEntropyMode = KeyEntropyMode.COMBINED,
        *,
        context: str | None = None,
    ) -> RenewRequest:
        return cls(
            ContextTarget.of(token),
            sc.sct_token_type,
            _client_entropy(suite, mode),
            suite.symmetric_key_bits,
            context,
        )

    def to_xml(self, sc: ScVersion) -> etree._Element:
        el = _rst_element(sc, self.context, self.token_type, sc.trust.renew)
        x.sub(el, sc.trust, "RenewTarget").append(self.target.to_xml(sc))
        _key_parts(el, sc.trust, self.entropy, self.key_size)
        return el

    @classmethod
    def from_fields(cls, f: RstFields, trust: TrustVersion) -> RenewRequest:
        target = _session_target(f, trust, "Renew")
        _check_token_type(f.token_type, x.sc_for(trust))
        return cls(target, f.token_type, f.entropy, f.key_size, f.context)


@dataclass(frozen=True, slots=True)
class CancelRequest(_RstMessage):
    """RST/SCT/Cancel of the session ``target``; it must be signed by that same SCT."""

    _ACTION: ClassVar[str] = "rst_sct_cancel"

    target: ContextTarget
    context: str | None = None

    @classmethod
    def build(cls, token: SecurityContextToken, *, context: str | None = None) -> CancelRequest:
        return cls(ContextTarget.of(token), context)

    def check_target(self, signing_token: SecurityContextToken) -> None:
        """WCF's ``ProcessCloseRequest``: the CancelTarget must be the SCT that signed the
        message, else `BadCloseTarget`. A target that names the context
        without an Instance is taken as the signing generation (Metro cancels a renewed
        session so; the Cancel is signed with that generation's key all the same)."""
        t = self.target
        if t.instance is None and t.identifier == signing_token.identifier:
            return
        if not t.matches(signing_token):
            raise BadCloseTarget("the CancelTarget is not the token that signed the request")

    def to_xml(self, sc: ScVersion) -> etree._Element:
        el = _rst_element(sc, self.context, None, sc.trust.cancel)
        x.sub(el, sc.trust, "CancelTarget").append(self.target.to_xml(sc))
        return el

    @classmethod
    def from_fields(cls, f: RstFields, trust: TrustVersion) -> CancelRequest:
        return cls(_session_target(f, trust, "Cancel"), f.context)


def _session_target(f: RstFields, trust: TrustVersion, verb: str) -> ContextTarget:
    """The ``RenewTarget`` (``verb="Renew"``) or ``CancelTarget`` of a request, with WCF's
    checks: the RequestType matches, the target is there and the other one is not."""
    renew = verb == "Renew"
    own, other = (f.renew_target, f.cancel_target) if renew else (f.cancel_target, f.renew_target)
    name, other_name = ("RenewTarget", "CancelTarget") if renew else ("CancelTarget", "RenewTarget")
    if f.request_type is not None and f.request_type != (trust.renew if renew else trust.cancel):
        raise InvalidRequest(f"the RequestType is not {verb}")
    if own is None:
        raise InvalidRequest(f"a {verb} request needs a {name}")
    if other is not None:
        raise InvalidRequest(f"a {verb} request cannot carry a {other_name}")
    return ContextTarget.from_xml(own, x.sc_for(trust), name)


Request = IssueRequest | RenewRequest | CancelRequest


# --- responses ----------------------------------------------------------------------------
def _rstr_element(
    sc: ScVersion, context: str | None, wrap: bool | None
) -> tuple[etree._Element, etree._Element]:
    """(payload root, the RSTR inside it): an RSTRC around the RSTR when wrapping."""
    trust = sc.trust
    if _wraps(sc, wrap):
        root = x.trust_element(trust, RSTRC)
        rstr = x.sub(root, trust, RSTR)
    else:
        root = rstr = x.trust_element(trust, RSTR)
    if context is not None:
        rstr.set("Context", context)
    return root, rstr


def _read_str(el: etree._Element, what: str) -> SecurityTokenReference:
    inner = x.only_child(el, what)
    if inner.tag != STR_TAG:
        raise InvalidRequest(f"{what} must contain a wsse:SecurityTokenReference")
    try:
        return SecurityTokenReference.from_xml(inner)
    except InvalidSecurity as exc:
        raise InvalidRequest(f"{what}: {exc.detail or exc.reason}") from None


def _read_proof(el: etree._Element, trust: TrustVersion) -> ProofToken:
    inner = x.only_child(el, "RequestedProofToken")
    if inner.tag == x.tq(trust, "ComputedKey"):
        algorithm = x.text(inner, "ComputedKey")
        if algorithm == _OTHER_CK[trust.ns]:
            raise InvalidRequest(
                f"the ComputedKey algorithm belongs to the other WS-Trust version than {trust.name}"
            )
        return ComputedKey(algorithm)
    if inner.tag == x.tq(trust, "BinarySecret"):
        return BinarySecret.from_xml(inner, trust, MAX_KEY_BITS // 8)
    x.check_children_version(el, trust)
    return OpaqueProof(copy.deepcopy(inner))


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """The RSTR of an Issue or a Renew: the SCT, its references, proof, lifetime, key size.

    ``entropy`` is the server (issuer) entropy of CombinedEntropy mode; ``key_size`` is in bits.
    """

    token: SecurityContextToken
    token_type: str | None = None
    proof: ProofToken | None = None
    entropy: bytes | None = field(default=None, repr=False)
    lifetime: Lifetime | None = None
    key_size: int | None = None
    context: str | None = None
    attached_reference: SecurityTokenReference | None = None
    unattached_reference: SecurityTokenReference | None = None

    @classmethod
    def build(
        cls,
        sc: ScVersion,
        token: SecurityContextToken,
        *,
        lifetime: Lifetime | None,
        proof: ComputedKey | BinarySecret | None,
        server_entropy: bytes | None,
        key_size: int | None,
        context: str | None = None,
    ) -> TokenResponse:
        """What WCF returns: the references are derived from ``token`` (attached = by
        ``wsu:Id`` with the SCT ValueType, as WCF writes under Basic Security Profile;
        unattached = by Identifier and Instance)."""
        attached = SecurityTokenReference.local(token.wsu_id, sc.sct_token_type)
        unattached = SecurityTokenReference.external(
            token.identifier, sc.sct_token_type, token.instance, sc.ns
        )
        return cls(
            token, sc.sct_token_type, proof, server_entropy, lifetime, key_size, context, attached, unattached
        )

    def to_xml(self, sc: ScVersion, wrap: bool | None = None) -> etree._Element:
        """The body payload: a bare RSTR (Feb 2005) or an RSTRC around it (1.3).
        ``wrap`` overrides the version's choice."""
        trust = sc.trust
        root, el = _rstr_element(sc, self.context, wrap)
        if self.token_type is not None:
            x.sub(el, trust, "TokenType", self.token_type)
        x.sub(el, trust, "RequestedSecurityToken").append(self.token.to_xml(sc))
        if self.attached_reference is not None:
            x.sub(el, trust, "RequestedAttachedReference").append(self.attached_reference.to_xml())
        if self.unattached_reference is not None:
            x.sub(el, trust, "RequestedUnattachedReference").append(self.unattached_reference.to_xml())
        if self.proof is not None:
            holder = x.sub(el, trust, "RequestedProofToken")
            if isinstance(self.proof, ComputedKey):
                x.sub(holder, trust, "ComputedKey", self.proof.algorithm or trust.ck_psha1)
            elif isinstance(self.proof, BinarySecret):
                holder.append(self.proof.to_xml(trust))
            else:
                holder.append(copy.deepcopy(self.proof.element))
        if self.entropy is not None:
            _entropy_xml(el, trust, self.entropy)
        if self.lifetime is not None:
            el.append(self.lifetime.to_xml(trust))
        if self.key_size:
            x.sub(el, trust, "KeySize", str(self.key_size))
        return root

    @classmethod
    def from_xml(cls, el: etree._Element, trust: TrustVersion) -> TokenResponse:
        """Read one bare RSTR (see `wssc.trust.parse_rstr` for the RSTRC)."""
        x.expect(el, trust, RSTR)
        kids = x.index_children(el, trust)
        sc = x.sc_for(trust)
        if "RequestedTokenCancelled" in kids:
            raise InvalidRequest("a Cancel response is not an issued token")
        token_type = x.text(kids["TokenType"], "TokenType") if "TokenType" in kids else None
        _check_token_type(token_type, sc)
        if "RequestedSecurityToken" not in kids:
            raise InvalidRequest("the RSTR has no RequestedSecurityToken")
        sct_el = x.only_child(kids["RequestedSecurityToken"], "RequestedSecurityToken")
        try:
            token, token_sc = SecurityContextToken.from_xml(sct_el)
        except InvalidSecurityToken as exc:
            raise InvalidRequest(f"RequestedSecurityToken: {exc.detail or exc.reason}") from None
        if token_sc.ns != sc.ns:
            raise InvalidRequest(
                f"a WS-SC {token_sc.name} SecurityContextToken in a WS-Trust {trust.name} RSTR"
            )
        attached = (
            _read_str(kids["RequestedAttachedReference"], "RequestedAttachedReference")
            if "RequestedAttachedReference" in kids
            else None
        )
        unattached = (
            _read_str(kids["RequestedUnattachedReference"], "RequestedUnattachedReference")
            if "RequestedUnattachedReference" in kids
            else None
        )
        proof = _read_proof(kids["RequestedProofToken"], trust) if "RequestedProofToken" in kids else None
        entropy = _read_entropy(kids["Entropy"], trust) if "Entropy" in kids else None
        lifetime = Lifetime.from_xml(kids["Lifetime"], trust) if "Lifetime" in kids else None
        key_size = x.non_negative_int(kids["KeySize"], "KeySize") if "KeySize" in kids else None
        return cls(
            token,
            token_type,
            proof,
            entropy,
            lifetime,
            key_size or None,
            x.attr(el, "Context", "Context"),
            attached,
            unattached,
        )


@dataclass(frozen=True, slots=True)
class CancelResponse:
    """``<t:RequestSecurityTokenResponse><t:RequestedTokenCancelled/></…>`` (RSTRC in 1.3)."""

    context: str | None = None

    @staticmethod
    def action(trust: TrustVersion) -> str:
        return trust.rstr_sct_cancel

    def to_xml(self, sc: ScVersion, wrap: bool | None = None) -> etree._Element:
        root, el = _rstr_element(sc, self.context, wrap)
        x.sub(el, sc.trust, "RequestedTokenCancelled")
        return root

    @classmethod
    def from_xml(cls, el: etree._Element, trust: TrustVersion) -> CancelResponse:
        x.expect(el, trust, RSTR)
        kids = x.index_children(el, trust)
        done = kids.get("RequestedTokenCancelled")
        if done is None:
            raise InvalidRequest("the RSTR has no RequestedTokenCancelled")
        if x.children(done) or (done.text or "").strip():
            raise InvalidRequest("RequestedTokenCancelled must be empty")
        return cls(x.attr(el, "Context", "Context"))


Response = TokenResponse | CancelResponse
