"""IssuedToken (federation): a SAML 1.1 or 2.0 assertion from a security token service, its
symmetric proof key the message key (WCF's ``SecurityBindingElement
.CreateIssuedTokenBindingElement`` with ``IssuedSecurityTokenParameters``, KeyType
SymmetricKey; ``wsFederationHttpBinding``/``ws2007FederationHttpBinding``)::

    <wsse:Security>
      <wsu:Timestamp/>
      <saml:Assertion ID="_a">…holder-of-key: the proof key encrypted to the service…</…>
      <wsc:DerivedKeyToken>(STR: KeyIdentifier ValueType="…#SAMLID">_a<, TokenType …#SAMLV2.0)</…>
      <xenc:ReferenceList/> <xenc:EncryptedData>(ds:Signature by the derived key)</…>
    </wsse:Security>

A SAML 1.1 assertion is named by its ``AssertionID`` (KeyIdentifier ``…#SAMLAssertionID``,
TokenType ``…#SAMLV1.1``), as WCF's ``SamlSecurityToken``; everything else is the same.

The client obtains the token first (`wssc.client.sts`) and passes it as
``ClientCredentials(issued_token=…)``. The service validates the assertion before anything
else in the header (`wssc.federation.saml_checks`: the issuer's signature against the
configured issuer certificates, audience, lifetime with skew, the proof key; one RSA public
and one RSA private operation), then verifies the message with that proof key alone: a
message not signed with it (no proof of possession) is refused. The identity is the
assertion's subject (NameID; SAML 1.1's NameIdentifier). The reply is secured with the same
proof key, the assertion named by its ID and not repeated. With
``establish_security_context`` on, the issued token bootstraps an SCT as any other bootstrap
does; off, every message carries it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from wssc.bootstrap import one_shot
from wssc.bootstrap.base import ClientContext, ServiceResult, TransportInfo
from wssc.errors import ConfigurationError, InvalidSecurity
from wssc.federation.assertion import SAML2_TAG, SAML11_TAG, is_assertion, read_assertion
from wssc.federation.saml_checks import IssuedTokenValidator
from wssc.federation.token import IssuedToken
from wssc.policy.shapes import BindingFacts, BindingShape, ShapeReader, derived_anywhere, recognize
from wssc.policy.writer import PolicyWriter, symmetric_binding, trust_assertion, wss11
from wssc.security.inbound import KeyResolver, VerifiedMessage, verify
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import IssuedTokenProtection, SctProtection
from wssc.settings import Bootstrap, SecureConversationSettings
from wssc.xml import ns
from wssc.xml.parse import parse_xml
from wssc.xml.soap import Envelope

#: The `VerifiedMessage.signing_kind` of a key from an issued token.
ISSUED_KINDS = frozenset({"saml2", "saml11"})


_policy = one_shot.bootstrap_policy


@dataclass(frozen=True, slots=True)
class IssuedTokenClient:
    """The client half: the token and its proof key, from the STS."""

    token: IssuedToken

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        prot = IssuedTokenProtection(self.token.assertion, self.token.key)
        root = protect(envelope, prot, _policy(policy), now=now)
        return root, ClientContext({self.token.token_id: self.token.key})

    def verify_reply(
        self,
        data: bytes | etree._Element,
        ctx: ClientContext,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> VerifiedMessage:
        result = verify(data, policy=_policy(policy), issued_keys=ctx.reply_keys, now=now)
        if result.signing_kind not in ISSUED_KINDS:
            raise InvalidSecurity("the reply is not secured with the issued token's proof key")
        return result

    def secure_renew(
        self,
        envelope: etree._Element,
        policy: MessagePolicy,
        session: SctProtection,
        now: float | None = None,
    ) -> tuple[etree._Element, ClientContext | None]:
        """A Renew is secured as the RST was, the session's SCT endorsing it."""
        prot = IssuedTokenProtection(self.token.assertion, self.token.key)
        root = protect(envelope, prot, _policy(policy), now=now, endorsing=session)
        return root, ClientContext({self.token.token_id: self.token.key})


@dataclass(frozen=True, slots=True)
class IssuedTokenService:
    """The service half: ``validator`` holds the trusted issuers, the audiences and the
    service certificate the proof keys are encrypted to."""

    validator: IssuedTokenValidator

    def verify(
        self,
        data: bytes | etree._Element,
        transport: TransportInfo,
        policy: MessagePolicy,
        now: float,
        replay_cache: ReplayCache | None = None,
        endorsing: KeyResolver | None = None,
    ) -> ServiceResult:
        root = data if isinstance(data, etree._Element) else parse_xml(data)
        issued = self.validator.validate(issued_assertion(Envelope(root)), now, peer=transport.peer)
        if issued.proof_key is None:
            raise InvalidSecurity("the issued token has no proof key")
        ident = issued.assertion.assertion_id
        result = one_shot.verify_request(
            root,
            _policy(policy),
            now,
            replay_cache,
            endorsing,
            partition="peer:" + transport.peer,
            signed_by=None,
            issued_keys={ident: issued.proof_key},
        )
        if result.signing_kind not in ISSUED_KINDS:
            raise InvalidSecurity("the message is not signed with the issued token's proof key")
        subject = issued.assertion.subject or ""
        return ServiceResult(result, subject, {ident: issued.proof_key}, ident, issued.claim_set)

    def secured_by_bootstrap(self, envelope: Envelope) -> bool:
        """A Renew secured as the RST was: an issued token in the first Security header."""
        secs = envelope.security_headers()
        return bool(secs) and any(is_assertion(el) for el in secs[0])

    def renew_identity(self, message: VerifiedMessage, transport: TransportInfo, now: float) -> str:
        """The Renew carried an issued token again (validated by `verify`); its subject."""
        secs = message.envelope.security_headers()
        found = [el for el in secs[0] if is_assertion(el)] if secs else []
        return (read_assertion(found[0]).subject or "") if len(found) == 1 else ""

    def secure_reply(
        self,
        envelope: etree._Element,
        result: ServiceResult,
        policy: MessagePolicy,
        now: float | None = None,
    ) -> etree._Element:
        ident = result.reply_sha1
        if ident is None:
            raise ConfigurationError("no issued token to secure the reply with")
        stub = etree.Element(SAML11_TAG if result.message.signing_kind == "saml11" else SAML2_TAG)
        stub.set("AssertionID" if stub.tag == SAML11_TAG else "ID", ident)
        prot = IssuedTokenProtection(stub, result.reply_keys[ident], include=False)
        return protect(envelope, prot, _policy(policy), now=now)


def _issuer(sp: str, address: str, metadata: str | None) -> etree._Element:
    """``<sp:Issuer><wsa:Address/><wsa:Metadata><mex:Metadata><mex:MetadataSection>
    <mex:MetadataReference><wsa:Address/>…`` as WCF writes an ``IssuerAddress`` with an
    ``IssuerMetadataAddress``."""
    issuer = etree.Element(f"{{{sp}}}Issuer")
    etree.SubElement(issuer, f"{{{ns.WSA10}}}Address", nsmap={"wsa": ns.WSA10}).text = address
    if metadata is not None:
        md = etree.SubElement(issuer, f"{{{ns.WSA10}}}Metadata")
        section = etree.SubElement(
            etree.SubElement(md, f"{{{ns.MEX}}}Metadata", nsmap={"mex": ns.MEX}),
            f"{{{ns.MEX}}}MetadataSection",
        )
        ref = etree.SubElement(section, f"{{{ns.MEX}}}MetadataReference")
        etree.SubElement(ref, f"{{{ns.WSA10}}}Address").text = metadata
    return issuer


def issued_token_assertion(
    w: PolicyWriter, settings: SecureConversationSettings, *, derived: bool, bearer: bool = False
) -> etree._Element:
    """``<sp:IssuedToken IncludeToken=AlwaysToRecipient>`` as WCF writes its
    ``IssuedSecurityTokenParameters``: ``sp:Issuer`` (when the settings name the STS), the
    ``RequestSecurityTokenTemplate`` (token type, SymmetricKey, 256 bits) and its nested
    policy (``RequireDerivedKeys`` when ``derived``, ``RequireInternalReference``). The
    protection token here; an endorsing supporting token in the bootstraps that endorse with
    it (`wssc.bootstrap.issued_token_over_transport`, `…issued_token_for_certificate`).
    ``bearer``: KeyType Bearer and no KeySize (`wssc.bootstrap.bearer_token_over_transport`)."""
    trust = ns.TRUST_V13 if w.d.is_sp12 else ns.TRUST_FEB2005
    template = etree.Element(f"{{{w.d.ns}}}RequestSecurityTokenTemplate")
    fields = [("TokenType", settings.issued_token_type)]
    if bearer:
        fields.append(("KeyType", trust.bearer_key))
    else:
        fields += [("KeyType", trust.symmetric_key), ("KeySize", "256")]
    for local, text in fields:
        etree.SubElement(template, f"{{{trust.ns}}}{local}").text = text
    token = w.token(
        "IssuedToken",
        w.d.always_to_recipient,
        w.flag("RequireDerivedKeys", derived),
        w.sp("RequireInternalReference"),
    )
    token.insert(0, template)
    if settings.issuer_address is not None:
        token.insert(0, _issuer(w.d.ns, settings.issuer_address, settings.issuer_metadata))
    return token


def issued_assertion(envelope: Envelope) -> etree._Element:
    """The one SAML assertion in the message's one ``wsse:Security`` header; else
    `InvalidSecurity`."""
    secs = envelope.security_headers()
    if len(secs) != 1:
        raise InvalidSecurity("the message has no (or more than one) wsse:Security header")
    assertions = [el for el in secs[0] if is_assertion(el)]
    if len(assertions) != 1:
        raise InvalidSecurity(f"the message carries {len(assertions)} issued tokens, not one")
    return assertions[0]


class IssuedTokenPolicy:
    """The WS-SecurityPolicy shape (export; import recognizes it)::

    <sp:SymmetricBinding><wsp:Policy>
      <sp:ProtectionToken><wsp:Policy>
        <sp:IssuedToken sp:IncludeToken="…/AlwaysToRecipient">
          <sp:RequestSecurityTokenTemplate>
            <t:TokenType>…#SAMLV2.0</t:TokenType> <t:KeyType>…/SymmetricKey</t:KeyType>
            <t:KeySize>256</t:KeySize>
          </sp:RequestSecurityTokenTemplate>
          <wsp:Policy><sp:RequireDerivedKeys/> <sp:RequireInternalReference/></wsp:Policy>
        </sp:IssuedToken>
      </wsp:Policy></sp:ProtectionToken> …
    </wsp:Policy></sp:SymmetricBinding>
    <sp:Wss11>…</sp:Wss11> <sp:Trust10 | sp:Trust13>…</…>
    """

    key = Bootstrap.ISSUED_TOKEN
    description = (
        "IssuedToken: federation; the client presents a SAML token from a security token "
        "service, and the message keys come from its symmetric proof key (sp:SymmetricBinding, "
        "sp:IssuedToken)"
    )
    needs_service_certificate = True
    shapes = (BindingShape("IssuedToken", derived_anywhere),)

    def assertions(self, w: PolicyWriter, settings: SecureConversationSettings) -> list[etree._Element]:
        token = issued_token_assertion(w, settings, derived=settings.require_derived_keys)
        return [
            symmetric_binding(w, settings, token),
            wss11(w),
            trust_assertion(w, settings.key_entropy_mode),
        ]

    def recognize(self, reader: ShapeReader, binding: BindingFacts) -> bool | None:
        return recognize(self.shapes, reader, binding)


__all__ = [
    "ISSUED_KINDS",
    "IssuedTokenClient",
    "IssuedTokenPolicy",
    "IssuedTokenService",
    "issued_assertion",
    "issued_token_assertion",
]
