"""The client's half of federation: an RST/Issue to a security token service.

WCF's ``IssuedSecurityTokenProvider`` asks the STS (``sp:IssuedToken``'s ``Issuer``) for a
token for the relying party (``AppliesTo``), signing in with the STS's own bootstrap; here
UserNameOverTransport, as ADFS's ``usernamemixed`` endpoint, or its client certificate over
HTTPS (``client_certificate``: the certificate endorses the Timestamp, as ADFS's
``certificatemixed``). It sends its own entropy and
computes the proof key from both (``ComputedKey`` P_SHA1), or takes the STS's key as a
``BinarySecret``; or, for a bearer endpoint (``bearer``), asks KeyType Bearer and takes a token
without a proof key. The assertion stays opaque to the client: only the relying party can read
its proof key, and checks it.

Sans-IO `StsExchange` (build the request, read the reply), and `request_token` over httpx.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from wssc.bootstrap.base import BootstrapClient, ClientContext
from wssc.bootstrap.registry import (
    BootstrapKind,
    ClientCredentials,
    certificate_over_tls,
    username_encrypted_to_certificate,
    username_over_tls,
)
from wssc.certs import Certificate
from wssc.errors import (
    ConfigurationError,
    InvalidRequest,
    QuotaExceeded,
    TransportError,
    error_from_fault,
    missing_extra,
)
from wssc.federation.assertion import is_assertion, token_type
from wssc.federation.token import IssuedToken
from wssc.http_body import IDENTITY, CappedBody
from wssc.security.policy import MessagePolicy
from wssc.settings import WS2007, WSHTTP, EndpointSettings, SecureConversationSettings
from wssc.trust.entropy import computed_key, new_entropy
from wssc.trust.issued import IssuedTokenRequest, IssuedTokenResponse, assertion_reference
from wssc.trust.messages import BinarySecret, ComputedKey
from wssc.xml import ns
from wssc.xml.ns import TrustVersion
from wssc.xml.parse import parse_xml
from wssc.xml.soap import SOAP_12, Envelope, SoapVersion, new_envelope, read_fault

#: WCF's MaxReceivedMessageSize default, for the binding to the issuer too
MAX_RSTR_BYTES = 64 * 1024

_KEY_BITS = 256


@dataclass(frozen=True, slots=True)
class StsExchange:
    """One Issue exchange with an STS at ``address`` for the relying party ``applies_to``."""

    address: str
    applies_to: str
    username: str
    password: str = field(repr=False)
    #: The ``wst:TokenType`` asked for: the service's ``RequestSecurityTokenTemplate``'s
    #: (`wssc.settings.SecureConversationSettings.issued_token_type`); '' asks for none.
    token_type: str = ns.WSS_SAML2_TOKEN_TYPE
    trust: TrustVersion = ns.TRUST_V13
    soap: SoapVersion = SOAP_12
    entropy: bytes | None = field(default=None, repr=False)
    #: The STS's certificate: sign in with UserNameForCertificate (the RST signed and encrypted
    #: under a key sent to it; Metro's basic STS sample) instead of UserNameOverTransport.
    sts_certificate: Certificate | None = field(default=None, repr=False)
    #: The client's certificate, with its private key: sign in with it over HTTPS (it
    #: endorses the Timestamp; ADFS's ``certificatemixed``) instead of the username.
    client_certificate: Certificate | None = field(default=None, repr=False)
    #: Ask for a bearer token (KeyType Bearer: no proof key, no entropy sent), as a policy
    #: whose ``RequestSecurityTokenTemplate`` asks for one (WCF's ``IssuedKeyType.BearerKey``).
    bearer: bool = False

    def __post_init__(self) -> None:
        if self.client_certificate is not None and self.sts_certificate is not None:
            raise ConfigurationError(
                "sign in to the STS with a client certificate (over HTTPS) or with a username "
                "encrypted to its certificate (sts_certificate=), not both"
            )
        if self.client_certificate is not None and self.client_certificate.key is None:
            raise ConfigurationError("the client certificate for the STS needs its private key")

    @classmethod
    def new(
        cls,
        address: str,
        applies_to: str,
        username: str = "",
        password: str = "",
        token_type: str = ns.WSS_SAML2_TOKEN_TYPE,
        *,
        sts_certificate: Certificate | None = None,
        client_certificate: Certificate | None = None,
        bearer: bool = False,
    ) -> StsExchange:
        """``username``/``password``, or ``client_certificate`` (with its key) to sign in."""
        return cls(
            address,
            applies_to,
            username,
            password,
            token_type,
            entropy=None if bearer else new_entropy(_KEY_BITS),
            sts_certificate=sts_certificate,
            client_certificate=client_certificate,
            bearer=bearer,
        )

    @property
    def _policy(self) -> MessagePolicy:
        if self.sts_certificate is None:
            return MessagePolicy(sc=ns.SC_V13 if self.trust.ns == ns.TRUST_13 else ns.SC_FEB2005)
        family = WS2007 if self.trust.ns == ns.TRUST_13 else WSHTTP
        scs = SecureConversationSettings(
            bootstrap=username_encrypted_to_certificate().key,
            establish_security_context=False,
            message_security_version=family,
        )
        return self._kind().message_policy(EndpointSettings(secure_conversation=scs), "client")

    def _kind(self) -> BootstrapKind:
        if self.client_certificate is not None:
            return certificate_over_tls()
        if self.sts_certificate is None:
            return username_over_tls()
        return username_encrypted_to_certificate()

    def _sign_in(self) -> BootstrapClient:
        if self.client_certificate is not None:
            return self._kind().client_half(ClientCredentials(certificate=self.client_certificate))
        creds = ClientCredentials(
            username=self.username, password=self.password, service_certificate=self.sts_certificate
        )
        return self._kind().client_half(creds)

    def request(self, now: float | None = None) -> bytes:
        return self.prepare(now)[0]

    def prepare(self, now: float | None = None) -> tuple[bytes, ClientContext]:
        """The request, and what `read` needs to verify the reply (the key a
        UserNameForCertificate request sent the STS)."""
        if self.bearer:
            rst = IssuedTokenRequest(
                self.token_type, self.applies_to, None, key_type=self.trust.bearer_key, context=None
            )
        else:
            rst = IssuedTokenRequest(self.token_type, self.applies_to, _KEY_BITS, self.entropy, context=None)
        env = new_envelope(
            self.soap,
            action=IssuedTokenRequest.action(self.trust),
            to=self.address,
            payload=rst.to_xml(self.trust),
        )
        root, ctx = self._sign_in().secure(env, self._policy, now)
        return etree.tostring(root), ctx

    def read(
        self, data: bytes, now: float | None = None, context: ClientContext | None = None
    ) -> IssuedToken:
        env = Envelope(parse_xml(data))
        fault = read_fault(env)
        if fault is not None:
            raise error_from_fault(fault.code, fault.reason)
        verified = self._sign_in().verify_reply(data, context or ClientContext(), self._policy, now)
        if verified.envelope.action != IssuedTokenResponse.action(self.trust):
            raise InvalidRequest("the STS's reply is not an Issue response")
        payload = verified.envelope.payload
        if payload is None:
            raise InvalidRequest("the STS's reply has no RSTR")
        rstr = IssuedTokenResponse.from_xml(payload, self.trust)
        if not is_assertion(rstr.token):
            raise InvalidRequest("the STS did not return a SAML 1.1 or 2.0 assertion")
        if rstr.applies_to is not None and rstr.applies_to != self.applies_to:
            raise InvalidRequest("the STS issued the token for another relying party")
        key: bytes | None
        if self.bearer:
            if rstr.proof is not None or rstr.key_type not in (None, self.trust.bearer_key):
                raise InvalidRequest("the STS did not return a bearer token (KeyType Bearer, no proof key)")
            key = None
        elif isinstance(rstr.proof, ComputedKey):
            if rstr.proof.algorithm != self.trust.ck_psha1:
                raise InvalidRequest("unsupported ComputedKey algorithm")
            if self.entropy is None or rstr.entropy is None:
                raise InvalidRequest("a ComputedKey needs both entropies")
            key = computed_key(self.entropy, rstr.entropy, rstr.key_size or _KEY_BITS)
        elif isinstance(rstr.proof, BinarySecret):
            key = rstr.proof.value
        else:
            raise InvalidRequest("the STS returned no proof key (bearer tokens are not supported)")
        ref = rstr.attached_reference or assertion_reference(rstr.token)
        expires = rstr.lifetime.expires if rstr.lifetime is not None else None
        return IssuedToken(rstr.token, key, ref, token_type(rstr.token), expires)


def rstr_reader(headers: Mapping[str, str], limit: int = MAX_RSTR_BYTES) -> CappedBody:
    """What reads an STS's reply (its raw body, fed chunk by chunk): `QuotaExceeded` past
    ``limit`` bytes, the rest unread; a gzip body decoded a bounded output at a time."""

    def too_large(size: int, declared: bool) -> QuotaExceeded:
        got = f"{size} bytes" if declared else "more than that"
        return QuotaExceeded(
            f"the STS's reply is {got}, over max_received_message_size ({limit} bytes; WCF's "
            "MaxReceivedMessageSize of the issuer binding): not read further",
            limit="max_received_message_size",
            value=limit,
        )

    def undecodable(reason: str) -> TransportError:
        return TransportError(f"the STS's reply could not be read: {reason}")

    return CappedBody(
        limit,
        too_large,
        headers.get("content-encoding"),
        headers.get("content-length"),
        undecodable=undecodable,
    )


def request_token(
    exchange: StsExchange,
    *,
    verify: bool | str | ssl.SSLContext = True,
    timeout: float = 30.0,
    max_received_message_size: int = MAX_RSTR_BYTES,
) -> IssuedToken:
    """POST ``exchange``'s request to the STS and read its token. The reply is read raw and
    never past ``max_received_message_size`` (WCF's default for the issuer binding, 64 KiB):
    past it, `QuotaExceeded`, the rest unread."""
    try:
        import httpx
    except ModuleNotFoundError as exc:
        raise missing_extra(exc, "requesting a token from an STS") from None
    from wssc.client.common import read_reply

    if not exchange.address.startswith("https://") and exchange.client_certificate is not None:
        raise ConfigurationError("a certificate sign-in to the STS goes over HTTPS only")
    if not exchange.address.startswith("https://") and exchange.sts_certificate is None:
        raise ConfigurationError(
            "the STS is reached over HTTPS (it is sent the password), or over HTTP with "
            f"{username_encrypted_to_certificate().key.value} (sts_certificate=: the password is "
            "encrypted to it)"
        )
    ctx: bool | ssl.SSLContext = (
        ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
    )
    body, context = exchange.prepare(time.time())
    action = IssuedTokenRequest.action(exchange.trust)
    headers = {"content-type": f'{exchange.soap.content_type}; charset=utf-8; action="{action}"'}
    try:
        with (
            httpx.Client(verify=ctx, timeout=timeout) as h,
            h.stream("POST", exchange.address, content=body, headers={**headers, **IDENTITY}) as r,
        ):
            data = read_reply(r, lambda headers: rstr_reader(headers, max_received_message_size))
    except httpx.HTTPError as exc:
        raise TransportError(f"the STS at {exchange.address} could not be reached: {exc}") from None
    if not data:
        raise TransportError(f"the STS answered HTTP {r.status_code} with no body")
    return exchange.read(data, time.time(), context)


__all__ = ["MAX_RSTR_BYTES", "IssuedToken", "StsExchange", "request_token", "rstr_reader"]
