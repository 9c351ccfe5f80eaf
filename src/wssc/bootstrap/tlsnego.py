"""TLSNEGO: WCF's SslNegotiated bootstraps (AnonymousForSslNegotiated, UserNameForSslNegotiated,
MutualSslNegotiated): a TLS handshake carried in WS-Trust ``BinaryExchange`` elements, as
``../shared/reference/negotiation.md`` (§2.8, §4.2, §7) describes WCF's wire format.

::

    C→S  RST/Issue   <t:RequestSecurityToken Context="uuid-…"> TokenType, RequestType,
                       KeySize, <t:BinaryExchange ValueType=" …/2005/02/trust/tlsnego"
                       EncodingType="…#Base64Binary">ClientHello</t:BinaryExchange>
                     (Feb 2005: the ValueType has WCF's leading space; Trust 1.3: none)
    S→C  RSTR/Issue  ServerHello, Certificate, [CertificateRequest], … (TLS 1.3: … Finished)
    C→S  RSTR/Issue  [Certificate], ClientKeyExchange, [CertificateVerify], CCS, Finished
    S→C  final       RSTRC (Feb 2005: RSTR/Issue; 1.3: RSTRC/IssueFinal) of two RSTRs: the
                     negotiated SCT, its key sealed as ONE TLS application_data record
                     (``…/tlsnego#TLS_Wrap``: the whole record, header included), [the last
                     handshake records: TLS 1.2's CCS + Finished], and the authenticator
                     (CombinedHash, as SPNEGO's: `wssc.bootstrap.spnego.authenticator`)
    C→S  RST/SCT     secured by the negotiated SCT; UserNameForSslNegotiated adds the
                     UsernameToken there, signed and encrypted (never inside TLS)

The TLS is Python's ``ssl`` (OpenSSL) on ``MemoryBIO``/``SSLObject``: TLS 1.2, and 1.3 where
both sides offer it; never below TLS 1.2 nor below the platform's defaults (cipher suites are
OpenSSL's default list). As WCF's Schannel client: no SNI, no host-name check by the TLS
layer; the server certificate is then checked as WCF's ``X509ServiceCertificateAuthentication``
does, by the `CertificateValidator` (ChainTrust, PeerTrust…), and against the endpoint's
identity: a pinned certificate (the WSDL's ``wsid:Identity``, ``service_certificate=``) must
be that certificate, a DNS identity must be one of its names. The client checks it as soon as
its handshake completes, before it sends anything more.

The service never sends session tickets (a TLS 1.3 ticket record ahead of the wrapped key
would break WCF's single-record TLS_Wrap); MutualSslNegotiated asks for the client's
certificate in the first handshake (no renegotiation) and its validator decides on it.

Failures are WCF's: a TLS alert or a refused certificate is the trust ``FailedAuthentication``
fault; anything malformed or out of place ``InvalidRequest``; an RST/SCT that does not verify
``InvalidSecurity``. What failed goes to the service log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import ssl
import tempfile
import threading
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from wssc.bootstrap.base import (
    ClientContext,
    ClientNegotiation,
    NegotiatedState,
    NegotiationLeg,
    NegotiationStep,
    ServiceResult,
    TransportInfo,
    UsernameValidator,
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
from wssc.bootstrap.spnego import (
    RST,
    RSTR,
    RSTRC,
    TRANSITION_LIFETIME,
    _canonical,
    _without_tokens,
    authenticator,
)
from wssc.bootstrap.username_auth import authenticate_username
from wssc.certs import Certificate
from wssc.errors import (
    CertificateRejected,
    ConfigurationError,
    InvalidRequest,
    InvalidSecurity,
    NegotiationFailed,
    WsscError,
)
from wssc.logs import printable
from wssc.policy.shapes import Assertions, BindingFacts, BindingShape, ShapeReader, recognize
from wssc.policy.writer import PolicyWriter, symmetric_binding, trust_assertion, wss11
from wssc.security.inbound import KeyResolver, VerifiedMessage
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.throttle import FailedAuthenticationThrottle
from wssc.security.tokens import SctProtection
from wssc.security.x509_validation import CertificateValidator, KeyPurpose
from wssc.settings import Bootstrap, SecureConversationSettings
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.str_ import SecurityTokenReference
from wssc.tokens.username import UsernameToken
from wssc.trust import _xml as x
from wssc.trust.entropy import check_key_size
from wssc.trust.messages import Lifetime, OpaqueProof, TokenResponse
from wssc.xml import ns
from wssc.xml.ns import TrustVersion
from wssc.xml.soap import Envelope

log = logging.getLogger("wssc.client")

#: Largest blob of TLS records accepted in one BinaryExchange (decoded): a certificate chain
#: of a few certificates fits; the message itself is capped by max_received_message_size.
MAX_BLOB_BYTES = 64 * 1024
#: Legs a service answers in one negotiation (a full TLS 1.2 handshake takes two).
MAX_LEGS = 3
#: The lowest TLS version either side speaks (WCF on current Windows: 1.2, and 1.3 by OS).
MINIMUM_TLS = ssl.TLSVersion.TLSv1_2
_APPLICATION_DATA = 0x17


def value_type(trust: TrustVersion) -> str:
    """The ValueType WCF writes: with its leading space under Feb 2005."""
    return ns.TLSNEGO_VALUE_TYPE if trust.ns == ns.TRUST_13 else ns.TLSNEGO_VALUE_TYPE_2005


def _accepted_value_types(trust: TrustVersion) -> tuple[str, ...]:
    """What a service reads: WCF's Feb 2005 service also takes the spelling without the space
    (and echoes the client's); under 1.3 only the one without."""
    if trust.ns == ns.TRUST_13:
        return (ns.TLSNEGO_VALUE_TYPE,)
    return (ns.TLSNEGO_VALUE_TYPE_2005, ns.TLSNEGO_VALUE_TYPE)


def _exchange(parent: etree._Element, trust: TrustVersion, blob: bytes, vtype: str) -> None:
    be = x.sub(parent, trust, "BinaryExchange", base64.b64encode(blob).decode("ascii"))
    be.set("ValueType", vtype)
    be.set("EncodingType", ns.WSS_BASE64)


def read_exchange(
    el: etree._Element, trust: TrustVersion, accepted: tuple[str, ...], required: bool
) -> tuple[bytes, str] | None:
    """The TLS records of ``el``'s one BinaryExchange and its ValueType (one of ``accepted``),
    or None when it has none and none is ``required``. `InvalidRequest` otherwise."""
    found = [c for c in x.children(el) if c.tag == x.tq(trust, "BinaryExchange")]
    if not found:
        if required:
            raise InvalidRequest("the negotiation leg carries no BinaryExchange")
        return None
    if len(found) > 1:
        raise InvalidRequest("the negotiation leg carries more than one BinaryExchange")
    be = found[0]
    vtype = be.get("ValueType") or ""
    if vtype not in accepted:
        raise InvalidRequest(f"the BinaryExchange ValueType {printable(vtype, 120)!r} is not TLSNEGO's")
    text = "".join((be.text or "").split())
    if len(text) > MAX_BLOB_BYTES * 2:
        raise InvalidRequest(f"the BinaryExchange is larger than {MAX_BLOB_BYTES} bytes")
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
    if not data or len(data) > MAX_BLOB_BYTES:
        raise InvalidRequest(f"the BinaryExchange is empty or larger than {MAX_BLOB_BYTES} bytes")
    return data, vtype


def single_record(data: bytes) -> bool:
    """Is ``data`` exactly one complete TLS application_data record (TLS_Wrap's form)?"""
    return (
        len(data) > 5
        and data[0] == _APPLICATION_DATA
        and data[1] == 3
        and int.from_bytes(data[3:5], "big") == len(data) - 5
    )


def _pem_files(cert: Certificate, directory: str) -> tuple[str, str]:
    """``cert`` and its key as PEM files in a private directory (ssl loads only files)."""
    assert cert.key is not None
    cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    Path(cert_path).write_bytes(cert.cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(
            cert.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return cert_path, key_path


def _load_chain(ctx: ssl.SSLContext, cert: Certificate) -> None:
    if cert.key is None:
        raise ConfigurationError(f"TLSNEGO needs the private key of {cert.subject}")
    with tempfile.TemporaryDirectory(prefix="wssc-tls-") as d:
        ctx.load_cert_chain(*_pem_files(cert, d))


def client_context(certificate: Certificate | None = None) -> ssl.SSLContext:
    """The client's TLS: TLS 1.2 or 1.3, the platform's suites, no verification by OpenSSL (the
    `CertificateValidator` and the identity check decide, as WCF's ValidateManual), no SNI."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = max(MINIMUM_TLS, ctx.minimum_version)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if certificate is not None:
        _load_chain(ctx, certificate)
    return ctx


def server_context(
    certificate: Certificate, client_trust: CertificateValidator | None = None
) -> ssl.SSLContext:
    """The service's TLS: its certificate, no session tickets; with ``client_trust``
    (MutualSslNegotiated) a client certificate is required, and OpenSSL is given the
    validator's authorities and peers (peers as partial-chain anchors) so that it asks for
    one; the validator decides again once the handshake is done."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = max(MINIMUM_TLS, ctx.minimum_version)
    ctx.options |= ssl.OP_NO_TICKET
    ctx.num_tickets = 0
    _load_chain(ctx, certificate)
    if client_trust is not None:
        anchors = (*client_trust.trusted_authorities, *client_trust.trusted_peers)
        if not anchors:
            raise ConfigurationError(
                "MutualSslNegotiated needs a client_certificate_validator with trusted "
                "authorities (ChainTrust) or peers (PeerTrust)"
            )
        pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in anchors)
        ctx.load_verify_locations(cadata=pem)
        ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class _Tls:
    """One side's TLS over memory BIOs: feed it records, take the records it writes."""

    def __init__(self, ctx: ssl.SSLContext, server: bool) -> None:
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_side=server, server_hostname=None)
        self.done = False

    def step(self, data: bytes | None) -> bytes:
        """Feed ``data``, run the handshake as far as it goes; returns what it wrote. An
        `ssl.SSLError` (an alert, a bad record, a refused certificate) propagates."""
        if data:
            self.incoming.write(data)
        try:
            self.obj.do_handshake()
            self.done = True
        except ssl.SSLWantReadError:
            pass
        return self.outgoing.read()

    def post_handshake(self, data: bytes) -> None:
        """Take TLS 1.3 post-handshake records (a NewSessionTicket: JSSE sends one, wssc's
        service none); application data there is refused."""
        if self.obj.version() != "TLSv1.3":
            raise ssl.SSLError("handshake records after a completed TLS 1.2 handshake")
        self.incoming.write(data)
        try:
            if self.obj.read(1):
                raise ssl.SSLError("application data in a handshake blob")
        except ssl.SSLWantReadError:
            pass
        if self.incoming.pending or self.obj.pending():
            raise ssl.SSLError("an incomplete record after the handshake")

    def peer_certificate(self) -> x509.Certificate | None:
        der = self.obj.getpeercert(binary_form=True)
        return x509.load_der_x509_certificate(der) if der else None

    def seal(self, data: bytes) -> bytes:
        self.obj.write(data)
        return self.outgoing.read()

    def open(self, record: bytes) -> bytes:
        self.incoming.write(record)
        data = self.obj.read(1024)
        if self.incoming.pending or self.obj.pending():
            raise ssl.SSLError("more than one record")
        return data


def _refused(detail: str) -> InvalidSecurity:
    log.warning("TLSNEGO negotiation refused: %s", printable(detail, 400))
    return InvalidSecurity(detail)


def _cert_refused(detail: str) -> CertificateRejected:
    log.warning("TLSNEGO negotiation refused: %s", printable(detail, 400))
    return CertificateRejected(detail)


def _dns_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        names = []
    if not names:  # WCF's DNS claim falls back to the subject's CN
        names = [str(a.value) for a in cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]
    return names


def _dns_matches(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def _with_username(policy: MessagePolicy) -> MessagePolicy:
    return replace(
        policy,
        sign_supporting_tokens=True,
        encrypt_supporting_tokens=True,
        require_signed_supporting=True,
        require_encrypted_supporting=True,
    )


# --- the client half ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TlsnegoClient:
    """Before negotiating. The server certificate must satisfy ``validator`` (None: PeerTrust of
    ``pinned``), be ``pinned`` when given (the WSDL identity), and carry ``dns_identity`` when
    given. ``certificate``: the client's (MutualSslNegotiated); ``username``/``password``:
    UserNameForSslNegotiated's UsernameToken, sent in the RST/SCT."""

    validator: CertificateValidator | None = None
    pinned: Certificate | None = None
    dns_identity: str | None = None
    certificate: Certificate | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    #: Test seam: the TLS client context (default `client_context`).
    context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.validator is None and self.pinned is None:
            raise ConfigurationError(
                "TLSNEGO needs to know which server certificate to trust: "
                "service_certificate= (pinned, as the WSDL identity gives it) or "
                "service_certificate_validator=CertificateValidator.chain_trust('ca.pem')"
            )

    def check_server(self, cert: x509.Certificate | None) -> None:
        """WCF's check of the service certificate the handshake presented."""
        if cert is None:
            raise _cert_refused("the service presented no certificate")
        if self.pinned is not None and cert.public_bytes(serialization.Encoding.DER) != self.pinned.der:
            raise _cert_refused(
                f"the service's certificate {printable(cert.subject.rfc4514_string(), 200)!r} is not "
                "the one its identity names (pinned certificate)"
            )
        validator = self.validator or CertificateValidator.peer_trust(self.pinned.cert)  # type: ignore[union-attr]
        try:
            validator.validate(cert, KeyPurpose.SIGNATURE)
        except CertificateRejected as exc:
            raise _cert_refused(f"the service's certificate: {exc.detail or exc.reason}") from None
        if self.dns_identity is not None and not any(
            _dns_matches(n, self.dns_identity) for n in _dns_names(cert)
        ):
            raise _cert_refused(
                f"the service's certificate names {printable(', '.join(_dns_names(cert)), 200)!r}, "
                f"not the DNS identity {printable(self.dns_identity, 120)!r}"
            )

    def negotiate(self, policy: MessagePolicy, now: float) -> ClientNegotiation:
        trust = policy.sc.trust
        vtype = value_type(trust)
        context = f"uuid-{uuid.uuid4()}-1"
        tls = _Tls(self.context or client_context(self.certificate), server=False)
        blob = tls.step(None)
        transcript = hashlib.sha1()
        payload = x.trust_element(trust, RST)
        payload.set("Context", context)
        x.sub(payload, trust, "TokenType", policy.sc.sct_token_type)
        x.sub(payload, trust, "RequestType", trust.issue)
        x.sub(payload, trust, "KeySize", str(policy.suite.symmetric_key_bits))
        _exchange(payload, trust, blob, vtype)
        action = trust.rst_issue
        for _ in range(MAX_LEGS + 1):
            transcript.update(_canonical(payload))
            reply = yield NegotiationLeg(action, payload)
            if reply.tag == x.tq(trust, RSTRC):
                return self._finish(tls, reply, context, transcript, policy)
            if reply.tag != x.tq(trust, RSTR) or reply.get("Context") != context:
                raise _refused("the reply is not an RSTR of this negotiation (Context)")
            try:
                got = read_exchange(reply, trust, (vtype,), required=True)
            except InvalidRequest as exc:
                raise _refused(exc.detail or exc.reason) from None
            assert got is not None
            transcript.update(_canonical(reply))
            if tls.done:
                raise _refused("the service sent more handshake records after the handshake completed")
            try:
                blob = tls.step(got[0])
            except ssl.SSLError as exc:
                raise _refused(f"the TLS handshake failed: {printable(str(exc), 300)}") from None
            if tls.done:
                self.check_server(tls.peer_certificate())
            if not blob:
                raise _refused("the TLS handshake has nothing to send and is not complete")
            payload = x.trust_element(trust, RSTR)
            payload.set("Context", context)
            _exchange(payload, trust, blob, vtype)
            action = trust.rstr_issue
        raise _refused(f"the negotiation took more than {MAX_LEGS} legs")

    def _finish(
        self,
        tls: _Tls,
        rstrc: etree._Element,
        context: str,
        transcript: Any,
        policy: MessagePolicy,
    ) -> TlsnegoNegotiated:
        trust = policy.sc.trust
        rstrs = x.children(rstrc)
        if len(rstrs) != 2 or any(r.tag != x.tq(trust, RSTR) for r in rstrs):
            raise _refused("the final reply is not an RSTRC of two RSTRs")
        final, auth_rstr = rstrs
        if final.get("Context") != context or auth_rstr.get("Context") != context:
            raise _refused("the final reply is not of this negotiation (Context)")
        try:
            response = TokenResponse.from_xml(final, trust)
            last = read_exchange(final, trust, (value_type(trust),), required=False)
        except WsscError as exc:
            raise _refused(f"the final RSTR is malformed: {exc.detail or exc.reason}") from None
        try:
            if last is not None and tls.done:
                tls.post_handshake(last[0])
            elif last is not None:
                if tls.step(last[0]):
                    raise _refused("the TLS handshake wants another leg after the final reply")
                if tls.done:
                    self.check_server(tls.peer_certificate())
            if not tls.done:
                raise _refused("the TLS handshake is not complete after the final reply")
            proof = response.proof
            if not isinstance(proof, OpaqueProof) or proof.element.tag != f"{{{ns.XENC}}}EncryptedKey":
                raise _refused("the RequestedProofToken is not an xenc:EncryptedKey")
            method = proof.element.find(f"{{{ns.XENC}}}EncryptionMethod")
            if method is None or method.get("Algorithm") != ns.TLS_WRAP:
                raise _refused("the proof key is not wrapped with TLS_Wrap")
            cipher = proof.element.findtext(f"{{{ns.XENC}}}CipherData/{{{ns.XENC}}}CipherValue") or ""
            try:
                record = base64.b64decode("".join(cipher.split()), validate=True)
            except (binascii.Error, ValueError):
                raise _refused("the wrapped proof key is not base64") from None
            if not single_record(record):
                raise _refused("the wrapped proof key is not one TLS application_data record")
            key = tls.open(record)
        except ssl.SSLError as exc:
            raise _refused(f"the final TLSNEGO reply was refused: {printable(str(exc), 300)}") from None
        bits = len(key) * 8
        if response.key_size is not None and response.key_size != bits:
            raise _refused("the proof key's length is not the KeySize")
        try:
            check_key_size(bits, policy.suite)
        except InvalidRequest as exc:
            raise _refused(exc.detail or exc.reason) from None
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
        return TlsnegoNegotiated(response.token, key, self.username, self.password, tls.obj.version() or "")

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        raise ConfigurationError("TLSNEGO negotiates first")

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        raise ConfigurationError("TLSNEGO negotiates first")

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        raise ConfigurationError("TLSNEGO negotiates first")


@dataclass(frozen=True, slots=True)
class TlsnegoNegotiated:
    """What a negotiation established: the negotiated SCT and its key (and the UsernameToken to
    send with the RST/SCT). It secures the RST/SCT; Renews go under the session's key."""

    sct: SecurityContextToken
    key: bytes = field(repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    #: the TLS version negotiated ("TLSv1.2", "TLSv1.3")
    tls_version: str = ""

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        protection = SctProtection(self.sct, self.key, include=True)
        if self.username is not None:
            token = UsernameToken(self.username, self.password or "").to_xml()
            root = protect(envelope, protection, _with_username(policy), now=now, supporting=[token])
        else:
            root = protect(envelope, protection, policy, now=now)
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
    """Between legs: the TLS server, the transcript so far, the key size, the ValueType the
    client used (echoed), the legs done."""

    tls: _Tls
    transcript: Any
    key_bits: int
    vtype: str
    legs: int
    lock: threading.Lock

    def __repr__(self) -> str:
        return f"_Legs(legs={self.legs})"


_RST_CHILDREN = frozenset({"TokenType", "RequestType", "KeySize", "BinaryExchange"})


@dataclass(frozen=True, slots=True)
class TlsnegoService:
    """The service half: ``certificate`` (with its key) answers the handshake.
    ``client_validator``: MutualSslNegotiated's check of the client's certificate;
    ``username_validator``: UserNameForSslNegotiated's check of the UsernameToken in the
    RST/SCT (behind ``throttle``)."""

    certificate: Certificate
    client_validator: CertificateValidator | None = None
    username_validator: UsernameValidator | None = None
    throttle: FailedAuthenticationThrottle | None = None
    #: The negotiated SCT's Lifetime, seconds (``negotiated_token_lifetime``: WCF's 15 min).
    token_lifetime: float = TRANSITION_LIFETIME
    _ctx: ssl.SSLContext = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ctx", server_context(self.certificate, self.client_validator))

    def _first(self, request: etree._Element, policy: MessagePolicy) -> int:
        trust, sc = policy.sc.trust, policy.sc
        kids = x.index_children(request, trust)
        extra = sorted(set(kids) - _RST_CHILDREN)
        if extra:
            raise InvalidRequest(f"the TLSNEGO RST carries {', '.join(extra)}, which TLSNEGO does not use")
        if "RequestType" in kids and x.text(kids["RequestType"], "RequestType") != trust.issue:
            raise InvalidRequest("the TLSNEGO RST's RequestType is not Issue")
        if "TokenType" in kids and x.text(kids["TokenType"], "TokenType") != sc.sct_token_type:
            raise InvalidRequest("the TLSNEGO RST asks for a token other than an SCT")
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
            if request.tag != x.tq(trust, RST):
                raise InvalidRequest("a TLSNEGO negotiation starts with an RST")
            key_bits = self._first(request, policy)
            got = read_exchange(request, trust, _accepted_value_types(trust), required=True)
            assert got is not None
            legs = _Legs(_Tls(self._ctx, server=True), hashlib.sha1(), key_bits, got[1], 0, threading.Lock())
        elif isinstance(state, _Legs):
            if request.tag != x.tq(trust, RSTR) or len(x.children(request)) != 1:
                raise InvalidRequest(
                    "a TLSNEGO continuation RSTR carries one BinaryExchange and nothing else"
                )
            got = read_exchange(request, trust, (state.vtype,), required=True)
            assert got is not None
            legs = state
        else:
            raise InvalidRequest("the negotiation under this Context is over (its RST/SCT is due)")
        if not legs.lock.acquire(blocking=False):
            raise InvalidRequest("another leg of this negotiation is in progress")
        try:
            return self._step(legs, request, got[0], context, trust, policy, now)
        finally:
            legs.lock.release()

    def _step(
        self,
        legs: _Legs,
        request: etree._Element,
        blob: bytes,
        context: str,
        trust: TrustVersion,
        policy: MessagePolicy,
        now: float,
    ) -> NegotiationStep:
        if legs.legs >= MAX_LEGS:
            raise InvalidRequest(f"the TLSNEGO negotiation took more than {MAX_LEGS} legs")
        legs.transcript.update(_canonical(request))
        tls = legs.tls
        try:
            out = tls.step(blob)
        except ssl.SSLError as exc:
            raise NegotiationFailed(f"the TLS handshake failed: {printable(str(exc), 300)}") from None
        if not tls.done:
            if not out:
                raise NegotiationFailed("the TLS handshake is incomplete and has nothing to send")
            reply = x.trust_element(trust, RSTR)
            reply.set("Context", context)
            _exchange(reply, trust, out, legs.vtype)
            legs.transcript.update(_canonical(reply))
            legs.legs += 1
            return NegotiationStep(trust.rstr_issue, reply, legs)
        if tls.incoming.pending:
            raise NegotiationFailed("records follow the client's Finished")
        identity = ""
        if self.client_validator is not None:
            cert = tls.peer_certificate()
            if cert is None:
                raise NegotiationFailed("the client presented no certificate (MutualSslNegotiated)")
            try:
                self.client_validator.validate(cert, KeyPurpose.SIGNATURE)
            except CertificateRejected as exc:
                raise NegotiationFailed(f"the client's certificate: {exc.detail or exc.reason}") from None
            identity = cert.subject.rfc4514_string()
        key = os.urandom(legs.key_bits // 8)
        try:
            record = tls.seal(key)
        except ssl.SSLError as exc:
            raise NegotiationFailed(
                f"the proof key could not be sealed: {printable(str(exc), 300)}"
            ) from None
        if not single_record(record):
            raise NegotiationFailed("the TLS layer did not seal the proof key as one record")
        sc = policy.sc
        sct = SecurityContextToken(f"urn:uuid:{uuid.uuid4()}")
        ek = etree.Element(f"{{{ns.XENC}}}EncryptedKey", nsmap={"e": ns.XENC})
        etree.SubElement(ek, f"{{{ns.XENC}}}EncryptionMethod").set("Algorithm", ns.TLS_WRAP)
        cipher = etree.SubElement(
            etree.SubElement(ek, f"{{{ns.XENC}}}CipherData"), f"{{{ns.XENC}}}CipherValue"
        )
        cipher.text = base64.b64encode(record).decode("ascii")
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
            _exchange(final, trust, out, legs.vtype)
        legs.transcript.update(_canonical(_without_tokens(final, trust)))
        rstrc = with_authenticator(trust, final, context, authenticator(key, legs.transcript.digest()))
        return NegotiationStep(
            final_action(trust),
            rstrc,
            Established(sct, key, identity),
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
        username = self.username_validator is not None
        checked = _with_username(policy) if username else policy
        result, e = verify_under_negotiated(
            data, transport, checked, now, negotiated, replay_cache, "TLSNEGO"
        )
        identity = e.identity
        if self.username_validator is not None:
            identity = authenticate_username(
                result.username_token, self.username_validator, self.throttle, transport, now
            )
        return service_result(result, e, identity)

    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: KeyResolver | None = None,
    ) -> ServiceResult:
        raise InvalidSecurity("TLSNEGO secures nothing before its negotiation")

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


# --- policy ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TlsnegoPolicy:
    """The WS-SecurityPolicy shape of the SslNegotiated bootstraps (export and import)::

    <sp:SymmetricBinding><wsp:Policy>
      <sp:ProtectionToken><wsp:Policy>
        <mssp:SslContextToken sp:IncludeToken="…/AlwaysToRecipient"><wsp:Policy>
          <sp:RequireDerivedKeys/>
          (SP 1.2: <sp:MustNotSendCancel/>)
          <mssp:RequireClientCertificate/>            (MutualSslNegotiated only)
          (SP 1.2: <sp:MustNotSendAmend/><sp:MustNotSendRenew/>)
        </wsp:Policy></mssp:SslContextToken>
      </wsp:Policy></sp:ProtectionToken> …
    </wsp:Policy></sp:SymmetricBinding>
    [<sp:SignedEncryptedSupportingTokens> (SP 1.1: SignedSupportingTokens)
       <sp:UsernameToken …/>]                           (UserNameForSslNegotiated only)
    <sp:Wss11><wsp:Policy/></sp:Wss11>  <sp:Trust10 | sp:Trust13>…
    """

    key: Bootstrap
    mutual: bool = False
    username: bool = False
    #: The client pins it (WCF publishes it as the endpoint's identity) or chains it to a CA.
    needs_service_certificate = True

    @property
    def description(self) -> str:
        who = (
            "the client's X.509 certificate in the handshake (mssp:RequireClientCertificate)"
            if self.mutual
            else "a UsernameToken, signed and encrypted, in the request for the session token"
            if self.username
            else "the client stays anonymous"
        )
        return (
            f"{self.key.value}: a TLS handshake negotiated over WS-Trust legs (TLSNEGO) "
            f"authenticates the service by its certificate; {who}; the negotiated token "
            "protects the request for the session token (sp:SymmetricBinding, mssp:SslContextToken)"
        )

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        d = w.d
        token = w.token(
            "SslContextToken",
            d.always_to_recipient,
            w.flag("RequireDerivedKeys", settings.require_derived_keys),
            w.flag("MustNotSendCancel", d.is_sp12),
            w.el(ns.MSSP, "RequireClientCertificate") if self.mutual else None,
            w.flag("MustNotSendAmend", d.is_sp12),
            w.flag("MustNotSendRenew", d.is_sp12),
        )
        token.tag = ns.qn(ns.MSSP, "SslContextToken")
        out = [symmetric_binding(w, settings, token)]
        if self.username:
            username = w.token("UsernameToken", d.always_to_recipient, w.sp("WssUsernameToken10"))
            out.append(w.wrapped(d.username_supporting, username))
        return [*out, wss11(w), trust_assertion(w, settings.key_entropy_mode)]

    @property
    def shapes(self) -> tuple[BindingShape, ...]:
        """The token is in WCF's namespace; ``mssp:RequireClientCertificate`` is there exactly
        when the handshake asks for the client's certificate."""
        if self.username and self.mutual:
            return ()
        client_certificate = frozenset({(ns.MSSP, "RequireClientCertificate")} if self.mutual else ())
        read = Assertions(TOKEN_ASSERTIONS | client_certificate, required=client_certificate)
        return (BindingShape("SslContextToken", read, ns.MSSP, username=self.username, endorsing_x509=None),)

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        return recognize(self.shapes, reader, binding)


__all__ = [
    "TlsnegoClient",
    "TlsnegoNegotiated",
    "TlsnegoPolicy",
    "TlsnegoService",
    "client_context",
    "read_exchange",
    "server_context",
    "single_record",
    "value_type",
]
