"""SPNEGO: WCF's SspiNegotiated bootstrap (Kerberos, with NTLM as the fallback), over
WS-Trust legs, as ``../shared/reference/negotiation.md`` describes WCF's wire format.

::

    C→S  RST/Issue   <t:RequestSecurityToken Context="uuid-…">
                       <t:TokenType>…/sc/sct</t:TokenType><t:RequestType>…/Issue</t:RequestType>
                       <t:KeySize>256</t:KeySize>
                       <t:BinaryExchange ValueType="…/2005/02/trust/spnego"
                          EncodingType="…#Base64Binary">NegTokenInit</t:BinaryExchange>
    S→C  RSTR/Issue  <t:RequestSecurityTokenResponse Context="uuid-…">
                       <t:BinaryExchange …>NegTokenResp</…>                 (NTLM: CHALLENGE)
    C→S  RSTR/Issue  … (NTLM: AUTHENTICATE)
    S→C  final       Feb 2005: RSTR/Issue; Trust 1.3: RSTRC/IssueFinal; the body an RSTRC of
                     two RSTRs: (1) TokenType, RequestedSecurityToken (the negotiated SCT),
                     RequestedAttached/UnattachedReference, RequestedProofToken (an
                     xenc:EncryptedKey: the SCT's key sealed with GSS_Wrap by the negotiated
                     context), Lifetime (15 minutes), KeySize, [BinaryExchange: the last token,
                     Kerberos' AP-REP]; (2) the authenticator: CombinedHash = P_SHA1(key,
                     "AUTH-HASH" ‖ SHA-1(exc-c14n of every RST/RSTR of the negotiation, the
                     final one without its RequestedSecurityToken and RequestedProofToken)),
                     32 bytes
    C→S  RST/SCT     secured by the negotiated SCT (symmetric binding, derived keys, signed and
                     encrypted, the SCT in the header)
    S→C  RSTR/SCT    under the negotiated SCT's key; the session SCT

The client checks the final leg: its Context, the wrap algorithm, that the key was sealed
(encrypted, not only signed), the key size, the authenticator, and that the context is
complete (Kerberos: mutual authentication). The service maps the authenticated principal
(``alice@REALM``, ``DOMAIN\\alice``) to the session's identity.

On the wire a negotiation fails as WCF's does: a token the GSS context refuses (wrong key,
wrong password, tampered, replayed) is the trust ``FailedAuthentication`` fault, anything
malformed or out of place ``InvalidRequest``; an RST/SCT that does not verify the generic
``InvalidSecurity``. What failed goes to the service log only.

The GSS work is pyspnego's (``pip install 'wssc[spnego]'``): Kerberos through MIT GSSAPI
(``KRB5_KTNAME`` or a keytab given here on the service side; a ccache, a keytab or a password
on the client), NTLM through pyspnego's own (its accounts in ``NTLM_USER_FILE`` on the
service side). The Renew and Cancel of the session go under the session's own key (the
negotiated SCT's state is taken by the RST/SCT): ``renew_identity`` is None.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from lxml import etree

from wssc.bootstrap.base import (
    ClientContext,
    ClientNegotiation,
    NegotiatedState,
    NegotiationLeg,
    NegotiationStep,
    ServiceResult,
    TransportInfo,
)
from wssc.bootstrap.negotiated import (
    TOKEN_ASSERTIONS,
    Established,
    final_action,
    secure_reply,
    service_result,
    verify_reply,
    verify_under_negotiated,
    with_authenticator,
)
from wssc.crypto.psha1 import p_sha1
from wssc.errors import (
    ConfigurationError,
    InvalidRequest,
    InvalidSecurity,
    NegotiationFailed,
    WsscError,
    missing_extra,
)
from wssc.logs import printable
from wssc.policy.shapes import Assertions, BindingFacts, BindingShape, ShapeReader, recognize
from wssc.policy.writer import PolicyWriter, symmetric_binding, trust_assertion, wss11
from wssc.security.inbound import KeyResolver, VerifiedMessage
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import SctProtection
from wssc.settings import Bootstrap, SecureConversationSettings
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.str_ import SecurityTokenReference
from wssc.trust import _xml as x
from wssc.trust.entropy import check_key_size
from wssc.trust.messages import Lifetime, OpaqueProof, TokenResponse
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n
from wssc.xml.ns import TrustVersion
from wssc.xml.soap import Envelope

log = logging.getLogger("wssc.client")

RST, RSTR, RSTRC = (
    "RequestSecurityToken",
    "RequestSecurityTokenResponse",
    "RequestSecurityTokenResponseCollection",
)
#: The label of the authenticator's P_SHA1 seed (WCF's ``CombinedHashLabel``).
AUTH_LABEL = b"AUTH-HASH"
#: The authenticator's length (WCF's ``NegotiationAuthenticatorSize``, 256 bits).
AUTHENTICATOR_BYTES = 32
#: How long the negotiated ("transition") SCT lives: WCF's standard bindings' 15 minutes.
TRANSITION_LIFETIME = 15 * 60
#: Largest GSS token accepted in one BinaryExchange (decoded). A Kerberos AP-REQ with a large
#: PAC is ~12 KiB; the message itself is capped by max_received_message_size.
MAX_TOKEN_BYTES = 48 * 1024
#: Legs a service answers in one negotiation (SPNEGO with NTLM takes two; Kerberos one).
MAX_LEGS = 4


# --- the GSS context (pyspnego) --------------------------------------------------------------
class GssContext(Protocol):
    """What this module asks of a pyspnego context (``spnego.ContextProxy``)."""

    @property
    def complete(self) -> bool: ...

    def step(self, in_token: bytes | None = None) -> bytes | None: ...

    def wrap(self, data: bytes, encrypt: bool = True) -> Any: ...

    def unwrap(self, data: bytes) -> Any: ...


#: DER of the Kerberos 5 and SPNEGO mechanism OIDs (1.2.840.113554.1.2.2, 1.3.6.1.5.5.2).
_KRB5_OID = bytes.fromhex("06092a864886f712010202")
_SPNEGO_OID = bytes.fromhex("06062b0601050502")


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    width = (n.bit_length() + 7) // 8
    size = bytes([n]) if n < 0x80 else bytes([0x80 | width]) + n.to_bytes(width, "big")
    return bytes([tag]) + size + body


def neg_token_init(krb5_token: bytes) -> bytes:
    """RFC 4178's initial token offering Kerberos alone, with its token optimistically inside
    (no mechListMIC: the one mechanism offered is the one used)."""
    mech_types = _der(0xA0, _der(0x30, _KRB5_OID))
    mech_token = _der(0xA2, _der(0x04, krb5_token))
    return _der(0x60, _SPNEGO_OID + _der(0xA0, _der(0x30, mech_types + mech_token)))


@dataclass(slots=True)
class _CxfInitiator:
    """SPNEGO as CXF's service needs it (``Compatibility.spnego="cxf"``): a Kerberos context
    without mutual authentication, complete after its first token, that token sent in an
    RFC 4178 NegTokenInit (CXF's JDK acceptor must answer with a token, and answers a
    NegTokenInit with one that CXF then drops, FINDINGS S3). Wrap and unwrap are
    Kerberos' own, as under SPNEGO."""

    inner: Any

    @property
    def complete(self) -> bool:
        return bool(self.inner.complete)

    def step(self, in_token: bytes | None = None) -> bytes | None:
        if in_token is not None:
            raise NegotiationFailed("CXF's dialect takes no token from the service")
        out: bytes = self.inner.step(None)
        return neg_token_init(out)

    def wrap(self, data: bytes, encrypt: bool = True) -> Any:
        return self.inner.wrap(data, encrypt=encrypt)

    def unwrap(self, data: bytes) -> Any:
        return self.inner.unwrap(data)


def _spnego() -> Any:
    try:
        import spnego
    except ModuleNotFoundError as exc:
        raise missing_extra(exc, "the SPNEGO bootstrap") from None
    return spnego


def _gss_errors() -> tuple[type[BaseException], ...]:
    """What a GSS call may raise for a token it refuses: pyspnego's SpnegoError, and (seen
    with MIT for a ticket under an unknown key) an AttributeError from python-gssapi. Any
    exception from the library is an authentication failure: it fails closed."""
    return (Exception,)


def _context_req() -> Any:
    # WCF's ISC/ASC flags: Confidentiality | ReplayDetect | SequenceDetect (+ MutualAuth).
    req = _spnego().ContextReq
    return req.mutual_auth | req.confidentiality | req.integrity | req.replay_detect | req.sequence_detect


@dataclass(frozen=True, slots=True)
class SpnegoClientCredentials:
    """How a client authenticates: a target SPN, and a Kerberos ccache or keytab, or a
    username and password (Kerberos where a KDC answers, else NTLM)."""

    spn: str
    username: str | None = None
    password: str | None = None
    ccache: str | None = None
    keytab: str | None = None
    #: "negotiate" (WCF's package: Kerberos, NTLM fallback), "kerberos" or "ntlm"
    protocol: str = "negotiate"

    def context(self, dialect: str = "wcf", context_req: Any = None) -> GssContext:
        """A new initiator context. ``dialect``: ``"wcf"``, or ``"cxf"`` for a `_CxfInitiator`;
        ``context_req``: its flags (default WCF's SPNEGO flags, with mutual authentication)."""
        spnego = _spnego()
        service, _, host = self.spn.partition("/")
        if not host:
            raise ConfigurationError(f"the SPN {self.spn!r} is not of the form service/host")
        host = host.split("@", 1)[0]
        creds: Any
        if self.keytab is not None:
            creds = spnego.KerberosKeytab(self.keytab, principal=self.username)
        elif self.ccache is not None:
            creds = spnego.KerberosCCache(self.ccache, principal=self.username)
        elif self.password is not None:
            creds = spnego.Password(self.username or "", self.password)
        else:
            creds = self.username  # the default ccache (KRB5CCNAME)
        if dialect == "cxf":
            if self.protocol == "ntlm":
                raise ConfigurationError("CXF's SPNEGO speaks Kerberos only")
            req = _context_req() & ~spnego.ContextReq.mutual_auth
            inner = spnego.client(creds, hostname=host, service=service, protocol="kerberos", context_req=req)
            return _CxfInitiator(inner)
        ctx: GssContext = spnego.client(
            creds,
            hostname=host,
            service=service,
            protocol=self.protocol,
            context_req=_context_req() if context_req is None else context_req,
        )
        return ctx


# --- XML helpers --------------------------------------------------------------------------------
def _canonical(el: etree._Element) -> bytes:
    """The unit WCF hashes: the element alone, whitespace-only text between elements dropped,
    exclusive C14N without comments."""
    c = copy.deepcopy(el)
    for node in c.iter():
        if len(node) and node.text is not None and not node.text.strip():
            node.text = None
        if node is not c and node.tail is not None and not node.tail.strip():
            node.tail = None
    c.tail = None
    return exc_c14n(c)


def _exchange(parent: etree._Element, trust: TrustVersion, token: bytes, dialect: str = "wcf") -> None:
    be = x.sub(parent, trust, "BinaryExchange", base64.b64encode(token).decode("ascii"))
    be.set("ValueType", ns.CXF_SPNEGO_VALUE_TYPE[trust.ns] if dialect == "cxf" else ns.SPNEGO_VALUE_TYPE)
    be.set("EncodingType", ns.WSS_BASE64)


def _value_types(trust: TrustVersion, dialect: str) -> frozenset[str]:
    """The BinaryExchange ValueTypes accepted: WCF's; with CXF's dialect also CXF's
    (``…/200512/spnego`` under Trust 1.3)."""
    if dialect == "cxf":
        return frozenset({ns.SPNEGO_VALUE_TYPE, ns.CXF_SPNEGO_VALUE_TYPE[trust.ns]})
    return frozenset({ns.SPNEGO_VALUE_TYPE})


def _read_exchange(
    el: etree._Element, trust: TrustVersion, required: bool, dialect: str = "wcf"
) -> bytes | None:
    found = [c for c in x.children(el) if c.tag == x.tq(trust, "BinaryExchange")]
    if not found:
        if required:
            raise InvalidRequest("the negotiation leg carries no BinaryExchange")
        return None
    if len(found) > 1:
        raise InvalidRequest("the negotiation leg carries more than one BinaryExchange")
    be = found[0]
    if be.get("ValueType") not in _value_types(trust, dialect):
        raise InvalidRequest(
            f"the BinaryExchange ValueType {printable(be.get('ValueType'), 120)!r} is not SPNEGO's"
        )
    text = "".join((be.text or "").split())
    if len(text) > MAX_TOKEN_BYTES * 2:
        raise InvalidRequest(f"the BinaryExchange is larger than {MAX_TOKEN_BYTES} bytes")
    encoding = be.get("EncodingType")
    try:
        if encoding == ns.WSS_BASE64:
            data = base64.b64decode(text, validate=True)
        elif encoding == ns.WSS_HEX:
            data = bytes.fromhex(text)
        else:
            raise InvalidRequest(
                f"the BinaryExchange EncodingType {printable(encoding, 120)!r} is neither Base64Binary "
                "nor HexBinary"
            )
    except (binascii.Error, ValueError):
        raise InvalidRequest("the BinaryExchange is not well-formed base64 or hex") from None
    if not data or len(data) > MAX_TOKEN_BYTES:
        raise InvalidRequest(f"the BinaryExchange is empty or larger than {MAX_TOKEN_BYTES} bytes")
    return data


def _without_tokens(rstr: etree._Element, trust: TrustVersion) -> etree._Element:
    """The final RSTR as the transcript takes it: without RequestedSecurityToken and
    RequestedProofToken."""
    c = copy.deepcopy(rstr)
    for child in list(c):
        if child.tag in (x.tq(trust, "RequestedSecurityToken"), x.tq(trust, "RequestedProofToken")):
            c.remove(child)
    return c


def authenticator(key: bytes, transcript_sha1: bytes) -> bytes:
    """WCF's CombinedHash: P_SHA1(key, "AUTH-HASH" ‖ SHA-1(transcript)), 32 bytes."""
    return p_sha1(key, AUTH_LABEL + transcript_sha1, AUTHENTICATOR_BYTES)


def _lifetime(response: TokenResponse) -> tuple[float | None, float | None]:
    lt = response.lifetime
    return (None, None) if lt is None else (lt.created, lt.expires)


# --- the client half ----------------------------------------------------------------------------
def _refused(detail: str) -> InvalidSecurity:
    log.warning("SPNEGO negotiation refused: %s", detail)
    return InvalidSecurity(detail)


@dataclass(frozen=True, slots=True)
class SpnegoClient:
    """Before negotiating: it only knows how to negotiate (`negotiate`)."""

    credentials: SpnegoClientCredentials

    def negotiate(self, policy: MessagePolicy, now: float) -> ClientNegotiation:
        trust = policy.sc.trust
        context = f"uuid-{uuid.uuid4()}-1"
        try:
            gss = self.credentials.context(policy.spnego)
            token = gss.step(None)
        except _gss_errors() as exc:
            raise _refused(f"the SPNEGO context could not start: {printable(str(exc), 300)}") from None
        transcript = hashlib.sha1()
        payload = x.trust_element(trust, RST)
        payload.set("Context", context)
        x.sub(payload, trust, "TokenType", policy.sc.sct_token_type)
        x.sub(payload, trust, "RequestType", trust.issue)
        x.sub(payload, trust, "KeySize", str(policy.suite.symmetric_key_bits))
        _exchange(payload, trust, token or b"", policy.spnego)
        action = trust.rst_issue
        for _ in range(MAX_LEGS + 1):
            transcript.update(_canonical(payload))
            reply = yield NegotiationLeg(action, payload)
            if reply.tag == x.tq(trust, RSTRC):
                return self._finish(gss, reply, context, transcript, policy)
            if reply.tag != x.tq(trust, RSTR) or reply.get("Context") != context:
                raise _refused("the reply is not an RSTR of this negotiation (Context)")
            in_token = _read_exchange(reply, trust, required=True, dialect=policy.spnego)
            transcript.update(_canonical(reply))
            if gss.complete:
                raise _refused("the service sent another token after the context completed")
            try:
                token = gss.step(in_token)
            except _gss_errors() as exc:
                raise _refused(
                    f"the service's SPNEGO token was refused: {printable(str(exc), 300)}"
                ) from None
            if not token:
                raise _refused("the SPNEGO context has no token to send and the service wants one")
            payload = x.trust_element(trust, RSTR)
            payload.set("Context", context)
            _exchange(payload, trust, token, policy.spnego)
            action = trust.rstr_issue
        raise _refused(f"the negotiation took more than {MAX_LEGS} legs")

    def _finish(
        self,
        gss: GssContext,
        rstrc: etree._Element,
        context: str,
        transcript: Any,
        policy: MessagePolicy,
    ) -> SpnegoNegotiated:
        trust = policy.sc.trust
        cxf = policy.spnego == "cxf"
        rstrs = x.children(rstrc)
        if any(r.tag != x.tq(trust, RSTR) for r in rstrs) or len(rstrs) not in (1, 2):
            raise _refused("the final reply is not an RSTRC of two RSTRs")
        if len(rstrs) == 1 and not cxf:
            raise _refused("the final reply does not contain an authenticator")
        if len(rstrs) == 1:  # CXF's service: no authenticator RSTR (FINDINGS S4)
            final, auth_rstr = rstrs[0], None
        else:
            final, auth_rstr = rstrs
        if final.get("Context") != context or (auth_rstr is not None and auth_rstr.get("Context") != context):
            raise _refused("the final reply is not of this negotiation (Context)")
        try:
            response = TokenResponse.from_xml(final, trust)
        except WsscError as exc:
            raise _refused(f"the final RSTR is malformed: {exc.detail or exc.reason}") from None
        if response.token_type != policy.sc.sct_token_type:
            raise _refused("the final RSTR's TokenType is not the SCT's")
        last = _read_exchange(final, trust, required=False, dialect=policy.spnego)
        try:
            if last is not None:
                if gss.complete:
                    raise _refused("the service sent a token after the context completed")
                if gss.step(last):
                    raise _refused("the SPNEGO context wants another leg after the final reply")
            if not gss.complete:
                raise _refused("the SPNEGO context is not complete after the final reply")
            proof = response.proof
            if not isinstance(proof, OpaqueProof) or proof.element.tag != f"{{{ns.XENC}}}EncryptedKey":
                raise _refused("the RequestedProofToken is not an xenc:EncryptedKey")
            method = proof.element.find(f"{{{ns.XENC}}}EncryptionMethod")
            wraps = {ns.GSS_WRAP, ns.CXF_GSS_WRAP[trust.ns]} if cxf else {ns.GSS_WRAP}
            if method is None or method.get("Algorithm") not in wraps:
                raise _refused("the proof key is not wrapped with GSS_Wrap")
            cipher = proof.element.findtext(f"{{{ns.XENC}}}CipherData/{{{ns.XENC}}}CipherValue") or ""
            try:
                sealed = base64.b64decode("".join(cipher.split()), validate=True)
            except (binascii.Error, ValueError):
                raise _refused("the wrapped proof key is not base64") from None
            unwrapped = gss.unwrap(sealed)
        except _gss_errors() as exc:
            raise _refused(f"the final SPNEGO reply was refused: {printable(str(exc), 300)}") from None
        if not getattr(unwrapped, "encrypted", False):
            raise _refused("the proof key was not sealed (GSS_Wrap without confidentiality)")
        key: bytes = unwrapped.data
        bits = len(key) * 8
        if response.key_size is not None and response.key_size != bits:
            raise _refused("the proof key's length is not the KeySize")
        try:
            check_key_size(bits, policy.suite)
        except InvalidRequest as exc:
            raise _refused(exc.detail or exc.reason) from None
        if auth_rstr is None:
            # CXF's dialect only (Compatibility.spnego="cxf"): nothing binds the legs to the
            # key; the GSS seal of the key is all that authenticates the reply.
            log.info("SPNEGO final reply without an authenticator accepted (CXF's dialect)")
            return SpnegoNegotiated(response.token, key, _lifetime(response))
        transcript.update(_canonical(_without_tokens(final, trust)))
        expected = authenticator(key, transcript.digest())
        kids = x.children(auth_rstr)
        combined = None
        if len(kids) == 1 and kids[0].tag == x.tq(trust, "Authenticator"):
            inner = x.children(kids[0])
            if len(inner) == 1 and inner[0].tag == x.tq(trust, "CombinedHash"):
                combined = inner[0].text or ""
        if combined is None:
            raise _refused("the final reply does not contain an authenticator")
        try:
            got = base64.b64decode("".join(combined.split()), validate=True)
        except (binascii.Error, ValueError):
            got = b""
        if not hmac.compare_digest(got, expected):
            raise _refused("the RequestSecurityTokenResponse CombinedHash is incorrect")
        return SpnegoNegotiated(response.token, key, _lifetime(response))

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        raise ConfigurationError("SPNEGO negotiates first")

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        raise ConfigurationError("SPNEGO negotiates first")

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        raise ConfigurationError("SPNEGO negotiates first")


@dataclass(frozen=True, slots=True)
class SpnegoNegotiated:
    """What a negotiation established: the negotiated SCT and its key. It secures the
    RST/SCT; Renews go under the session's key."""

    sct: SecurityContextToken
    key: bytes
    #: The negotiated token's Lifetime (created, expires), as its RSTR said: a client that
    #: keeps it to protect each message (no secure session) negotiates again before its end.
    lifetime: tuple[float | None, float | None] = (None, None)

    def __repr__(self) -> str:
        return f"SpnegoNegotiated(sct={self.sct.identifier!r})"

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        root = protect(envelope, SctProtection(self.sct, self.key, include=True), policy, now=now)
        return root, ClientContext({self.sct.identifier: self.key})

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        return verify_reply(self.sct, data, ctx, policy, now)

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        return protect(envelope, session, policy, now=now), None


# --- the service half ---------------------------------------------------------------------------
@dataclass(slots=True)
class _Legs:
    """Between legs: the GSS context, the transcript so far, the key size, the legs done."""

    gss: GssContext
    transcript: Any
    key_bits: int
    legs: int
    lock: threading.Lock
    #: The RST was CXF's (it carried ``wst:Renewing``; only under ``Compatibility.spnego="cxf"``):
    #: under WS-Trust Feb 2005 its final reply is the bare negotiation RSTR, as CXF reads it.
    cxf: bool = False


def _why(exc: BaseException) -> str:
    if isinstance(exc, AttributeError):  # python-gssapi, once MIT's accept failed
        return (
            "the Kerberos acceptor established no context from it (a ticket for a key the "
            "service does not hold, or tampered, replayed or expired)"
        )
    return printable(str(exc), 300)


def _principal(gss: Any) -> str:
    name = getattr(gss, "client_principal", None)
    return str(name) if name else ""


_RST_CHILDREN = frozenset({"TokenType", "RequestType", "KeySize", "BinaryExchange", "Context"})
#: What CXF's RST adds (``Compatibility.spnego="cxf"``): its renewal semantics, ignored (the
#: session renews under its own key, whatever the RST asked).
_CXF_RST_CHILDREN = _RST_CHILDREN | {"Renewing"}


@dataclass(frozen=True, slots=True)
class SpnegoService:
    """The service half. ``acceptor`` makes a new GSS acceptor context (one per
    negotiation)."""

    acceptor: Callable[[], GssContext]
    #: The negotiated SCT's Lifetime, seconds (``negotiated_token_lifetime``: WCF's 15 min).
    token_lifetime: float = TRANSITION_LIFETIME

    def _first(self, request: etree._Element, policy: MessagePolicy) -> int:
        """Check the RST as WCF does; returns the key size to issue (bits)."""
        trust, sc = policy.sc.trust, policy.sc
        kids = x.index_children(request, trust)
        extra = sorted(set(kids) - (_CXF_RST_CHILDREN if policy.spnego == "cxf" else _RST_CHILDREN))
        if extra:
            raise InvalidRequest(f"the SPNEGO RST carries {', '.join(extra)}, which SPNEGO does not use")
        if "RequestType" in kids and x.text(kids["RequestType"], "RequestType") != trust.issue:
            raise InvalidRequest("the SPNEGO RST's RequestType is not Issue")
        if "TokenType" in kids and x.text(kids["TokenType"], "TokenType") != sc.sct_token_type:
            raise InvalidRequest("the SPNEGO RST asks for a token other than an SCT")
        bits = x.non_negative_int(kids["KeySize"], "KeySize") if "KeySize" in kids else 0
        if bits:
            check_key_size(bits, policy.suite)
            return bits
        return policy.suite.symmetric_key_bits

    def negotiate(
        self,
        request: etree._Element,
        state: object | None,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
    ) -> NegotiationStep:
        trust = policy.sc.trust
        context = request.get("Context") or ""
        if state is None:
            key_bits = self._first(request, policy)
            in_token = _read_exchange(request, trust, required=True, dialect=policy.spnego)
            cxf = policy.spnego == "cxf" and x.tq(trust, "Renewing") in {c.tag for c in x.children(request)}
            legs = _Legs(self.acceptor(), hashlib.sha1(), key_bits, 0, threading.Lock(), cxf)
        elif isinstance(state, _Legs):
            kids = x.children(request)
            if len(kids) != 1:
                raise InvalidRequest("a SPNEGO continuation RSTR carries one BinaryExchange and nothing else")
            in_token = _read_exchange(request, trust, required=True, dialect=policy.spnego)
            legs = state
        else:
            raise InvalidRequest("the negotiation under this Context is over (its RST/SCT is due)")
        if not legs.lock.acquire(blocking=False):
            raise InvalidRequest("another leg of this negotiation is in progress")
        try:
            return self._step(legs, request, in_token, context, trust, policy, now)
        finally:
            legs.lock.release()

    def _step(
        self,
        legs: _Legs,
        request: etree._Element,
        in_token: bytes | None,
        context: str,
        trust: TrustVersion,
        policy: MessagePolicy,
        now: float,
    ) -> NegotiationStep:
        if legs.legs >= MAX_LEGS:
            raise InvalidRequest(f"the SPNEGO negotiation took more than {MAX_LEGS} legs")
        legs.transcript.update(_canonical(request))
        try:
            out = legs.gss.step(in_token)
            complete = legs.gss.complete
        except _gss_errors() as exc:
            raise NegotiationFailed(f"the SPNEGO token was refused: {_why(exc)}") from None
        if not complete:
            if not out:
                raise NegotiationFailed("the SPNEGO context is incomplete and has no token to send")
            reply = x.trust_element(trust, RSTR)
            reply.set("Context", context)
            _exchange(reply, trust, out)
            legs.transcript.update(_canonical(reply))
            legs.legs += 1
            return NegotiationStep(trust.rstr_issue, reply, legs)
        identity = _principal(legs.gss)
        if not identity:
            raise NegotiationFailed("the SPNEGO context authenticated no principal (anonymous)")
        key = os.urandom(legs.key_bits // 8)
        try:
            sealed = legs.gss.wrap(key, encrypt=True)
        except _gss_errors() as exc:
            raise NegotiationFailed(
                f"the proof key could not be wrapped: {printable(str(exc), 300)}"
            ) from None
        if not sealed.encrypted:
            raise NegotiationFailed("the negotiated context cannot seal (no confidentiality)")
        sc = policy.sc
        sct = SecurityContextToken(f"urn:uuid:{uuid.uuid4()}")
        ek = etree.Element(f"{{{ns.XENC}}}EncryptedKey", nsmap={"e": ns.XENC})
        etree.SubElement(ek, f"{{{ns.XENC}}}EncryptionMethod").set("Algorithm", ns.GSS_WRAP)
        cipher = etree.SubElement(
            etree.SubElement(ek, f"{{{ns.XENC}}}CipherData"), f"{{{ns.XENC}}}CipherValue"
        )
        cipher.text = base64.b64encode(sealed.data).decode("ascii")
        response = TokenResponse(
            sct,
            sc.sct_token_type,
            OpaqueProof(ek),
            None,
            Lifetime(now, now + self.token_lifetime),
            legs.key_bits,
            context,
            SecurityTokenReference.local(sct.wsu_id, sc.sct_token_type),
            SecurityTokenReference.external(sct.identifier, sc.sct_token_type, None, sc.ns),
        )
        final = response.to_xml(sc, wrap=False)
        if out:
            _exchange(final, trust, out)
        legs.transcript.update(_canonical(_without_tokens(final, trust)))
        established = Established(sct, key, identity)
        if legs.cxf and trust.ns != ns.TRUST_13:
            # CXF's client reads a Feb 2005 final reply as one RSTR (its STS WSDL's output) and
            # never an authenticator: FINDINGS S5.
            return NegotiationStep(
                trust.rstr_issue, final, established, keep_for=self.token_lifetime, keep_as=sct.identifier
            )
        rstrc = with_authenticator(trust, final, context, authenticator(key, legs.transcript.digest()))
        return NegotiationStep(
            final_action(trust),
            rstrc,
            established,
            keep_for=self.token_lifetime,
            keep_as=sct.identifier,
        )

    def verify_negotiated(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        negotiated: NegotiatedState,
        replay_cache: ReplayCache | None = None,
    ) -> ServiceResult:
        result, e = verify_under_negotiated(data, transport, policy, now, negotiated, replay_cache, "SPNEGO")
        return service_result(result, e)

    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: KeyResolver | None = None,
    ) -> ServiceResult:
        raise InvalidSecurity("SPNEGO secures nothing before its negotiation")

    def secure_reply(
        self,
        envelope: etree._Element,
        result: ServiceResult,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element:
        return secure_reply(envelope, result, policy, now)

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        return False  # its Renew comes under the session's key

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str | None:
        return None  # the session's key is the proof


_ENV_LOCK = threading.Lock()


def acceptor(
    keytab: str | None = None, ntlm_user_file: str | None = None, protocol: str = "negotiate"
) -> Callable[[], GssContext]:
    """A factory of pyspnego acceptor contexts (one per negotiation). The service's Kerberos
    keys come from ``keytab``, its NTLM accounts from ``ntlm_user_file``: both are
    process-wide, as GSSAPI and pyspnego read them (``KRB5_KTNAME``, ``NTLM_USER_FILE``,
    which this sets); None leaves the environment's."""
    spnego = _spnego()
    with _ENV_LOCK:
        for name, value in (("KRB5_KTNAME", keytab), ("NTLM_USER_FILE", ntlm_user_file)):
            if value is None:
                continue
            if not os.path.isfile(value):
                raise ConfigurationError(f"{name}: no such file {value!r}")
            os.environ[name] = f"FILE:{os.path.abspath(value)}" if name == "KRB5_KTNAME" else value

    def make() -> GssContext:
        try:
            ctx: GssContext = spnego.server(protocol=protocol, context_req=_context_req())
        except _gss_errors() as exc:
            raise NegotiationFailed(f"no acceptor context: {printable(str(exc), 300)}") from None
        return ctx

    return make


# --- policy ---------------------------------------------------------------------------------
class SpnegoPolicy:
    """The WS-SecurityPolicy shape of SspiNegotiated (export and import)::

    <sp:SymmetricBinding><wsp:Policy>
      <sp:ProtectionToken><wsp:Policy>
        <sp:SpnegoContextToken sp:IncludeToken="…/AlwaysToRecipient"><wsp:Policy>
          <sp:RequireDerivedKeys/>
          (SP 1.2: <sp:MustNotSendCancel/><sp:MustNotSendAmend/><sp:MustNotSendRenew/>)
        </wsp:Policy></sp:SpnegoContextToken>
      </wsp:Policy></sp:ProtectionToken>
      <sp:AlgorithmSuite>…</sp:AlgorithmSuite> <sp:Layout>…Strict…</sp:Layout>
      <sp:IncludeTimestamp/> <sp:EncryptSignature/> <sp:OnlySignEntireHeadersAndBody/>
    </wsp:Policy></sp:SymmetricBinding>
    <sp:Wss11><wsp:Policy/></sp:Wss11>
    <sp:Trust10 | sp:Trust13>…</…>
    """

    key = Bootstrap.SPNEGO
    description = (
        "SspiNegotiated: Windows authentication (SPNEGO: Kerberos, NTLM as the fallback) "
        "negotiated over WS-Trust legs; the negotiated token protects the request for the "
        "session token (sp:SymmetricBinding, sp:SpnegoContextToken)"
    )
    needs_service_certificate = False
    shapes = (
        BindingShape(
            "SpnegoContextToken",
            Assertions(TOKEN_ASSERTIONS),
            endorsing_x509=None,
        ),
    )

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        d = w.d
        token = w.token(
            "SpnegoContextToken",
            d.always_to_recipient,
            w.flag("RequireDerivedKeys", settings.require_derived_keys),
            w.flag("MustNotSendCancel", d.is_sp12),
            w.flag("MustNotSendAmend", d.is_sp12),
            w.flag("MustNotSendRenew", d.is_sp12),
        )
        return [
            symmetric_binding(w, settings, token),
            wss11(w),
            trust_assertion(w, settings.key_entropy_mode),
        ]

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        return recognize(self.shapes, reader, binding)


__all__ = [
    "SpnegoClient",
    "SpnegoClientCredentials",
    "SpnegoNegotiated",
    "SpnegoPolicy",
    "SpnegoService",
    "acceptor",
    "authenticator",
]
