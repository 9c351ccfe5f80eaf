"""What SPNEGO and TLSNEGO share once a negotiation is done: the token it established, the
final RSTRC with the authenticator, the service's check of a message under the negotiated SCT,
and the replies under it (both halves).

::

    RSTRC  ─┬─ RSTR  the negotiated SCT, its sealed proof key (GSS_Wrap or TLS_Wrap), Lifetime…
            └─ RSTR  Context; Authenticator/CombinedHash (32 bytes over the negotiation's transcript)

The wrap of the proof key and the transcript are each family's own (`wssc.bootstrap.spnego`,
`wssc.bootstrap.tlsnego`); what follows the last leg is this module's. The service keeps an
`Established` in its negotiated-token cache (`wssc.session.negotiated`) until the RST/SCT takes
it or, without a secure session, for each message until its Lifetime ends.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from wssc.bootstrap.base import ClientContext, NegotiatedState, ServiceResult, TransportInfo
from wssc.errors import InvalidSecurity
from wssc.policy.shapes import SP, names
from wssc.security.inbound import VerifiedMessage, verify
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import SctProtection
from wssc.tokens.sct import SecurityContextToken
from wssc.trust import _xml as x
from wssc.xml import ns
from wssc.xml.ns import TrustVersion

#: What the nested policy of a negotiated token (``sp:SpnegoContextToken``,
#: ``mssp:SslContextToken``) may hold, in WS-SecurityPolicy's namespace or WCF's.
TOKEN_ASSERTIONS = names(
    (SP, ns.MSSP), "RequireDerivedKeys", "MustNotSendCancel", "MustNotSendAmend", "MustNotSendRenew"
)


@dataclass(frozen=True, slots=True)
class Established:
    """After the final leg (service side): the negotiated SCT, its key, the principal."""

    sct: SecurityContextToken
    key: bytes = field(repr=False)
    identity: str


def final_action(trust: TrustVersion) -> str:
    """The final leg's action: ``RSTRC/IssueFinal`` under Trust 1.3, ``RSTR/Issue`` before."""
    return trust.rstrc_issue_final if trust.ns == ns.TRUST_13 else trust.rstr_issue


def with_authenticator(
    trust: TrustVersion, final: etree._Element, context: str, combined_hash: bytes
) -> etree._Element:
    """WCF's final reply: an RSTRC of ``final`` and an RSTR carrying the authenticator."""
    rstrc = x.trust_element(trust, "RequestSecurityTokenResponseCollection")
    rstrc.append(final)
    auth = x.sub(rstrc, trust, "RequestSecurityTokenResponse")
    auth.set("Context", context)
    x.sub(
        x.sub(auth, trust, "Authenticator"),
        trust,
        "CombinedHash",
        base64.b64encode(combined_hash).decode("ascii"),
    )
    return rstrc


def verify_under_negotiated(
    data: bytes | etree._Element,
    transport: TransportInfo,
    policy: MessagePolicy,
    now: float,
    negotiated: NegotiatedState,
    replay_cache: ReplayCache | None,
    family: str,
    issued_keys: Mapping[str, bytes] | None = None,
) -> tuple[VerifiedMessage, Established]:
    """Verify a message (an RST/SCT, or without a session any message) signed by the SCT a
    finished negotiation of ``family`` issued; ``negotiated`` finds it by its identifier.
    ``issued_keys``: the proof keys of the issued tokens validated already (an issued token
    endorsing the message: IssuedTokenForSslNegotiated)."""
    found: list[Established] = []

    def resolve(sct: SecurityContextToken, sc: ns.ScVersion) -> bytes | None:
        if sc.ns != policy.sc.ns:
            return None
        for e in found:
            if e.sct.identifier == sct.identifier:
                return e.key
        state = negotiated(sct.identifier)
        if not isinstance(state, Established):
            raise InvalidSecurity(
                f"the message's SCT is not one a finished {family} negotiation issued "
                "(unknown, expired, or taken by its RST/SCT)"
            )
        found.append(state)
        return state.key

    result = verify(
        data,
        resolver=resolve,
        policy=policy,
        now=now,
        replay_cache=replay_cache,
        replay_partition="peer:" + transport.peer,
        issued_keys=issued_keys,
    )
    signer = result.signing_sct
    if signer is None or not found or signer.identifier != found[0].sct.identifier:
        raise InvalidSecurity("the message is not signed by the SCT its negotiation issued")
    return result, found[0]


def service_result(result: VerifiedMessage, e: Established, identity: str | None = None) -> ServiceResult:
    """What the engine gets: the identity, and the key to secure the reply under."""
    return ServiceResult(
        result, e.identity if identity is None else identity, {e.sct.identifier: e.key}, e.sct.identifier
    )


def secure_reply(
    envelope: etree._Element,
    result: ServiceResult,
    policy: MessagePolicy,
    now: float | None,
    confirmations: Sequence[bytes] | None = None,
) -> etree._Element:
    """The service's reply under the negotiated SCT (referenced, not included), with a signed
    SignatureConfirmation of each of ``confirmations`` (IssuedTokenForSslNegotiated)."""
    ident = result.reply_sha1
    if ident is None or ident not in result.reply_keys:
        raise InvalidSecurity("no negotiated SCT to secure the reply with")
    ref = SecurityContextToken(ident)
    protection = SctProtection(ref, result.reply_keys[ident], include=False)
    return protect(envelope, protection, policy, now=now, confirmations=confirmations)


def verify_reply(
    sct: SecurityContextToken,
    data: bytes | etree._Element,
    ctx: ClientContext,
    policy: MessagePolicy,
    now: float | None,
) -> VerifiedMessage:
    """The client's check of a reply under its negotiated SCT."""
    key = ctx.reply_keys.get(sct.identifier)

    def resolve(got: SecurityContextToken, sc: ns.ScVersion) -> bytes | None:
        return key if got.identifier == sct.identifier and sc.ns == policy.sc.ns else None

    result = verify(data, resolver=resolve, policy=policy, now=now)
    if result.signing_sct is None or result.signing_sct.identifier != sct.identifier:
        raise InvalidSecurity("the reply is not secured by the negotiated SCT")
    return result


__all__ = [
    "TOKEN_ASSERTIONS",
    "Established",
    "final_action",
    "secure_reply",
    "service_result",
    "verify_reply",
    "verify_under_negotiated",
    "with_authenticator",
]
