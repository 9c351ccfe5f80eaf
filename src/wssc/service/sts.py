"""A small security token service (`wssc sts`): WS-Trust Issue of SAML 1.1 and 2.0 assertions.

It answers RST/Issue over UserNameOverTransport (HTTPS and a UsernameToken, as ADFS's
``usernamemixed`` endpoint), with a holder-of-key SAML assertion signed with RSA-SHA256 (the
version the RST's ``wst:TokenType`` names; without one, ``token_type``: SAML 1.1 by default,
as WIF's ``SecurityTokenServiceConfiguration.DefaultTokenType`` and ADFS, since WCF's
``IssuedSecurityTokenParameters.TokenType`` is null by default and sends none),
its symmetric proof key encrypted to the relying party's certificate, and the proof key for
the client in the RSTR: a ``ComputedKey`` (P_SHA1 of both entropies) when the client sent
entropy, as WCF's clients do, else the key itself as a ``BinarySecret``. An RST that asks
KeyType Bearer (WS-Trust 1.3's ``…/Bearer``, February 2005's ``…/NoProofKey``) gets a bearer
assertion: no proof key in it or in the RSTR, no entropy.

The relying parties are configured (``AppliesTo`` address -> certificate); a request for
any other is refused, so the STS never issues a token it could not have encrypted for
the right party. With a ``client_certificate_validator`` it also signs users in with a client
certificate over HTTPS (the certificate endorses the Timestamp, as ADFS's ``certificatemixed``
endpoint), at its address + `CERTIFICATE_SUFFIX`; the identity, the issued assertion's
subject, is the certificate's subject. Sans-IO: `SecurityTokenService.handle` takes the
request body and returns the status, content type and body; `sts_app` serves it as an ASGI app.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from wssc.bootstrap.base import BootstrapService, TransportInfo, UsernameValidator
from wssc.bootstrap.registry import ServiceCredentials, certificate_over_tls, username_over_tls
from wssc.certs import Certificate
from wssc.contract.wsdl import metadata_kind
from wssc.errors import InvalidRequest, InvalidSecurity, MalformedXml, WsscError, on_the_wire
from wssc.federation.assertion import SAML2_TOKEN_TYPES, SAML11_TOKEN_TYPES
from wssc.federation.saml2 import SamlAttribute, build_saml2
from wssc.federation.saml11 import build_saml11
from wssc.federation.saml_signature import sign_assertion
from wssc.logs import printable
from wssc.security.policy import MessagePolicy
from wssc.security.x509_validation import CertificateValidator
from wssc.service.sts_metadata import CERTIFICATE_SUFFIX, get_response, is_get, looks_like_get, sts_wsdl
from wssc.settings import LocalServiceSecuritySettings
from wssc.trust.entropy import check_entropy, computed_key, new_entropy
from wssc.trust.issued import IssuedTokenRequest, IssuedTokenResponse, assertion_reference
from wssc.trust.messages import BinarySecret, ComputedKey, Lifetime, SecretType
from wssc.xml import ns
from wssc.xml.ns import TrustVersion
from wssc.xml.parse import parse_xml
from wssc.xml.soap import SOAP_12, Envelope, SoapVersion, fault_from_error, new_envelope

log = logging.getLogger("wssc.service")

#: ADFS issues tokens for 60 minutes by default (``TokenLifetime``).
DEFAULT_TOKEN_LIFETIME = 3600.0
#: WCF's ``MaxReceivedMessageSize``.
DEFAULT_MAX_BODY = 65536
_KEY_BITS = 256

Claims = Callable[[str], tuple[SamlAttribute, ...]]


@dataclass
class SecurityTokenService:
    """``signer``: the STS's certificate with its key; ``issuer``: its name (the assertions'
    ``saml:Issuer``); ``relying_parties``: ``AppliesTo`` address -> the certificate its proof
    keys are encrypted to; ``claims``: a user's attributes (default: none);
    ``client_certificate_validator``: the client certificates a certificate sign-in is
    accepted with (ChainTrust or PeerTrust; None: no certificate sign-in)."""

    signer: Certificate
    issuer: str
    relying_parties: Mapping[str, Certificate]
    validator: UsernameValidator
    claims: Claims | None = None
    lifetime: float = DEFAULT_TOKEN_LIFETIME
    #: What an RST without ``wst:TokenType`` gets (WIF's and ADFS's default: SAML 1.1).
    token_type: str = ns.WSS_SAML11_TOKEN_TYPE
    require_tls: bool = True
    trust: TrustVersion = ns.TRUST_V13
    soap: SoapVersion = SOAP_12
    max_body: int = DEFAULT_MAX_BODY
    clock: Callable[[], float] = time.time
    service_settings: LocalServiceSecuritySettings = field(default_factory=LocalServiceSecuritySettings)
    client_certificate_validator: CertificateValidator | None = None

    def __post_init__(self) -> None:
        # The sign-in (and its login throttle) lives as long as the STS.
        creds = ServiceCredentials(username_validator=self.validator, require_tls=self.require_tls)
        self._sign_in = username_over_tls().service_half(creds, self.service_settings)
        self._certificate_sign_in: BootstrapService | None = None
        if self.client_certificate_validator is not None:
            certs = ServiceCredentials(
                client_certificate_validator=self.client_certificate_validator,
                require_tls=self.require_tls,
            )
            self._certificate_sign_in = certificate_over_tls().service_half(certs, self.service_settings)

    @property
    def _policy(self) -> MessagePolicy:
        sc = ns.SC_V13 if self.trust.ns == ns.TRUST_13 else ns.SC_FEB2005
        return MessagePolicy(sc=sc)

    def handle(
        self, body: bytes, transport: TransportInfo, *, certificate: bool = False
    ) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one POSTed request; ``certificate``: to the
        certificate sign-in's address."""
        relates: str | None = None
        try:
            if len(body) > self.max_body:
                raise MalformedXml("the request is larger than the STS accepts")
            boot = self._sign_in
            if certificate:
                if self._certificate_sign_in is None:
                    raise InvalidSecurity(
                        "a certificate sign-in, and this STS trusts no client certificate "
                        "(wssc sts --client-ca or --trust-client-cert)"
                    )
                boot = self._certificate_sign_in
            now = self.clock()
            result = boot.verify(body, transport, self._policy, now)
            env = result.message.envelope
            relates = env.message_id
            reply = self.issue(env, result.identity, now)
            secured = boot.secure_reply(reply, result, self._policy, now)
            return 200, self.soap.content_type, etree.tostring(secured, xml_declaration=False)
        except WsscError as exc:
            log.info("STS fault %s: %s", exc.code.clark, printable(exc.detail or exc.reason))
            fault = fault_from_error(self.soap, on_the_wire(exc), relates)
            return 500, self.soap.content_type, etree.tostring(fault)

    def issue(self, env: Envelope, identity: str, now: float) -> etree._Element:
        """The reply envelope to an authenticated RST/Issue from ``identity``."""
        if env.action != IssuedTokenRequest.action(self.trust):
            raise InvalidRequest(f"the STS answers only {IssuedTokenRequest.action(self.trust)}")
        payload = env.payload
        if payload is None:
            raise InvalidRequest("the request has no RequestSecurityToken")
        req = IssuedTokenRequest.from_xml(payload, self.trust)
        requested = req.token_type or self.token_type
        if requested in SAML11_TOKEN_TYPES:
            build, token_type = build_saml11, ns.WSS_SAML11_TOKEN_TYPE
        elif requested in SAML2_TOKEN_TYPES:
            build, token_type = build_saml2, ns.WSS_SAML2_TOKEN_TYPE
        else:
            raise InvalidRequest(f"the STS issues SAML 1.1 and 2.0 tokens, not {printable(requested, 200)!r}")
        if req.applies_to is None or req.applies_to not in self.relying_parties:
            raise InvalidRequest(f"no relying party {printable(req.applies_to, 200)} is configured")
        if req.key_type == self.trust.bearer_key:
            return self._issue_bearer(env, req, identity, now, build, token_type)
        bits = req.key_size or _KEY_BITS
        if bits != _KEY_BITS:
            raise InvalidRequest(f"the STS issues {_KEY_BITS}-bit proof keys, not {bits}")
        proof: ComputedKey | BinarySecret
        if req.entropy is not None:
            check_entropy(req.entropy, "the requestor's")
            server_entropy: bytes | None = new_entropy(bits)
            assert server_entropy is not None
            key = computed_key(req.entropy, server_entropy, bits)
            proof = ComputedKey(self.trust.ck_psha1)
        else:
            server_entropy = None
            key = new_entropy(bits)
            proof = BinarySecret(key, SecretType.SYMMETRIC_KEY)
        claims = self.claims(identity) if self.claims is not None else ()
        assertion = sign_assertion(
            build(
                issuer=self.issuer,
                audience=req.applies_to,
                relying_party=self.relying_parties[req.applies_to],
                proof_key=key,
                subject=identity,
                attributes=claims,
                now=now,
                lifetime=self.lifetime,
            ),
            self.signer,
        )
        ref = assertion_reference(assertion)
        rstr = IssuedTokenResponse(
            token=assertion,
            token_type=token_type,
            applies_to=req.applies_to,
            lifetime=Lifetime(now, now + self.lifetime),
            attached_reference=ref,
            unattached_reference=ref,
            proof=proof,
            entropy=server_entropy,
            key_size=bits,
            context=req.context,
        )
        version = "1.1" if token_type == ns.WSS_SAML11_TOKEN_TYPE else "2.0"
        log.info("issued a SAML %s token to %s", version, printable(identity))
        return new_envelope(
            self.soap,
            action=IssuedTokenResponse.action(self.trust),
            relates_to=env.message_id,
            payload=rstr.to_xml(self.trust),
        )

    def _issue_bearer(
        self,
        env: Envelope,
        req: IssuedTokenRequest,
        identity: str,
        now: float,
        build: Callable[..., etree._Element],
        token_type: str,
    ) -> etree._Element:
        """KeyType Bearer: an assertion without a proof key (SubjectConfirmation bearer), no
        proof token and no entropy in the RSTR; the client's entropy, if any, is ignored."""
        assert req.applies_to is not None
        claims = self.claims(identity) if self.claims is not None else ()
        assertion = sign_assertion(
            build(
                issuer=self.issuer,
                audience=req.applies_to,
                relying_party=None,
                proof_key=None,
                subject=identity,
                attributes=claims,
                now=now,
                lifetime=self.lifetime,
            ),
            self.signer,
        )
        ref = assertion_reference(assertion)
        rstr = IssuedTokenResponse(
            token=assertion,
            token_type=token_type,
            applies_to=req.applies_to,
            lifetime=Lifetime(now, now + self.lifetime),
            attached_reference=ref,
            unattached_reference=ref,
            context=req.context,
            key_type=self.trust.bearer_key,
        )
        version = "1.1" if token_type == ns.WSS_SAML11_TOKEN_TYPE else "2.0"
        log.info("issued a bearer SAML %s token to %s", version, printable(identity))
        return new_envelope(
            self.soap,
            action=IssuedTokenResponse.action(self.trust),
            relates_to=env.message_id,
            payload=rstr.to_xml(self.trust),
        )


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def sts_app(
    sts: SecurityTokenService, address: str | None = None
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI app serving ``sts``: RSTs POSTed, the body capped at ``max_body``; its metadata
    (`wssc.service.sts_metadata`) on ``GET ?wsdl`` and to a POSTed WS-Transfer Get. ``address``:
    the endpoint's address in the metadata (default: the listening socket's, and the path)."""
    metadata = _Metadata(sts, address)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        if scope["method"] == "GET" and metadata_kind(scope.get("query_string", b"").decode("latin-1")):
            await _respond(send, 200, "text/xml; charset=utf-8", metadata.wsdl(scope))
            return
        if scope["method"] != "POST":
            await _respond(send, 405, "text/plain", b"POST a WS-Trust RST/Issue (metadata: GET ?wsdl)\n")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            msg = await receive()
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > sts.max_body:
                await _respond(send, 413, "text/plain", b"request too large\n")
                return
            chunks.append(chunk)
            more = msg.get("more_body", False)
        secure = scope.get("scheme") == "https"
        client = scope.get("client") or ("", 0)
        transport = TransportInfo(secure=secure, peer=str(client[0]))
        body = b"".join(chunks)
        answer = metadata.answer_get(body, scope)
        if answer is not None:
            await _respond(send, 200, sts.soap.content_type, answer)
            return
        certificate = str(scope.get("path", "")).endswith(CERTIFICATE_SUFFIX)
        status, ctype, out = await asyncio.to_thread(sts.handle, body, transport, certificate=certificate)
        await _respond(send, status, ctype, out)

    return app


class _Metadata:
    """The STS's WSDL, built once for its address."""

    def __init__(self, sts: SecurityTokenService, address: str | None) -> None:
        self._sts = sts
        self._address = address
        self._doc: etree._Element | None = None

    def _wsdl(self, scope: Scope) -> etree._Element:
        if self._doc is None:
            address = self._address
            if address is None:  # the socket the request came in on, never its Host header
                host, port = scope.get("server") or ("localhost", 443)
                path = str(scope.get("path", ""))
                path = path.removesuffix(CERTIFICATE_SUFFIX)
                address = f"{scope.get('scheme', 'https')}://{host}:{port}{path}"
            certificate_address = None
            if self._sts.client_certificate_validator is not None:
                certificate_address = address + CERTIFICATE_SUFFIX
            self._doc = sts_wsdl(
                address, self._sts.trust, self._sts.soap, certificate_address=certificate_address
            )
        return self._doc

    def wsdl(self, scope: Scope) -> bytes:
        return etree.tostring(self._wsdl(scope), xml_declaration=True, encoding="utf-8")

    def answer_get(self, body: bytes, scope: Scope) -> bytes | None:
        """The GetResponse to a WS-Transfer Get; None for anything else (an RST)."""
        if not looks_like_get(body):
            return None
        try:
            env = Envelope(parse_xml(body))
        except WsscError:
            return None  # sts.handle answers it with its fault
        if not is_get(env):
            return None
        log.info("answered a metadata Get")
        return etree.tostring(get_response(env, copy.deepcopy(self._wsdl(scope))))


async def _respond(send: Send, status: int, ctype: str, body: bytes) -> None:
    headers = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "SAML2_TOKEN_TYPES",
    "SAML11_TOKEN_TYPES",
    "SecurityTokenService",
    "sts_app",
]
