"""Kerberos (message mode, ``negotiateServiceCredential="false"``): WCF's one-shot Kerberos
bootstrap. The client gets a ticket for the service's principal and sends its AP-REQ in the
RST/SCT itself; the keys of the message derive from the Kerberos session key::

    <wsse:Security>
      <wsu:Timestamp/>
      <wsse:BinarySecurityToken wsu:Id="uuid-…-krb" EncodingType="…#Base64Binary"
          ValueType="…/oasis-wss-kerberos-token-profile-1.1#GSS_Kerberosv5_AP_REQ">
        YIIC… (RFC 1964 framing: 0x60, the Kerberos OID, 0x0100, the AP-REQ)
      </wsse:BinarySecurityToken>
      <wsc:DerivedKeyToken>… → #uuid-…-krb …</wsc:DerivedKeyToken>  (signature)
      <wsc:DerivedKeyToken>… → #uuid-…-krb …</wsc:DerivedKeyToken>  (encryption)
      <xenc:ReferenceList/> <xenc:EncryptedData>(ds:Signature)</xenc:EncryptedData>
    </wsse:Security>

The reply uses the same key, named by ``KeyIdentifier ValueType="…#Kerberosv5APREQSHA1"``
(base64 SHA-1 of the AP-REQ's octets). No EncryptedKey: WCF's ``KerberosSecurityTokenParameters``
has a symmetric key (``HasAsymmetricKey`` false), so its SymmetricSecurityProtocol signs with
the token's own key (the Kerberos session key; the initiator's subkey, as GSSAPI reports it),
where an X.509 protection token gets a wrapped ephemeral key.

The client asks for no mutual authentication (there is no leg to carry an AP-REP back), so
its GSS context is complete after its one token. The service accepts the AP-REQ with its
keytab and maps the client principal (``alice@REALM``) to the session's identity. It refuses
(each the generic ``InvalidSecurity`` fault, the reason in the service log): an AP-REQ it has
accepted before (its own replay cache, by the token's SHA-1, kept twice the Kerberos clock
skew, on top of MIT's), one the acceptor refuses (wrong key or kvno, tampered, expired), an
anonymous principal, and a message not signed by the AP-REQ's key. A Renew comes as WCF's
does under a one-shot bootstrap: a fresh AP-REQ, the session's SCT endorsing it, from the
session's principal.

The GSS work is pyspnego's (``pip install 'wssc[spnego]'``), over MIT GSSAPI.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from wssc.bootstrap import one_shot
from wssc.bootstrap.base import ClientContext, ServiceResult, TransportInfo
from wssc.bootstrap.spnego import (
    MAX_TOKEN_BYTES,
    GssContext,
    SpnegoClientCredentials,
    _gss_errors,
    _spnego,
)
from wssc.bootstrap.spnego import acceptor as _acceptor
from wssc.errors import ConfigurationError, InvalidSecurity, ServerTooBusy, WsscError
from wssc.logs import printable
from wssc.policy.shapes import SP, Assertions, BindingFacts, BindingShape, ShapeReader, names, recognize
from wssc.policy.writer import PolicyWriter, symmetric_binding, trust_assertion, wss11
from wssc.security.inbound import KeyResolver, VerifiedMessage, verify
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import (
    KerberosProtection,
    KerberosSha1Protection,
    ProtectionToken,
    SctProtection,
    kerberos_sha1,
)
from wssc.settings import Bootstrap, SecureConversationSettings
from wssc.xml import ns
from wssc.xml.parse import parse_xml
from wssc.xml.soap import Envelope

log = logging.getLogger("wssc.service")

#: MIT's default ``clockskew``: an authenticator is accepted within this of its ctime.
KERBEROS_CLOCK_SKEW = 300.0
_BST = f"{{{ns.WSSE}}}BinarySecurityToken"


def _client_flags() -> Any:
    # WCF's Kerberos token provider: no mutual authentication (one leg, no AP-REP).
    req = _spnego().ContextReq
    return req.confidentiality | req.integrity | req.replay_detect | req.sequence_detect


@dataclass(frozen=True, slots=True)
class KerberosClient:
    """The client half: a fresh AP-REQ (a new GSS context) for every message it secures."""

    credentials: SpnegoClientCredentials

    def ap_req(self) -> tuple[bytes, bytes]:
        """A new AP-REQ for the service principal, and its session key."""
        try:
            gss = self.credentials.context(context_req=_client_flags())
            token = gss.step()
            key = bytes(getattr(gss, "session_key"))  # noqa: B009 - pyspnego's, not in the Protocol
        except _gss_errors() as exc:
            raise ConfigurationError(
                f"no Kerberos ticket for {printable(self.credentials.spn, 200)}; nothing was sent. "
                "Check the service principal (spn=, --spn, or the WSDL's wsid:Spn) and the "
                f"credentials (kinit, a keytab, a password): {printable(str(exc), 300)}"
            ) from None
        if not token or not gss.complete or len(key) < 16:
            raise InvalidSecurity("the Kerberos context did not complete in one token")
        return token, key

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        return self._secure(envelope, policy, now, None)

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        """A Renew as WCF sends it under a one-shot bootstrap: a fresh AP-REQ secures it, the
        session's SCT endorses it; the reply comes under the AP-REQ's key."""
        return self._secure(envelope, policy, now, session)

    def _secure(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        now: float | None,
        endorsing: ProtectionToken | Sequence[ProtectionToken] | None,
    ) -> tuple[etree._Element, ClientContext]:
        ap_req, key = self.ap_req()
        token = KerberosProtection(ap_req, key)
        signatures: list[bytes] = []
        root = protect(
            envelope,
            token,
            one_shot.bootstrap_policy(policy),
            now=now,
            signature_values=signatures,
            endorsing=endorsing,
        )
        return root, ClientContext({token.sha1: key}, signatures)

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        result = verify(data, policy=one_shot.bootstrap_policy(policy), kerberos_keys=ctx.reply_keys, now=now)
        if result.signing_kind != "kerberos":
            raise InvalidSecurity("the reply is not secured with the Kerberos session key")
        confirmations = result.signature_confirmations
        if confirmations and sorted(confirmations) != sorted(ctx.request_signatures):
            raise InvalidSecurity("the reply's SignatureConfirmation does not match the request's signature")
        return result


@dataclass(slots=True)
class SeenApReqs:
    """The AP-REQs a service accepted, by SHA-1, each until twice the Kerberos clock skew
    after it was first seen (an authenticator is valid within the skew of its ctime, so a
    replay after that is the acceptor's to refuse). Bounded: full of live entries, it refuses
    (`ServerTooBusy`); an AP-REQ the acceptor refuses is released, so only real tickets stay."""

    capacity: int
    keep: float = 2 * KERBEROS_CLOCK_SKEW
    _seen: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self._seen)

    def claim(self, sha1: str, now: float) -> bool:
        """Record ``sha1``, atomically; False when it is recorded (live) already."""
        with self._lock:
            until = self._seen.get(sha1)
            if until is not None and until > now:
                return False
            if len(self._seen) >= self.capacity:
                for k in [k for k, t in self._seen.items() if t <= now]:
                    del self._seen[k]
                if len(self._seen) >= self.capacity:
                    raise ServerTooBusy("the Kerberos AP-REQ replay cache is full")
            self._seen[sha1] = now + self.keep
            return True

    def release(self, sha1: str) -> None:
        """Forget ``sha1``: an AP-REQ the acceptor refused (so that garbage fills nothing)."""
        with self._lock:
            self._seen.pop(sha1, None)


def _refused(detail: str) -> InvalidSecurity:
    log.warning("Kerberos AP-REQ refused: %s", detail)
    return InvalidSecurity(detail)


@dataclass(frozen=True, slots=True)
class KerberosService:
    """The service half. ``acceptor`` makes a GSS acceptor context (one per AP-REQ) from the
    service's keytab."""

    acceptor: Callable[[], GssContext]
    seen: SeenApReqs

    def _ap_req(self, root: etree._Element) -> bytes:
        secs = Envelope(root).security_headers()
        if len(secs) != 1:
            raise InvalidSecurity("the message must carry exactly one wsse:Security header")
        found: list[etree._Element] = []
        for child in secs[0]:
            if child.tag == _BST and child.get("ValueType") == ns.WSS_KERBEROS_AP_REQ:
                found.append(child)
                if len(found) > 1:
                    break
        if len(found) != 1:
            raise _refused(
                "the request carries no Kerberos AP-REQ"
                if not found
                else "the request carries several AP-REQs"
            )
        text = "".join((found[0].text or "").split())
        if len(text) > (MAX_TOKEN_BYTES * 4) // 3 + 4:
            raise _refused(f"the AP-REQ is larger than {MAX_TOKEN_BYTES} bytes")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise _refused("the AP-REQ is not base64") from None

    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: KeyResolver | None = None,
    ) -> ServiceResult:
        """The RST/SCT (or, without secure conversation, any request); with ``endorsing``,
        a Renew: a fresh AP-REQ, and the session's SCT endorsing the signature."""
        root = data if isinstance(data, etree._Element) else parse_xml(bytes(data))
        ap_req = self._ap_req(root)
        sha1 = kerberos_sha1(ap_req)
        # One atomic claim, before any GSS work: a concurrent copy finds it taken.
        if not self.seen.claim(sha1, now):
            raise _refused("a replayed AP-REQ (this very token was accepted before)")
        try:
            gss = self.acceptor()
            reply = gss.step(ap_req)
            complete = gss.complete
            key = bytes(getattr(gss, "session_key"))  # noqa: B009 - pyspnego's, not in the Protocol
            principal = str(getattr(gss, "client_principal", None) or "")
        except _gss_errors() as exc:
            self.seen.release(sha1)  # not a ticket: it holds no place
            raise _refused(f"the Kerberos acceptor refused the AP-REQ: {_why(exc)}") from None
        if reply or not complete:
            # WCF's initiator asks for no mutual authentication (one leg); for one that does,
            # MIT's acceptor makes its own subkey, which only an AP-REP could tell the client.
            raise _refused("the AP-REQ asks for mutual authentication (no leg carries an AP-REP back)")
        if not principal:
            raise _refused("the AP-REQ authenticated no principal (anonymous)")
        if len(key) < 16:
            raise _refused("the Kerberos session key is shorter than 128 bits")
        try:
            result = one_shot.verify_request(
                root,
                one_shot.bootstrap_policy(policy),
                now,
                replay_cache,
                endorsing,
                partition="kerberos:" + principal,
                signed_by=None,  # checked below, with the AP-REQ it names
                kerberos_keys={sha1: key},
            )
        except WsscError as exc:
            log.warning(
                "Kerberos request from %s refused: %s",
                printable(principal, 200),
                printable(exc.detail or exc.reason, 300),
            )
            raise
        if result.signing_kind != "kerberos" or result.encrypted_key_sha1 != sha1:
            raise _refused("the request is not signed with the key of its AP-REQ")
        return one_shot.accepted(result, principal, sha1, key)

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        """A Renew as WCF sends it: a Kerberos AP-REQ in the first Security header."""
        secs = envelope.security_headers()
        return bool(secs) and any(
            c.tag == _BST and c.get("ValueType") == ns.WSS_KERBEROS_AP_REQ for c in secs[0]
        )

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str | None:
        """A Renew signed by the session's key alone (not how WCF sends one) is refused: WCF
        renews through the bootstrap, with a fresh AP-REQ, so a ticket since expired cannot
        keep its session alive."""
        raise InvalidSecurity("the Renew carries no Kerberos AP-REQ")

    def secure_reply(
        self,
        envelope: etree._Element,
        result: ServiceResult,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element:
        return one_shot.secure_reply(
            envelope,
            result,
            one_shot.bootstrap_policy(policy),
            now,
            token=KerberosSha1Protection,
            missing="no Kerberos key to secure the reply with",
        )


def _why(exc: BaseException) -> str:
    if isinstance(exc, AttributeError):  # python-gssapi, once MIT's accept failed
        return (
            "no context from it (a ticket for a key the service does not hold, or tampered, "
            "replayed or expired)"
        )
    return printable(str(exc), 300)


def acceptor(keytab: str | None = None) -> Callable[[], GssContext]:
    """Kerberos acceptor contexts with the service's keys from ``keytab`` (process-wide:
    ``KRB5_KTNAME``; None leaves the environment's)."""
    return _acceptor(keytab, None, protocol="kerberos")


class KerberosPolicy:
    """The WS-SecurityPolicy shape of WCF's Kerberos bootstrap (export and import)::

    <sp:SymmetricBinding><wsp:Policy>
      <sp:ProtectionToken><wsp:Policy>
        <sp:KerberosToken sp:IncludeToken="…/IncludeToken/Once"><wsp:Policy>
          <sp:RequireDerivedKeys/> <sp:WssGssKerberosV5ApReqToken11/>
        </wsp:Policy></sp:KerberosToken>
      </wsp:Policy></sp:ProtectionToken>
      <sp:AlgorithmSuite>…</sp:AlgorithmSuite> <sp:Layout>…Strict…</sp:Layout>
      <sp:IncludeTimestamp/> <sp:EncryptSignature/> <sp:OnlySignEntireHeadersAndBody/>
    </wsp:Policy></sp:SymmetricBinding>
    <sp:Wss11><wsp:Policy/></sp:Wss11>
    <sp:Trust10 | sp:Trust13>…</…>
    """

    key = Bootstrap.KERBEROS
    description = (
        "Kerberos: Windows authentication without negotiation; the client's Kerberos ticket "
        "(an AP-REQ for the service's principal) travels in the request for the session "
        "token, whose keys derive from the Kerberos session key (sp:SymmetricBinding, "
        "sp:KerberosToken WssGssKerberosV5ApReqToken11, IncludeToken=Once)"
    )
    needs_service_certificate = False
    #: wssc sends the GSS-framed AP-REQ only (WCF's token type): exactly one
    #: WssGssKerberosV5ApReqToken11, and nothing this shape does not know.
    shapes = (
        BindingShape(
            "KerberosToken",
            Assertions(
                names((SP,), "RequireDerivedKeys", "WssGssKerberosV5ApReqToken11"),
                required=names((SP,), "WssGssKerberosV5ApReqToken11"),
                unique=names((SP,), "WssGssKerberosV5ApReqToken11"),
            ),
        ),
    )

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        token = w.token(
            "KerberosToken",
            w.d.once,
            w.flag("RequireDerivedKeys", settings.require_derived_keys),
            w.sp("WssGssKerberosV5ApReqToken11"),
        )
        return [
            symmetric_binding(w, settings, token),
            wss11(w),
            trust_assertion(w, settings.key_entropy_mode),
        ]

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        return recognize(self.shapes, reader, binding)


__all__ = [
    "KERBEROS_CLOCK_SKEW",
    "KerberosClient",
    "KerberosPolicy",
    "KerberosService",
    "SeenApReqs",
    "acceptor",
]
